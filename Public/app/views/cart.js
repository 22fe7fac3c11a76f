// The cart and checkout: quantities, problems the server reports per line, a shipping address when anything
// ships, then the payment page of the provider (the simulated one in development).
import { api } from "../api.js";
import { h, money, field, showErrors, toast, failure, spinner, mount } from "../ui.js";

export async function render({ view }) {
  const body = h("div", {}, spinner());
  view.append(h("h1", {}, "Your cart"), body);
  await load(body);
}

async function load(body) {
  let cart;
  try { cart = await api("/api/cart"); } catch (error) { mount(body, failure(error, () => load(body))); return; }
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
    physical ? h("fieldset", {}, h("legend", {}, "Shipping address"),
      field("Full name", { name: "name", autocomplete: "name", required: true }),
      field("Address", { name: "line1", autocomplete: "address-line1", required: true }),
      field("Address line 2", { name: "line2", autocomplete: "address-line2" }),
      h("div", { class: "row" },
        field("City", { name: "city", autocomplete: "address-level2", required: true }),
        field("Postal code", { name: "postalCode", autocomplete: "postal-code", required: true })),
      h("div", { class: "row" },
        field("Province / region", { name: "region", autocomplete: "address-level1" }),
        field("Country code", { name: "country", autocomplete: "country", required: true, value: "ZA", maxlength: 2 })),
      field("Phone", { name: "phone", type: "tel", autocomplete: "tel" }))
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
        const values = {};
        for (const name of ["name", "line1", "line2", "city", "region", "postalCode", "country", "phone"]) {
          const value = form.elements[name].value.trim();
          if (value) values[name] = name === "country" ? value.toUpperCase() : value;
        }
        request.shippingAddress = values;
      }
      // The same key for every retry of this form: a double click or a lost answer makes one order.
      const order = await api("/api/checkout", { method: "POST", body: request, headers: { "Idempotency-Key": key } });
      if (order.payment?.url) location.assign(order.payment.url);
      else location.assign(`/orders/${order.id}`);
    } catch (error) {
      const fields = {};
      for (const [name, problem] of Object.entries(error.fields ?? {})) fields[name.replace(/^shippingAddress\./, "")] = problem;
      showErrors(form, { ...error, message: error.message, fields }, status);
      button.disabled = false;
      if (error.status === 409) load(body);
    }
  });
  mount(body, h("ul", { class: "cart", "aria-label": "Items" }, rows), form);
}

function problemText(item) {
  switch (item.problem) {
    case "insufficient_stock": return item.available === 0 ? "Sold out: remove it to check out." : `Only ${item.available} available: lower the quantity.`;
    case "unavailable": return "No longer for sale: remove it to check out.";
    default: return String(item.problem).replaceAll("_", " ");
  }
}
