// Small DOM helpers shared by every screen: element building, money and time formatting, toasts, and the
// "load more when the sentinel scrolls into view" helper behind infinite lists.

/**
 * Builds an element: `h("a", {href: "/x", class: "link"}, "text", child)`. Attributes starting with `on` become
 * listeners; `null`, `undefined` and `false` children are skipped; strings become text nodes (never HTML).
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

/** An SVG element (for charts and icons); attributes as in `h`. */
export function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the children of `element`. */
export function mount(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

const moneyFormats = new Map();
/** `{amount: 849900, currency: "ZAR"}` → "R 8,499.00" in the browser's locale. */
export function money(value, currency) {
  const amount = typeof value === "object" ? value.amount : value;
  const code = typeof value === "object" ? value.currency : currency;
  if (!moneyFormats.has(code)) {
    moneyFormats.set(code, new Intl.NumberFormat(undefined, { style: "currency", currency: code, currencyDisplay: "narrowSymbol" }));
  }
  return moneyFormats.get(code).format(amount / 100);
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
/** "3 minutes ago", "yesterday", or a date for anything older than a week. */
export function ago(iso) {
  const then = new Date(iso).getTime();
  const seconds = Math.round((then - Date.now()) / 1000);
  const steps = [[60, "second"], [3600, "minute"], [86400, "hour"], [604800, "day"]];
  if (Math.abs(seconds) < 45) return "just now";
  for (let i = 1; i < steps.length; i++) {
    if (Math.abs(seconds) < steps[i][0]) return relative.format(Math.round(seconds / steps[i - 1][0]), steps[i - 1][1]);
  }
  if (Math.abs(seconds) < 604800) return relative.format(Math.round(seconds / 86400), "day");
  return new Date(iso).toLocaleDateString();
}

/** A Solana Pay quote's or transfer's rate: "0.055 USDC per ZAR · CoinGecko · 07/12/2026, 09:00" (local time). */
export function solanaRate(transfer, currency) {
  return `${transfer.rate} ${transfer.token} per ${currency} · ${transfer.rateSource} · ${new Date(transfer.rateAt).toLocaleString()}`;
}

export function time(iso) {
  return new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

/** A short-lived message in the toast region (announced to screen readers). */
export function toast(text, { kind = "info", href, timeout = 5000 } = {}) {
  const region = document.getElementById("toasts");
  const item = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" },
    href ? h("a", { href, "data-link": true }, text) : text,
    h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss", onclick: () => item.remove() }, "×"));
  region.append(item);
  setTimeout(() => item.remove(), timeout);
  return item;
}

/**
 * Calls `load()` whenever `sentinel` comes near the viewport (or the `root` scroller's edge) until `load` returns
 * false. Returns a function that stops watching.
 */
export function infinite(sentinel, load, { root = null, margin = "400px" } = {}) {
  let busy = false;
  let done = false;
  const observer = new IntersectionObserver(async (entries) => {
    if (busy || done || !entries.some((entry) => entry.isIntersecting)) return;
    busy = true;
    try {
      done = (await load()) === false;
    } finally {
      busy = false;
    }
    if (done) observer.disconnect();
    else if (sentinel.isConnected) {
      // Still visible (a short page): ask again.
      observer.unobserve(sentinel);
      observer.observe(sentinel);
    }
  }, { root, rootMargin: margin });
  observer.observe(sentinel);
  return () => observer.disconnect();
}

/** A labelled form field. `input` attributes go to the control; `hint` is linked by aria-describedby. */
export function field(label, attributes, { hint, control = "input", options } = {}) {
  const id = attributes.id ?? `f-${attributes.name}`;
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = `${id}-error`;
  let input;
  if (control === "select") {
    input = h("select", { ...attributes, id, "aria-describedby": [hintId, errorId].filter(Boolean).join(" ") },
      options.map(([value, text]) => h("option", { value, selected: String(attributes.value ?? "") === String(value) }, text)));
  } else if (control === "textarea") {
    const { value, ...rest } = attributes;
    input = h("textarea", { ...rest, id, "aria-describedby": [hintId, errorId].filter(Boolean).join(" ") }, value ?? "");
  } else {
    input = h("input", { ...attributes, id, "aria-describedby": [hintId, errorId].filter(Boolean).join(" ") });
  }
  return h("div", { class: "field" },
    h("label", { for: id }, label),
    input,
    hint ? h("small", { id: hintId, class: "hint" }, hint) : null,
    h("small", { id: errorId, class: "field-error", "aria-live": "polite" }));
}

/** Shows a 422's `fields` next to their inputs (and the message in `status`); clears old ones. */
export function showErrors(form, error, status) {
  for (const small of form.querySelectorAll(".field-error")) small.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  if (status) status.textContent = error?.message ?? "";
  for (const [name, problem] of Object.entries(error?.fields ?? {})) {
    const input = form.elements.namedItem(name);
    if (!input || !(input instanceof Element)) continue;
    input.setAttribute("aria-invalid", "true");
    const small = document.getElementById(`${input.id}-error`);
    if (small) small.textContent = problem;
  }
  form.querySelector("[aria-invalid]")?.focus();
}

/** The form's fields as an object; empty strings dropped unless `keepEmpty`. */
export function formValues(form, { keepEmpty = false } = {}) {
  const values = {};
  for (const [name, value] of new FormData(form).entries()) {
    if (typeof value === "string" && value === "" && !keepEmpty) continue;
    values[name] = value;
  }
  return values;
}

export function spinner(text = "Loading…") {
  return h("p", { class: "loading", role: "status" }, text);
}

/** An error panel with a retry button (used when a screen's data cannot load, e.g. offline). */
export function failure(error, retry) {
  return h("div", { class: "panel failure", role: "alert" },
    h("p", {}, error?.offline ? "You are offline. This will load once the connection is back." : (error?.message ?? "Something went wrong.")),
    retry ? h("button", { type: "button", onclick: retry }, "Try again") : null);
}

export function avatar(account, size = "md") {
  const name = account?.displayName ?? account?.username ?? "?";
  const initials = name.split(/\s+/).map((part) => part[0]).join("").slice(0, 2).toUpperCase();
  if (account?.avatarUrl) return h("img", { class: `avatar avatar-${size}`, src: account.avatarUrl, alt: "" });
  return h("span", { class: `avatar avatar-${size}`, "aria-hidden": "true" }, initials);
}

/** `srcset` and `sizes` of a product image: its WebP thumbnails and the original, so the browser fetches the
 * smallest that fills `sizes` at the screen's density. Images stored before thumbnails existed have none. */
export function imageSources(image, sizes) {
  const thumbnails = image?.thumbnails ?? [];
  if (!thumbnails.length) return {};
  const candidates = thumbnails.map((t) => `${t.url} ${t.width}w`).concat(`${image.url} ${image.width}w`);
  return { srcset: candidates.join(", "), sizes };
}

export function productImage(product, className = "thumb") {
  const image = product?.images?.[0];
  // Cards are a grid column: about a third of the window on wide screens, half on phones.
  return image
    ? h("img", {
      class: className, src: image.url, alt: product.title, width: image.width, height: image.height, loading: "lazy",
      ...imageSources(image, "(min-width: 48rem) 33vw, 50vw"),
    })
    : h("div", { class: `${className} placeholder`, role: "img", "aria-label": product?.title ?? "No image" });
}

export const statusLabel = (status) => String(status ?? "").replaceAll("_", " ");

const ICONS = {
  home: ["M3 11l9-8 9 8", "M5 10v10h5v-6h4v6h5V10"],
  explore: ["M11 4a7 7 0 1 0 0 14a7 7 0 1 0 0-14z", "M16.5 16.5L21 21"],
  messages: ["M4 5h16v11H9l-5 4z"],
  cart: ["M3 4h2l2.4 11h10.6l2-8H6.2", "M9 19.5a1 1 0 1 0 0.01 0z", "M17 19.5a1 1 0 1 0 0.01 0z"],
  orders: ["M6 3h12v18H6z", "M9 8h6", "M9 12h6", "M9 16h4"],
  sell: ["M3 12V4h8l10 10-8 8z", "M7.5 6.5a1 1 0 1 0 0.01 0z"],
  stats: ["M5 20V11", "M11 20V5", "M17 20v-7", "M3 20h18"],
  bell: ["M6 16v-5a6 6 0 0 1 12 0v5l2 2H4z", "M10 20a2 2 0 0 0 4 0"],
};

/** A line icon from the set above (decorative: the text beside it names the action). */
export function icon(name) {
  return svg("svg", { viewBox: "0 0 24 24", class: "icon", "aria-hidden": "true", focusable: "false" },
    (ICONS[name] ?? []).map((d) => svg("path", { d })));
}
