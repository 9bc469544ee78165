// keybridge's background service worker: the one connection to keybridged (a WebSocket to
// 127.0.0.1), paired with the daemon once by the user's approval (docs/RPC.md, "The browser
// extension"), and the relay of every page's calls, each tagged with the origin the browser
// reports for the page's port (port.sender), never with anything the page says.
//
// The browser stops this worker when it is idle (MV3), closing its WebSocket. Nothing that must
// survive lives only in memory: calls not yet answered are kept in chrome.storage.session under
// the key the page's content script gave them, and relayed under that key; keybridged keeps a
// call running when the socket closes and hands its answer to the next connection that relays
// the same key. The pairing secret is kept in chrome.storage.local.
'use strict';

const DEFAULT_PORT = 8645;
const EXTENSION_NAME = 'keybridge extension';
const KEEPALIVE_MS = 20000;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 5000;
const ANSWER_LIFE_MS = 10 * 60 * 1000;

// 'idle' (no page has asked yet) | 'connecting' | 'pairing' | 'ready' | 'down' (keybridged not
// reachable) | 'unpaired'
let status = 'idle';
let statusDetail = '';
let daemonPort = DEFAULT_PORT;
let ws = null;
let nextId = 1;
const calls = new Map(); // WebSocket request id -> {resolve, reject}
const sentOn = new Set(); // keys relayed on the current socket
const ports = new Map(); // runtime port -> {origin, tabId}
const keyPorts = new Map(); // key -> the port that asked
let pending = {}; // key -> {origin, tabId, method, params, at, answer?}
let retryMs = RECONNECT_MIN_MS;
let retryTimer = null;
let connecting = false;

const loaded = chrome.storage.session.get('pending').then((stored) => {
  const now = Date.now();
  for (const [key, p] of Object.entries((stored && stored.pending) || {})) {
    if (now - (p.at || 0) < ANSWER_LIFE_MS) pending[key] = p;
  }
});

function savePending() {
  return chrome.storage.session.set({ pending });
}

function setStatus(next, detail = '') {
  status = next;
  statusDetail = detail;
}

function rpcError(code, message) {
  return { code, message };
}

function downError() {
  return rpcError(
    4900,
    `keybridged is not running (nothing answers on 127.0.0.1:${daemonPort}): start it with ` +
      '`keybridged` or `systemctl --user start keybridged`'
  );
}

// ------------------------------------------------------------------ the socket to keybridged

function call(method, params) {
  return new Promise((resolve, reject) => {
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      reject({ closed: true });
      return;
    }
    const id = nextId++;
    calls.set(id, { resolve, reject });
    ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
  });
}

async function connect() {
  if (connecting || (ws && ws.readyState <= WebSocket.OPEN)) return;
  connecting = true;
  clearTimeout(retryTimer);
  retryTimer = null;
  await loaded;
  const stored = await chrome.storage.local.get('daemonPort');
  daemonPort = Number(stored.daemonPort) || DEFAULT_PORT;
  if (status !== 'ready') setStatus('connecting');
  let socket;
  try {
    socket = new WebSocket(`ws://127.0.0.1:${daemonPort}/`);
  } catch (e) {
    connecting = false;
    return onClose(null, { code: 0 });
  }
  ws = socket;
  socket.onopen = () => {
    connecting = false;
    pair(socket);
  };
  socket.onmessage = (event) => onSocketMessage(event.data);
  socket.onerror = () => {}; // onclose follows with the reason
  socket.onclose = (event) => {
    connecting = false;
    onClose(socket, event);
  };
}

function scheduleReconnect() {
  if (retryTimer) return;
  retryTimer = setTimeout(() => {
    retryTimer = null;
    connect();
  }, retryMs);
  retryMs = Math.min(retryMs * 2, RECONNECT_MAX_MS);
}

function onClose(socket, event) {
  if (socket !== null && socket !== ws) return;
  ws = null;
  for (const [, c] of calls) c.reject({ closed: true });
  calls.clear();
  sentOn.clear();
  const wasReady = status === 'ready';
  if (event.code === 4100) {
    // keybridge pairing revoke: the secret is worthless now; pair again only when asked.
    chrome.storage.local.remove('secret');
    setStatus('unpaired', 'keybridged revoked this extension\'s pairing');
  } else if (status !== 'unpaired') {
    setStatus('down', downError().message);
    scheduleReconnect();
  }
  // What was asked of the daemon that went away will not be answered: 4900, as for a page
  // whose own socket closed.
  const error = status === 'unpaired' ? rpcError(4100, statusDetail) : downError();
  for (const key of Object.keys(pending)) {
    if (!pending[key].answer) answer(key, { error });
  }
  if (wasReady) broadcast(null, 'disconnect', error);
}

function onSocketMessage(text) {
  let m;
  try {
    m = JSON.parse(text);
  } catch (e) {
    return;
  }
  if (m && m.id !== undefined && m.id !== null && calls.has(m.id)) {
    const c = calls.get(m.id);
    calls.delete(m.id);
    if (m.error) c.reject(m.error);
    else c.resolve(m.result);
    return;
  }
  // The extension's own pairing request waits with nobody to decide it: the popup says so.
  if (m && m.method === 'keybridge_requestStatus' && m.params && status === 'pairing') {
    if (m.params.status === 'no-approver') setStatus('pairing', String(m.params.message || ''));
    return;
  }
  if (m && m.method === 'keybridge_relayEvent' && m.params) {
    if (m.params.event === 'requestStatus') return onRequestStatus(m.params.origin, m.params.data);
    broadcast(m.params.origin, m.params.event, m.params.data);
  }
}

// keybridged says a page's request waits with nobody to decide it ("no-approver": no approval
// page open, no `keybridge approve`). The request is marked (kept with it in storage, so that a
// restarted worker still knows), the toolbar badge shows it, and the popup says how to open
// the approval page. It clears when the request is answered.
function onRequestStatus(origin, data) {
  if (!data || data.status !== 'no-approver') return;
  let marked = false;
  for (const p of Object.values(pending)) {
    if (p.origin !== origin || p.answer || p.noApprover) continue;
    if (typeof data.method === 'string' && p.method !== data.method) continue;
    p.noApprover = typeof data.message === 'string' ? data.message : 'no approver is connected';
    marked = true;
  }
  if (!marked) return;
  savePending();
  showBadge();
}

function noApproverWaiting() {
  return Object.values(pending).filter((p) => p.noApprover && !p.answer);
}

// The toolbar badge: "!" while a request waits with nobody to decide it.
function showBadge() {
  const waiting = noApproverWaiting().length > 0;
  try {
    chrome.action.setBadgeText({ text: waiting ? '!' : '' });
    if (waiting) chrome.action.setBadgeBackgroundColor({ color: '#b3261e' });
    chrome.action.setTitle({
      title: waiting ? 'keybridge: a request waits and no approver is connected' : 'keybridge',
    });
  } catch (e) {
    // A browser without the action API: the popup still says it.
  }
}

async function pair(socket) {
  setStatus('pairing');
  const stored = await chrome.storage.local.get('secret');
  const request = { name: EXTENSION_NAME };
  if (typeof stored.secret === 'string') request.secret = stored.secret;
  let result;
  try {
    result = await call('keybridge_pair', [request]);
  } catch (error) {
    if (error && error.closed) return;
    setStatus(
      'unpaired',
      error && error.code === 4001
        ? 'the pairing was rejected in keybridge'
        : `keybridged did not pair this extension: ${(error && error.message) || 'no answer'}`
    );
    socket.close();
    return;
  }
  if (socket !== ws) return;
  if (typeof result.secret === 'string') await chrome.storage.local.set({ secret: result.secret });
  retryMs = RECONNECT_MIN_MS;
  setStatus('ready');
  for (const key of Object.keys(pending)) {
    if (!pending[key].answer) relay(key);
  }
  // Pages learn that their provider is connected again, with their chain, and whatever changed
  // while no connection was open (events sent then are lost: the worker was stopped, or
  // keybridged was down).
  for (const origin of new Set([...ports.values()].map((p) => p.origin))) resync(origin);
}

// Reads a page origin's accounts and chain and hands them to its ports: `connect` with the
// chain, then `chainChanged` and `accountsChanged`, which the page's provider turns into
// events only where they differ from what it had (content_main.js). `port` limits it to one.
async function resync(origin, port = null) {
  const ask = (method) => call('keybridge_relay', [{ origin, method, params: [] }]);
  let chainId;
  let accounts;
  try {
    [chainId, accounts] = await Promise.all([ask('eth_chainId'), ask('eth_accounts')]);
  } catch (e) {
    return; // the socket closed again, or keybridged refused: the next connection tries
  }
  const send = (event, data) => {
    if (port === null) return broadcast(origin, event, data);
    try {
      port.postMessage({ type: 'event', event, data });
    } catch (e) {
      ports.delete(port);
    }
  };
  send('connect', { chainId });
  send('chainChanged', chainId);
  if (Array.isArray(accounts)) send('accountsChanged', accounts);
}

// Keeps the worker (and the socket) alive while pages use it: the browser counts messages on
// an extension's WebSocket as activity.
setInterval(() => {
  if (status === 'ready' && ports.size > 0) call('eth_chainId', []).catch(() => {});
}, KEEPALIVE_MS);

// ------------------------------------------------------------------ pages

function broadcast(origin, event, data) {
  for (const [port, info] of ports) {
    if (origin !== null && info.origin !== origin) continue;
    try {
      port.postMessage({ type: 'event', event, data });
    } catch (e) {
      ports.delete(port);
    }
  }
}

function relay(key) {
  const p = pending[key];
  if (!p || p.answer || sentOn.has(key)) return;
  sentOn.add(key);
  call('keybridge_relay', [{ origin: p.origin, method: p.method, params: p.params, key }]).then(
    (result) => answer(key, { result }),
    (error) => {
      if (error && error.closed) return; // onClose decides
      answer(key, { error: { code: error.code, message: error.message, data: error.data } });
    }
  );
}

function answer(key, outcome) {
  const p = pending[key];
  if (!p) return;
  sentOn.delete(key);
  const port = keyPorts.get(key);
  const marked = Boolean(p.noApprover);
  if (port && ports.has(port)) {
    try {
      port.postMessage({ type: 'response', key, ...outcome });
      delete pending[key];
      keyPorts.delete(key);
      savePending();
      if (marked) showBadge();
      return;
    } catch (e) {
      ports.delete(port);
    }
  }
  // The page's port is gone (this worker restarted): kept until its content script asks again.
  p.answer = outcome;
  savePending();
  if (marked) showBadge();
}

async function onPageRequest(port, info, m) {
  await loaded;
  if (typeof m.key !== 'string' || typeof m.method !== 'string') return;
  keyPorts.set(m.key, port);
  const existing = pending[m.key];
  if (existing && existing.answer) return answer(m.key, existing.answer);
  if (!existing) {
    pending[m.key] = {
      origin: info.origin,
      tabId: info.tabId,
      method: m.method,
      params: m.params === undefined ? [] : m.params,
      at: Date.now(),
    };
    await savePending();
  }
  if (status === 'ready') return relay(m.key);
  if (status === 'unpaired' && !connecting && !ws) {
    // Ask again (the user may have approved the pairing since, or revoked it on purpose: then
    // the new request waits for a decision).
    setStatus('connecting');
  }
  connect(); // a failed attempt answers 4900
}

function originOf(sender) {
  // The browser's word for the frame the port came from; top frames only.
  if (!sender || !sender.tab || sender.frameId !== 0) return null;
  let origin = sender.origin;
  if (!origin && sender.url) origin = new URL(sender.url).origin;
  if (!origin || !/^https?:\/\//.test(origin)) return null;
  return origin;
}

chrome.runtime.onConnect.addListener((port) => {
  if (port.name !== 'keybridge-page') return port.disconnect();
  const origin = originOf(port.sender);
  if (origin === null) return port.disconnect();
  const info = { origin, tabId: port.sender.tab.id };
  ports.set(port, info);
  port.onMessage.addListener((m) => {
    if (m && m.type === 'request') onPageRequest(port, info, m);
  });
  port.onDisconnect.addListener(() => {
    ports.delete(port);
    for (const [key, p] of keyPorts) if (p === port) keyPorts.delete(key);
  });
  // A page whose port comes back to a worker already paired (another tab woke it after the
  // browser stopped the last one): what changed meanwhile. Otherwise pair() does it for all.
  if (status === 'ready') resync(origin, port);
  connect();
});

// ------------------------------------------------------------------ the popup

async function siteState(tabId) {
  let origin = null;
  for (const info of ports.values()) if (info.tabId === tabId) origin = info.origin;
  if (origin === null || status !== 'ready') return { origin };
  const ask = (method) =>
    call('keybridge_relay', [{ origin, method, params: [] }]).catch(() => null);
  const [accounts, chainId] = await Promise.all([ask('eth_accounts'), ask('eth_chainId')]);
  return { origin, accounts, chainId };
}

async function popupMessage(m) {
  await loaded;
  if (m.type === 'state') {
    connect();
    const sites = [...new Set([...ports.values()].map((p) => p.origin))];
    return {
      status,
      detail: statusDetail,
      port: daemonPort,
      extensionId: chrome.runtime.id,
      sites,
      site: await siteState(m.tabId),
      waiting: Object.values(pending).filter((p) => !p.answer).length,
      noApprover: noApproverWaiting().map((p) => ({
        origin: p.origin,
        method: p.method,
        message: p.noApprover,
      })),
    };
  }
  if (m.type === 'reconnect') {
    if (status === 'unpaired') setStatus('connecting');
    retryMs = RECONNECT_MIN_MS;
    await connect();
    return { ok: true };
  }
  if (m.type === 'approval-page') {
    if (status !== 'ready') return { error: downError().message };
    try {
      // A one-time address that logs the new tab in (docs/RPC.md, keybridge_pageLogin): the
      // code in it works once, within a minute, and the page moves on to /ui/ at once.
      const page = await call('keybridge_pageLogin', []);
      if (
        !page ||
        typeof page.url !== 'string' ||
        !/^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):[0-9]+\/ui\/login-code\?code=[0-9a-f]{64}$/.test(
          page.url
        )
      ) {
        return { error: 'keybridged gave no approval page address' };
      }
      await chrome.tabs.create({ url: page.url });
      return { ok: true };
    } catch (error) {
      if (error && error.code === -32601) {
        return {
          error:
            'This keybridged has no approval page. Approve requests in a terminal with ' +
            '`keybridge approve`.',
        };
      }
      return { error: (error && error.message) || 'keybridged did not answer' };
    }
  }
  return { error: 'unknown request' };
}

chrome.runtime.onMessage.addListener((m, sender, sendResponse) => {
  // Only the extension's own pages (the popup) talk to the worker this way; content scripts
  // use their port.
  const ownPage = chrome.runtime.getURL('');
  if (!sender || sender.id !== chrome.runtime.id || !String(sender.url || '').startsWith(ownPage))
    return false;
  popupMessage(m || {}).then(sendResponse, (e) => sendResponse({ error: String(e) }));
  return true;
});

chrome.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && changes.daemonPort && ws) ws.close();
});

// keybridged is asked only once something needs it: a page with the provider, the popup, or
// calls a stopped worker left unanswered (so that installing the extension alone asks nothing).
loaded.then(() => {
  showBadge();
  if (Object.keys(pending).length > 0) connect();
});
