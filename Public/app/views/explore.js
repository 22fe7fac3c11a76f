// Explore: search with filters, the category tree, sorting and an infinitely scrolling grid. The filters live in
// the address, so a search can be shared and the back button works.
import { api } from "../api.js";
import { h, toast } from "../ui.js";
import { productGrid } from "./common.js";

let categoriesCache = null;

export async function render({ view, query, navigate }) {
  if (query.get("welcome")) toast("Welcome to Agora! Follow a few sellers to fill your home feed.", { kind: "success" });
  categoriesCache ??= api("/api/categories").then((body) => body.categories).catch(() => []);
  const categories = await categoriesCache;
  const current = Object.fromEntries(query.entries());

  const options = [["", "All categories"]];
  const walk = (nodes, depth) => {
    for (const node of nodes) {
      options.push([node.slug, `${"— ".repeat(depth)}${node.name}`]);
      walk(node.children ?? [], depth + 1);
    }
  };
  walk(categories, 0);

  const select = (name, label, values) => h("div", { class: "field inline" },
    h("label", { for: `x-${name}` }, label),
    h("select", { id: `x-${name}`, name },
      values.map(([value, text]) => h("option", { value, selected: (current[name] ?? "") === value }, text))));
  const priceInput = (name, label) => h("div", { class: "field inline" },
    h("label", { for: `x-${name}` }, label),
    h("input", {
      id: `x-${name}`, name, type: "number", min: 0, step: "1", inputmode: "numeric",
      value: current[name] ? String(Number(current[name]) / 100) : "",
    }));

  const form = h("form", { class: "filters", "aria-label": "Filters" },
    h("div", { class: "field inline grow" },
      h("label", { for: "x-q" }, "Search"), h("input", { id: "x-q", name: "q", type: "search", value: current.q ?? "" })),
    h("button", { type: "submit" }, "Search"),
    h("details", { class: "filter-box", open: matchMedia("(min-width: 760px)").matches || undefined }, h("summary", {}, "Filters and sorting"),
    h("div", { class: "filter-fields" },
    select("category", "Category", options),
    select("sort", "Sort", [
      ["", current.q ? "Best match" : "Newest"], ["newest", "Newest"], ["price_asc", "Price: low to high"],
      ["price_desc", "Price: high to low"], ["likes", "Most liked"],
    ]),
    select("type", "Type", [["", "Any type"], ["physical", "Physical"], ["key,credential,link", "Digital"]]),
    select("condition", "Condition", [["", "Any condition"], ["new", "New"], ["like-new", "Like new"], ["good", "Good"], ["fair", "Fair"]]),
    priceInput("minPrice", "Min price"), priceInput("maxPrice", "Max price"),
    h("div", { class: "field inline check" },
      h("input", { id: "x-inStock", name: "inStock", type: "checkbox", value: "true", checked: current.inStock === "true" }),
      h("label", { for: "x-inStock" }, "In stock")))));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form).entries()) {
      if (!value) continue;
      if (name === "minPrice" || name === "maxPrice") params.set(name, String(Math.round(Number(value) * 100)));
      else params.set(name, String(value));
    }
    if (params.get("category")) params.set("descendants", "true");
    navigate(`/explore${params.size ? `?${params}` : ""}`, { replace: true });
  });
  for (const control of form.querySelectorAll("select, input[type=checkbox]")) {
    control.addEventListener("change", () => form.requestSubmit());
  }

  const tree = h("nav", { class: "category-tree", "aria-label": "Categories" },
    h("ul", {}, categories.map((top) => h("li", {},
      h("a", {
        href: `/explore?category=${top.slug}&descendants=true`, "data-link": true,
        "aria-current": current.category === top.slug ? "page" : null,
      }, top.name),
      top.children?.length ? h("ul", {}, top.children.map((child) => h("li", {}, h("a", {
        href: `/explore?category=${child.slug}&descendants=true`, "data-link": true,
        "aria-current": current.category === child.slug ? "page" : null,
      }, child.name)))) : null))));

  const search = {};
  for (const name of ["q", "category", "descendants", "sort", "type", "condition", "minPrice", "maxPrice", "inStock"]) {
    if (current[name]) search[name] = current[name];
  }
  const grid = productGrid("/api/products", search, {
    empty: current.q ? `Nothing matches “${current.q}”. Try fewer filters.` : "No products match these filters.",
  });
  view.append(h("h1", {}, current.q ? `Results for “${current.q}”` : "Explore"), form,
    h("div", { class: "explore" }, tree, h("section", { "aria-label": "Products" }, grid.element)));
  return grid.cleanup;
}
