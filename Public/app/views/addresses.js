// The address book (/account/addresses) and the address fields the checkout shares with it. The server checks and
// normalizes every address (South Africa: one of the nine provinces, four-digit postal code); this page offers the
// provinces as suggestions and shows the server's answers next to the fields.
import { api } from "../api.js";
import { h, field, showErrors, toast, failure, spinner, mount } from "../ui.js";

export const PROVINCES = ["Eastern Cape", "Free State", "Gauteng", "KwaZulu-Natal", "Limpopo", "Mpumalanga", "North West",
  "Northern Cape", "Western Cape"];
const NAMES = ["name", "line1", "line2", "city", "region", "postalCode", "country", "phone"];

/** The fields of an address, prefilled from `value`; the province list is offered while the country is ZA. */
export function addressFields(value = {}) {
  const list = h("datalist", { id: "za-provinces" }, PROVINCES.map((name) => h("option", { value: name })));
  return h("div", { class: "address-fields" },
    field("Full name", { name: "name", autocomplete: "name", required: true, value: value.name ?? "" }),
    field("Address", { name: "line1", autocomplete: "address-line1", required: true, value: value.line1 ?? "" }),
    field("Address line 2", { name: "line2", autocomplete: "address-line2", value: value.line2 ?? "" }),
    h("div", { class: "row" },
      field("City", { name: "city", autocomplete: "address-level2", required: true, value: value.city ?? "" }),
      field("Postal code", { name: "postalCode", autocomplete: "postal-code", required: true, value: value.postalCode ?? "" })),
    h("div", { class: "row" },
      field("Province / region", { name: "region", autocomplete: "address-level1", list: "za-provinces", value: value.region ?? "" },
        { hint: "In South Africa, one of the nine provinces." }),
      field("Country code", { name: "country", autocomplete: "country", required: true, value: value.country ?? "ZA", maxlength: 2 })),
    field("Phone", { name: "phone", type: "tel", autocomplete: "tel", value: value.phone ?? "" }),
    list);
}

/** The address typed into `form`'s fields (empty ones left out, the country upper case). */
export function readAddress(form) {
  const values = {};
  for (const name of NAMES) {
    const value = form.elements[name].value.trim();
    if (value) values[name] = name === "country" ? value.toUpperCase() : value;
  }
  return values;
}

/** A 422's fields with their `shippingAddress.` or `address.` prefix dropped, so showErrors finds the inputs. */
export function addressErrors(error) {
  const fields = {};
  for (const [name, problem] of Object.entries(error.fields ?? {})) fields[name.replace(/^(shippingAddress|address)\./, "")] = problem;
  return { ...error, message: error.message, fields };
}

/** One line that says where an address is. */
export function describe(address) {
  return [address.line1, address.line2, address.city, address.region, address.postalCode, address.country].filter(Boolean).join(", ");
}

export async function render({ view }) {
  const body = h("div", {}, spinner());
  view.append(h("h1", {}, "My addresses"),
    h("p", { class: "muted" }, "Saved addresses are offered at checkout; an order keeps the address it was sent to."), body);
  await load(body);
}

async function load(body) {
  let page;
  try { page = await api("/api/addresses"); } catch (error) { mount(body, failure(error, () => load(body))); return; }
  const items = page.items.map((saved) => {
    const actions = h("span", { class: "row" });
    const edit = h("button", { type: "button", class: "link-button" }, "Edit");
    const remove = h("button", { type: "button", class: "link-button" }, "Delete");
    const makeDefault = saved.isDefault ? null : h("button", { type: "button", class: "link-button" }, "Make default");
    const row = h("li", { class: "row-item", "data-testid": "saved-address", "data-id": saved.id },
      h("div", {}, h("strong", {}, saved.label ?? saved.address.name), saved.isDefault ? h("span", { class: "tag" }, "default") : null,
        h("div", { class: "muted" }, describe(saved.address))),
      actions);
    mount(actions, edit, makeDefault, remove);
    edit.addEventListener("click", () => row.replaceWith(editor(saved, () => load(body))));
    remove.addEventListener("click", async () => {
      if (!confirm("Delete this address? Orders keep their copy.")) return;
      try { await api(`/api/addresses/${saved.id}`, { method: "DELETE" }); } catch (error) { toast(error.message, { kind: "error" }); }
      load(body);
    });
    makeDefault?.addEventListener("click", async () => {
      try { await api(`/api/addresses/${saved.id}/default`, { method: "POST" }); } catch (error) { toast(error.message, { kind: "error" }); }
      load(body);
    });
    return row;
  });
  const add = h("button", { type: "button" }, "Add an address");
  const slot = h("div");
  add.addEventListener("click", () => { mount(slot, editor(null, () => load(body))); add.hidden = true; });
  mount(body, items.length ? h("ul", { class: "list", "aria-label": "Saved addresses" }, items) : h("p", {}, "No saved addresses yet."),
    slot, add);
}

function editor(saved, done) {
  const status = h("p", { class: "form-status", role: "alert" });
  const makeDefault = h("input", { type: "checkbox", id: "address-default", checked: saved?.isDefault ?? false, disabled: saved?.isDefault ?? false });
  const form = h("form", { class: "panel form address-editor", novalidate: true },
    h("h2", {}, saved ? "Edit address" : "New address"),
    field("Label", { name: "label", maxlength: 40, placeholder: "Home, Work…", value: saved?.label ?? "" }),
    addressFields(saved?.address),
    h("div", { class: "field check" }, makeDefault, h("label", { for: "address-default" }, "Use this address by default")),
    status,
    h("div", { class: "row" }, h("button", { type: "submit" }, "Save"),
      h("button", { type: "button", class: "secondary", onclick: done }, "Cancel")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const request = { label: form.elements.label.value.trim() || null, address: readAddress(form) };
    if (makeDefault.checked) request.isDefault = true;
    try {
      await api(saved ? `/api/addresses/${saved.id}` : "/api/addresses", { method: saved ? "PUT" : "POST", body: request });
      toast("Address saved.");
      done();
    } catch (error) { showErrors(form, addressErrors(error), status); }
  });
  return form;
}
