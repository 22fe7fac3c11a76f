// One order: seller orders with their status (live), tracking, delivered digital items, refunds, disputes, history,
// cancel/confirm; for an order paid with Solana Pay, a QR code and wallet link per seller with the transfer's state.
import { api } from "../api.js";
import { h, money, ago, failure, toast, statusLabel, mount, solanaRate } from "../ui.js";
import { qrSVG } from "../qr.js";
import { disputePanel, openDisputeForm } from "./disputes.js";

/** How often the page looks at a Solana Pay order while a transfer is still awaited (and the page is visible). */
const SOLANA_POLL_MS = 4000;

export async function render({ params, query, view, socket }) {
  const id = params.id ?? query.get("id");
  if (query.get("paid")) toast("Payment received. Thank you!", { kind: "success" });
  const body = h("div", {});
  view.append(body);
  let shown = null; // the order as last drawn: a poll that finds nothing new leaves the page (and its focus) alone
  const load = async () => {
    try {
      const [order, disputes] = await Promise.all([api(`/api/orders/${id}`), api("/api/disputes", { query: { as: "buyer", limit: 100 } })]);
      const bySellerOrder = new Map(disputes.items.filter((d) => d.orderId === order.id).map((d) => [d.sellerOrderId, d]));
      shown = order;
      mount(body, renderOrder(order, bySellerOrder, load));
    } catch (error) {
      mount(body, error.status === 404 ? h("div", { class: "panel" }, h("h1", {}, "Order not found")) : failure(error, load));
    }
  };
  await load();
  // The order (and the buyer's digital items) change when the payment lands or a seller ships: each change is an
  // order:status event on the buyer's stream (the notification that may accompany it would only repeat the load).
  const off = socket.on("order:status", (data) => { if (data.orderId?.toLowerCase() === id.toLowerCase()) load(); });
  // Right after the payment page the webhook may still be on its way: look again shortly.
  const timer = setTimeout(load, 2000);
  // A Solana Pay transfer is found by the server's watcher, and its "confirming" step sends no event: while one is
  // awaited, look every few seconds (only while the page is visible, and at once when it becomes visible again).
  let polling = false;
  const poll = async () => {
    if (polling || document.visibilityState !== "visible" || !awaitingSolana(shown)) return;
    polling = true;
    try {
      const order = await api(`/api/orders/${id}`);
      if (JSON.stringify(order) !== JSON.stringify(shown)) await load();
    } catch { /* the next tick tries again; the socket's events still arrive */ } finally { polling = false; }
  };
  const interval = setInterval(poll, SOLANA_POLL_MS);
  const onVisible = () => { if (document.visibilityState === "visible") poll(); };
  document.addEventListener("visibilitychange", onVisible);
  return () => { off(); clearTimeout(timer); clearInterval(interval); document.removeEventListener("visibilitychange", onVisible); };
}

const awaitingSolana = (order) =>
  order?.payment?.provider === "solana_pay" && (order.payment.solanaPay ?? []).some((t) => t.status === "pending" || t.status === "confirming");

const SOLANA_STATUS = {
  pending: "Waiting for payment",
  confirming: "Confirming",
  paid: "Paid",
  expired: "Expired",
};

/** One card per seller order to pay with Solana Pay: its QR code and wallet link while it is awaited, and its state. */
function solanaPanel(order) {
  const transfers = order.payment?.solanaPay ?? [];
  if (order.payment?.provider !== "solana_pay" || transfers.length === 0) return null;
  const sellers = new Map(order.sellerOrders.map((so) => [so.id, so.seller]));
  const open = transfers.some((t) => t.status === "pending" || t.status === "confirming");
  return h("section", { class: "solana-pay", "aria-labelledby": "solana-title", "data-testid": "solana-pay" },
    h("h2", { id: "solana-title" }, open ? "Pay with Solana Pay" : "Solana Pay"),
    open ? h("p", { class: "muted" }, transfers.length > 1 ? `Each of the ${transfers.length} sellers is paid separately: ` : "",
      "scan a code with a Solana wallet app on your phone, or open the link in a wallet on this device. ",
      "This page updates by itself when a payment lands.") : null,
    h("div", { class: "solana-transfers" }, transfers.map((transfer) => solanaCard(transfer, sellers.get(transfer.sellerOrderId), order))));
}

function solanaCard(transfer, seller, order) {
  const name = seller?.displayName ?? seller?.username ?? "the seller";
  const headingId = `solana-${transfer.sellerOrderId}`;
  const awaited = transfer.status === "pending";
  const amount = `${transfer.amount} ${transfer.token}`;
  const qr = h("div", { class: "solana-qr", "data-testid": "solana-qr" });
  // The SVG is built from the link's bytes by qr.js (no markup from the server goes in): one path of dark modules.
  if (awaited) qr.innerHTML = qrSVG(transfer.url, { label: `QR code: pay ${amount} to ${name} with a Solana wallet`, scale: 4 });
  const status = h("p", { class: "solana-status", role: "status", "data-testid": "solana-status", "data-status": transfer.status },
    h("span", { class: `status status-solana-${transfer.status}` }, SOLANA_STATUS[transfer.status] ?? statusLabel(transfer.status)),
    transfer.status === "confirming" ? " The transfer is on the chain; waiting for it to be final." : null,
    transfer.status === "expired" ? " The time to pay ran out; nothing more should be sent." : null);
  return h("section", { class: "panel solana-transfer", "aria-labelledby": headingId, "data-testid": "solana-transfer", "data-seller-order": transfer.sellerOrderId },
    h("h3", { id: headingId }, awaited ? `Pay ${name}` : name),
    h("div", { class: "solana-body" },
      awaited ? h("figure", { class: "solana-code" }, qr,
        h("figcaption", {}, h("a", { href: transfer.url, class: "button", "data-testid": "solana-link" }, "Open in wallet"))) : null,
      h("dl", { class: "solana-facts" },
        h("dt", {}, "Amount"), h("dd", {}, h("strong", { "data-testid": "solana-amount" }, amount)),
        h("dt", {}, "Rate"), h("dd", { "data-testid": "solana-rate" }, solanaRate(transfer, order.total.currency)),
        h("dt", {}, "To"), h("dd", {}, h("code", {}, transfer.recipient)),
        h("dt", {}, "Reference"), h("dd", {}, h("code", { "data-testid": "solana-reference" }, transfer.reference)),
        transfer.signature ? [h("dt", {}, "Transaction"), h("dd", {}, h("code", { "data-testid": "solana-signature" }, transfer.signature))] : null,
        h("dt", {}, "Status"), h("dd", {}, status))));
}

function renderOrder(order, disputes, reload) {
  const actions = [];
  // A Solana Pay order's payment URL is this page: its QR codes are below.
  if (order.status === "pending_payment" && order.payment?.url && order.payment.provider !== "solana_pay") actions.push(h("a", { href: order.payment.url, class: "button" }, "Pay now"));
  const cancellable = order.status === "pending_payment" || order.sellerOrders.some((so) => so.status === "paid");
  if (cancellable) {
    actions.push(h("button", { type: "button", class: "secondary", onclick: async () => {
      if (!confirm("Cancel this order? Anything paid and not yet shipped is refunded.")) return;
      try { await api(`/api/orders/${order.id}/cancel`, { method: "POST", body: {} }); reload(); } catch (error) { toast(error.message, { kind: "error" }); }
    } }, "Cancel order"));
  }
  return h("article", { class: "order" },
    h("h1", {}, `Order ${order.id.slice(0, 8)}`),
    h("p", {}, h("span", { class: `status status-${order.status}`, "data-testid": "order-status" }, statusLabel(order.status)),
      " · ", ago(order.createdAt), " · total ", h("strong", {}, money(order.total))),
    h("p", { class: "row" }, actions),
    solanaPanel(order),
    order.sellerOrders.map((so) => h("section", { class: "panel seller-order", "data-testid": "seller-order" },
      h("h2", {}, so.seller.displayName, " ", h("span", { class: `status status-${so.status}`, "data-testid": "seller-order-status" }, statusLabel(so.status))),
      so.trackingNumber ? h("p", { "data-testid": "tracking" }, `Shipped with ${so.carrier}: tracking ${so.trackingNumber}`) : null,
      h("ul", { class: "lines" }, so.lines.map((line) => h("li", {},
        h("a", { href: `/p/${line.productId}`, "data-link": true }, line.title), ` × ${line.quantity} — ${money(line.lineTotal)}`,
        line.items?.length ? h("div", { class: "digital" },
          h("p", {}, "Your ", line.type === "link" ? "download links" : line.type === "credential" ? "credentials" : "keys", ":"),
          h("ul", {}, line.items.map((item) => h("li", {}, h("code", { "data-testid": "digital-item" }, item))))) : null))),
      so.refunded?.amount ? h("p", { "data-testid": "seller-order-refunded" }, `Refunded ${money(so.refunded)}`) : null,
      so.status === "shipped" ? h("button", { type: "button", onclick: async () => {
        try {
          await api(`/api/orders/${order.id}/confirm`, { method: "POST", body: { sellerOrderId: so.id } });
          reload();
        } catch (error) { toast(error.message, { kind: "error" }); }
      } }, "I received it") : null,
      disputes.has(so.id) ? disputePanel(disputes.get(so.id), "buyer", reload)
        : ["shipped", "delivered"].includes(so.status) ? openDisputeForm(order.id, so, reload) : null)),
    h("dl", { class: "totals" },
      h("dt", {}, "Subtotal"), h("dd", {}, money(order.subtotal)),
      h("dt", {}, "VAT"), h("dd", {}, money(order.vat)),
      h("dt", {}, "Shipping"), h("dd", {}, money(order.shipping)),
      h("dt", {}, "Total"), h("dd", {}, h("strong", {}, money(order.total))),
      order.refunded?.amount ? [h("dt", {}, "Refunded"), h("dd", { "data-testid": "order-refunded" }, money(order.refunded))] : null),
    order.refunds?.length ? h("section", { class: "panel" }, h("h2", {}, "Refunds"), h("ul", { class: "refunds" }, order.refunds.map((refund) =>
      h("li", { "data-testid": "refund" }, `${money(refund.amount)} · ${statusLabel(refund.reason)} · ${refund.status}`,
        refund.note ? ` · “${refund.note}”` : "")))) : null,
    order.history?.length ? h("details", {}, h("summary", {}, "History"), h("ol", { class: "history" }, order.history.map((entry) =>
      h("li", {}, `${ago(entry.at)}: ${statusLabel(entry.from ?? "new")} → ${statusLabel(entry.to)} (${entry.actor})`)))) : null);
}
