// The service worker: keeps the app shell (HTML, CSS, modules, icons) so Agora opens offline, and shows the cached
// shell for any app address while offline. API calls and the WebSocket always go to the network (stale prices or
// orders would be worse than a clear "offline"); product images are cached as they are seen.
const VERSION = "agora-shell-v7";
const MEDIA = "agora-media-v1";
const SHELL = [
  "/", "/index.html", "/styles.css", "/manifest.webmanifest", "/icons/icon.svg", "/icons/icon-192.png", "/icons/icon-512.png",
  "/app/main.js", "/app/api.js", "/app/socket.js", "/app/ui.js", "/app/push.js", "/app/qr.js",
  "/app/views/common.js", "/app/views/home.js", "/app/views/explore.js", "/app/views/product.js", "/app/views/profile.js",
  "/app/views/cart.js", "/app/views/orders.js", "/app/views/order.js", "/app/views/chat.js", "/app/views/notifications.js",
  "/app/views/dashboard.js", "/app/views/editor.js", "/app/views/admin.js", "/app/views/account.js", "/app/views/auth.js",
  "/app/views/backoffice.js", "/app/views/disputes.js", "/app/views/addresses.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(VERSION).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== VERSION && key !== MEDIA) await caches.delete(key);
    await self.clients.claim();
  })());
});

// Web Push: the server's payload is {title, body, url, tag, kind}, plain text. A push the page cannot read still shows.
self.addEventListener("push", (event) => {
  let message = {};
  try { message = event.data ? event.data.json() : {}; } catch { message = { body: event.data?.text() ?? "" }; }
  event.waitUntil(self.registration.showNotification(message.title || "Agora", {
    body: message.body || "", tag: message.tag || undefined, icon: "/icons/icon-192.png", badge: "/icons/icon-192.png",
    data: { url: typeof message.url === "string" ? message.url : "/" },
  }));
});

// A click opens the page the push is about: in a window of ours if one is open, else a new one. Only our own pages.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url || "/", self.location.origin);
  if (url.origin !== self.location.origin) return;
  event.waitUntil((async () => {
    for (const client of await self.clients.matchAll({ type: "window", includeUncontrolled: true })) {
      if (new URL(client.url).origin === url.origin && "focus" in client) {
        await client.focus();
        return client.navigate(url.href);
      }
    }
    return self.clients.openWindow(url.href);
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname === "/ws" || url.pathname.startsWith("/health") || url.pathname === "/metrics") return;

  if (url.pathname.startsWith("/media/")) {
    // Media names are never reused: cache first.
    event.respondWith(caches.open(MEDIA).then(async (cache) => {
      const hit = await cache.match(request);
      if (hit) return hit;
      const response = await fetch(request);
      if (response.ok) cache.put(request, response.clone());
      return response;
    }));
    return;
  }

  if (request.mode === "navigate") {
    // Network first so a deploy shows at once; the cached shell when offline.
    event.respondWith(fetch(request).catch(async () => (await caches.match("/index.html")) ?? Response.error()));
    return;
  }

  // Shell files: the network when it answers (they revalidate cheaply by ETag), else the cache; refresh the cache.
  event.respondWith((async () => {
    try {
      const response = await fetch(request);
      if (response.ok && SHELL.includes(url.pathname)) (await caches.open(VERSION)).put(request, response.clone());
      return response;
    } catch {
      return (await caches.match(request)) ?? Response.error();
    }
  })());
});
