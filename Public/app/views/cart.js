// The cart and checkout: quantities, problems the server reports per line, a shipping address when anything
// ships, how to pay (the provider's payment page, the simulated one in development, or Solana Pay: a transfer to each
// seller's wallet, quoted here at the marketplace's rate and paid by QR code on the order's page).
import { api } from "../api.js";
import { h, money, showErrors, toast, failure, spinner, mount, statusLabel, solanaRate } from "../ui.js";
import { addressFields, readAddress, addressErrors, describe } from "./addresses.js";

export async function render({ view, navigate }) {
  const body = h("div", {}, spinner());
  view.append(h("h1", {}, "Your cart"), body);
  await load(body, navigate);
}

async function load(body, navigate) {
  let cart;
  let book;
  let options;
  try {
    // Without the options (an older server, a hiccup) checkout still offers the provider.
    [cart, book, options] = await Promise.all([api("/api/cart"), api("/api/addresses"), api("/api/checkout/options").catch(() => null)]);
  } catch (error) { mount(body, failure(error, () => load(body, navigate))); return; }
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
      load(body, navigate);
    });
    const remove = h("button", { type: "button", class: "link-button", "aria-label": `Remove ${item.title}` }, "Remove");
    remove.addEventListener("click", async () => {
      try { await api(`/api/cart/items/${item.productId}`, { method: "DELETE" }); } catch (error) { toast(error.message, { kind: "error" }); }
      load(body, navigate);
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
    paymentChoice(options, cart),
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
      const method = form.elements.paymentMethod?.value || "provider";
      request.paymentMethod = method;
      // The same key for every retry of this form: a double click or a lost answer makes one order.
      const order = await api("/api/checkout", { method: "POST", body: request, headers: { "Idempotency-Key": key } });
      // Solana Pay: the order's page holds the QR codes (its payment URL is that page too).
      if (order.payment?.provider === "solana_pay") navigate(`/orders/${order.id}`);
      else if (order.payment?.url) location.assign(order.payment.url);
      else location.assign(`/orders/${order.id}`);
    } catch (error) {
      showErrors(form, addressErrors(error), status);
      button.disabled = false;
      if (error.status === 409) load(body, navigate);
    }
  });
  mount(body, h("ul", { class: "cart", "aria-label": "Items" }, rows), form);
}

const SOLANA_REASONS = {
  disabled: "Not offered on this marketplace.",
  cart_empty: "Your cart is empty.",
  mixed_currencies: "Not for a cart priced in more than one currency.",
  no_rate: "No exchange rate is set for these prices yet.",
};

/**
 * How to pay: the provider (the default) or Solana Pay, which shows per seller what would be sent, in which token,
 * and at what rate (from where, as of when). Nothing to choose when the marketplace does not offer Solana Pay.
 */
function paymentChoice(options, cart) {
  const solana = options?.solanaPay;
  if (!solana || solana.reason === "disabled") return null;
  const titles = (sellerId) => cart.items.filter((item) => item.sellerId === sellerId).map((item) => item.title);
  let reason = null;
  if (!solana.available) {
    if (solana.reason === "no_wallet") {
      const missing = solana.sellersWithoutWallet.flatMap(titles);
      reason = `${solana.sellersWithoutWallet.length === 1 ? "A seller in your cart does" : "Some sellers in your cart do"} not accept it`
        + (missing.length ? ` (${missing.join(", ")}).` : ".");
    } else reason = SOLANA_REASONS[solana.reason] ?? statusLabel(solana.reason);
  }
  const quotes = h("div", { class: "solana-quotes", id: "solana-quotes", hidden: true, "aria-live": "polite" },
    h("p", { class: "muted" }, "Each seller is paid separately, in the token they accept, from a Solana wallet app. ",
      "The amounts below are fixed when you check out; the next page shows a QR code for each."),
    h("ul", { class: "list" }, solana.quotes.map((quote) => h("li", { class: "row-item solana-quote", "data-testid": "solana-quote" },
      h("span", { class: "quote-for" }, titles(quote.sellerId).join(", ") || "Seller", h("br"),
        h("small", { class: "muted" }, `${money(quote.total)} with VAT and shipping`)),
      h("strong", { class: "price", "data-testid": "solana-quote-amount" }, `${quote.amount} ${quote.token}`),
      h("small", { class: "muted quote-rate", "data-testid": "solana-quote-rate" }, `Rate ${solanaRate(quote, quote.total.currency)}`)))));
  const choice = (value, label, detail, { checked = false, disabled = false } = {}) => {
    const id = value === "provider" ? "pay-provider" : "pay-solana";
    const radio = h("input", {
      type: "radio", name: "paymentMethod", id, value, checked, disabled, "data-testid": id,
      "aria-describedby": detail ? `${id}-detail` : null,
    });
    radio.addEventListener("change", () => { quotes.hidden = !(value === "solana_pay" && radio.checked); });
    return h("div", { class: "field check pay-choice" }, radio,
      h("label", { for: id }, h("strong", {}, label), detail ? h("span", { class: "muted", id: `${id}-detail` }, ` ${detail}`) : null));
  };
  const fieldset = h("fieldset", { class: "payment-choice" }, h("legend", {}, "Payment"),
    choice("provider", `Card (${options.provider})`, "On the payment provider's page.", { checked: true }),
    choice("solana_pay", "Solana Pay", solana.available ? "Pay each seller from a Solana wallet app, by QR code." : reason,
      { disabled: !solana.available }),
    quotes);
  return fieldset;
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
