// Runs in the extension's ISOLATED world of each page: carries the provider's calls
// (content_main.js, window.postMessage) to the background worker over a runtime port, and the
// answers and events back. The browser names this page's origin to the worker (port.sender);
// nothing here can change it.
//
// The worker may be stopped by the browser at any time (MV3), which disconnects the port. Calls
// not answered yet are kept here with the key the worker relayed them under, and sent again
// with that key on a new port: keybridged hands the answer it kept for the key (docs/RPC.md),
// so a call is never run twice and its answer is never lost. The port is opened again after
// every disconnect, so that events keep reaching the page.
(() => {
  'use strict';
  const CHANNEL = 'keybridge:v1';
  const outstanding = new Map(); // key -> {id, method, params}
  let port = null;

  function toPage(message) {
    window.postMessage({ channel: CHANNEL, to: 'page', ...message }, window.location.origin);
  }

  function connect() {
    if (port) return port;
    try {
      port = chrome.runtime.connect({ name: 'keybridge-page' });
    } catch (e) {
      // The extension was reloaded or removed: this page's provider is gone for good.
      port = null;
      return null;
    }
    port.onMessage.addListener((m) => {
      if (m.type === 'response') {
        const pending = outstanding.get(m.key);
        if (!pending) return;
        outstanding.delete(m.key);
        toPage({ type: 'response', id: pending.id, result: m.result, error: m.error });
      } else if (m.type === 'event') {
        toPage({ type: 'event', event: m.event, data: m.data });
      }
    });
    port.onDisconnect.addListener(() => {
      port = null;
      // A stopped worker: wake a new one, at once when calls wait for their answers (their
      // keys bring the answers back), so that events reach the page again too.
      setTimeout(resend, outstanding.size > 0 ? 50 : 250);
    });
    return port;
  }

  function resend() {
    const p = connect();
    if (!p) {
      for (const [key, pending] of outstanding) {
        toPage({
          type: 'response',
          id: pending.id,
          error: { code: 4900, message: 'the keybridge extension was reloaded: reload the page' },
        });
        outstanding.delete(key);
      }
      return;
    }
    for (const [key, pending] of outstanding) {
      p.postMessage({ type: 'request', key, method: pending.method, params: pending.params });
    }
  }

  window.addEventListener('message', (event) => {
    if (event.source !== window) return;
    const m = event.data;
    if (!m || m.channel !== CHANNEL || m.to !== 'relay' || m.type !== 'request') return;
    const key = crypto.randomUUID();
    outstanding.set(key, { id: m.id, method: m.method, params: m.params });
    const p = connect();
    if (!p) return resend();
    p.postMessage({ type: 'request', key, method: m.method, params: m.params });
  });

  // A port from the start, so that events (accountsChanged, chainChanged, disconnect) reach
  // the page.
  connect();
})();
