// One WebSocket per tab. It authenticates with a one-time ticket (fetched over HTTP with the cookie, so an expired
// access token is refreshed first), reconnects with exponential backoff and jitter, and resumes from the last
// sequence number it processed so durable events (chat, receipts, notifications, order status) arrive exactly
// once and in order across reconnects. Ephemeral events (typing, presence, product updates) carry no seq.

import { api } from "./api.js";

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;
// The browser test shortens both (`__agoraPingMs`, `__agoraPongMs`, set before the page's scripts run).
const PING_MS = globalThis.__agoraPingMs ?? 25_000;
/** A ping not answered within this means the connection is dead though still open: a host cut off by the network
 *  sends no close, and the proxy in front keeps the socket for its read timeout (an hour). Leave it and reconnect. */
const PONG_MS = globalThis.__agoraPongMs ?? 10_000;

export class LiveSocket extends EventTarget {
  #ws = null;
  #userId = null;
  #attempt = 0;
  #timer = null;
  #ping = null;
  #nextId = 1;
  #pending = new Map();
  #topics = new Map();
  #stopped = true;
  /** True while a connect waits for its ticket: a nudge then must not start a second one. */
  #connecting = false;
  state = "offline";
  lastSeq = null;

  /** Starts (or restarts) the socket for this user. */
  start(userId) {
    if (!this.#stopped && this.#userId === userId) return;
    this.stop();
    this.#userId = userId;
    this.#stopped = false;
    const saved = sessionStorage.getItem(`agora.seq.${userId}`);
    this.lastSeq = saved === null ? null : Number(saved);
    this.#connect();
  }

  /** Closes for good (logout). */
  stop() {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#ping);
    this.#ws?.close(1000, "bye");
    this.#ws = null;
    this.#fail("socket stopped");
    this.#setState("offline");
  }

  /** Reconnects now if it is waiting to (the tab became visible, the network came back). */
  nudge() {
    if (this.#stopped || this.state === "online" || this.state === "connecting") return;
    clearTimeout(this.#timer);
    this.#connect();
  }

  get isOpen() {
    return this.#ws?.readyState === WebSocket.OPEN && this.state === "online";
  }

  /** Sends a command and resolves with its ack's data (rejects with the error's data). */
  command(type, data) {
    if (!this.isOpen) return Promise.reject(Object.assign(new Error("The live connection is not open"), { code: "not_connected" }));
    const id = `m${this.#nextId++}`;
    const message = { type, id };
    if (data !== undefined) message.data = data;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#ws.send(JSON.stringify(message));
    });
  }

  /** Fire-and-forget (typing indicators). */
  send(type, data) {
    if (this.isOpen) this.#ws.send(JSON.stringify({ type, data }));
  }

  /** Follows a topic such as `product:<id>` while the returned function has not been called. Survives reconnects. */
  follow(topic) {
    this.#topics.set(topic, (this.#topics.get(topic) ?? 0) + 1);
    if (this.#topics.get(topic) === 1 && this.isOpen) this.command("subscribe", { topic }).catch(() => {});
    return () => {
      const count = (this.#topics.get(topic) ?? 1) - 1;
      if (count > 0) { this.#topics.set(topic, count); return; }
      this.#topics.delete(topic);
      if (this.isOpen) this.command("unsubscribe", { topic }).catch(() => {});
    };
  }

  /** `socket.on("chat:message", (data, message) => ...)`; returns the remover. */
  on(type, handler) {
    const listener = (event) => handler(event.detail.data, event.detail);
    this.addEventListener(type, listener);
    return () => this.removeEventListener(type, listener);
  }

  async #connect() {
    if (this.#connecting) return;
    this.#connecting = true;
    this.#setState(this.#attempt === 0 ? "connecting" : "reconnecting");
    let ticket;
    try {
      ticket = (await api("/api/realtime/ticket", { method: "POST" })).ticket;
    } catch (error) {
      this.#connecting = false;
      if (error.status === 401 || error.status === 403) { this.stop(); return; }
      this.#retry();
      return;
    }
    this.#connecting = false;
    if (this.#stopped) return;
    // One socket at a time: one still open here is superseded (and must neither deliver nor stay open).
    const previous = this.#ws;
    this.#ws = null;
    if (previous && previous.readyState <= WebSocket.OPEN) previous.close(1000, "superseded");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    let url = `${scheme}//${location.host}/ws?ticket=${encodeURIComponent(ticket)}`;
    if (this.lastSeq !== null) url += `&resume=${this.lastSeq}`;
    const ws = new WebSocket(url);
    this.#ws = ws;
    ws.addEventListener("message", (event) => { if (this.#ws === ws) this.#receive(event.data); });
    ws.addEventListener("close", (event) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      clearInterval(this.#ping);
      this.#fail("connection closed");
      this.dispatchEvent(new CustomEvent("closed", { detail: { code: event.code, reason: event.reason } }));
      if (!this.#stopped) this.#retry();
    });
  }

  /** Pings every PING_MS and gives up on the socket when one is not answered within PONG_MS. */
  #heartbeat(ws) {
    clearInterval(this.#ping);
    this.#ping = setInterval(() => {
      if (this.#ws !== ws) return;
      const timer = setTimeout(() => this.#abandon(ws, "no answer to ping"), PONG_MS);
      this.command("ping").then(() => clearTimeout(timer), () => clearTimeout(timer));
    }, PING_MS);
  }

  #abandon(ws, reason) {
    if (this.#ws !== ws) return;
    this.#ws = null;
    clearInterval(this.#ping);
    try { ws.close(4000, reason); } catch { /* already closing */ }
    this.#fail("connection lost");
    this.dispatchEvent(new CustomEvent("closed", { detail: { code: 4000, reason } }));
    if (!this.#stopped) this.#retry();
  }

  #retry() {
    this.#setState("reconnecting");
    const delay = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 10);
    // Full jitter over the upper half: a restarted server is not hit by every tab at the same moment.
    this.#timer = setTimeout(() => this.#connect(), delay / 2 + Math.random() * delay / 2);
  }

  #receive(text) {
    let message;
    try { message = JSON.parse(text); } catch { return; }
    if (message.type === "hello") {
      this.#attempt = 0;
      // No position yet, or one past the stream's head (the server goes on from its head, answering resume_ahead):
      // from here on, the head is where this tab stands.
      if (this.lastSeq === null || message.data.seq < this.lastSeq) this.#remember(message.data.seq);
      this.#setState("online");
      this.#heartbeat(this.#ws);
      for (const topic of this.#topics.keys()) this.command("subscribe", { topic }).catch(() => {});
      this.dispatchEvent(new CustomEvent("hello", { detail: message }));
      return;
    }
    if ((message.type === "ack" || message.type === "error") && this.#pending.has(message.id)) {
      const { resolve, reject } = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.type === "ack") resolve(message.data);
      else reject(Object.assign(new Error(message.data?.message ?? "Refused"), message.data));
      return;
    }
    if (message.type === "reset" && typeof message.data?.through === "number") {
      // The events after our position through `through` are no longer kept (retention): delivery goes on after it,
      // and whoever listens for "reset" reloads what it shows.
      this.#remember(message.data.through);
    }
    if (typeof message.seq === "number") {
      // Exactly once: anything at or below what was processed is a repeat after a reconnect.
      if (this.lastSeq !== null && message.seq <= this.lastSeq) return;
      this.#remember(message.seq);
    }
    this.dispatchEvent(new CustomEvent(message.type, { detail: message }));
    this.dispatchEvent(new CustomEvent("any", { detail: message }));
  }

  #remember(seq) {
    this.lastSeq = seq;
    if (this.#userId) sessionStorage.setItem(`agora.seq.${this.#userId}`, String(seq));
  }

  #fail(reason) {
    for (const { reject } of this.#pending.values()) reject(Object.assign(new Error(reason), { code: "not_connected" }));
    this.#pending.clear();
  }

  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state } }));
  }
}

export const socket = new LiveSocket();
