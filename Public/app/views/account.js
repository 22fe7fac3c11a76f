// My account: profile (avatar, shop banner, bio, location), saved addresses, presence visibility, verification, open a
// shop, log out.
import { api } from "../api.js";
import { h, field, showErrors, toast, avatar } from "../ui.js";
import { supported, enablePush, disablePush, isEnabled } from "../push.js";

export async function render({ view, session, refreshAccount, navigate }) {
  const a = session.account;
  const status = h("p", { class: "form-status", role: "status" });
  const form = h("form", { class: "panel form", novalidate: true },
    h("h1", {}, "My account"),
    h("p", { class: "muted" }, `@${a.username} · ${a.email} · ${a.role}`, a.emailVerified ? " · email verified" : " · email not verified"),
    field("Display name", { name: "displayName", value: a.displayName, maxlength: 50 }),
    field("Bio", { name: "bio", value: a.bio ?? "", maxlength: 500, rows: 3 }, { control: "textarea" }),
    field("Location", { name: "location", value: a.location ?? "", maxlength: 100 }),
    status, h("button", { type: "submit" }, "Save"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const e = form.elements;
      session.account = await api("/api/me", {
        method: "PATCH", body: { displayName: e.displayName.value, bio: e.bio.value || null, location: e.location.value || null },
      });
      status.textContent = "Saved.";
    } catch (error) { showErrors(form, error, status); }
  });
  const hide = h("input", { type: "checkbox", id: "hide-presence" });
  hide.addEventListener("change", async () => {
    try {
      await api("/api/presence", { method: "PUT", body: { hidden: hide.checked } });
      toast(hide.checked ? "You now appear offline." : "Others can see when you are online.");
    } catch (error) { toast(error.message, { kind: "error" }); }
  });
  const logout = h("button", { type: "button", class: "secondary" }, "Log out");
  logout.addEventListener("click", async () => {
    await disablePush().catch(() => {});
    try { await api("/api/auth/logout", { method: "POST" }); } catch { /* the cookies are cleared either way below */ }
    await refreshAccount();
    navigate("/", { replace: true });
  });
  view.append(form, imagesPanel(session),
    h("section", { class: "panel" }, h("h2", {}, "Addresses"),
      h("a", { href: "/account/addresses", "data-link": true }, "My saved addresses")),
    pushPanel(),
    loginMethodsPanel(),
    h("section", { class: "panel" }, h("h2", {}, "Privacy"),
      h("div", { class: "field check" }, hide, h("label", { for: "hide-presence" }, "Hide when I am online"))),
    a.emailVerified ? null : h("section", { class: "panel" }, h("h2", {}, "Verify your email"), h("p", {}, "Check your inbox for our link."),
      h("button", { type: "button", class: "secondary", onclick: async () => {
        try {
          await api("/api/auth/verify-email/resend", { method: "POST" });
          toast("A new link is on its way.");
        } catch (error) { toast(error.message, { kind: "error" }); }
      } }, "Send a new link")),
    a.role === "buyer" ? h("section", { class: "panel" }, h("h2", {}, "Sell on Agora"),
      h("a", { href: "/sell", "data-link": true, class: "button" }, "Open a shop")) : null,
    h("p", {}, logout));
}

/** The avatar and the shop's banner: each uploaded (the server checks the bytes and the size) or removed. */
function imagesPanel(session) {
  const panel = h("section", { class: "panel", "aria-labelledby": "images-title" });
  const draw = () => {
    const a = session.account;
    const row = (kind, label, preview, hint) => {
      const input = h("input", { type: "file", accept: "image/jpeg,image/png,image/webp", id: `${kind}-file`, "data-testid": `${kind}-file` });
      input.addEventListener("change", async () => {
        const file = input.files?.[0];
        if (!file) return;
        const data = new FormData();
        data.append("image", file);
        try {
          session.account = await api(`/api/me/${kind}`, { method: "PUT", body: data });
          toast(`${label} updated.`);
          draw();
        } catch (error) { toast(error.message, { kind: "error" }); input.value = ""; }
      });
      const remove = h("button", { type: "button", class: "link-button" }, "Remove");
      remove.addEventListener("click", async () => {
        try {
          session.account = await api(`/api/me/${kind}`, { method: "DELETE" });
          draw();
        } catch (error) { toast(error.message, { kind: "error" }); }
      });
      return h("div", { class: "field" }, h("label", { for: `${kind}-file` }, label), preview, input,
        h("small", { class: "hint" }, hint), a[`${kind}Url`] ? remove : null);
    };
    panel.replaceChildren(h("h2", { id: "images-title" }, "Pictures"),
      row("avatar", "Avatar", avatar(a, "lg"), "JPEG, PNG or WebP; at least 32×32 pixels."),
      row("banner", "Shop banner", a.bannerUrl ? h("img", { class: "banner-preview", src: a.bannerUrl, alt: "", "data-testid": "banner" }) : null,
        "Shown across the top of your profile; at least 320×80 pixels."));
  };
  draw();
  return panel;
}

/** Push notifications on this device: on asks for permission (this click is the reason), off unsubscribes. */
function pushPanel() {
  if (!supported()) return null;
  const box = h("input", { type: "checkbox", id: "push-device", "data-testid": "push-device" });
  isEnabled().then((on) => { box.checked = on; });
  box.addEventListener("change", async () => {
    try {
      if (box.checked) {
        const result = await enablePush({ ask: true });
        box.checked = result === "granted";
        toast(result === "granted" ? "Notifications are on for this device." : "The browser did not allow notifications.");
      } else {
        await disablePush();
        toast("Notifications are off for this device.");
      }
    } catch (error) { box.checked = !box.checked; toast(error.message, { kind: "error" }); }
  });
  return h("section", { class: "panel" }, h("h2", {}, "Notifications"),
    h("div", { class: "field check" }, box, h("label", { for: "push-device" }, "Notify me on this device when Agora is closed")),
    h("p", { class: "muted" }, "New orders, messages and order updates; the kinds you mute on the notifications page are not sent."));
}

/** Login providers: link one (the browser goes to the provider and comes back), or unlink it while another way in remains. */
function loginMethodsPanel() {
  const panel = h("section", { class: "panel", "aria-labelledby": "methods-title" });
  const draw = async () => {
    let state;
    try { state = await api("/api/me/oauth"); } catch { panel.replaceChildren(); return; }
    if (!state.providers.length && !state.links.length) { panel.replaceChildren(); return; }
    const rows = state.providers.map((provider) => {
      const linked = state.links.find((link) => link.provider === provider.name);
      const button = h("button", { type: "button", class: "secondary", "data-testid": `${linked ? "unlink" : "link"}-${provider.name}` },
        linked ? "Unlink" : `Link ${provider.displayName}`);
      button.addEventListener("click", async () => {
        try {
          if (linked) {
            await api(`/api/me/oauth/${encodeURIComponent(provider.name)}`, { method: "DELETE" });
            toast(`${provider.displayName} unlinked.`);
            draw();
          } else {
            const { url } = await api(`/api/me/oauth/${encodeURIComponent(provider.name)}/link`, { method: "POST" });
            location.assign(url);
          }
        } catch (error) { toast(error.message, { kind: "error" }); }
      });
      return h("p", {}, linked ? `${provider.displayName}: connected as ${linked.username || "you"}. ` : `${provider.displayName}: not connected. `, button);
    });
    panel.replaceChildren(h("h2", { id: "methods-title" }, "Ways to log in"),
      h("p", { class: "muted" }, state.hasPassword ? "Your password, and:" : "No password yet: a password reset sets one."), ...rows);
  };
  draw();
  const linked = new URLSearchParams(location.search).get("linked");
  if (linked) toast(`${linked.charAt(0).toUpperCase() + linked.slice(1)} is now connected.`);
  return panel;
}
