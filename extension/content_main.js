// keybridge's EIP-1193 provider, run in the page's own JavaScript world (MAIN) at document_start.
// It holds no secret and decides nothing: every call goes through window.postMessage to the
// extension's ISOLATED content script (content_relay.js), from there to the background worker,
// and from there to keybridged, which knows the page by the origin the browser reports for this
// tab, never by anything this script or the page says.
(() => {
  'use strict';
  if (window.__keybridgeProvider) return;

  const CHANNEL = 'keybridge:v1';
  const ICON =
    'data:image/svg+xml;base64,' +
    btoa(
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">' +
        '<rect width="64" height="64" rx="14" fill="#1d3b53"/>' +
        '<circle cx="24" cy="32" r="11" fill="none" stroke="#f2c14e" stroke-width="6"/>' +
        '<path d="M35 32h20v9M47 32v7" fill="none" stroke="#f2c14e" stroke-width="6" ' +
        'stroke-linecap="round"/></svg>'
    );

  class ProviderRpcError extends Error {
    constructor(code, message, data) {
      super(message);
      this.code = code;
      if (data !== undefined) this.data = data;
    }
  }

  const listeners = new Map(); // event name -> array of functions
  const waiting = new Map(); // request id -> {resolve, reject}
  let nextId = 1;
  let chainId = null;
  let accounts = [];
  let connected = false;

  function emit(event, ...args) {
    for (const fn of (listeners.get(event) || []).slice()) {
      try {
        fn(...args);
      } catch (e) {
        // A dApp's listener that throws must not stop the others.
        setTimeout(() => {
          throw e;
        });
      }
    }
  }

  function post(message) {
    window.postMessage({ channel: CHANNEL, to: 'relay', ...message }, window.location.origin);
  }

  function setAccounts(next) {
    if (!Array.isArray(next)) return;
    const changed = next.length !== accounts.length || next.some((a, i) => a !== accounts[i]);
    accounts = next.slice();
    if (changed) emit('accountsChanged', accounts.slice());
  }

  function setChain(next) {
    if (typeof next !== 'string' || next === chainId) return;
    const first = chainId === null;
    chainId = next;
    if (!first) emit('chainChanged', chainId);
  }

  // keybridged answers (again): `connect` once, with the chain.
  function onConnect(data) {
    if (connected) return;
    if (data && typeof data.chainId === 'string') chainId = data.chainId;
    if (chainId === null) return;
    connected = true;
    emit('connect', { chainId });
  }

  function onDisconnect(data) {
    if (!connected) return;
    connected = false;
    const code = data && typeof data.code === 'number' ? data.code : 4900;
    const message = (data && data.message) || 'keybridged is not reachable';
    emit('disconnect', new ProviderRpcError(code, message));
  }

  window.addEventListener('message', (event) => {
    if (event.source !== window) return;
    const m = event.data;
    if (!m || m.channel !== CHANNEL || m.to !== 'page') return;
    if (m.type === 'response') {
      const w = waiting.get(m.id);
      if (!w) return;
      waiting.delete(m.id);
      if (m.error) {
        w.reject(new ProviderRpcError(m.error.code, m.error.message, m.error.data));
      } else {
        w.resolve(m.result);
      }
    } else if (m.type === 'event') {
      if (m.event === 'accountsChanged') setAccounts(m.data);
      else if (m.event === 'chainChanged') {
        setChain(m.data);
        onConnect({ chainId: m.data });
      } else if (m.event === 'connect') onConnect(m.data);
      else if (m.event === 'disconnect') onDisconnect(m.data);
      else if (m.event === 'message') emit('message', m.data);
    }
  });

  function send(method, params) {
    return new Promise((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      post({ type: 'request', id, method, params });
    });
  }

  async function request(args) {
    if (!args || typeof args !== 'object' || Array.isArray(args)) {
      throw new ProviderRpcError(-32602, 'request() takes an object {method, params}');
    }
    const { method, params } = args;
    if (typeof method !== 'string' || method.length === 0) {
      throw new ProviderRpcError(-32602, 'method must be a non-empty string');
    }
    if (params !== undefined && params !== null && typeof params !== 'object') {
      throw new ProviderRpcError(-32602, 'params must be an array or an object');
    }
    const result = await send(method, params === undefined ? [] : params);
    // Keep the cached state the legacy properties and events are made from.
    if (method === 'eth_requestAccounts' || method === 'eth_accounts') setAccounts(result);
    if (method === 'eth_chainId') {
      setChain(result);
      onConnect({ chainId: result });
    }
    return result;
  }

  function on(event, fn) {
    if (typeof fn !== 'function') return provider;
    if (!listeners.has(event)) listeners.set(event, []);
    listeners.get(event).push(fn);
    return provider;
  }

  function removeListener(event, fn) {
    const list = listeners.get(event);
    if (list) {
      const i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
    }
    return provider;
  }

  // The legacy (pre-EIP-1193) interface some dApps still call.
  function legacyReply(payload, result, error) {
    const out = { id: payload.id, jsonrpc: '2.0' };
    if (error) out.error = { code: error.code, message: error.message, data: error.data };
    else out.result = result;
    return out;
  }

  function sendAsync(payload, callback) {
    if (typeof callback !== 'function') throw new TypeError('sendAsync needs a callback');
    if (Array.isArray(payload)) {
      Promise.all(
        payload.map((p) =>
          request({ method: p.method, params: p.params }).then(
            (r) => legacyReply(p, r),
            (e) => legacyReply(p, undefined, e)
          )
        )
      ).then((replies) => callback(null, replies));
      return;
    }
    request({ method: payload.method, params: payload.params }).then(
      (r) => callback(null, legacyReply(payload, r)),
      (e) => callback(e, legacyReply(payload, undefined, e))
    );
  }

  function legacySend(methodOrPayload, paramsOrCallback) {
    if (typeof methodOrPayload === 'string') {
      return request({ method: methodOrPayload, params: paramsOrCallback });
    }
    if (typeof paramsOrCallback === 'function') return sendAsync(methodOrPayload, paramsOrCallback);
    // The old synchronous form: only what is known without asking.
    const p = methodOrPayload || {};
    switch (p.method) {
      case 'eth_accounts':
        return legacyReply(p, accounts.slice());
      case 'eth_coinbase':
        return legacyReply(p, accounts[0] || null);
      case 'eth_chainId':
        return legacyReply(p, chainId);
      case 'net_version':
        return legacyReply(p, chainId === null ? null : String(parseInt(chainId, 16)));
      default:
        throw new ProviderRpcError(4200, 'synchronous send supports only eth_accounts, ' +
          'eth_coinbase, eth_chainId and net_version; use request()');
    }
  }

  const provider = {
    isKeybridge: true,
    request,
    on,
    addListener: on,
    once(event, fn) {
      const wrapped = (...args) => {
        removeListener(event, wrapped);
        fn(...args);
      };
      return on(event, wrapped);
    },
    removeListener,
    off: removeListener,
    removeAllListeners(event) {
      if (event === undefined) listeners.clear();
      else listeners.delete(event);
      return provider;
    },
    listenerCount(event) {
      return (listeners.get(event) || []).length;
    },
    isConnected: () => connected,
    enable: () => request({ method: 'eth_requestAccounts' }),
    send: legacySend,
    sendAsync,
    get chainId() {
      return chainId;
    },
    get networkVersion() {
      return chainId === null ? null : String(parseInt(chainId, 16));
    },
    get selectedAddress() {
      return accounts[0] || null;
    },
  };
  Object.freeze(provider);
  Object.defineProperty(window, '__keybridgeProvider', { value: provider });

  // EIP-6963: announced on load and whenever a dApp asks.
  const info = Object.freeze({
    uuid: crypto.randomUUID(),
    name: 'keybridge',
    icon: ICON,
    rdns: 'org.keybridge',
  });
  function announce() {
    window.dispatchEvent(
      new CustomEvent('eip6963:announceProvider', { detail: Object.freeze({ info, provider }) })
    );
  }
  window.addEventListener('eip6963:requestProvider', announce);
  announce();

  // window.ethereum, unless another wallet already put its provider there: that one stays (it
  // may even be read-only, or a getter), and dApps find keybridge through EIP-6963 above.
  let owned = true;
  try {
    owned = window.ethereum !== undefined;
  } catch (e) {
    // A getter of another wallet that throws: it is there.
  }
  if (!owned) {
    try {
      Object.defineProperty(window, 'ethereum', {
        value: provider,
        configurable: true,
        writable: true,
        enumerable: true,
      });
      window.dispatchEvent(new Event('ethereum#initialized'));
    } catch (e) {
      // Someone made it read-only in the meantime: EIP-6963 still finds us.
    }
  }

  // The chain, so that `connect` fires once keybridged answers.
  send('eth_chainId', []).then(
    (id) => {
      setChain(id);
      onConnect({ chainId: id });
    },
    () => {}
  );
})();
