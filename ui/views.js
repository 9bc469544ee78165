// Building blocks of the page: elements made with the DOM API only (text always goes in as text,
// never as markup: origins, messages and typed data come from whoever sent the request).

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") el.className = value;
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const kMethodTitles = {
  eth_requestAccounts: "Connect",
  personal_sign: "Sign a message",
  eth_sign: "Sign a raw hash (eth_sign)",
  eth_signTypedData: "Sign typed data (v1)",
  eth_signTypedData_v3: "Sign typed data (v3)",
  eth_signTypedData_v4: "Sign typed data",
  eth_signTransaction: "Sign a transaction",
  eth_sendTransaction: "Send a transaction",
  wallet_addEthereumChain: "Add a chain",
  pairing: "Pair a browser extension",
};

export function methodTitle(method) {
  return kMethodTitles[method] ?? method;
}

export function chainName(chains, chainId) {
  const hex = "0x" + Number(chainId).toString(16);
  const chain = chains.find((c) => c.chainId === hex);
  return chain ? `${chain.name} (${Number(chainId)})` : `chain ${Number(chainId)}`;
}

// Long hex: the start and end, with a button that shows all of it.
export function hexValue(text, keep = 66) {
  if (typeof text !== "string" || text.length <= keep) return h("code", { class: "hex" }, String(text));
  const short = text.slice(0, 34) + "…" + text.slice(-16);
  const code = h("code", { class: "hex" }, short);
  const button = h("button", { type: "button", class: "link" }, `show all ${(text.length - 2) / 2} bytes`);
  button.addEventListener("click", () => {
    const open = code.textContent === short;
    code.textContent = open ? text : short;
    button.textContent = open ? "show less" : `show all ${(text.length - 2) / 2} bytes`;
  });
  return h("span", { class: "hexwrap" }, code, " ", button);
}

function leaf(value) {
  if (value === null) return h("span", { class: "value null" }, "null");
  if (typeof value === "string" && /^0x[0-9a-fA-F]*$/.test(value)) return hexValue(value);
  return h("span", { class: "value" }, typeof value === "string" ? value : JSON.stringify(value));
}

// A JSON value as a tree of <details> (keyboard-usable: each summary is a button), the first
// levels open.
export function tree(label, value, depth = 0) {
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
    const kind = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
    return h(
      "details",
      { class: "tree", open: depth < 3 },
      h("summary", {}, h("span", { class: "key" }, label), " ", h("span", { class: "muted" }, kind)),
      h("ul", {}, entries.map(([k, v]) => h("li", {}, tree(k, v, depth + 1)))),
    );
  }
  return h("span", { class: "treeleaf" }, h("span", { class: "key" }, label), ": ", leaf(value));
}

export function warningList(warnings) {
  if (!warnings || warnings.length === 0) return null;
  return h(
    "ul",
    { class: "warnings" },
    warnings.map((w) =>
      h(
        "li",
        { class: `warning ${w.severity}`, "data-warning": w.id },
        h("strong", {}, `${w.severity === "danger" ? "Danger" : w.severity === "warning" ? "Warning" : "Note"}: ${w.title}`),
        h("p", {}, w.detail),
      ),
    ),
  );
}

function fieldRows(rows) {
  return h(
    "dl",
    { class: "fields" },
    rows.filter(([, v]) => v !== undefined && v !== null).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v instanceof Node ? v : leaf(v))]),
  );
}

// What the request asks for, by method (docs/RPC.md, "Approval objects").
export function requestDetails(request) {
  const d = request.details ?? {};
  switch (request.method) {
    case "personal_sign":
      return h(
        "div",
        { class: "details" },
        d.message !== null && d.message !== undefined
          ? h("pre", { class: "message" }, d.message)
          : h("p", { class: "muted" }, `${d.length} bytes that are not text`),
      );
    case "eth_signTypedData_v3":
    case "eth_signTypedData_v4":
      return h(
        "div",
        { class: "details" },
        fieldRows([["Primary type", d.primaryType]]),
        tree("domain", d.domain ?? {}),
        tree("message", d.message ?? {}),
      );
    case "eth_signTypedData":
      return h("div", { class: "details" }, tree("fields", d.fields ?? []));
    case "eth_sign":
      return h("div", { class: "details" }, fieldRows([["Hash", d.hash]]));
    case "eth_signTransaction":
    case "eth_sendTransaction":
      return h(
        "div",
        { class: "details" },
        fieldRows([
          ["To", d.to ?? "(creates a contract)"],
          ["Value (wei)", d.valueWei],
          ["Max fee (wei)", d.maxFeeWei],
          ["Nonce", d.nonce],
          ["Gas", d.gas],
          ["Data", d.data],
        ]),
      );
    case "wallet_addEthereumChain":
      return h("div", { class: "details" }, fieldRows([["Chain", d.chainId], ["Name", d.chainName], ["Node", d.rpcUrl]]));
    default:
      return Object.keys(d).length ? h("div", { class: "details" }, tree("details", d)) : null;
  }
}

// Every hex the request carries, shown only when asked for.
export function rawHex(request) {
  const d = request.details ?? {};
  const rows = [["Signing hash", request.signingHash], ["Message bytes", d.messageHex], ["Data", d.data], ["Digest shown", request.digest]];
  const present = rows.filter(([, v]) => typeof v === "string");
  if (present.length === 0) return null;
  const box = h("div", { class: "rawhex", hidden: true }, present.map(([k, v]) => h("div", {}, h("span", { class: "key" }, k), h("code", { class: "hex full" }, v))));
  const button = h("button", { type: "button", class: "link", "aria-expanded": "false" }, "Show full hex");
  button.addEventListener("click", () => {
    box.hidden = !box.hidden;
    button.setAttribute("aria-expanded", String(!box.hidden));
    button.textContent = box.hidden ? "Show full hex" : "Hide hex";
  });
  return h("div", {}, button, box);
}
