// One order: seller orders with their status (live), tracking, delivered digital items, refunds, disputes, history,
// cancel/confirm.
import { api } from "../api.js";
import { h, money, ago, failure, toast, statusLabel, mount } from "../ui.js";
import { disputePanel, openDisputeForm } from "./disputes.js";

export async function render({ params, query, view, socket }) {
  const id = params.id ?? query.get("id");
  if (query.get("paid")) toast("Payment received. Thank you!", { kind: "success" });
  const body = h("div", {});
  view.append(body);
  const load = async () => {
    try {
      const [order, disputes] = await Promise.all([api(`/api/orders/${id}`), api("/api/disputes", { query: { as: "buyer", limit: 100 } })]);
      const bySellerOrder = new Map(disputes.items.filter((d) => d.orderId === order.id).map((d) => [d.sellerOrderId, d]));
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
  return () => { off(); clearTimeout(timer); };
}

function renderOrder(order, disputes, reload) {
  const actions = [];
  if (order.status === "pending_payment" && order.payment?.url) actions.push(h("a", { href: order.payment.url, class: "button" }, "Pay now"));
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
