// The HTTP client. Authentication is the server's HttpOnly cookies (`agora_access`, and `agora_refresh` on
// /api/auth only): nothing secret is ever visible to this code, so nothing is kept in localStorage. An expired
// access token is refreshed once and the request retried; refreshes are serialised across tabs (Web Locks),
// because the server treats a refresh token presented twice as stolen and ends the session.

export class ApiError extends Error {
  constructor(status, body, { offline = false } = {}) {
    super(body?.message ?? (offline ? "You are offline" : `Request failed (${status})`));
    this.status = status;
    this.code = body?.code ?? (offline ? "offline" : "http_error");
    this.fields = body?.fields;
    this.body = body;
    this.offline = offline;
  }
}

const listeners = { session: new Set(), network: new Set() };
export const onSessionLost = (fn) => listeners.session.add(fn);
export const onNetwork = (fn) => listeners.network.add(fn);
let online = true;
function setOnline(value) {
  if (online === value) return;
  online = value;
  for (const fn of listeners.network) fn(value);
}

let refreshing = null;
let refreshTimer = null;

/** Refreshes the access token; true when it worked. One at a time per tab, and across tabs with Web Locks. */
export function refresh() {
  refreshing ??= (async () => {
    const run = async () => {
      const response = await fetch("/api/auth/refresh", { method: "POST", credentials: "same-origin" });
      if (!response.ok) return false;
      schedule(await response.json());
      return true;
    };
    try {
      return navigator.locks ? await navigator.locks.request("agora-refresh", run) : await run();
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** After a login or refresh grant: refresh a minute before the access token runs out, so sockets and forms never see it expire. */
export function schedule(grant) {
  clearTimeout(refreshTimer);
  const seconds = Number(grant?.expiresIn ?? 0);
  if (seconds > 90) refreshTimer = setTimeout(() => refresh(), (seconds - 60) * 1000);
}

export function stopRefreshing() {
  clearTimeout(refreshTimer);
}

/**
 * `api("/api/products", {query: {q: "guitar"}})`, `api("/api/cart/items", {method: "POST", body: {...}})`.
 * Resolves to the parsed JSON (or null for 204); rejects with ApiError.
 */
export async function api(path, { method = "GET", body, query, headers = {}, retry = true } = {}) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
    }
    const text = params.toString();
    if (text) url += `?${text}`;
  }
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
  if (body instanceof FormData || typeof body === "string" || body instanceof Blob) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    setOnline(false);
    throw new ApiError(0, null, { offline: true });
  }
  setOnline(true);
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (response.ok) return data;
  if (response.status === 401 && retry && (data?.code === "token_expired" || data?.code === "authentication_required")) {
    // No access cookie (it expired and the browser dropped it) or an expired one: the refresh cookie may still hold.
    if (await refresh()) return api(path, { method, body, query, headers, retry: false });
    if (data?.code === "token_expired") for (const fn of listeners.session) fn();
  }
  if (response.status === 401 && (data?.code === "session_revoked" || data?.code === "invalid_token")) {
    for (const fn of listeners.session) fn();
  }
  throw new ApiError(response.status, data);
}
