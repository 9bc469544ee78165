// The approval page: the live queue of requests waiting for the user, their input stages (unlock,
// Trezor PIN and passphrase), and views to manage sites, accounts, devices, chains and to read
// recent decisions. Everything goes through keybridged's JSON-RPC (docs/RPC.md) on the page's
// WebSocket, as an approver.
import { Rpc } from "./rpc.js";
import { chainName, h, hexValue, methodTitle, rawHex, requestDetails, warningList } from "./views.js";

const state = {
  requests: new Map(), // id → approval object
  cards: new Map(), // id → { key, element }
  status: null,
  chains: [],
  view: "requests",
};

const $ = (id) => document.getElementById(id);

const rpc = new Rpc(`ws://${location.host}/ui/ws`, {
  onOpen: () => start(),
  onClose: () => setLink(false),
  onNotification: (message) => onNotification(message),
});

// The vault can be locked or unlocked elsewhere (keybridge lock, a script): look again now and then.
setInterval(() => {
  if (rpc.ws?.readyState === WebSocket.OPEN) refreshStatus();
}, 2000);

function setLink(up) {
  const el = $("link-state");
  el.textContent = up ? "connected" : "keybridged is not reachable — retrying";
  el.className = up ? "pill ok" : "pill bad";
}

async function start() {
  setLink(true);
  try {
    await rpc.call("eth_subscribe", ["keybridge_approvals"]);
    const pending = await rpc.call("keybridge_pendingApprovals");
    state.requests.clear();
    for (const r of pending) state.requests.set(r.id, r);
    await refreshStatus();
    renderQueue();
    if (state.view !== "requests") showView(state.view);
  } catch (e) {
    console.error(e);
  }
}

async function refreshStatus() {
  try {
    state.status = await rpc.call("keybridge_status");
    state.chains = state.status.chains ?? [];
  } catch {
    return;
  }
  const vault = $("vault-state");
  vault.textContent = state.status.unlocked ? "vault unlocked" : "vault locked";
  vault.className = state.status.unlocked ? "pill ok" : "pill warn";
  $("unlock-panel").hidden = state.status.unlocked || state.status.accounts === 0;
}

function onNotification(message) {
  if (message.method !== "eth_subscription") return;
  const event = message.params?.result;
  if (!event || !event.type) return;
  if (event.type === "added" || event.type === "updated") {
    state.requests.set(event.request.id, event.request);
  } else if (event.type === "removed") {
    state.requests.delete(event.request.id);
  } else if (event.type === "unavailable") {
    notice(event.message);
  }
  renderQueue();
  refreshStatus();
}

function notice(text) {
  const item = h("li", { class: "notice", role: "alert" }, text);
  $("queue").prepend(item);
  setTimeout(() => item.remove(), 30000);
}

// ---- the queue

function renderQueue() {
  const queue = $("queue");
  const ids = [...state.requests.keys()].sort((a, b) => a - b);
  for (const [id, card] of state.cards) {
    if (!state.requests.has(id)) {
      card.element.remove();
      state.cards.delete(id);
    }
  }
  for (const id of ids) {
    const request = state.requests.get(id);
    // A card is rebuilt only when what it shows changed: typing in it survives other events.
    const key = `${request.stage}|${request.input ?? ""}|${request.note ?? ""}|${request.digest}`;
    const card = state.cards.get(id);
    if (card && card.key === key) {
      queue.append(card.element);
      continue;
    }
    const element = renderRequest(request);
    if (card) card.element.replaceWith(element);
    state.cards.set(id, { key, element });
    queue.append(element);
  }
  $("empty").hidden = ids.length !== 0;
  $("count").textContent = ids.length ? String(ids.length) : "";
  document.title = ids.length ? `(${ids.length}) keybridge — approvals` : "keybridge — approvals";
}

function renderRequest(request) {
  const card = h("li", { class: `request stage-${request.stage}`, "data-id": request.id, "data-method": request.method });
  const rows = [];
  if (request.account) rows.push(["Account", hexValue(request.account, 42)]);
  if (request.chainId) rows.push(["Chain", chainName(state.chains, request.chainId)]);
  card.append(
    h(
      "header",
      {},
      h("h3", {}, methodTitle(request.method)),
      h("span", { class: "origin", title: request.authenticated ? "a local client with the token" : "a web page" }, request.origin),
    ),
    h("dl", { class: "fields" }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
  );
  if (request.summary) card.append(h("p", { class: "summary" }, request.summary));
  const warnings = warningList(request.warnings);
  if (warnings) card.append(warnings);
  if (request.method === "eth_requestAccounts") {
    card.append(accountChoice(request));
  } else {
    const details = requestDetails(request);
    if (details) card.append(details);
  }
  const hex = rawHex(request);
  if (hex) card.append(hex);
  card.append(stageArea(request, card));
  return card;
}

function accountChoice(request) {
  const accounts = request.details?.accounts ?? [];
  return h(
    "fieldset",
    { class: "accounts-choice" },
    h("legend", {}, "Accounts the site may see"),
    accounts.map((a) =>
      h(
        "label",
        { class: "check" },
        h("input", { type: "checkbox", value: a.address, checked: a.granted || a.default, "data-account": a.address }),
        " ",
        a.name ? `${a.name} ` : "",
        h("code", { class: "hex" }, a.address),
        a.granted ? h("span", { class: "muted" }, " (already shared)") : "",
      ),
    ),
  );
}

function stageArea(request, card) {
  switch (request.stage) {
    case "needs-input":
      return inputForm(request);
    case "on-device":
      return h("p", { class: "device", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), `Confirm on your device: ${request.note || "check its screen"}`);
    case "approved":
      return h("p", { class: "muted", role: "status" }, "Approved — signing…");
    default:
      return decisionButtons(request, card);
  }
}

function decisionButtons(request, card) {
  const danger = (request.warnings ?? []).filter((w) => w.severity === "danger");
  const error = h("p", { class: "error", role: "alert" });
  const approve = h("button", { type: "button", class: danger.length ? "approve danger" : "approve" }, danger.length ? "Approve anyway" : "Approve");
  const reject = h("button", { type: "button", class: "reject" }, "Reject");
  const box = h("div", { class: "actions" });
  if (danger.length) {
    // The deliberate second step: nothing is approved until the user said they read the danger.
    approve.disabled = true;
    const confirm = h("input", { type: "checkbox", class: "confirm-danger" });
    confirm.addEventListener("change", () => (approve.disabled = !confirm.checked));
    box.append(h("label", { class: "check danger-confirm" }, confirm, ` I have read the ${danger.length === 1 ? "danger warning" : `${danger.length} danger warnings`} and still want to approve`));
  }
  approve.addEventListener("click", () => decide(request, "approve", card, error));
  reject.addEventListener("click", () => decide(request, "reject", card, error));
  box.append(h("div", { class: "buttons" }, reject, approve), error);
  return box;
}

async function decide(request, decision, card, error) {
  const terms = { digest: request.digest };
  if (decision === "approve" && request.method === "eth_requestAccounts") {
    const chosen = [...card.querySelectorAll("input[data-account]")].filter((i) => i.checked).map((i) => i.value);
    if (chosen.length === 0) {
      error.textContent = "Choose at least one account, or reject.";
      return;
    }
    terms.accounts = chosen;
  }
  for (const b of card.querySelectorAll(".actions button")) b.disabled = true;
  try {
    await rpc.call("keybridge_decide", [request.id, decision, terms]);
    card.classList.add("decided");
  } catch (e) {
    error.textContent = e.message;
    for (const b of card.querySelectorAll(".actions button:not(.danger)")) b.disabled = false;
  }
}

// needs-input: the vault password, a Trezor's PIN (positions on its scrambled grid), a passphrase.
function inputForm(request) {
  const error = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "input", autocomplete: "off" });
  let field;
  let answer;
  if (request.input === "pin") {
    field = h("input", { type: "password", inputmode: "numeric", pattern: "[1-9]*", "aria-label": "PIN positions", class: "pin-field", required: true });
    // The grid is the device's layout: its top row is 7 8 9. The digits show only on the device.
    const grid = h("div", { class: "pin-grid", role: "group", "aria-label": "PIN positions, as on the device's screen" });
    for (const position of [7, 8, 9, 4, 5, 6, 1, 2, 3]) {
      grid.append(
        h("button", { type: "button", "data-position": position, "aria-label": `position ${position}`, onclick: () => (field.value += String(position)) }, "•"),
      );
    }
    form.append(
      h("p", {}, request.note || "Enter your PIN: the digits are shown on the device's screen; press the same positions here."),
      grid,
      h("div", { class: "pin-row" }, field, h("button", { type: "button", class: "link", onclick: () => (field.value = field.value.slice(0, -1)) }, "⌫ delete")),
    );
    answer = () => ({ pin: field.value });
  } else if (request.input === "passphrase") {
    field = h("input", { type: "password", "aria-label": "Passphrase", class: "passphrase-field" });
    form.append(h("p", {}, request.note || "Enter the passphrase (leave empty for the standard wallet)."), field);
    answer = () => ({ passphrase: field.value });
  } else {
    field = h("input", { type: "password", "aria-label": "Vault password", class: "password-field", required: true, autocomplete: "current-password" });
    form.append(h("p", {}, request.note || "The vault is locked: unlock it to continue."), field);
    answer = () => ({ password: field.value });
  }
  const cancel = h("button", { type: "button", class: "reject" }, "Cancel request");
  cancel.addEventListener("click", () => respond(request, { cancel: true }, error));
  form.append(h("div", { class: "buttons" }, cancel, h("button", { type: "submit", class: "approve" }, "Continue")), error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = answer();
    field.value = "";
    await respond(request, value, error);
  });
  return form;
}

async function respond(request, value, error) {
  try {
    await rpc.call("keybridge_respond", [request.id, value]);
    error.textContent = "";
  } catch (e) {
    error.textContent = e.message;
  }
}

$("unlock-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const field = $("unlock-password");
  const password = field.value;
  field.value = "";
  try {
    await rpc.call("keybridge_unlock", [password]);
    $("unlock-error").textContent = "";
  } catch (e) {
    $("unlock-error").textContent = e.message;
  }
  refreshStatus();
});

// ---- management views

function showView(view) {
  state.view = view;
  for (const button of document.querySelectorAll("nav.tabs button")) {
    if (button.dataset.view === view) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  for (const section of document.querySelectorAll("main .view")) section.hidden = section.id !== `view-${view}`;
  const loaders = { sites: loadSites, accounts: loadAccounts, chains: loadChains, activity: loadActivity };
  loaders[view]?.().catch((e) => console.error(e));
}

for (const button of document.querySelectorAll("nav.tabs button")) {
  button.addEventListener("click", () => showView(button.dataset.view));
}

function table(headers, rows) {
  return h("table", {}, h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows));
}

async function loadSites() {
  const grants = await rpc.call("keybridge_permissions");
  const box = $("sites");
  const origins = Object.keys(grants).sort();
  if (origins.length === 0) {
    box.replaceChildren(h("p", { class: "muted" }, "No site is connected."));
    return;
  }
  box.replaceChildren(
    table(
      ["Site", "Accounts", "Chain", "Since", ""],
      origins.map((origin) => {
        const g = grants[origin];
        const revoke = h("button", { type: "button", class: "reject", "data-revoke": origin }, "Revoke");
        revoke.addEventListener("click", async () => {
          await rpc.call("keybridge_revokeOrigin", [origin]);
          loadSites();
        });
        return h(
          "tr",
          { "data-origin": origin },
          h("td", {}, origin),
          h("td", {}, g.accounts.map((a) => h("div", {}, h("code", { class: "hex" }, a)))),
          h("td", {}, g.chainId ? chainName(state.chains, parseInt(g.chainId, 16)) : ""),
          h("td", {}, g.grantedAt ? new Date(g.grantedAt * 1000).toLocaleString() : ""),
          h("td", {}, revoke),
        );
      }),
    ),
  );
}

async function loadAccounts() {
  const [accounts, devices] = await Promise.all([rpc.call("keybridge_accounts"), rpc.call("keybridge_devices")]);
  $("accounts").replaceChildren(
    accounts.length === 0
      ? h("p", { class: "muted" }, "The vault has no account yet (keybridge init or keybridge restore).")
      : table(
          ["Name", "Address", "Kind"],
          accounts.map((a) => h("tr", { "data-address": a.address }, h("td", {}, a.name ?? ""), h("td", {}, h("code", { class: "hex" }, a.address)), h("td", {}, a.source + (a.device ? ` (${a.device})` : "")))),
        ),
  );
  $("devices").replaceChildren(
    devices.length === 0
      ? h("p", { class: "muted" }, "No hardware wallet found.")
      : table(
          ["Device", "State", "Where", ""],
          devices.map((d) => h("tr", {}, h("td", {}, d.model ?? d.family), h("td", {}, d.state), h("td", {}, d.location), h("td", { class: "muted" }, d.detail ?? ""))),
        ),
  );
}

// Chains: keybridge_chains lists them (nodes as scheme://host only: a URL may hold an API key);
// keybridge_addChain, keybridge_setUpstream and keybridge_removeChain change them for good.
async function loadChains() {
  const chains = await rpc.call("keybridge_chains");
  state.chains = chains;
  const rows = [];
  for (const c of chains) {
    const id = parseInt(c.chainId, 16);
    const change = h("button", { type: "button", "data-change-node": String(id), "aria-expanded": "false" }, "Change node");
    const actions = h("td", {}, change);
    if (c.removable) {
      const remove = h("button", { type: "button", class: "reject", "data-remove-chain": String(id) }, "Remove");
      remove.addEventListener("click", () => chainCall("keybridge_removeChain", [{ chainId: c.chainId }], `${c.name} removed.`));
      actions.append(" ", remove);
    }
    const source = { config: "configuration", user: "added by you", dapp: "added by a site (this run)" }[c.source] ?? c.source;
    const row = h(
      "tr",
      { "data-chain": c.chainId },
      h("td", { class: "chain-name" }, c.name, h("div", { class: "muted small" }, c.default ? `default, ${source}` : source)),
      h("td", { class: "chain-id" }, String(id)),
      h("td", { class: "node" }, c.upstream ?? "no node", c.upstreamChanged ? h("div", { class: "muted small" }, "your choice") : ""),
      actions,
    );
    const editor = nodeEditor(c, change);
    change.addEventListener("click", () => {
      const open = editor.hidden;
      editor.hidden = !open;
      change.setAttribute("aria-expanded", String(open));
      if (open) editor.querySelector("input").focus();
    });
    rows.push(row, editor);
  }
  $("chains").replaceChildren(table(["Chain", "Id", "Node", ""], rows));
}

// The row under a chain where its new node URL is typed.
function nodeEditor(chain, opener) {
  const label = `New RPC node URL for ${chain.name}`;
  const field = h("input", { type: "url", required: true, "aria-label": label, placeholder: "https://…", class: "node-url" });
  const cancel = h("button", { type: "button" }, "Cancel");
  const form = h("form", { class: "node-form", autocomplete: "off" }, field, h("div", { class: "buttons" }, cancel, h("button", { type: "submit", class: "approve" }, "Use this node")));
  const row = h("tr", { class: "node-editor", hidden: true, "data-editor": chain.chainId }, h("td", { colspan: 4 }, form));
  cancel.addEventListener("click", () => {
    row.hidden = true;
    opener.setAttribute("aria-expanded", "false");
    opener.focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const url = field.value.trim();
    field.value = "";
    await chainCall("keybridge_setUpstream", [{ chainId: chain.chainId, rpcUrl: url }], `${chain.name} now uses the new node.`);
  });
  return row;
}

async function chainCall(method, params, done) {
  $("chain-error").textContent = "";
  $("chain-status").textContent = "";
  try {
    const result = await rpc.call(method, params);
    const unreachable = result && result.reachable === false ? " The node did not answer yet: requests fail until it does." : "";
    $("chain-status").textContent = done + unreachable;
    await loadChains();
    return true;
  } catch (e) {
    $("chain-error").textContent = e.message;
    return false;
  }
}

$("chain-add").addEventListener("submit", async (event) => {
  event.preventDefault();
  const idText = $("chain-add-id").value.trim();
  if (!/^[0-9]+$/.test(idText) || Number(idText) < 1 || !Number.isSafeInteger(Number(idText))) {
    $("chain-error").textContent = "The chain id is a whole number from 1 to 2^53-1.";
    return;
  }
  const name = $("chain-add-name").value.trim();
  const ok = await chainCall(
    "keybridge_addChain",
    [{ chainId: "0x" + Number(idText).toString(16), name, rpcUrl: $("chain-add-url").value.trim() }],
    `${name} added.`,
  );
  if (ok) $("chain-add").reset();
});

async function loadActivity() {
  const entries = await rpc.call("keybridge_recentDecisions", [50]);
  $("activity").replaceChildren(
    entries.length === 0
      ? h("p", { class: "muted" }, "Nothing decided yet.")
      : table(
          ["When", "Site", "Request", "Decision"],
          entries.map((e) =>
            h(
              "tr",
              { class: `decision-${e.decision}` },
              h("td", {}, new Date(e.time * 1000).toLocaleString()),
              h("td", {}, e.origin ?? ""),
              h("td", {}, methodTitle(e.method ?? "")),
              h("td", {}, `${e.decision}${e.by ? ` (${e.by})` : ""}`),
            ),
          ),
        ),
  );
}

// Keyboard: 1-5 switch views (outside text fields).
document.addEventListener("keydown", (event) => {
  if (event.target instanceof HTMLInputElement || event.altKey || event.ctrlKey || event.metaKey) return;
  const views = ["requests", "sites", "accounts", "chains", "activity"];
  const index = Number(event.key) - 1;
  if (index >= 0 && index < views.length) showView(views[index]);
});


