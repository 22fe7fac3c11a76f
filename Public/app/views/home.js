// Home: the feed of followed sellers for a logged-in user, otherwise (and below it) the newest listings.
import { h } from "../ui.js";
import { productGrid } from "./common.js";

export async function render({ view, session, notFound }) {
  if (notFound) {
    view.append(h("div", { class: "panel" }, h("h1", {}, "Page not found"), h("p", {}, "There is nothing at this address."),
      h("a", { href: "/", "data-link": true, class: "button" }, "Go home")));
    return;
  }
  if (session.account) {
    const feed = productGrid("/api/feed", {}, { empty: "Follow sellers to see their new listings here." });
    view.append(h("h1", {}, "From sellers you follow"), feed.element);
    return feed.cleanup;
  }
  const latest = productGrid("/api/products", { sort: "newest" });
  view.append(
    h("section", { class: "hero" }, h("h1", {}, "Buy from independent sellers"),
      h("p", {}, "Follow the shops you like, chat with them live, and get digital goods the moment you pay."),
      h("p", {}, h("a", { href: "/signup", "data-link": true, class: "button" }, "Create an account"), " ",
        h("a", { href: "/explore", "data-link": true, class: "button secondary" }, "Explore"))),
    h("h2", {}, "New listings"), latest.element);
  return latest.cleanup;
}
