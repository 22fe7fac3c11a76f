// The back office: orders (open one, refund, override), disputes to decide, the reports queue, users (roles,
// suspensions) and the audit log. Every change asks for a reason, which the person concerned and the audit log keep.
import { api } from "../api.js";
import { h, money, ago, failure, toast, statusLabel, mount } from "../ui.js";
import { disputePanel, minorUnits } from "./disputes.js";

const tabs = [["", "Stats"], ["orders", "Orders"], ["disputes", "Disputes"], ["reports", "Reports"], ["users", "Users"], ["audit", "Audit log"]];

/** The back office's tabs; the stats page (admin.js) shows them too. */
export function adminTabs(current) {
  return h("nav", { class: "tabs", "aria-label": "Back office" }, tabs.map(([name, label]) =>
    h("a", { href: name ? `/admin/${name}` : "/admin", "data-link": true, "aria-current": name === current ? "page" : null }, label)));
}

export async function render({ params, view, session, socket }) {
  if (!session.isAdmin) { view.append(h("div", { class: "panel" }, h("h1", {}, "Admins only"))); return; }
  const tab = params.tab;
  const body = h("div", {});
  view.append(h("h1", {}, "Back office"), adminTabs(tab), body);
  const screens = { orders, disputes, reports, users, audit };
  const reload = () => screens[tab](body);
  await reload();
  // Orders and disputes move while an admin looks at them.
  if (tab === "orders" || tab === "disputes") return socket.on("notification:new", () => reload());
}

/** Asks for the reason of an admin action; null when cancelled. */
function reason(what) {
  const text = prompt(`${what}: why? (kept in the audit log; the person concerned sees it)`);
  return text && text.trim() ? text.trim() : null;
}

async function run(call, done, reload) {
  try {
    await call();
    if (done) toast(done, { kind: "success" });
    await reload();
  } catch (error) { toast(error.message, { kind: "error" }); }
}

// MARK: Orders

async function orders(body) {
  const filter = h("form", { class: "filters row" },
    h("label", { for: "ao-status" }, "Status"),
    h("select", { id: "ao-status", name: "status" }, [["", "All"], ["paid", "Paid"], ["pending_payment", "Awaiting payment"], ["refunded", "Refunded"],
      ["cancelled", "Cancelled"]].map(([value, text]) => h("option", { value }, text))),
    h("button", { type: "submit" }, "Show"));
  const list = h("ul", { class: "list admin-orders" });
  const detail = h("div", { class: "admin-order" });
  mount(body, filter, list, detail);
  const load = async () => {
    try {
      const page = await api("/api/admin/orders", { query: { status: filter.elements.status.value, limit: 50 } });
      mount(list, ...page.items.map((order) => h("li", { class: "row-item", "data-testid": "admin-order", "data-id": order.id },
        h("button", { type: "button", class: "link-button", onclick: () => open(order.id) }, `#${order.id.slice(0, 8)}`),
        h("span", { class: `status status-${order.status}` }, statusLabel(order.status)),
        h("span", {}, order.buyer.displayName || order.buyer.username),
        h("span", { class: "muted" }, order.sellerOrders.map((so) => `${so.seller.displayName}: ${statusLabel(so.status)}`).join(" · ")),
        h("span", { class: "price" }, money(order.total), order.refunded.amount ? ` (refunded ${money(order.refunded)})` : ""),
        h("span", { class: "muted" }, ago(order.createdAt)))));
      if (!page.items.length) list.append(h("li", { class: "muted" }, "No orders."));
    } catch (error) { mount(list, h("li", {}, failure(error, load))); }
  };
  const open = async (id) => {
    try { mount(detail, orderDetail(await api(`/api/admin/orders/${id}`), () => { load(); open(id); })); } catch (error) { mount(detail, failure(error)); }
  };
  filter.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  await load();
}

function orderDetail(view, reload) {
  const order = view.order;
  return h("section", { class: "panel", "data-testid": "admin-order-detail" },
    h("h2", {}, `Order ${order.id.slice(0, 8)} · ${view.buyer.displayName}`),
    h("p", {}, h("span", { class: `status status-${order.status}` }, statusLabel(order.status)), " · total ", money(order.total),
      " · refunded ", h("span", { "data-testid": "admin-order-refunded" }, money(order.refunded))),
    order.sellerOrders.map((so) => {
      const refund = h("form", { class: "row" },
        h("label", { for: `ar-${so.id}` }, "Refund"),
        h("input", { id: `ar-${so.id}`, name: "amount", placeholder: `amount in ${so.total.currency}, or empty for all`, inputmode: "decimal" }),
        h("label", {}, h("input", { type: "checkbox", name: "includeDelivered" }), " include delivered digital items"),
        h("button", { type: "submit" }, "Refund"));
      refund.addEventListener("submit", (event) => {
        event.preventDefault();
        const why = reason("Refund");
        if (!why) return;
        const raw = refund.elements.amount.value.trim();
        const body = raw ? { amount: minorUnits(raw), reason: why } : { full: true, includeDelivered: refund.elements.includeDelivered.checked, reason: why };
        run(() => api(`/api/admin/seller-orders/${so.id}/refunds`, { method: "POST", body }), "Refunded.", reload);
      });
      const moves = { paid: ["shipped", "delivered", "cancelled"], shipped: ["delivered", "cancelled"], delivered: ["cancelled"] }[so.status] ?? [];
      return h("div", { class: "panel seller-order" },
        h("h3", {}, so.seller.displayName, " ", h("span", { class: `status status-${so.status}` }, statusLabel(so.status))),
        h("p", { class: "muted" }, `total ${money(so.total)} · fee ${money(so.platformFee)} · earnings ${money(so.sellerEarnings)} · refunded ${money(so.refunded)}`),
        h("ul", { class: "lines" }, so.lines.map((line) => h("li", {}, `${line.title} × ${line.quantity} — ${money(line.lineTotal)}`))),
        ["paid", "shipped", "delivered"].includes(so.status) ? refund : null,
        moves.length ? h("p", { class: "row" }, "Move to: ", moves.map((next) => h("button", { type: "button", class: "secondary", onclick: () => {
          const why = reason(`Move to ${next}`);
          if (why) run(() => api(`/api/admin/seller-orders/${so.id}/status`, { method: "POST", body: { status: next, reason: why } }), "Done.", reload);
        } }, statusLabel(next)))) : null);
    }),
    h("details", {}, h("summary", {}, `History (${order.history?.length ?? 0})`), h("ol", {}, (order.history ?? []).map((entry) =>
      h("li", {}, `${ago(entry.at)}: ${statusLabel(entry.from ?? "new")} → ${statusLabel(entry.to)} (${entry.actor})${entry.note ? ` — ${entry.note}` : ""}`)))),
    h("details", {}, h("summary", {}, `Refunds (${order.refunds?.length ?? 0})`), h("ul", {}, (order.refunds ?? []).map((refund) =>
      h("li", {}, `${money(refund.amount)} · ${statusLabel(refund.reason)} · ${refund.status}${refund.note ? ` — ${refund.note}` : ""}`)))),
    h("details", {}, h("summary", {}, `Payment events (${view.paymentEvents.length})`), h("ul", {}, view.paymentEvents.map((event) =>
      h("li", {}, `${ago(event.receivedAt)}: ${event.provider} ${event.kind} → ${event.outcome}`)))),
    h("details", {}, h("summary", {}, `Ledger (${view.ledger.length})`), h("ul", {}, view.ledger.map((entry) =>
      h("li", {}, `${entry.entry} · ${entry.bucket} · ${money(entry.amount)}`)))));
}

// MARK: Disputes

async function disputes(body) {
  try {
    const page = await api("/api/admin/disputes", { query: { limit: 50 } });
    const reload = () => disputes(body);
    const unresolved = page.items.filter((d) => d.status !== "resolved");
    mount(body, unresolved.length ? unresolved.map((dispute) => {
      const decide = h("form", { class: "row", "data-testid": "decide-dispute" },
        h("label", { for: `dd-${dispute.id}` }, "Refund"),
        h("input", { id: `dd-${dispute.id}`, name: "amount", placeholder: "amount, or empty for all", inputmode: "decimal" }),
        h("button", { type: "submit", name: "refund" }, "Refund the buyer"),
        h("button", { type: "button", class: "secondary", onclick: () => {
          const why = reason("Close without refund");
          if (why) run(() => api(`/api/admin/disputes/${dispute.id}/decide`, { method: "POST", body: { outcome: "close", reason: why } }), "Closed.", reload);
        } }, "Close, no refund"));
      decide.addEventListener("submit", (event) => {
        event.preventDefault();
        const why = reason("Refund");
        if (!why) return;
        const raw = decide.elements.amount.value.trim();
        const request = { outcome: "refund", reason: why, ...(raw ? { amount: minorUnits(raw) } : {}) };
        run(() => api(`/api/admin/disputes/${dispute.id}/decide`, { method: "POST", body: request }), "Refunded.", reload);
      });
      return h("div", { class: "admin-dispute" },
        h("p", {}, `Order #${dispute.orderId.slice(0, 8)}: ${dispute.buyer.displayName} against ${dispute.seller.displayName}`),
        disputePanel(dispute, "admin", reload), decide);
    }) : h("p", { class: "muted" }, "No dispute waits for a decision."));
  } catch (error) { mount(body, failure(error, () => disputes(body))); }
}

// MARK: Reports

async function reports(body) {
  try {
    const page = await api("/api/admin/reports", { query: { status: "open", limit: 50 } });
    const reload = () => reports(body);
    mount(body, page.items.length ? h("ul", { class: "list" }, page.items.map((report) => {
      const actions = [["dismiss", "Dismiss"], ["warn", "Warn"], ["suspend", "Suspend the user"]];
      if (report.targetType === "product") actions.splice(1, 0, ["take_down", "Take the listing down"]);
      const target = report.targetType === "product" ? h("a", { href: `/p/${report.targetId}`, "data-link": true }, "listing")
        : report.targetType === "user" ? "user" : "message";
      return h("li", { class: "panel", "data-testid": "report", "data-id": report.id },
        h("p", {}, h("strong", {}, statusLabel(report.reason)), " · ", target, " · ", ago(report.createdAt)),
        report.body ? h("p", {}, report.body) : null,
        report.evidence ? h("blockquote", {}, report.evidence) : null,
        h("p", { class: "row" }, actions.map(([action, label]) => h("button", { type: "button", class: "secondary", "data-action": action, onclick: () => {
          const why = reason(label);
          if (why) run(() => api(`/api/admin/reports/${report.id}/resolve`, { method: "POST", body: { action, reason: why } }), "Resolved.", reload);
        } }, label))));
    })) : h("p", { class: "muted" }, "No open reports."));
  } catch (error) { mount(body, failure(error, () => reports(body))); }
}

// MARK: Users

async function users(body) {
  const search = h("form", { class: "filters row" },
    h("label", { for: "au-q" }, "Find"), h("input", { id: "au-q", name: "q", placeholder: "username, name or email" }),
    h("label", {}, h("input", { type: "checkbox", name: "suspended" }), " suspended only"),
    h("button", { type: "submit" }, "Search"));
  const list = h("ul", { class: "list admin-users" });
  mount(body, search, list);
  const load = async () => {
    try {
      const page = await api("/api/admin/users", { query: { q: search.elements.q.value.trim(), suspended: search.elements.suspended.checked ? "true" : "", limit: 50 } });
      mount(list, ...page.items.map((user) => h("li", { class: "row-item", "data-testid": "admin-user" },
        h("strong", {}, user.username), h("span", {}, user.displayName), h("span", { class: "muted" }, user.email, user.emailVerified ? " ✓" : ""),
        h("label", {}, "Role ", h("select", { onchange: (event) => {
          const why = reason(`Make ${user.username} ${event.target.value}`);
          if (!why) { event.target.value = user.role; return; }
          run(() => api(`/api/admin/users/${user.id}/role`, { method: "POST", body: { role: event.target.value, reason: why } }), "Role changed.", load);
        } }, ["buyer", "seller", "admin"].map((role) => h("option", { value: role, selected: role === user.role }, role)))),
        user.suspendedAt
          ? [h("span", { class: "status status-cancelled" }, `suspended: ${user.suspensionReason ?? ""}`),
            h("button", { type: "button", class: "secondary", onclick: () => {
              const why = reason("Lift the suspension");
              if (why) run(() => api(`/api/admin/users/${user.id}/unsuspend`, { method: "POST", body: { reason: why } }), "Suspension lifted.", load);
            } }, "Unsuspend")]
          : h("button", { type: "button", class: "secondary", onclick: () => {
            const why = reason(`Suspend ${user.username}`);
            if (why) run(() => api(`/api/admin/users/${user.id}/suspend`, { method: "POST", body: { reason: why } }), "Suspended; their sessions ended.", load);
          } }, "Suspend"))));
      if (!page.items.length) list.append(h("li", { class: "muted" }, "Nobody matches."));
    } catch (error) { mount(list, h("li", {}, failure(error, load))); }
  };
  search.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  await load();
}

// MARK: Audit log

async function audit(body) {
  try {
    const page = await api("/api/admin/audit", { query: { limit: 100 } });
    mount(body, h("table", { class: "audit" },
      h("thead", {}, h("tr", {}, ["When", "Action", "Target", "Reason", "Before → after"].map((name) => h("th", { scope: "col" }, name)))),
      h("tbody", {}, page.items.length ? page.items.map((entry) => h("tr", { "data-testid": "audit-entry" },
        h("td", {}, ago(entry.createdAt)), h("td", {}, entry.action), h("td", {}, `${entry.targetType} ${entry.targetId.slice(0, 8)}`),
        h("td", {}, entry.reason ?? ""),
        h("td", { class: "muted" }, `${JSON.stringify(entry.before)} → ${JSON.stringify(entry.after)}`)))
        : h("tr", {}, h("td", { colspan: 5 }, "Nothing yet.")))));
  } catch (error) { mount(body, failure(error, () => audit(body))); }
}
