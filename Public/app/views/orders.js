// My orders: a paginated list whose statuses change live.
import { api } from "../api.js";
import { h, money, ago, infinite, failure, statusLabel, mount } from "../ui.js";

export async function render({ view, socket }) {
  const list = h("ul", { class: "list orders" });
  const sentinel = h("div", { class: "sentinel" });
  const status = h("p", { class: "muted", role: "status" });
  view.append(h("h1", {}, "My orders"), list, status, sentinel);
  const rows = new Map();
  let cursor = null;
  let count = 0;
  const stop = infinite(sentinel, async () => {
    try {
      const page = await api("/api/orders", { query: { cursor, limit: 20 } });
      for (const order of page.items) {
        const badge = h("span", { class: `status status-${order.status}`, "data-testid": "order-status" }, statusLabel(order.status));
        rows.set(order.id, badge);
        list.append(h("li", { class: "row-item" },
          h("a", { href: `/orders/${order.id}`, "data-link": true }, order.title),
          h("span", { class: "muted" }, `${order.itemCount} ${order.itemCount === 1 ? "item" : "items"} · ${ago(order.createdAt)}`),
          h("span", { class: "price" }, money(order.total)), badge));
      }
      count += page.items.length;
      cursor = page.nextCursor;
      if (count === 0) mount(status, "No orders yet. ", h("a", { href: "/explore", "data-link": true }, "Start shopping"));
      return Boolean(cursor);
    } catch (error) { mount(status, failure(error)); return false; }
  });
  const off = socket.on("order:status", (data) => {
    const badge = rows.get(data.orderId);
    if (badge) badge.textContent = statusLabel(data.status);
  });
  return () => { stop(); off(); };
}
