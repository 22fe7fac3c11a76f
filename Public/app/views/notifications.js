// Notifications: the list (newest first, infinite), mark one or all read, live arrivals, and mute preferences.
import { api } from "../api.js";
import { h, ago, money, infinite, failure, toast, statusLabel, mount } from "../ui.js";

const KINDS = [
  ["follower", "New followers"], ["like", "Likes on my products"], ["message", "Messages while I am away"],
  ["order", "New orders (sellers)"], ["order_status", "My order updates"], ["low_stock", "Low stock (sellers)"],
];

export function describe(n) {
  const d = n.data ?? {};
  switch (n.kind) {
    case "follower": return { text: `${d.displayName || d.username} started following you`, href: d.username ? `/u/${d.username}` : null };
    case "like": return { text: `Someone liked your product (${d.likeCount} likes)`, href: d.productId ? `/p/${d.productId}` : null };
    case "message": return { text: `New message: “${d.preview ?? ""}”`, href: d.conversationId ? `/chat/${d.conversationId}` : null };
    case "order": return { text: `New order: ${money(d.total, d.currency)} (${statusLabel(d.status)})`, href: "/sell/orders" };
    case "order_status": return {
      text: `Your order is ${statusLabel(d.status)}${d.trackingNumber ? ` — tracking ${d.trackingNumber}` : ""}`,
      href: d.orderId ? `/orders/${d.orderId}` : null,
    };
    case "low_stock": return { text: `Low stock: ${d.title} has ${d.stock} left`, href: d.productId ? `/sell/products/${d.productId}` : null };
    default: return { text: n.kind, href: null };
  }
}

export async function render({ view, socket, setUnread }) {
  const list = h("ul", { class: "list notifications", "aria-live": "polite" });
  const sentinel = h("div", { class: "sentinel" });
  const status = h("p", { class: "muted", role: "status" });
  const allRead = h("button", { type: "button", class: "secondary" }, "Mark all read");
  allRead.addEventListener("click", async () => {
    try {
      const result = await api("/api/notifications/read", { method: "POST", body: {} });
      setUnread(result.unread);
      for (const item of list.querySelectorAll(".unread")) item.classList.remove("unread");
    } catch (error) { toast(error.message, { kind: "error" }); }
  });
  const item = (n) => {
    const { text, href } = describe(n);
    const li = h("li", { class: `row-item notification ${n.read ? "" : "unread"}`, "data-testid": "notification" },
      href ? h("a", { href, "data-link": true }, text) : h("span", {}, text),
      h("small", { class: "muted" }, ago(n.createdAt)));
    if (!n.read) {
      li.append(h("button", { type: "button", class: "link-button", onclick: async (event) => {
        try {
          const result = await api(`/api/notifications/${n.id}/read`, { method: "POST", body: {} });
          setUnread(result.unread);
          li.classList.remove("unread");
          event.target.remove();
        } catch (error) { toast(error.message, { kind: "error" }); }
      } }, "Mark read"));
    }
    return li;
  };
  view.append(h("div", { class: "title-row" }, h("h1", {}, "Notifications"), allRead), list, status, sentinel, preferences());
  let cursor = null;
  let count = 0;
  const stop = infinite(sentinel, async () => {
    try {
      const page = await api("/api/notifications", { query: { cursor, limit: 20 } });
      setUnread(page.unread);
      for (const n of page.items) list.append(item(n));
      count += page.items.length;
      cursor = page.nextCursor;
      if (count === 0) status.textContent = "Nothing yet.";
      return Boolean(cursor);
    } catch (error) { mount(status, failure(error)); return false; }
  });
  const off = socket.on("notification:new", (data) => { status.textContent = ""; list.prepend(item(data.notification)); });
  return () => { stop(); off(); };
}

function preferences() {
  const form = h("form", { class: "panel form" }, h("h2", {}, "Notify me about"));
  const note = h("p", { role: "status", class: "muted" });
  api("/api/notifications/preferences").then((prefs) => {
    const muted = new Set(prefs.muted);
    for (const [kind, label] of KINDS) {
      const box = h("input", { type: "checkbox", id: `pref-${kind}`, name: kind, checked: !muted.has(kind) });
      box.addEventListener("change", async () => {
        const next = KINDS.map(([k]) => k).filter((k) => !form.elements[k].checked);
        try {
          await api("/api/notifications/preferences", { method: "PUT", body: { muted: next } });
          note.textContent = "Saved.";
        } catch (error) { note.textContent = error.message; }
      });
      form.append(h("div", { class: "field check" }, box, h("label", { for: `pref-${kind}` }, label)));
    }
    form.append(note);
  }).catch((error) => form.append(failure(error)));
  return form;
}
