// Log in, sign up, verify email, forgotten and reset password.
import { api } from "../api.js";
import { h, field, showErrors, formValues, mount } from "../ui.js";

export async function render({ params, query, view, navigate, refreshAccount, session }) {
  const mode = params.mode;
  const next = safeNext(query.get("next"));
  const status = h("p", { class: "form-status", role: "alert" });

  if (mode === "verify-email") return verify(view, query.get("token"), session);

  if (mode === "reset-password" && query.get("token")) {
    const form = h("form", { class: "panel form", novalidate: true },
      h("h1", {}, "Choose a new password"),
      field("New password", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 10 },
        { hint: "At least 10 characters." }),
      status, h("button", { type: "submit" }, "Set password"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api("/api/auth/password-reset/confirm", {
          method: "POST", body: { token: query.get("token"), password: form.elements.password.value },
        });
        mount(view, h("div", { class: "panel" }, h("h1", {}, "Password changed"), h("p", {}, "Every session was signed out. "),
          h("a", { href: "/login", "data-link": true, class: "button" }, "Log in")));
      } catch (error) { showErrors(form, error, status); }
    });
    view.append(h("div", { class: "narrow" }, form));
    return;
  }

  if (mode === "forgot-password" || mode === "reset-password") {
    const form = h("form", { class: "panel form", novalidate: true },
      h("h1", {}, "Reset your password"),
      h("p", {}, "We will email you a link to choose a new one."),
      field("Email", { name: "email", type: "email", autocomplete: "email", required: true }),
      status, h("button", { type: "submit" }, "Send link"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api("/api/auth/password-reset", { method: "POST", body: { email: form.elements.email.value } });
        status.setAttribute("role", "status");
        status.textContent = "If that email has an account, a link is on its way.";
      } catch (error) { showErrors(form, error, status); }
    });
    view.append(h("div", { class: "narrow" }, form));
    return;
  }

  // Back from a login provider: an account already has its email, so its password links the two.
  const link = new URLSearchParams(location.hash.slice(1));
  if (mode === "login" && link.get("oauthLink")) return confirmLink(view, link, { navigate, refreshAccount });

  const signup = mode === "signup";
  const form = h("form", { class: "panel form", novalidate: true, "aria-labelledby": "auth-title" },
    h("h1", { id: "auth-title" }, signup ? "Create your account" : "Log in"),
    signup ? field("Display name", { name: "displayName", autocomplete: "name", required: true, maxlength: 50 }) : null,
    signup ? field("Username", { name: "username", autocomplete: "username", required: true, pattern: "[A-Za-z][A-Za-z0-9_]{2,29}" },
      { hint: "3–30 letters, digits or _, starting with a letter." }) : null,
    field("Email", { name: "email", type: "email", autocomplete: "email", required: true }),
    field("Password", { name: "password", type: "password", autocomplete: signup ? "new-password" : "current-password", required: true },
      signup ? { hint: "At least 10 characters, not your email or username." } : {}),
    status,
    h("button", { type: "submit" }, signup ? "Sign up" : "Log in"),
    providerButtons(),
    h("p", { class: "muted" }, signup
      ? ["Already have an account? ", h("a", { href: `/login${next !== "/" ? `?next=${encodeURIComponent(next)}` : ""}`, "data-link": true }, "Log in")]
      : ["New here? ", h("a", { href: "/signup", "data-link": true }, "Create an account"), " · ",
        h("a", { href: "/forgot-password", "data-link": true }, "Forgot password?")]));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const values = formValues(form, { keepEmpty: true });
      const grant = await api(signup ? "/api/auth/register" : "/api/auth/login", {
        method: "POST", body: signup ? values : { ...values, device: navigator.userAgent.slice(0, 100) },
      });
      await refreshAccount(grant);
      navigate(signup ? "/explore?welcome=1" : next, { replace: true });
    } catch (error) {
      showErrors(form, error, status);
    } finally {
      button.disabled = false;
    }
  });
  view.append(h("div", { class: "narrow" }, form));
  const problem = oauthProblems[query.get("oauthError")];
  if (problem) {
    status.textContent = problem;
  } else {
    form.querySelector("input")?.focus();
  }
}

const oauthProblems = {
  invalid_state: "That sign-in took too long or was started in another browser. Please try again.",
  provider_error: "The sign-in was cancelled or refused by the provider.",
  exchange_failed: "The provider did not confirm the sign-in. Please try again.",
  profile_unusable: "The provider did not share a verified email address, which an account needs.",
  already_linked: "That account is already connected to another Agora account.",
  suspended: "This account is suspended.",
};

/** "Continue with Discord" (and any other configured provider): a plain link, as the provider needs the whole page. */
function providerButtons() {
  const box = h("div", { class: "oauth-buttons" });
  api("/api/auth/oauth/providers").then(({ providers }) => {
    for (const provider of providers) {
      box.append(h("a", { href: `/api/auth/oauth/${encodeURIComponent(provider.name)}/start`, class: "button secondary",
        "data-testid": `oauth-${provider.name}` }, `Continue with ${provider.displayName}`));
    }
  }).catch(() => { /* no providers then */ });
  return box;
}

function confirmLink(view, link, { navigate, refreshAccount }) {
  const provider = link.get("provider") ?? "the provider";
  const name = provider.charAt(0).toUpperCase() + provider.slice(1);
  const status = h("p", { class: "form-status", role: "alert" });
  const form = h("form", { class: "panel form", novalidate: true },
    h("h1", {}, `Connect ${name} to your account`),
    h("p", {}, `An Agora account already uses ${link.get("email") ?? "that email"}. Enter its password to connect ${name}; from then on either logs you in.`),
    field("Password", { name: "password", type: "password", autocomplete: "current-password", required: true }),
    status, h("button", { type: "submit" }, `Connect ${name}`),
    h("p", { class: "muted" }, h("a", { href: "/forgot-password", "data-link": true }, "Forgot password?")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const grant = await api("/api/auth/oauth/link/confirm", { method: "POST", body: { token: link.get("oauthLink"), password: form.elements.password.value } });
      history.replaceState(null, "", "/login");
      await refreshAccount(grant);
      navigate("/", { replace: true });
    } catch (error) { showErrors(form, error, status); }
  });
  view.append(h("div", { class: "narrow" }, form));
  form.elements.password.focus();
}

async function verify(view, token, session) {
  const panel = h("div", { class: "panel narrow", role: "status" }, h("h1", {}, "Verifying your email…"));
  view.append(panel);
  if (!token) {
    mount(panel, h("h1", {}, "Verify your email"), h("p", {}, "Open the link from the email we sent you."),
      session.account && !session.account.emailVerified ? resend() : null);
    return;
  }
  try {
    const account = await api("/api/auth/verify-email", { method: "POST", body: { token } });
    if (session.account && session.account.id === account.id) session.account = account;
    mount(panel, h("h1", {}, "Email verified"), h("p", {}, `Thanks, ${account.displayName}. You can now open a shop too.`),
      h("a", { href: "/", "data-link": true, class: "button" }, "Continue"));
  } catch (error) {
    mount(panel, h("h1", {}, "This link does not work"), h("p", {}, error.message), session.account ? resend() : null);
  }
}

function resend() {
  const note = h("p", { role: "status" });
  return h("div", {}, h("button", { type: "button", onclick: async () => {
    try {
      await api("/api/auth/verify-email/resend", { method: "POST" });
      note.textContent = "A new link is on its way.";
    } catch (error) { note.textContent = error.message; }
  } }, "Send a new link"), note);
}

/** Only same-site paths: an open redirect through ?next= would be a phishing aid. */
function safeNext(next) {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}
