// The popup: what the worker knows (connection, pairing), the current tab's site with its grant
// and chain, the pages using keybridge, and a button to the approval page.
'use strict';

const LABELS = {
  idle: 'not connected yet',
  connecting: 'connecting…',
  pairing: 'waiting for pairing',
  ready: 'connected',
  down: 'keybridged not running',
  unpaired: 'not paired',
};

function text(id, value) {
  document.getElementById(id).textContent = value;
}

// The tab the popup describes: the active one (the popup opened from the toolbar), or the one
// named by ?tab=ID (the popup opened as a page of its own).
async function activeTabId() {
  const named = Number(new URLSearchParams(location.search).get('tab'));
  if (Number.isInteger(named) && named > 0) return named;
  try {
    const [tab] = await chrome.tabs.query({ active: true, lastFocusedWindow: true });
    return tab ? tab.id : null;
  } catch (e) {
    return null;
  }
}

async function refresh() {
  const state = await chrome.runtime.sendMessage({ type: 'state', tabId: await activeTabId() });
  if (!state || state.error) {
    text('status', 'no answer');
    return;
  }
  const badge = document.getElementById('status');
  badge.textContent = LABELS[state.status] || state.status;
  badge.className = 'badge ' + state.status;
  text('detail', state.detail || '');
  text('address', `127.0.0.1:${state.port}`);
  text('extension-id', state.extensionId);
  document.getElementById('start-help').hidden = state.status !== 'down';
  document.getElementById('pair-help').hidden = state.status !== 'pairing';
  const site = state.site || {};
  text('site-origin', site.origin || 'no keybridge page in this tab');
  text(
    'site-accounts',
    Array.isArray(site.accounts)
      ? site.accounts.length === 0
        ? 'none (not connected)'
        : site.accounts.join(', ')
      : '–'
  );
  text(
    'site-chain',
    typeof site.chainId === 'string' ? `${parseInt(site.chainId, 16)} (${site.chainId})` : '–'
  );
  const list = document.getElementById('sites');
  list.replaceChildren(
    ...(state.sites.length ? state.sites : ['none']).map((origin) => {
      const li = document.createElement('li');
      li.textContent = origin;
      return li;
    })
  );
  text('waiting', state.waiting ? `${state.waiting} request(s) waiting for an answer` : '');
  // Requests keybridged said nobody can decide now (keybridge_requestStatus "no-approver").
  const stuck = Array.isArray(state.noApprover) ? state.noApprover : [];
  document.getElementById('no-approver').hidden = stuck.length === 0;
  text('no-approver-list', stuck.map((s) => `${s.method} from ${s.origin}`).join(', '));
}

document.getElementById('open-page').addEventListener('click', async () => {
  text('message', '');
  const answer = await chrome.runtime.sendMessage({ type: 'approval-page' });
  if (answer && answer.error) text('message', answer.error);
});

document.getElementById('reconnect').addEventListener('click', async () => {
  text('message', '');
  await chrome.runtime.sendMessage({ type: 'reconnect' });
  setTimeout(refresh, 300);
});

refresh();
setInterval(refresh, 2000);
