// A seller's (or anyone's) profile: verified badge, the shop's rating, sales and listings, counts, follow,
// message, block and report buttons, listings.
import { api } from "../api.js";
import { h, avatar, toast, failure } from "../ui.js";
import { productGrid, pressButton, reportForm, shareButton } from "./common.js";

export async function render({ params, view, session, navigate }) {
  let user, counts;
  try {
    [user, counts] = await Promise.all([api(`/api/users/${params.username}`), api(`/api/users/${params.username}/follow`)]);
  } catch (error) {
    view.append(error.status === 404 ? h("div", { class: "panel" }, h("h1", {}, "No such user")) : failure(error));
    return;
  }
  const followers = h("strong", { "data-testid": "followers" }, String(counts.followerCount));
  const followButton = pressButton({
    pressed: counts.following, labels: ["Following", "Follow"], testid: "follow",
    change: async (follow) => {
      if (!session.account) return navigate(`/login?next=/u/${user.username}`);
      const result = await api(`/api/users/${user.username}/follow`, { method: follow ? "PUT" : "DELETE" });
      followers.textContent = String(result.followerCount);
      return result.following;
    },
  });
  const message = h("button", { type: "button", class: "secondary" }, "Message");
  message.addEventListener("click", async () => {
    if (!session.account) return navigate(`/login?next=/u/${user.username}`);
    try {
      const conversation = await api("/api/conversations", { method: "POST", body: { username: user.username } });
      navigate(`/chat/${conversation.id}`);
    } catch (error) { toast(error.message, { kind: "error" }); }
  });
  const self = session.account?.id === user.id;
  document.title = `${user.displayName} · Agora`;
  const since = new Date(user.createdAt).toLocaleDateString(undefined, { month: "long", year: "numeric" });
  // Blocking: their messages to me are refused. Only for logged-in visitors, who can ask whether they block them.
  let blockButton = null;
  if (session.account && !self) {
    const state = await api(`/api/users/${user.username}/block`).catch(() => ({ blocked: false }));
    blockButton = pressButton({
      pressed: state.blocked, labels: ["Unblock", "Block"], testid: "block", className: "secondary danger",
      change: async (block) => {
        if (block && !confirm(`Block ${user.displayName}? Their messages to you will be refused.`)) return undefined;
        const result = await api(`/api/users/${user.username}/block`, { method: block ? "PUT" : "DELETE" });
        toast(result.blocked ? `${user.displayName} is blocked.` : `${user.displayName} is unblocked.`);
        return result.blocked;
      },
    });
  }
  const selling = user.role === "seller" || user.role === "admin";
  const shop = selling ? await api(`/api/users/${user.username}/shop`).catch(() => null) : null;
  const listings = productGrid("/api/products", { seller: user.username }, { empty: "No listings yet." });
  view.append(
    user.bannerUrl ? h("img", { class: "profile-banner", src: user.bannerUrl, alt: "", "data-testid": "banner" }) : null,
    h("section", { class: "profile panel" },
      avatar(user, "lg"),
      h("div", {},
        h("h1", {}, user.displayName),
        h("p", { class: "muted" }, `@${user.username}`, user.location ? ` · ${user.location}` : "", user.role === "seller" ? " · Seller" : "",
          user.emailVerified ? h("span", { class: "tag", "data-testid": "verified" }, "✓ verified email") : null),
        h("p", { class: "muted", "data-testid": "member-since" }, `Member since ${since}`),
        user.bio ? h("p", {}, user.bio) : null,
        shop ? h("p", { class: "counts", "data-testid": "shop-figures" },
          shop.rating.count ? `★ ${shop.rating.average.toFixed(1)} (${shop.rating.count} ${shop.rating.count === 1 ? "review" : "reviews"})` : "No reviews yet",
          ` · ${shop.salesCount} ${shop.salesCount === 1 ? "sale" : "sales"} · ${shop.listingCount} ${shop.listingCount === 1 ? "listing" : "listings"}`) : null,
        h("p", { class: "counts" }, followers, " followers · ", h("strong", {}, String(counts.followingCount)), " following"),
        self ? h("p", { class: "row" }, shareButton(user.displayName, `/s/${user.username}`))
          : h("p", { class: "row" }, followButton, message, blockButton, shareButton(user.displayName, `/s/${user.username}`)),
        !self && session.account ? reportForm("user", user.id) : null)),
    h("h2", {}, "Listings"), listings.element);
  return listings.cleanup;
}
