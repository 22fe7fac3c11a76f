// The seller dashboard: my products (with the reason of a takedown), incoming orders (live: a toast and a badge
// when one arrives; ship with tracking, cancel, refund part) with the disputes to answer, and the balance with payouts
// and the shop's Solana wallet (where buyers who pay with Solana Pay send the money).
import { api } from "../api.js";
import { h, money, ago, failure, toast, statusLabel, productImage, infinite, mount, field, showErrors } from "../ui.js";
import { disputePanel, minorUnits } from "./disputes.js";

export async function render({ params, view, session, socket, refreshAccount }) {
  if (!session.isSeller) return becomeSeller(view, session, refreshAccount);
  const tab = params.tab ?? "orders";
  const newOrders = h("span", { class: "badge", hidden: true, "data-testid": "new-orders" }, "0");
  const tabs = h("nav", { class: "tabs", "aria-label": "Dashboard" },
    [["orders", "Orders"], ["products", "Products"], ["payouts", "Balance & payouts"]].map(([name, label]) =>
      h("a", { href: `/sell/${name}`, "data-link": true, "aria-current": name === tab ? "page" : null }, label, name === "orders" ? [" ", newOrders] : null)));
  const body = h("div", {});
  view.append(h("h1", {}, "Seller dashboard"), tabs, body);
  let reload = () => {};
  if (tab === "products") await products(body);
  else if (tab === "payouts") await payouts(body);
  else reload = await orders(body);

  let fresh = 0;
  const off = socket.on("notification:new", (data) => {
    if (data.notification.kind !== "order") return;
    fresh += 1;
    newOrders.textContent = String(fresh);
    newOrders.hidden = false;
    reload();
  });
  // A dispute's steps and a buyer's confirmation arrive as order:status on the seller's stream too.
  const offStatus = socket.on("order:status", () => reload());
  return () => { off(); offStatus(); };
}

async function becomeSeller(view, session, refreshAccount) {
  const status = h("p", { role: "status" });
  const button = h("button", { type: "button" }, "Open my shop");
  button.addEventListener("click", async () => {
    try {
      const result = await api("/api/me/seller", { method: "POST" });
      await refreshAccount({ account: result.account, expiresIn: 900 });
      location.assign("/sell/products");
    } catch (error) {
      status.textContent = error.code === "email_not_verified"
        ? "Verify your email first: open the link we sent you (or send a new one from your account page)."
        : error.message;
    }
  });
  view.append(h("div", { class: "panel narrow" }, h("h1", {}, "Sell on Agora"),
    h("p", {}, "List physical goods or digital keys, chat with buyers, and get paid out."), button, status));
}

async function orders(body) {
  const filter = h("select", { id: "order-filter", class: "compact" }, [
    ["", "All"], ["paid", "To ship"], ["shipped", "Shipped"], ["delivered", "Delivered"], ["cancelled", "Cancelled"],
    ["pending_payment", "Awaiting payment"],
  ].map(([v, t]) => h("option", { value: v }, t)));
  const list = h("ul", { class: "list seller-orders", "aria-live": "polite" });
  const disputes = h("div", { class: "seller-disputes" });
  mount(body, disputes, h("div", { class: "title-row" }, h("h2", {}, "Incoming orders"),
    h("div", { class: "row" }, h("label", { for: "order-filter" }, "Show"), filter)), list);
  const load = async () => {
    try {
      const [page, open] = await Promise.all([
        api("/api/seller/orders", { query: { status: filter.value, limit: 50 } }),
        api("/api/disputes", { query: { as: "seller", limit: 50 } }),
      ]);
      const unresolved = open.items.filter((d) => d.status !== "resolved");
      mount(disputes, unresolved.length ? [h("h2", {}, "Disputes to answer"), ...unresolved.map((d) => disputePanel(d, "seller", load))] : null);
      mount(list, ...page.items.map(orderRow(load)));
      if (page.items.length === 0) list.append(h("li", { class: "muted" }, "No orders yet."));
    } catch (error) { mount(list, h("li", {}, failure(error, load))); }
  };
  filter.addEventListener("change", load);
  await load();
  return load;
}

const orderRow = (reload) => (so) => {
  const ship = h("form", { class: "ship-form row" },
    h("label", { class: "visually-hidden", for: `carrier-${so.id}` }, "Carrier"),
    h("input", { id: `carrier-${so.id}`, name: "carrier", placeholder: "Carrier", required: true, value: "PostNet" }),
    h("label", { class: "visually-hidden", for: `tracking-${so.id}` }, "Tracking number"),
    h("input", { id: `tracking-${so.id}`, name: "trackingNumber", placeholder: "Tracking number", required: true }),
    h("button", { type: "submit" }, "Mark shipped"));
  ship.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api(`/api/seller/orders/${so.id}/ship`, {
        method: "POST", body: { carrier: ship.elements.carrier.value, trackingNumber: ship.elements.trackingNumber.value },
      });
      toast("Marked shipped; the buyer is told.", { kind: "success" });
      reload();
    } catch (error) { toast(error.message, { kind: "error" }); }
  });
  const physical = so.lines.some((line) => line.type === "physical");
  return h("li", { class: "panel seller-order", "data-testid": "incoming-order", "data-id": so.id },
    h("div", { class: "title-row" },
      h("strong", {}, `#${so.id.slice(0, 8)} · ${so.buyer?.displayName ?? "buyer"}`),
      h("span", { class: `status status-${so.status}`, "data-testid": "incoming-status" }, statusLabel(so.status))),
    h("ul", { class: "lines" }, so.lines.map((line) => h("li", {}, `${line.title} × ${line.quantity} — ${money(line.lineTotal)}`))),
    h("p", { class: "muted" }, `${ago(so.createdAt)} · total ${money(so.total)}`, so.sellerEarnings ? ` · you earn ${money(so.sellerEarnings)}` : ""),
    so.shippingAddress && physical ? h("address", {}, [
      so.shippingAddress.name, so.shippingAddress.line1, so.shippingAddress.line2,
      `${so.shippingAddress.city} ${so.shippingAddress.postalCode}`, so.shippingAddress.country,
    ].filter(Boolean).join(", ")) : null,
    so.trackingNumber ? h("p", {}, `Shipped with ${so.carrier}: ${so.trackingNumber}`) : null,
    so.status === "paid" && physical ? ship : null,
    so.status === "shipped" ? h("button", { type: "button", class: "secondary", onclick: async () => {
      try {
        await api(`/api/seller/orders/${so.id}/deliver`, { method: "POST", body: {} });
        reload();
      } catch (error) { toast(error.message, { kind: "error" }); }
    } }, "Mark delivered") : null,
    so.refunded?.amount ? h("p", { class: "muted" }, `Refunded ${money(so.refunded)}`) : null,
    h("p", { class: "row" },
      so.status === "paid" ? h("button", { type: "button", class: "secondary", "data-testid": "seller-cancel", onclick: async () => {
        const reason = prompt("Cancel and refund this order? Say why (the buyer sees it):");
        if (reason === null) return;
        try {
          await api(`/api/seller/orders/${so.id}/cancel`, { method: "POST", body: { reason } });
          toast("Cancelled; the buyer is refunded.", { kind: "success" });
          reload();
        } catch (error) { toast(error.message, { kind: "error" }); }
      } }, "Cancel & refund") : null,
      ["paid", "shipped", "delivered"].includes(so.status) && so.refunded.amount < so.total.amount
        ? h("button", { type: "button", class: "secondary", "data-testid": "seller-refund", onclick: async () => {
          const amount = minorUnits(prompt(`Refund how much (${so.total.currency}, at most ${money({ amount: so.total.amount - so.refunded.amount, currency: so.total.currency })})?`) ?? "");
          if (Number.isNaN(amount)) return;
          const reason = prompt("Why (the buyer sees it)?");
          if (!reason) return;
          try {
            await api(`/api/seller/orders/${so.id}/refunds`, { method: "POST", body: { amount, reason } });
            toast("Refunded.", { kind: "success" });
            reload();
          } catch (error) { toast(error.message, { kind: "error" }); }
        } }, "Refund part") : null));
};

async function products(body) {
  const list = h("ul", { class: "list my-products" });
  const sentinel = h("div", { class: "sentinel" });
  mount(body, h("div", { class: "title-row" }, h("h2", {}, "My products"),
    h("a", { href: "/sell/products/new", "data-link": true, class: "button" }, "New product")), list, sentinel);
  let cursor = null;
  infinite(sentinel, async () => {
    try {
      const page = await api("/api/me/products", { query: { cursor, limit: 30 } });
      for (const p of page.items) {
        list.append(h("li", { class: "row-item" }, productImage(p, "chip-image"),
          h("a", { href: `/sell/products/${p.id}`, "data-link": true }, p.title),
          h("span", { class: `status status-${p.status}`, "data-testid": "my-product-status" }, p.status.replaceAll("_", " ")),
          p.takedownReason ? h("span", { class: "notice error", "data-testid": "takedown-reason" }, `Why: ${p.takedownReason}`) : null,
          h("span", { class: "muted" }, `${p.stock ?? p.available} in stock · ♥ ${p.likeCount} · ${p.viewCount} views`),
          h("span", { class: "price" }, money(p.price))));
      }
      if (!cursor && page.items.length === 0) list.append(h("li", { class: "muted" }, "No products yet."));
      cursor = page.nextCursor;
      return Boolean(cursor);
    } catch (error) { list.append(h("li", {}, failure(error))); return false; }
  });
}

async function payouts(body) {
  const balances = h("div", {});
  mount(body, balances, walletPanel());
  await balancePanel(balances);
}

async function balancePanel(body) {
  mount(body, h("p", { class: "loading" }, "Loading…"));
  try {
    const [balance, history] = await Promise.all([api("/api/seller/balance"), api("/api/seller/payouts", { query: { limit: 50 } })]);
    const status = h("p", { role: "status" });
    const rows = balance.balances.length ? balance.balances.map((b) => h("tr", {}, h("th", { scope: "row" }, b.currency),
      h("td", {}, money(b.pending, b.currency)), h("td", {}, money(b.available, b.currency)),
      h("td", {}, h("button", { type: "button", disabled: b.available <= 0, onclick: async () => {
        try {
          await api("/api/seller/payouts", { method: "POST", body: { currency: b.currency } });
          balancePanel(body);
        } catch (error) { status.textContent = error.message; }
      } }, "Request payout")))) : [h("tr", {}, h("td", { colspan: 4 }, "No earnings yet."))];
    mount(body,
      h("h2", {}, "Balance"),
      h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Currency"), h("th", { scope: "col" }, "Pending"),
          h("th", { scope: "col" }, "Available"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Action")))),
        h("tbody", {}, rows)),
      h("p", { class: "muted" }, "Earnings become available when the buyer has the order."), status,
      h("h2", {}, "Payouts"),
      history.items.length ? h("ul", { class: "list" }, history.items.map((p) => h("li", { class: "row-item" }, money(p.amount),
        h("span", { class: `status status-${p.status}` }, p.status), h("small", { class: "muted" }, ago(p.requestedAt)))))
        : h("p", { class: "muted" }, "No payouts yet."));
  } catch (error) { mount(body, failure(error, () => balancePanel(body))); }
}

/** The tokens a wallet may take; a wallet set to another configured token (by its mint) is added to the list. */
const WALLET_TOKENS = [["SOL", "SOL"], ["USDC", "USDC"]];

/**
 * The shop's Solana wallet: the address buyers paying with Solana Pay send to, and the token it takes (the order's
 * price is converted at checkout). Set, replaced or removed here; hidden when the marketplace does not offer Solana Pay.
 */
function walletPanel() {
  const panel = h("section", { class: "panel wallet", "aria-labelledby": "wallet-title", "data-testid": "wallet" });
  const title = h("h2", { id: "wallet-title" }, "Solana wallet");
  const notOffered = () => mount(panel, title,
    h("p", { class: "muted", "data-testid": "wallet-status" }, "Solana Pay is not offered on this marketplace."));

  const draw = (wallet) => {
    const state = h("p", { class: "wallet-state", role: "status", "data-testid": "wallet-status" }, wallet
      ? ["Buyers can pay you with Solana Pay: ", h("strong", {}, wallet.token), " to ", h("code", {}, wallet.address), "."]
      : "No wallet yet: buyers of your products cannot pay with Solana Pay.");
    const status = h("p", { class: "form-status", role: "alert" });
    const tokens = [...WALLET_TOKENS];
    if (wallet && !tokens.some(([value]) => value === wallet.token)) tokens.push([wallet.mint ?? wallet.token, wallet.token]);
    const form = h("form", { class: "form wallet-form", novalidate: true, "aria-labelledby": "wallet-title" },
      field("Wallet address", {
        name: "address", id: "wallet-address", "data-testid": "wallet-address", value: wallet?.address ?? "", required: true,
        autocomplete: "off", autocapitalize: "off", spellcheck: "false", maxlength: 64,
      }, { hint: "Your wallet's public address (base58, 32 to 44 characters), as your wallet app shows it. Never your secret phrase." }),
      field("Token you accept", { name: "token", id: "wallet-token", "data-testid": "wallet-token", value: wallet?.token ?? "USDC" },
        { control: "select", options: tokens, hint: "Buyers pay the order's total in this token, at the marketplace's rate of the day." }),
      status,
      h("p", { class: "row" },
        h("button", { type: "submit", "data-testid": "wallet-save" }, wallet ? "Save wallet" : "Add wallet"),
        wallet ? h("button", { type: "button", class: "secondary", "data-testid": "wallet-remove", onclick: remove }, "Remove wallet") : null));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const saved = await api("/api/seller/wallet", {
          method: "PUT", body: { address: form.elements.address.value.trim(), token: form.elements.token.value },
        });
        draw(saved);
        toast("Wallet saved.", { kind: "success" });
      } catch (error) {
        button.disabled = false;
        if (error.code === "solana_pay_unavailable") notOffered();
        else showErrors(form, error, status);
      }
    });
    mount(panel, title,
      h("p", { class: "muted" }, "Buyers who choose Solana Pay at checkout send your order's total straight to this wallet; ",
        "the order is paid once the transfer is final on the chain. Orders already placed keep the wallet they were placed with."),
      state, form);
  };

  async function remove() {
    if (!confirm("Remove this wallet? Buyers of your products can then no longer pay with Solana Pay.")) return;
    try {
      await api("/api/seller/wallet", { method: "DELETE" });
      draw(null);
      toast("Wallet removed.");
    } catch (error) { toast(error.message, { kind: "error" }); }
  }

  const load = async () => {
    mount(panel, title, h("p", { class: "loading" }, "Loading…"));
    try {
      const [wallet, options] = await Promise.all([
        api("/api/seller/wallet").catch((error) => { if (error.code === "no_wallet") return null; throw error; }),
        api("/api/checkout/options").catch(() => null),
      ]);
      // Solana Pay switched off: a wallet set while it was on may still be removed.
      if (options?.solanaPay?.reason === "disabled" && !wallet) notOffered();
      else draw(wallet);
    } catch (error) { mount(panel, title, failure(error, load)); }
  };
  load();
  return panel;
}
