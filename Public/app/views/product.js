// A product: images, price, seller, live likes/views/stock (topic product:<id>), like, message the seller, add to
// cart, and reviews.
import { api } from "../api.js";
import { h, money, toast, ago, failure, avatar, imageSources } from "../ui.js";
import { pressButton, reportForm, shareButton } from "./common.js";

export async function render({ params, view, session, socket, navigate }) {
  let product;
  try {
    product = await api(`/api/products/${params.id}`);
  } catch (error) {
    view.append(error.status === 404
      ? h("div", { class: "panel" }, h("h1", {}, "Product not found"), h("p", {}, "It may have been removed by its seller."))
      : failure(error));
    return;
  }
  // The page's address is the product's shareable one (/p/<slug>), whatever link led here.
  if (product.slug && location.pathname !== `/p/${product.slug}`) history.replaceState(null, "", `/p/${product.slug}${location.search}`);
  document.title = `${product.title} · Agora`;
  const own = session.account?.id === product.seller.id;
  const likes = h("span", { "data-testid": "likes" }, String(product.likeCount));
  const views = h("span", { "data-testid": "views" }, String(product.viewCount));
  const stock = h("span", { "data-testid": "stock" }, stockText(product.available));
  const likesWord = h("span", {}, plural(product.likeCount, " like", " likes"));
  const viewsWord = h("span", {}, plural(product.viewCount, " view", " views"));
  const setLikes = (n) => { likes.textContent = String(n); likesWord.textContent = plural(n, " like", " likes"); };
  const setViews = (n) => { views.textContent = String(n); viewsWord.textContent = plural(n, " view", " views"); };
  const price = h("p", { class: "price big", "data-testid": "price" }, money(product.price));
  const likeButton = pressButton({
    pressed: product.likedByMe, labels: ["♥ Liked", "♡ Like"], testid: "like", className: "like",
    change: async (liked) => {
      if (!session.account) return navigate(`/login?next=/p/${product.id}`);
      const result = await api(`/api/products/${product.id}/like`, { method: liked ? "PUT" : "DELETE" });
      setLikes(result.likeCount);
      return result.liked;
    },
  });

  const quantity = h("input", { id: "qty", type: "number", min: 1, max: Math.max(1, product.available), value: 1, inputmode: "numeric" });
  const addButton = h("button", { type: "submit", disabled: product.available === 0 || own }, product.available === 0 ? "Sold out" : "Add to cart");
  const cartForm = h("form", { class: "buy" }, h("label", { for: "qty" }, "Quantity"), quantity, addButton);
  cartForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!session.account) return navigate(`/login?next=/p/${product.id}`);
    addButton.disabled = true;
    try {
      await api("/api/cart/items", { method: "POST", body: { productId: product.id, quantity: Number(quantity.value) } });
      toast("Added to your cart", { kind: "success", href: "/cart" });
    } catch (error) { toast(error.message, { kind: "error" }); } finally { addButton.disabled = product.available === 0; }
  });

  const messageButton = h("button", { type: "button", class: "secondary", "data-testid": "message-seller" }, "Message seller");
  messageButton.addEventListener("click", async () => {
    if (!session.account) return navigate(`/login?next=/p/${product.id}`);
    try {
      const conversation = await api("/api/conversations", { method: "POST", body: { username: product.seller.username, productId: product.id } });
      navigate(`/chat/${conversation.id}`);
    } catch (error) { toast(error.message, { kind: "error" }); }
  });

  const gallery = h("div", { class: "gallery" },
    product.images.length
      ? product.images.map((image, index) => h("img", {
        src: image.url, alt: index === 0 ? product.title : `${product.title}, image ${index + 1}`,
        width: image.width, height: image.height, loading: index ? "lazy" : "eager",
        ...imageSources(image, "(min-width: 48rem) 50vw, 100vw"),
      }))
      : h("div", { class: "thumb placeholder", role: "img", "aria-label": "No image" }));

  const reviews = h("section", { class: "reviews", "aria-labelledby": "reviews-title" }, h("h2", { id: "reviews-title" }, "Reviews"));
  view.append(h("article", { class: "product" },
    gallery,
    h("div", { class: "details" },
      h("h1", {}, product.title),
      price,
      h("p", { class: "seller-line" }, avatar(product.seller, "sm"), " Sold by ",
        h("a", { href: `/u/${product.seller.username}`, "data-link": true }, product.seller.displayName)),
      h("p", { class: "live-stats", "aria-live": "polite" }, "♥ ", likes, likesWord, " · ", views, viewsWord, " · ", stock),
      h("p", { class: "tags" }, product.condition ? h("span", { class: "tag" }, product.condition) : null,
        h("span", { class: "tag" }, product.type === "physical" ? "ships" : "digital delivery"),
        product.category ? h("a", {
          class: "tag", href: `/explore?category=${product.category.slug}&descendants=true`, "data-link": true,
        }, product.category.name) : null),
      own ? [
        product.status === "taken_down"
          ? h("p", { class: "notice error", "data-testid": "takedown-reason" }, "Taken down by the marketplace: ", product.takedownReason ?? "") : null,
        h("p", {}, h("a", { href: `/sell/products/${product.id}`, "data-link": true, class: "button secondary" }, "Edit listing")),
      ]
        : [cartForm, h("p", { class: "row" }, likeButton, messageButton, shareButton(product.title, `/p/${product.slug}`)),
          session.account ? reportForm("product", product.id) : null],
      h("div", { class: "description" }, product.description ?? ""))),
  reviews);
  // A listing taken down shows no reviews (they are public, and it is not).
  if (product.status === "taken_down") reviews.hidden = true;
  else loadReviews(reviews, product, session);

  // Live: the server coalesces changes to a few per second.
  const unfollow = session.account ? socket.follow(`product:${product.id}`) : () => {};
  const off = socket.on("product:updated", (data) => {
    if (data.productId?.toLowerCase() !== product.id.toLowerCase()) return;
    if (data.likes !== undefined) setLikes(data.likes);
    if (data.views !== undefined) setViews(data.views);
    if (data.price) price.textContent = money(data.price);
    if (data.available !== undefined) {
      stock.textContent = stockText(data.available);
      quantity.max = String(Math.max(1, data.available));
      addButton.disabled = data.available === 0 || own;
      addButton.textContent = data.available === 0 ? "Sold out" : "Add to cart";
    }
  });
  return () => { unfollow(); off(); };
}

const plural = (n, one, many) => (n === 1 ? one : many);

function stockText(available) {
  if (available === 0) return "sold out";
  if (available <= 3) return `only ${available} left`;
  return `${available} in stock`;
}

async function loadReviews(section, product, session) {
  try {
    const page = await api(`/api/products/${product.id}/reviews`, { query: { limit: 20 } });
    const stars = (n) => "★".repeat(Math.round(n)) + "☆".repeat(5 - Math.round(n));
    section.append(page.rating.count
      ? h("p", {}, h("span", { class: "stars", "aria-hidden": "true" }, stars(page.rating.average)),
        ` ${page.rating.average} out of 5 from ${page.rating.count} ${page.rating.count === 1 ? "review" : "reviews"}`)
      : h("p", { class: "muted" }, "No reviews yet."));
    section.append(h("ul", { class: "review-list" }, page.items.map((review) => h("li", { class: "review" },
      h("p", {}, h("span", { class: "stars", "aria-label": `${review.rating} out of 5` }, stars(review.rating)), " ",
        h("strong", {}, review.author.displayName), h("span", { class: "muted" }, ` · ${ago(review.createdAt)}`)),
      h("p", {}, review.body),
      review.reply ? h("blockquote", {}, h("strong", {}, "Seller: "), review.reply) : null))));
    if (session.account && session.account.id !== product.seller.id) section.append(reviewForm(section, product));
  } catch (error) { section.append(failure(error)); }
}

function reviewForm(section, product) {
  const status = h("p", { role: "status" });
  const form = h("form", { class: "form" },
    h("fieldset", { class: "rating" }, h("legend", {}, "Rating"), [5, 4, 3, 2, 1].map((n) =>
      h("label", {}, h("input", { type: "radio", name: "rating", value: n, required: true }), ` ${n} ★`))),
    h("div", { class: "field" }, h("label", { for: "review-body" }, "Your review"),
      h("textarea", { id: "review-body", name: "body", maxlength: 2000, rows: 3 })),
    status, h("button", { type: "submit" }, "Post review"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api(`/api/products/${product.id}/reviews`, {
        method: "POST", body: { rating: Number(form.elements.rating.value), body: form.elements.body.value },
      });
      status.textContent = "Thanks for your review.";
      form.reset();
    } catch (error) {
      status.textContent = error.code === "review_not_allowed"
        ? "You can review this once an order of it has been delivered to you."
        : error.message;
    }
  });
  return h("details", { class: "review-form" }, h("summary", {}, "Write a review"), form);
}
