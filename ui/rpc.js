// The page's channel to keybridged: JSON-RPC over its own WebSocket (/ui/ws), which carries the
// page cookie and so holds the approver role. Reconnects by itself; calls made while it is down
// fail at once (the page shows the link state).

export class Rpc {
  constructor(url, { onOpen, onClose, onNotification }) {
    this.url = url;
    this.onOpen = onOpen;
    this.onClose = onClose;
    this.onNotification = onNotification;
    this.nextId = 1;
    this.waiting = new Map();
    this.retryMs = 500;
    this.connect();
  }

  connect() {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.retryMs = 500;
      this.onOpen();
    });
    ws.addEventListener("message", (event) => this.receive(event.data));
    ws.addEventListener("close", (event) => {
      for (const { reject } of this.waiting.values()) reject(new Error("keybridged went away"));
      this.waiting.clear();
      this.onClose(event);
      setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 10000);
    });
  }

  receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.method) {
      this.onNotification(message);
      return;
    }
    const entry = this.waiting.get(message.id);
    if (!entry) return;
    this.waiting.delete(message.id);
    if (message.error) {
      const error = new Error(message.error.message);
      error.code = message.error.code;
      entry.reject(error);
    } else {
      entry.resolve(message.result);
    }
  }

  call(method, params = []) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new Error("not connected to keybridged"));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    });
  }
}
