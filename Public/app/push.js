// Web Push on this device: the permission is asked for at a moment the user sees why (after a seller's first
// listing, after a buyer's first message, or from the account page), never on load. The subscription is tied to the
// session that made it: the server drops it when that session ends, and logging out removes it here too.
import { api } from "./api.js";
import { h, toast } from "./ui.js";

const ASKED = "agora-push-offered";

export function supported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

function keyBytes(base64url) {
  const text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (base64url.length % 4)) % 4));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** Subscribes this device (asking for permission only when `ask`) and tells the server; returns the permission. */
export async function enablePush({ ask = false } = {}) {
  if (!supported()) return "unsupported";
  let permission = Notification.permission;
  if (permission === "default" && ask) permission = await Notification.requestPermission();
  if (permission !== "granted") return permission;
  const registration = await navigator.serviceWorker.ready;
  let subscription = await registration.pushManager.getSubscription();
  if (!subscription) {
    const { publicKey } = await api("/api/push/key");
    subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(publicKey) });
  }
  await api("/api/push/subscriptions", { method: "POST", body: subscription.toJSON() });
  return "granted";
}

/** Stops pushes to this device: the server forgets it, and the browser's subscription ends. */
export async function disablePush() {
  if (!supported()) return;
  const registration = await navigator.serviceWorker.getRegistration();
  const subscription = await registration?.pushManager.getSubscription();
  if (!subscription) return;
  await api("/api/push/subscriptions", { method: "DELETE", body: { endpoint: subscription.endpoint } }).catch(() => {});
  await subscription.unsubscribe().catch(() => {});
}

/** Whether this device has a push subscription now. */
export async function isEnabled() {
  if (!supported() || Notification.permission !== "granted") return false;
  const registration = await navigator.serviceWorker.getRegistration();
  return Boolean(await registration?.pushManager.getSubscription());
}

/** Once per device, after something that makes pushes worth having, offers them: a toast with a button. */
export function offerPush(why) {
  if (!supported() || Notification.permission !== "default" || localStorage.getItem(ASKED)) return;
  localStorage.setItem(ASKED, "1");
  const button = h("button", { type: "button", class: "small" }, "Turn on notifications");
  button.addEventListener("click", async () => {
    try {
      const result = await enablePush({ ask: true });
      toast(result === "granted" ? "Notifications are on for this device." : "Notifications stay off.");
    } catch (error) { toast(error.message, { kind: "error" }); }
  });
  toast(h("span", {}, why, " ", button), { timeout: 15000 });
}
