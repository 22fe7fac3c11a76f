// Pieces several screens share: product cards, an infinitely scrolling product grid, the report form.
import { api } from "../api.js";
import { h, money, productImage, infinite, failure, mount, toast } from "../ui.js";

/** A button that shares `path` (a product's or a shop's page) through the device's share sheet, or copies it. */
export function shareButton(title, path) {
  const button = h("button", { type: "button", class: "secondary", "data-testid": "share" }, "Share");
  button.addEventListener("click", async () => {
    const url = new URL(path, location.origin).href;
    try {
      if (navigator.share) await navigator.share({ title, url });
      else {
        await navigator.clipboard.writeText(url);
        toast("Link copied.");
      }
    } catch (error) {
      if (error?.name !== "AbortError") toast(`Copy this link: ${url}`);
    }
  });
  return button;
}

export function productCard(product) {
  return h("li", { class: "card product-card" },
    h("a", { href: `/p/${product.slug ?? product.id}`, "data-link": true, class: "card-link" },
      productImage(product),
      h("span", { class: "card-title" }, product.title),
      h("span", { class: "price" }, money(product.price))),
    h("span", { class: "card-meta" },
      h("a", { href: `/u/${product.seller.username}`, "data-link": true }, product.seller.displayName),
      h("span", { "aria-label": `${product.likeCount} likes` }, `♥ ${product.likeCount}`),
      product.available === 0 ? h("span", { class: "tag tag-muted" }, "Sold out") : null));
}

/**
 * A grid that loads `path` page by page (`{items, nextCursor}`) as the user scrolls. Returns the element and a
 * cleanup function.
 */
export function productGrid(path, query = {}, { empty = "Nothing here yet." } = {}) {
  const list = h("ul", { class: "grid", "aria-live": "polite" });
  const sentinel = h("div", { class: "sentinel", "aria-hidden": "true" });
  const status = h("p", { class: "muted", role: "status" });
  const wrapper = h("div", {}, list, status, sentinel);
  let cursor = null;
  let count = 0;
  const stop = infinite(sentinel, async () => {
    status.textContent = "Loading…";
    try {
      const page = await api(path, { query: { ...query, cursor, limit: 24 } });
      for (const product of page.items) list.append(productCard(product));
      count += page.items.length;
      cursor = page.nextCursor;
      status.textContent = count === 0 ? empty : cursor ? "" : `${count} ${count === 1 ? "product" : "products"}`;
      return Boolean(cursor);
    } catch (error) {
      mount(status, failure(error, () => { status.textContent = ""; wrapper.replaceWith(productGrid(path, query, { empty }).element); }));
      return false;
    }
  });
  return { element: wrapper, cleanup: stop };
}

/**
 * An on/off button (like, follow) with `aria-pressed`. `change(next)` makes the change on the server and resolves
 * with the state it answers (or undefined when it did nothing, e.g. sent the visitor to log in).
 */
export function pressButton({ pressed, labels: [on, off], testid, className, change }) {
  const button = h("button", { type: "button", class: className, "aria-pressed": String(Boolean(pressed)), "data-testid": testid }, pressed ? on : off);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const state = await change(button.getAttribute("aria-pressed") !== "true");
      if (state !== undefined) {
        button.setAttribute("aria-pressed", String(state));
        button.textContent = state ? on : off;
      }
    } catch (error) { toast(error.message, { kind: "error" }); } finally { button.disabled = false; }
  });
  return button;
}

const reportReasons = [["spam", "Spam"], ["scam", "A scam"], ["counterfeit", "Counterfeit"], ["prohibited", "Not allowed here"],
  ["harassment", "Harassment"], ["other", "Something else"]];

/** A "Report" button that opens a small form; reports a product, a user or a message (`targetId` as the API wants). */
export function reportForm(targetType, targetId) {
  const form = h("form", { class: "report-form panel", hidden: true, "data-testid": "report-form" },
    h("div", { class: "field" }, h("label", { for: `rr-${targetId}` }, "Why?"),
      h("select", { id: `rr-${targetId}`, name: "reason" }, reportReasons.map(([value, text]) => h("option", { value }, text)))),
    h("div", { class: "field" }, h("label", { for: `rb-${targetId}` }, "Anything the administrators should know"),
      h("textarea", { id: `rb-${targetId}`, name: "body", rows: 2, maxlength: 2000 })),
    h("button", { type: "submit" }, "Send report"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("/api/reports", { method: "POST", body: { targetType, targetId: String(targetId), reason: form.elements.reason.value, body: form.elements.body.value } });
      toast("Reported. An administrator will look at it.", { kind: "success" });
      form.hidden = true;
    } catch (error) { toast(error.message, { kind: "error" }); }
  });
  const button = h("button", { type: "button", class: "link-button", "data-testid": "report" }, "Report");
  button.addEventListener("click", () => { form.hidden = !form.hidden; });
  return h("div", { class: "report" }, button, form);
}
