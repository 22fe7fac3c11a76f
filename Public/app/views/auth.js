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
  form.querySelector("input")?.focus();
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
