// The cart and checkout: quantities, problems the server reports per line, a shipping address when anything
// ships, then the payment page of the provider (the simulated one in development).
import { api } from "../api.js";
import { h, money, showErrors, toast, failure, spinner, mount } from "../ui.js";
import { addressFields, readAddress, addressErrors, describe } from "./addresses.js";

export async function render({ view }) {
  const body = h("div", {}, spinner());
  view.append(h("h1", {}, "Your cart"), body);
  await load(body);
}

async function load(body) {
  let cart;
  let book;
  try {
    [cart, book] = await Promise.all([api("/api/cart"), api("/api/addresses")]);
  } catch (error) { mount(body, failure(error, () => load(body))); return; }
  if (cart.items.length === 0) {
    mount(body, h("div", { class: "panel" }, h("p", {}, "Your cart is empty."),
      h("a", { href: "/explore", "data-link": true, class: "button" }, "Find something")));
    return;
  }
  const rows = cart.items.map((item) => {
    const quantity = h("input", {
      type: "number", min: 1, max: Math.max(item.available, item.quantity), value: item.quantity,
      "aria-label": `Quantity of ${item.title}`, inputmode: "numeric",
    });
    quantity.addEventListener("change", async () => {
      try {
        await api(`/api/cart/items/${item.productId}`, { method: "PUT", body: { quantity: Number(quantity.value) } });
      } catch (error) { toast(error.message, { kind: "error" }); }
      load(body);
    });
    const remove = h("button", { type: "button", class: "link-button", "aria-label": `Remove ${item.title}` }, "Remove");
    remove.addEventListener("click", async () => {
      try { await api(`/api/cart/items/${item.productId}`, { method: "DELETE" }); } catch (error) { toast(error.message, { kind: "error" }); }
      load(body);
    });
    return h("li", { class: "cart-line" },
      h("a", { href: `/p/${item.productId}`, "data-link": true }, item.title),
      h("span", { class: "muted" }, item.type === "physical" ? "ships" : "digital"),
      quantity, h("span", { class: "price" }, money(item.lineTotal)), remove,
      item.problem ? h("p", { class: "problem", role: "alert" }, problemText(item)) : null);
  });
  const physical = cart.items.some((item) => item.type === "physical");
  const status = h("p", { class: "form-status", role: "alert" });
  const key = crypto.randomUUID();
  const form = h("form", { class: "form checkout", novalidate: true, "aria-labelledby": "checkout-title" },
    h("h2", { id: "checkout-title" }, "Checkout"),
    physical ? shippingChoice(book.items)
      : h("p", { class: "muted" }, "Everything here is digital: it is delivered to your orders page the moment you pay."),
    h("p", { class: "totals" }, "Subtotal ", cart.subtotals.map((total) => h("strong", {}, money(total))), h("br"),
      h("small", { class: "muted" }, "VAT and shipping are added at checkout.")),
    status,
    h("button", { type: "submit", disabled: cart.items.some((item) => item.problem) }, "Checkout and pay"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    status.textContent = "";
    try {
      const request = {};
      if (physical) {
        const chosen = form.elements.savedAddress ? form.elements.savedAddress.value : "new";
        if (chosen !== "new") request.addressId = chosen;
        else {
          request.shippingAddress = readAddress(form);
          // Saved first, so a problem with the address is shown before anything is ordered.
          if (form.elements.saveAddress?.checked) await api("/api/addresses", { method: "POST", body: { address: request.shippingAddress } });
        }
      }
      // The same key for every retry of this form: a double click or a lost answer makes one order.
      const order = await api("/api/checkout", { method: "POST", body: request, headers: { "Idempotency-Key": key } });
      if (order.payment?.url) location.assign(order.payment.url);
      else location.assign(`/orders/${order.id}`);
    } catch (error) {
      showErrors(form, addressErrors(error), status);
      button.disabled = false;
      if (error.status === 409) load(body);
    }
  });
  mount(body, h("ul", { class: "cart", "aria-label": "Items" }, rows), form);
}

/** Where to ship: a saved address (the default chosen) or a new one typed here, which may be saved. */
function shippingChoice(saved) {
  const typed = h("div", { class: "new-address", hidden: saved.length > 0 }, addressFields(),
    h("div", { class: "field check" }, h("input", { type: "checkbox", id: "save-address", name: "saveAddress" }),
      h("label", { for: "save-address" }, "Save this address for next time")));
  if (saved.length === 0) return h("fieldset", {}, h("legend", {}, "Shipping address"), typed);
  const choices = [...saved.map((entry) => [entry.id, entry.label ?? entry.address.name, describe(entry.address), entry.isDefault]),
    ["new", "A new address", "", false]];
  const radios = choices.map(([value, title, detail, checked]) => {
    const id = `ship-${value}`;
    const radio = h("input", { type: "radio", name: "savedAddress", id, value, checked });
    radio.addEventListener("change", () => { typed.hidden = value !== "new"; });
    return h("div", { class: "field check", "data-testid": "address-choice" }, radio,
      h("label", { for: id }, h("strong", {}, title), detail ? h("span", { class: "muted" }, ` ${detail}`) : null));
  });
  return h("fieldset", {}, h("legend", {}, "Shipping address"), ...radios, typed,
    h("p", {}, h("a", { href: "/account/addresses", "data-link": true }, "Manage my addresses")));
}

function problemText(item) {
  switch (item.problem) {
    case "insufficient_stock": return item.available === 0 ? "Sold out: remove it to check out." : `Only ${item.available} available: lower the quantity.`;
    case "unavailable": return "No longer for sale: remove it to check out.";
    default: return String(item.problem).replaceAll("_", " ");
  }
}
