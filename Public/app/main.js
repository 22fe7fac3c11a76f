// The app shell: session, router, navigation, the live socket's state, the notification bell and the service
// worker. Screens live in views/*.js; each exports `render(context)` and may return a cleanup function.

import { api, onNetwork, onSessionLost, schedule, stopRefreshing } from "./api.js";
import { socket } from "./socket.js";
import { enablePush } from "./push.js";
import { h, mount, toast, money, failure, spinner, icon } from "./ui.js";

export const session = {
  account: null,
  unread: 0,
  get isSeller() { return this.account?.role === "seller" || this.account?.role === "admin"; },
  get isAdmin() { return this.account?.role === "admin"; },
};

const routes = [
  [/^\/$/, "home"],
  [/^\/explore$/, "explore"],
  [/^\/p\/(?<id>[\w-]+)$/, "product"],
  [/^\/u\/(?<username>\w+)$/, "profile"],
  [/^\/s\/(?<username>\w+)$/, "profile"],
  [/^\/cart$/, "cart"],
  [/^\/orders$/, "orders"],
  [/^\/orders\/(?<id>[\w-]+)$/, "order"],
  [/^\/chat$/, "chat"],
  [/^\/chat\/(?<id>[\w-]+)$/, "chat"],
  [/^\/notifications$/, "notifications"],
  [/^\/sell$/, "dashboard"],
  [/^\/sell\/(?<tab>products|orders|payouts)$/, "dashboard"],
  [/^\/sell\/products\/(?<id>new|[\w-]+)$/, "editor"],
  [/^\/admin$/, "admin"],
  [/^\/admin\/(?<tab>orders|disputes|reports|users|audit)$/, "backoffice"],
  [/^\/account$/, "account"],
  [/^\/account\/addresses$/, "addresses"],
  [/^\/(?<mode>login|signup|verify-email|reset-password|forgot-password)$/, "auth"],
];
const needsLogin = new Set(["cart", "orders", "order", "chat", "notifications", "dashboard", "editor", "admin", "backoffice", "account", "addresses"]);

const view = () => document.getElementById("view");
let cleanup = null;
let renderCount = 0;

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  route();
}

async function route() {
  const count = ++renderCount;
  if (typeof cleanup === "function") cleanup();
  cleanup = null;
  const url = new URL(location.href);
  let match = null;
  let name = "notfound";
  for (const [pattern, module] of routes) {
    match = url.pathname.match(pattern);
    if (match) { name = module; break; }
  }
  if (needsLogin.has(name) && !session.account) {
    navigate(`/login?next=${encodeURIComponent(url.pathname + url.search)}`, { replace: true });
    return;
  }
  highlightNav(url.pathname);
  const target = view();
  mount(target, spinner());
  try {
    const module = await import(`./views/${name === "notfound" ? "home" : name}.js`);
    if (count !== renderCount) return;
    mount(target);
    const context = {
      params: match?.groups ?? {}, query: url.searchParams, view: target, session, socket, navigate, refreshAccount, setUnread,
      notFound: name === "notfound",
    };
    cleanup = await module.render(context);
    if (count !== renderCount && typeof cleanup === "function") cleanup();
  } catch (error) {
    if (count !== renderCount) return;
    console.error(error);
    mount(target, failure(error, () => route()));
  }
  if (count === renderCount) {
    target.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }
}

/** Re-reads the account (after login, role change) and rebuilds navigation and the socket. */
export async function refreshAccount(grant) {
  if (grant) schedule(grant);
  try {
    session.account = grant?.account ?? (await api("/api/me"));
    session.offline = false;
  } catch (error) {
    if (error.offline) {
      // Offline: show who was logged in (a profile, not a credential; gone with the tab) until the network is back.
      session.account = JSON.parse(sessionStorage.getItem("agora.account") ?? "null");
      session.offline = true;
      renderNav();
      return;
    }
    session.account = null;
  }
  if (session.account) sessionStorage.setItem("agora.account", JSON.stringify(session.account));
  else sessionStorage.removeItem("agora.account");
  if (session.account) {
    socket.start(session.account.id);
    loadUnread();
    // Pushes were allowed on this device before: tie its subscription to this session (never asks).
    enablePush().catch(() => {});
  } else {
    socket.stop();
    stopRefreshing();
    session.unread = 0;
  }
  renderNav();
}

async function loadUnread() {
  try {
    const page = await api("/api/notifications", { query: { limit: 1 } });
    setUnread(page.unread);
  } catch { /* shown on the next event */ }
}

export function setUnread(count) {
  session.unread = count;
  for (const badge of document.querySelectorAll("[data-unread]")) {
    badge.textContent = count > 99 ? "99+" : String(count);
    badge.hidden = count === 0;
  }
  for (const bell of document.querySelectorAll("[data-bell]")) {
    bell.setAttribute("aria-label", count ? `Notifications, ${count} unread` : "Notifications");
  }
}

function navItems() {
  const items = [["/", "Home", "home"], ["/explore", "Explore", "explore"]];
  if (session.account) {
    items.push(["/chat", "Messages", "messages"], ["/cart", "Cart", "cart"], ["/orders", "Orders", "orders"]);
    if (session.isSeller) items.push(["/sell", "Sell", "sell"]);
    if (session.isAdmin) items.push(["/admin", "Admin", "stats"]);
  }
  return items;
}

function renderNav() {
  const links = (className) => navItems().map(([href, label, glyph]) =>
    h("a", { href, "data-link": true, class: className, dataset: { path: href } }, icon(glyph), h("span", { class: "label" }, label)));
  mount(document.getElementById("mainnav"), links("navlink"));
  mount(document.getElementById("tabbar"), links("tablink"));
  const account = document.getElementById("account-links");
  if (session.account) {
    mount(account,
      h("a", { href: "/notifications", "data-link": true, class: "bell", "data-bell": true, "aria-label": "Notifications" },
        icon("bell"), h("span", { class: "badge", "data-unread": true, hidden: true }, "0")),
      h("a", { href: "/account", "data-link": true, class: "me" }, session.account.displayName));
    setUnread(session.unread);
  } else {
    mount(account, h("a", { href: "/login", "data-link": true }, "Log in"), h("a", { href: "/signup", "data-link": true, class: "button small" }, "Sign up"));
  }
  highlightNav(location.pathname);
}

function highlightNav(path) {
  for (const link of document.querySelectorAll("[data-path]")) {
    const target = link.dataset.path;
    const active = target === "/" ? path === "/" : path === target || path.startsWith(`${target}/`);
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function showConnection(state) {
  const badge = document.getElementById("conn");
  badge.dataset.state = state;
  badge.textContent = { online: "Live", connecting: "Connecting…", reconnecting: "Reconnecting…", offline: "" }[state] ?? state;
}

// A live toast for sellers' new orders and anything else notified; the bell's count from the event.
socket.on("notification:new", (data) => {
  setUnread(data.unread);
  const n = data.notification;
  if (n.kind === "order" && n.data?.status === "paid") {
    toast(`New order: ${money(n.data.total, n.data.currency)}`, { kind: "success", href: "/sell/orders", timeout: 8000 });
  } else if (n.kind === "order_status") {
    toast(`Your order is ${String(n.data.status).replaceAll("_", " ")}`, { href: `/orders/${n.data.orderId}` });
  }
});
socket.addEventListener("state", (event) => showConnection(event.detail.state));
// The server no longer keeps every event since this tab's position (it was away longer than the retention window):
// what the screen shows may be stale, so the counts and the screen are read again.
socket.addEventListener("reset", () => {
  loadUnread();
  route();
});
socket.addEventListener("closed", (event) => {
  if (event.detail.code === 1008) toast("The live connection fell behind and is catching up.", { kind: "info" });
  // 4401: the socket's session ended (logout elsewhere, password change, expiry). Asking who we are refreshes the
  // token if the session still lives (the socket then reconnects), or ends in onSessionLost below if it does not.
  if (event.detail.code === 4401) api("/api/me").catch(() => {});
});

onSessionLost(() => {
  if (!session.account) return;
  session.account = null;
  socket.stop();
  renderNav();
  toast("Your session ended. Please log in again.", { kind: "error" });
  navigate(`/login?next=${encodeURIComponent(location.pathname)}`, { replace: true });
});
/** Back online: catch up with whatever could not load. */
async function reconnected() {
  document.getElementById("offline").hidden = true;
  if (session.offline) { await refreshAccount(); route(); return; }
  socket.nudge();
  if (view().querySelector(".failure")) route();
}
let probe = null;
onNetwork((up) => {
  if (up) {
    clearInterval(probe);
    probe = null;
    reconnected();
    return;
  }
  document.getElementById("offline").hidden = false;
  // Logged out there is no socket retrying: look for the server every few seconds until it answers.
  probe ??= setInterval(() => api("/health").catch(() => {}), 5000);
});
addEventListener("online", () => reconnected());
addEventListener("offline", () => { document.getElementById("offline").hidden = false; });
document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") socket.nudge(); });

// Links: same-origin clicks with data-link go through the router.
document.addEventListener("click", (event) => {
  const link = event.target.closest?.("a[data-link]");
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const url = new URL(link.href);
  if (url.origin !== location.origin) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches("[data-search]")) return;
  event.preventDefault();
  const q = new FormData(form).get("q")?.toString().trim() ?? "";
  navigate(q ? `/explore?q=${encodeURIComponent(q)}` : "/explore");
});
addEventListener("popstate", () => route());

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js").catch((error) => console.warn("service worker", error));
}

async function boot() {
  document.getElementById("offline").hidden = navigator.onLine;
  await refreshAccount();
  await route();
}
boot();
