// Chat: conversations (unread counts, presence dots, live reordering) and a thread (typing indicator, read
// receipts, product cards, infinite scroll back). Sending goes over the socket when it is open and over HTTP
// otherwise; a clientId per message makes a retry store it once either way.
import { api } from "../api.js";
import { offerPush } from "../push.js";
import { h, time, ago, avatar, money, productImage, infinite, failure, toast, mount } from "../ui.js";
import { reportForm } from "./common.js";

const TYPING_SEND_MS = 2500;
const TYPING_SHOW_MS = 5000;
const productCache = new Map();

export async function render({ params, view, session, socket, navigate }) {
  const me = session.account.id.toLowerCase();
  const listEl = h("ul", { class: "conversations", "aria-label": "Conversations" });
  const threadPane = h("section", { class: "thread-pane", "aria-label": "Conversation" });
  view.append(h("div", { class: `chat ${params.id ? "has-thread" : ""}` },
    h("aside", { class: "conversation-pane" }, h("h1", {}, "Messages"), listEl), threadPane));

  const conversations = new Map();
  const presence = new Map();
  const drawItem = (c) => {
    const online = presence.get(c.with.id.toLowerCase()) ?? c.online;
    const last = c.lastMessage;
    const item = h("li", { class: `conversation ${c.id.toLowerCase() === params.id?.toLowerCase() ? "current" : ""}`, "data-id": c.id },
      h("a", { href: `/chat/${c.id}`, "data-link": true, "aria-current": c.id.toLowerCase() === params.id?.toLowerCase() ? "page" : null },
        h("span", { class: "avatar-wrap" }, avatar(c.with),
          h("span", { class: `dot ${online ? "online" : ""}`, role: "img", "aria-label": online ? "online" : "offline" })),
        h("span", { class: "conversation-text" },
          h("strong", {}, c.with.displayName),
          h("span", { class: "muted preview" }, last
            ? `${last.senderId.toLowerCase() === me ? "You: " : ""}${last.kind === "product" ? "📦 " : ""}${last.text || "a product"}`
            : "No messages yet")),
        h("span", { class: "conversation-side" },
          last ? h("small", { class: "muted" }, ago(last.createdAt)) : null,
          c.unread ? h("span", { class: "badge", "aria-label": `${c.unread} unread`, "data-testid": "unread" }, String(c.unread)) : null)));
    return item;
  };
  const drawList = () => {
    const sorted = [...conversations.values()].sort((a, b) => new Date(b.lastActivity) - new Date(a.lastActivity));
    mount(listEl, ...sorted.map(drawItem));
    if (sorted.length === 0) listEl.append(h("li", { class: "muted" }, "No conversations yet. Message a seller from one of their products."));
  };

  try {
    const page = await api("/api/conversations", { query: { limit: 50 } });
    for (const c of page.items) conversations.set(c.id.toLowerCase(), c);
    drawList();
  } catch (error) { mount(listEl, h("li", {}, failure(error))); }

  let thread = null;
  if (params.id) thread = await openThread(params.id, { threadPane, me, socket, conversations, drawList, presence });
  else threadPane.append(h("div", { class: "empty-thread muted" }, "Choose a conversation."));

  const offs = [
    socket.on("chat:message", (data) => {
      const c = conversations.get(data.conversationId.toLowerCase());
      if (!c) {
        api("/api/conversations", { query: { limit: 50 } }).then((page) => {
          for (const x of page.items) conversations.set(x.id.toLowerCase(), x);
          drawList();
        }).catch(() => {});
        return;
      }
      c.lastMessage = data.message;
      c.lastActivity = data.message.createdAt;
      const fromOther = data.message.senderId.toLowerCase() !== me;
      if (fromOther && !(thread && thread.id.toLowerCase() === c.id.toLowerCase() && document.visibilityState === "visible")) c.unread += 1;
      drawList();
    }),
    socket.on("chat:read", (data) => {
      const c = conversations.get(data.conversationId.toLowerCase());
      if (c && data.userId.toLowerCase() === me) { c.unread = data.unread ?? 0; drawList(); }
    }),
    socket.on("presence", (data) => { presence.set(data.userId.toLowerCase(), data.online); drawList(); thread?.presence(data); }),
  ];
  return () => { for (const off of offs) off(); thread?.close(); };
}

async function openThread(id, { threadPane, me, socket, conversations, drawList, presence }) {
  let conversation;
  try {
    conversation = conversations.get(id.toLowerCase()) ?? (await api(`/api/conversations/${id}`));
  } catch (error) {
    threadPane.append(error.status === 404 ? h("div", { class: "panel" }, h("h2", {}, "Conversation not found")) : failure(error));
    return null;
  }
  conversations.set(conversation.id.toLowerCase(), conversation);
  const other = conversation.with;
  let otherRead = conversation.otherReadId ?? 0;
  const messagesEl = h("ol", { class: "messages", "aria-live": "polite", "aria-label": `Messages with ${other.displayName}` });
  const top = h("li", { class: "sentinel", "aria-hidden": "true" });
  const scroller = h("div", { class: "scroller" }, messagesEl);
  messagesEl.append(top);
  const typing = h("p", { class: "typing muted", "aria-live": "polite", "data-testid": "typing" });
  const status = h("span", { class: "muted", "data-testid": "presence" });
  const input = h("textarea", {
    id: "chat-input", name: "text", rows: 1, maxlength: 2000, placeholder: `Message ${other.displayName}`, required: true,
    "aria-label": "Message",
  });
  const form = h("form", { class: "composer" }, input, h("button", { type: "submit" }, "Send"));
  const header = h("header", { class: "thread-header" },
    h("a", { href: "/chat", "data-link": true, class: "back", "aria-label": "Back to conversations" }, "←"),
    avatar(other),
    h("div", {}, h("h2", {}, h("a", { href: `/u/${other.username}`, "data-link": true }, other.displayName)), status));
  mount(threadPane, header, conversation.productId ? h("div", { class: "about", "data-product": conversation.productId }) : null,
    scroller, typing, form);
  if (conversation.productId) {
    card(conversation.productId).then((el) => threadPane.querySelector(".about")?.append(h("span", { class: "muted" }, "About "), el));
  }

  const setPresence = (online, lastSeen) => { status.textContent = online ? "online" : lastSeen ? `last seen ${ago(lastSeen)}` : "offline"; };
  setPresence(presence.get(other.id.toLowerCase()) ?? conversation.online);
  api("/api/presence", { query: { users: other.id } }).then((body) => { const p = body.items[0]; if (p) setPresence(p.online, p.lastSeen); }).catch(() => {});

  const shown = new Map();
  const bubble = (message) => {
    const mine = message.senderId.toLowerCase() === me;
    const el = h("li", { class: `message ${mine ? "mine" : "theirs"}`, "data-id": message.id },
      message.kind === "product" && message.productId ? h("div", { class: "card-slot" }) : null,
      message.text ? h("p", {}, message.text) : null,
      h("small", { class: "meta" }, time(message.createdAt),
        mine ? h("span", { class: "receipt", "data-testid": "receipt" }, message.id <= otherRead ? " · Seen" : " · Sent") : null),
      mine ? null : reportForm("message", message.id));
    if (message.kind === "product" && message.productId) card(message.productId).then((c) => el.querySelector(".card-slot")?.append(c));
    shown.set(message.id, el);
    return el;
  };
  const atBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  const add = (message) => {
    if (shown.has(message.id)) return;
    const stick = atBottom() || message.senderId.toLowerCase() === me;
    messagesEl.append(bubble(message));
    if (stick) scroller.scrollTop = scroller.scrollHeight;
  };

  // History, newest first from the server; older pages are prepended as the top comes into view.
  let cursor = null;
  let first = true;
  const stopOlder = infinite(top, async () => {
    const page = await api(`/api/conversations/${conversation.id}/messages`, { query: { cursor, limit: 30 } });
    const before = scroller.scrollHeight;
    const fragment = document.createDocumentFragment();
    for (const message of page.items.slice().reverse()) if (!shown.has(message.id)) fragment.append(bubble(message));
    top.after(fragment);
    if (first) { scroller.scrollTop = scroller.scrollHeight; first = false; }
    else scroller.scrollTop += scroller.scrollHeight - before;
    cursor = page.nextCursor;
    return Boolean(cursor);
  }, { root: scroller, margin: "200px" });

  const markRead = (messageId) => {
    conversation.unread = 0;
    drawList();
    if (socket.isOpen) {
      socket.command("chat:read", messageId ? { conversationId: conversation.id, messageId } : { conversationId: conversation.id })
        .catch(() => {});
    }
    else api(`/api/conversations/${conversation.id}/read`, { method: "POST", body: messageId ? { messageId } : {} }).catch(() => {});
  };
  markRead();

  let lastTyping = 0;
  input.addEventListener("input", () => {
    if (Date.now() - lastTyping > TYPING_SEND_MS && input.value.trim()) {
      lastTyping = Date.now();
      socket.send("chat:typing", { conversationId: conversation.id });
    }
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    const clientId = crypto.randomUUID();
    input.value = "";
    lastTyping = 0;
    try {
      const sent = socket.isOpen
        ? (await socket.command("chat:send", { conversationId: conversation.id, text, clientId })).message
        : (await api(`/api/conversations/${conversation.id}/messages`, { method: "POST", body: { text, clientId } })).message;
      add(sent);
      offerPush("Hear of replies even when Agora is closed.");
    } catch (error) {
      if (error.code === "not_connected") {
        // The socket dropped between the check and the send: the same clientId over HTTP cannot make a duplicate.
        try {
          add((await api(`/api/conversations/${conversation.id}/messages`, { method: "POST", body: { text, clientId } })).message);
          return;
        } catch (again) { error = again; }
      }
      input.value = text;
      toast(error.code === "blocked" ? "You cannot message this person." : error.message, { kind: "error" });
    }
  });
  input.focus();

  let typingTimer = null;
  const offs = [
    socket.on("chat:message", (data) => {
      if (data.conversationId.toLowerCase() !== conversation.id.toLowerCase()) return;
      add({ ...data.message, conversationId: conversation.id });
      if (data.message.senderId.toLowerCase() !== me) {
        typing.textContent = "";
        if (document.visibilityState === "visible") markRead(data.message.id);
      }
    }),
    socket.on("chat:typing", (data) => {
      if (data.conversationId.toLowerCase() !== conversation.id.toLowerCase() || data.userId.toLowerCase() === me) return;
      typing.textContent = `${other.displayName} is typing…`;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => { typing.textContent = ""; }, TYPING_SHOW_MS);
    }),
    socket.on("chat:read", (data) => {
      if (data.conversationId.toLowerCase() !== conversation.id.toLowerCase() || data.userId.toLowerCase() === me) return;
      otherRead = Math.max(otherRead, data.messageId);
      for (const [messageId, el] of shown) {
        const receipt = el.querySelector(".receipt");
        if (receipt && messageId <= otherRead) receipt.textContent = " · Seen";
      }
    }),
  ];
  const onVisible = () => { if (document.visibilityState === "visible" && conversation.unread) markRead(); };
  document.addEventListener("visibilitychange", onVisible);
  return {
    id: conversation.id,
    presence: (data) => { if (data.userId.toLowerCase() === other.id.toLowerCase()) setPresence(data.online, data.lastSeen); },
    close: () => {
      stopOlder();
      for (const off of offs) off();
      clearTimeout(typingTimer);
      document.removeEventListener("visibilitychange", onVisible);
    },
  };
}

async function card(productId) {
  if (!productCache.has(productId)) productCache.set(productId, api(`/api/products/${productId}`).catch(() => null));
  const product = await productCache.get(productId);
  if (!product) return h("span", { class: "muted" }, "A product that is no longer listed");
  return h("a", { href: `/p/${product.id}`, "data-link": true, class: "product-chip" }, productImage(product, "chip-image"),
    h("span", {}, product.title, h("br"), h("strong", {}, money(product.price))));
}
