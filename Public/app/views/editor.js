// Create or edit a product: details, images (upload, remove), digital inventory upload, publish state.
import { api } from "../api.js";
import { offerPush } from "../push.js";
import { h, field, showErrors, toast, failure, money } from "../ui.js";

export async function render({ params, view, navigate, session }) {
  if (!session.isSeller) { navigate("/sell", { replace: true }); return; }
  const creating = params.id === "new";
  let product = null;
  let categories = [];
  try {
    [product, categories] = await Promise.all([creating ? null : api(`/api/products/${params.id}`), api("/api/categories").then((b) => b.categories)]);
  } catch (error) { view.append(failure(error)); return; }
  const options = [["", "No category"]];
  const walk = (nodes, depth) => { for (const n of nodes) { options.push([n.id, `${"— ".repeat(depth)}${n.name}`]); walk(n.children ?? [], depth + 1); } };
  walk(categories, 0);

  const status = h("p", { class: "form-status", role: "alert" });
  const digital = (type) => type !== "physical";
  const form = h("form", { class: "panel form", novalidate: true },
    h("h1", {}, creating ? "New product" : "Edit product"),
    field("Title", { name: "title", required: true, maxlength: 120, value: product?.title ?? "" }),
    field("Description", { name: "description", maxlength: 5000, rows: 5, value: product?.description ?? "" }, { control: "textarea" }),
    h("div", { class: "row" },
      field("Price", {
        name: "price", type: "number", min: 0, step: "0.01", required: true,
        value: product ? (product.price.amount / 100).toFixed(2) : "",
      }, { hint: "In rand (ZAR)." }),
      field("Type", { name: "type", value: product?.type ?? "physical" }, { control: "select", options: [
        ["physical", "Physical (ships)"], ["key", "Digital key"], ["credential", "Digital credentials"], ["link", "Download link"],
      ] })),
    h("div", { class: "row" },
      field("Category", { name: "categoryId", value: product?.category?.id ?? "" }, { control: "select", options }),
      field("Condition", { name: "condition", value: product?.condition ?? "new" },
        { control: "select", options: [["new", "New"], ["like-new", "Like new"], ["good", "Good"], ["fair", "Fair"]] })),
    h("div", { class: "row" },
      field("Stock", { name: "stock", type: "number", min: 0, step: 1, value: product?.stock ?? 1 },
        { hint: "Digital products: stock is the uploaded inventory." }),
      field("Low-stock warning at", { name: "lowStockThreshold", type: "number", min: 0, step: 1, value: product?.lowStockThreshold ?? 1 })),
    field("Tags", { name: "tags", value: (product?.tags ?? []).join(", ") }, { hint: "Up to 10, separated by commas." }),
    status,
    h("p", { class: "row" }, h("button", { type: "submit" }, creating ? "Create draft" : "Save changes"),
      product ? h("a", { href: `/p/${product.id}`, "data-link": true, class: "button secondary" }, "View") : null));
  const typeSelect = form.elements.type;
  const syncStock = () => { form.elements.stock.disabled = digital(typeSelect.value) && !creating; };
  typeSelect.addEventListener("change", syncStock);
  syncStock();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const e = form.elements;
    const input = {
      title: e.title.value.trim(), description: e.description.value,
      price: { amount: Math.round(Number(e.price.value) * 100), currency: product?.price.currency ?? "ZAR" },
      type: e.type.value, categoryId: e.categoryId.value || null, condition: e.condition.value,
      lowStockThreshold: Number(e.lowStockThreshold.value), tags: e.tags.value.split(",").map((t) => t.trim()).filter(Boolean),
    };
    if (!digital(e.type.value)) input.stock = Number(e.stock.value);
    if (creating && input.categoryId === null) delete input.categoryId;
    try {
      const saved = await api(creating ? "/api/products" : `/api/products/${product.id}`, { method: creating ? "POST" : "PATCH", body: input });
      toast(creating ? "Draft created. Add images, then publish." : "Saved.", { kind: "success" });
      if (creating) offerPush("Hear of new orders even when Agora is closed.");
      navigate(`/sell/products/${saved.id}`, { replace: true });
    } catch (error) {
      const fields = { ...(error.fields ?? {}) };
      if (fields["price.amount"]) fields.price = fields["price.amount"];
      showErrors(form, { ...error, message: error.message, fields }, status);
    }
  });
  view.append(form);
  if (!product) return;

  // State.
  const transitions = { draft: ["publish"], published: ["unpublish"], unpublished: ["publish"], archived: [] };
  view.append(h("section", { class: "panel" }, h("h2", {}, "Status: ", h("span", { class: `status status-${product.status}` }, product.status)),
    h("p", { class: "row" }, [...(transitions[product.status] ?? []), ...(product.status !== "archived" ? ["archive"] : [])].map((action) =>
      h("button", { type: "button", class: action === "archive" ? "secondary danger" : "", onclick: async () => {
        if (action === "archive" && !confirm("Archive this product? It cannot be sold again.")) return;
        try {
          await api(`/api/products/${product.id}/${action}`, { method: "POST" });
          navigate(location.pathname, { replace: true });
        } catch (error) { toast(error.message, { kind: "error" }); }
      } }, action[0].toUpperCase() + action.slice(1))))));

  // Images.
  const upload = h("input", { type: "file", id: "image-file", name: "image", accept: "image/jpeg,image/png,image/webp" });
  const imageStatus = h("p", { role: "status" });
  upload.addEventListener("change", async () => {
    const file = upload.files?.[0];
    if (!file) return;
    const data = new FormData();
    data.append("image", file);
    imageStatus.textContent = "Uploading…";
    try {
      await api(`/api/products/${product.id}/images`, { method: "POST", body: data });
      navigate(location.pathname, { replace: true });
    } catch (error) { imageStatus.textContent = error.message; }
  });
  view.append(h("section", { class: "panel" }, h("h2", {}, "Images"),
    h("ul", { class: "image-list" }, product.images.map((image) => h("li", {},
      h("img", { src: image.url, alt: "", width: 120, height: Math.round(120 * image.height / image.width) }),
      h("button", { type: "button", class: "link-button", onclick: async () => {
        try {
          await api(`/api/products/${product.id}/images/${image.id}`, { method: "DELETE" });
          navigate(location.pathname, { replace: true });
        } catch (error) { toast(error.message, { kind: "error" }); }
      } }, "Remove")))),
    h("div", { class: "field" }, h("label", { for: "image-file" }, "Add an image (JPEG, PNG or WebP)"), upload), imageStatus));

  // Digital inventory.
  if (digital(product.type)) {
    const counts = h("p", { role: "status" }, "…");
    const refreshCounts = () => api(`/api/products/${product.id}/inventory`)
      .then((c) => { counts.textContent = `${c.available} available, ${c.sold} sold.`; })
      .catch((error) => { counts.textContent = error.message; });
    refreshCounts();
    const lines = h("textarea", { id: "inventory-lines", rows: 5, placeholder: "One key, credential or link per line" });
    const file = h("input", { type: "file", id: "inventory-file", accept: ".txt,.csv,text/plain,text/csv" });
    const result = h("p", { role: "status" });
    const send = async (text, type) => {
      try {
        const r = await api(`/api/products/${product.id}/inventory`,
          { method: "POST", body: new Blob([text], { type }), headers: { "Content-Type": type } });
        const which = (numbers) => numbers.length ? ` (line ${numbers.slice(0, 10).join(", ")}${numbers.length > 10 ? ", …" : ""})` : "";
        result.textContent = `Added ${r.added}. Skipped ${r.duplicateLines.length} duplicate${r.duplicateLines.length === 1 ? "" : "s"}`
          + ` within the upload${which(r.duplicateLines)}`
          + ` and ${r.alreadyStocked.length} already in stock${which(r.alreadyStocked)}. ${r.available} available.`;
        lines.value = "";
        refreshCounts();
      } catch (error) { result.textContent = error.message; }
    };
    file.addEventListener("change", async () => {
      const f = file.files?.[0];
      if (f) send(await f.text(), f.name.endsWith(".csv") ? "text/csv" : "text/plain");
    });
    view.append(h("section", { class: "panel" }, h("h2", {}, "Inventory"), counts,
      h("div", { class: "field" }, h("label", { for: "inventory-lines" }, "Paste items"), lines),
      h("button", { type: "button", onclick: () => lines.value.trim() && send(lines.value, "text/plain") }, "Upload items"),
      h("div", { class: "field" }, h("label", { for: "inventory-file" }, "Or upload a .txt or .csv file"), file), result));
  }
  view.append(h("p", { class: "muted" }, `Price shown to buyers: ${money(product.price)}.`));
}
