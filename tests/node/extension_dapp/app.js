// The demo dApp of tests/node/extension_e2e.mjs: finds wallets the EIP-6963 way and records the
// provider's events; the test drives ethers' BrowserProvider through window.dapp.
import * as ethers from "/ethers.js";

const wallets = [];
const events = [];

window.addEventListener("eip6963:announceProvider", (event) => {
  const { info, provider } = event.detail;
  if (wallets.some((w) => w.info.uuid === info.uuid)) return;
  wallets.push({ info, provider });
  for (const name of ["connect", "disconnect", "accountsChanged", "chainChanged"]) {
    provider.on(name, (data) => {
      const plain = data instanceof Error ? { code: data.code, message: data.message } : data;
      events.push({ wallet: info.rdns, name, data: plain });
      document.getElementById("events").textContent = `${events.length} event(s)`;
    });
  }
  document.getElementById("wallets").textContent = wallets.map((w) => w.info.name).join(", ");
});
window.dispatchEvent(new Event("eip6963:requestProvider"));

window.dapp = {
  ethers,
  wallets,
  events,
  keybridge() {
    const found = wallets.find((w) => w.info.rdns === "org.keybridge");
    if (!found) throw new Error("no keybridge wallet announced");
    return found.provider;
  },
  browserProvider() {
    return new ethers.BrowserProvider(this.keybridge());
  },
};
