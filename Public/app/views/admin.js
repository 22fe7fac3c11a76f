// Admin stats: totals, and charts drawn as inline SVG from GET /api/admin/stats (no chart library).
import { api } from "../api.js";
import { h, svg, money, failure } from "../ui.js";
import { adminTabs } from "./backoffice.js";

export async function render({ view, session, query, navigate }) {
  if (!session.isAdmin) { view.append(h("div", { class: "panel" }, h("h1", {}, "Admins only"))); return; }
  const today = new Date();
  const iso = (d) => d.toISOString().slice(0, 10);
  const to = query.get("to") ?? iso(today);
  const from = query.get("from") ?? iso(new Date(today.getTime() - 29 * 86400_000));
  const form = h("form", { class: "filters" },
    h("div", { class: "field inline" }, h("label", { for: "s-from" }, "From"), h("input", { id: "s-from", name: "from", type: "date", value: from })),
    h("div", { class: "field inline" }, h("label", { for: "s-to" }, "To"), h("input", { id: "s-to", name: "to", type: "date", value: to })),
    h("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate(`/admin?from=${form.elements.from.value}&to=${form.elements.to.value}`, { replace: true });
  });
  view.append(h("h1", {}, "Back office"), adminTabs(""), h("h2", {}, "Marketplace stats"), form);
  let stats;
  try { stats = await api("/api/admin/stats", { query: { from, to } }); } catch (error) { view.append(failure(error)); return; }
  const currency = stats.totals.gmv[0]?.currency ?? "ZAR";
  const gmvOf = (day) => day.gmv.find((m) => m.currency === currency)?.amount ?? 0;
  const rate = stats.totals.paymentFailureRate;
  view.append(
    h("section", { class: "stat-cards" },
      card("Users", stats.totals.users), card("Sellers", stats.totals.sellers), card("Paid orders", stats.totals.ordersPaid),
      card("GMV", stats.totals.gmv.map((m) => money(m)).join(" + ") || money(0, currency)),
      card("Payment failures", rate === null || rate === undefined ? "–" : `${(rate * 100).toFixed(1)}%`)),
    h("section", { class: "panel" }, h("h2", { id: "chart-gmv" }, `GMV per day (${currency})`),
      barChart(stats.days, gmvOf, (v) => money(v, currency), "chart-gmv")),
    h("section", { class: "panel" }, h("h2", { id: "chart-orders" }, "Paid orders per day"),
      barChart(stats.days, (d) => d.orders, String, "chart-orders")),
    h("section", { class: "panel" }, h("h2", { id: "chart-users" }, "New users and sellers per day"),
      lineChart(stats.days, [["newUsers", "users"], ["newSellers", "sellers"]], "chart-users")),
    h("section", { class: "panel" }, h("h2", {}, "Top products"),
      h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Product"), h("th", { scope: "col" }, "Units"), h("th", { scope: "col" }, "Revenue"))),
        h("tbody", {}, stats.topProducts.length ? stats.topProducts.map((p) => h("tr", {},
          h("td", {}, h("a", { href: `/p/${p.productId}`, "data-link": true }, p.title)), h("td", {}, String(p.unitsSold)),
          h("td", {}, money(p.revenue))))
          : h("tr", {}, h("td", { colspan: 3 }, "No sales in this range."))))));
}

function card(label, value) {
  return h("div", { class: "stat-card" }, h("span", { class: "muted" }, label), h("strong", {}, String(value)));
}

const W = 640, H = 200, PAD = 28;

function barChart(days, value, format, labelledBy) {
  const values = days.map(value);
  const max = Math.max(1, ...values);
  const step = (W - PAD * 2) / Math.max(1, days.length);
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-labelledby": labelledBy },
    svg("line", { x1: PAD, y1: H - PAD, x2: W - PAD, y2: H - PAD, class: "axis" }),
    days.map((day, i) => {
      const height = (values[i] / max) * (H - PAD * 2);
      return svg("rect", { x: PAD + i * step + step * 0.15, y: H - PAD - height, width: Math.max(1, step * 0.7), height, class: "bar" },
        svg("title", {}, `${day.day}: ${format(values[i])}`));
    }),
    svg("text", { x: PAD, y: PAD - 10, class: "chart-label" }, `max ${format(max)}`),
    days.length ? [
      svg("text", { x: PAD, y: H - 8, class: "chart-label" }, days[0].day),
      svg("text", { x: W - PAD, y: H - 8, class: "chart-label end" }, days.at(-1).day),
    ] : null);
  return h("figure", {}, chart, table(days, [[value, "value", format]]));
}

function lineChart(days, series, labelledBy) {
  const max = Math.max(1, ...days.flatMap((d) => series.map(([key]) => d[key])));
  const x = (i) => PAD + (i / Math.max(1, days.length - 1)) * (W - PAD * 2);
  const y = (v) => H - PAD - (v / max) * (H - PAD * 2);
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-labelledby": labelledBy },
    svg("line", { x1: PAD, y1: H - PAD, x2: W - PAD, y2: H - PAD, class: "axis" }),
    series.map(([key, name], s) => svg("polyline", { points: days.map((d, i) => `${x(i)},${y(d[key])}`).join(" "), class: `line line-${s}` },
      svg("title", {}, name))),
    series.map(([, name], s) => svg("text", { x: W - PAD, y: PAD + s * 16 - 10, class: `chart-label end legend-${s}` }, `— ${name}`)),
    svg("text", { x: PAD, y: PAD - 10, class: "chart-label" }, `max ${max}`));
  return h("figure", {}, chart, table(days, series.map(([key, name]) => [(d) => d[key], name, String])));
}

/** The same figures as a table for screen readers (and anyone who wants the numbers). */
function table(days, columns) {
  return h("details", { class: "chart-data" }, h("summary", {}, "Data"),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Day"), columns.map(([, name]) => h("th", { scope: "col" }, name)))),
      h("tbody", {}, days.map((d) => h("tr", {}, h("th", { scope: "row" }, d.day), columns.map(([get, , format]) => h("td", {}, format(get(d)))))))));
}
