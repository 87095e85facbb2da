/* Qianmo service worker. Served by the app at /sw.js (root path) so that its scope is the
 * whole site; a worker served from /static/ would only control /static/.
 *
 * Strategies
 * - Navigations: network first. A good answer is kept in the pages cache; without a network
 *   the cached copy of that exact URL is shown, else the cached /offline page. Query
 *   parameters that only the page's script reads (outbox, queued, again) are left out of the
 *   cache key, so /outbox?queued=1 and /field/contacts/new?outbox=<uuid> work offline.
 * - GET /static/...: cache first. Pages ask for /static/x?v=<content hash>, so an exact hit is
 *   always the right version; on a miss the file is fetched and kept (older ?v= copies of the
 *   same file are dropped). Without a network any cached version of the file is served
 *   (ignoreSearch), including the unversioned copies precached at install.
 * - Every other GET (htmx fragments, JSON, ...): network only.
 * - Precache: after each page load a signed-in page sends the URLs of its <body
 *   data-offline-urls> ("precache" message); they are fetched into the pages cache (at most
 *   every PRECACHE_EVERY, or at once when the person or the list changed).
 * - Non-GET requests are never cached. Form posts (multipart or urlencoded, outside sign-in,
 *   sign-out and language paths) go through outbox(): a post whose body has a client_uuid
 *   field is an outbox form. If the network fails (or a gateway answers 502/503/504), or no
 *   answer comes within SLOW_AFTER (a crawling connection), it is kept in IndexedDB (js/outbox.js) and answered with "saved on this phone": a navigation
 *   gets a 303 to /outbox?queued=1, an htmx request a 200 with HX-Redirect to it. A post
 *   that reaches the server removes any outbox entry with its uuid. When a slow answer does
 *   come, the outbox is replayed: the copy is sent again and the server, knowing the uuid,
 *   stores nothing twice (a public form's entry gets its receipt that way). Other posts go to the
 *   network unchanged (offline, a navigation gets the /offline page).
 * - Replay of the outbox (js/outbox.js): on Background Sync ("qianmo-outbox" tag, registered
 *   when an entry is queued), and when a page asks ("replay" message: every page load, the
 *   `online` event, the outbox page's Send now). Pages hear "qianmo-outbox" messages back.
 * Only ok, same-origin, non-redirected answers without "Cache-Control: no-store" are cached. The
 *   server marks every signed-in answer no-store except the pages kept for offline use on
 *   purpose (app/offline.py), so nothing else a person opened stays on the phone.
 * - A session that ends (signed out, revoked by an administrator, expired) takes the cached pages
 *   with it: signing out, any answer 401, any request the server answers with the sign-in
 *   page (it redirects GETs there), or a replay that finds nobody signed in clear the pages
 *   cache as signing out does (forgetPages). Same-origin GETs other than pages and static
 *   files therefore pass through the worker (network only, watched). The outbox (IndexedDB)
 *   stays: queued logs are sent at the owner's next sign-in.
 *
 * - Phone notifications (Web Push): a push shows its title and body; tapping it opens its url,
 *   which must be a path on this site (anything else opens the home page), in a window of
 *   this site already open when there is one.
 *
 * Bump VERSION when SHELL or this file's behaviour changes: the new worker precaches the shell
 * again and, on activate, deletes every older qianmo-* cache. The outbox database is never
 * deleted by a new version or by signing out.
 * Plain ES2020, no libraries, no build step.
 */
"use strict";

const VERSION = "v6"; // v6: phone notifications (push, notificationclick); v5: public forms' outbox
const PREFIX = "qianmo-";
const SHELL_CACHE = `${PREFIX}shell-${VERSION}`;
const PAGES_CACHE = `${PREFIX}pages-${VERSION}`;
const MAX_PAGES = 60;
const OFFLINE_URL = "/offline";

const SHELL = [
  OFFLINE_URL,
  "/static/css/app.css",
  "/static/js/app.js",
  "/static/js/outbox.js",
  "/static/vendor/htmx-2.0.11.min.js",
  "/static/manifest.webmanifest",
  "/static/icons/icon-64.png",
  "/static/icons/icon-192.png",
  "/static/icons/icon-512.png",
  "/static/icons/icon-maskable-192.png",
  "/static/icons/icon-maskable-512.png",
  "/static/icons/nav.svg",
];

// Signing in or out (any method) changes whose pages these are: cached pages are dropped on
// a non-GET request here. Signing in/out or switching language also changes the /offline
// page (its language, its bottom navigation), so it is fetched again after the next page load.
const SESSION_PATHS = /^\/(signin|signout|invite)(\/|$)/;
const LOCALE_PATHS = /^\/locale\//;
let offlinePageStale = false;

const MATCH = { ignoreVary: true };

// ---------------------------------------------------------------------------------------------
// Offline outbox. outbox(event) is called for every same-origin non-GET request. Returning a
// Promise<Response> takes the request over (the worker answers it); returning null lets it go
// to the network as usual. Storage and replay: js/outbox.js (self.QianmoOutbox).
// ---------------------------------------------------------------------------------------------
importScripts("/static/js/outbox.js");
const Outbox = self.QianmoOutbox;
const FORM_TYPES = /^\s*(multipart\/form-data|application\/x-www-form-urlencoded)/i;
const GATEWAY_TROUBLE = new Set([502, 503, 504]);
const OUTBOX_PAGE = "/outbox";
// Query parameters read only by the page's script: not part of a cached page's key.
const CLIENT_PARAMS = ["outbox", "queued", "again"];
const PRECACHE_EVERY = 15 * 60 * 1000;
const SLOW_AFTER = 8000; // ms without an answer: "saved on this phone" rather than waiting on
const TOO_SLOW = Symbol("too slow");
let precached = { key: "", at: 0 };

function outbox(event) {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "POST" || SESSION_PATHS.test(url.pathname) || LOCALE_PATHS.test(url.pathname) ||
      !FORM_TYPES.test(request.headers.get("Content-Type") || "") || request.headers.has("X-Outbox-Replay")) {
    return null;
  }
  return sendOrKeep(event, request.clone());
}

async function sendOrKeep(event, copy) {
  const request = event.request;
  let form = null;
  try {
    form = await copy.formData();
  } catch (error) {
    form = null;
  }
  const uuid = form && form.get(Outbox.UUID_FIELD);
  if (typeof uuid !== "string" || !uuid) {
    // Not an outbox form: what the browser would have done, but an offline page, not an error.
    try {
      return watched(event, await fetch(request));
    } catch (error) {
      if (request.mode === "navigate") {
        return offlinePage();
      }
      throw error;
    }
  }
  const network = fetch(request).catch(() => null); // null: no network
  let response = await Promise.race([network, new Promise((resolve) => setTimeout(resolve, SLOW_AFTER, TOO_SLOW))]);
  if (response === TOO_SLOW) {
    response = null;
    event.waitUntil(network.then(() => replayOutbox(false)));
  }
  if (response && !GATEWAY_TROUBLE.has(response.status)) {
    watched(event, response);
    await Outbox.removeMeta(`note:${uuid}`);
    if (response.type === "opaqueredirect" || response.status < 400) {
      // It reached the server: an older outbox copy of it (a "Fix") is done with.
      if (await Outbox.get(uuid)) {
        await Outbox.remove(uuid);
        await tellPages({ phase: "changed" });
      }
    }
    return response;
  }
  const entry = await Outbox.newEntry({
    uuid, url: new URL(request.url).pathname + new URL(request.url).search, method: request.method,
    enctype: request.headers.get("Content-Type"), fields: Outbox.fieldsOf(form),
  });
  await Outbox.put(entry);
  await Outbox.removeMeta(`note:${uuid}`);
  if (self.registration.sync) {
    try {
      await self.registration.sync.register(Outbox.SYNC_TAG);
    } catch (error) {
      // Background Sync refused (permission, platform): `online` and page loads still replay.
    }
  }
  await tellPages({ phase: "changed" });
  return queuedAnswer(request);
}

function queuedAnswer(request) {
  const from = new URL(request.url).pathname;
  const target = `${OUTBOX_PAGE}?queued=1&again=${encodeURIComponent(from)}`;
  if (request.mode === "navigate") {
    return Response.redirect(new URL(target, self.location.origin).href, 303);
  }
  if (request.headers.get("HX-Request")) {
    return new Response("", {
      status: 200, headers: { "HX-Redirect": target, "Content-Type": "text/html; charset=utf-8" },
    });
  }
  return new Response(JSON.stringify({ ok: true, queued: true, outbox: target }), {
    status: 202, headers: { "Content-Type": "application/json" },
  });
}

async function tellPages(message) {
  const pages = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const page of pages) {
    page.postMessage({ type: "qianmo-outbox", ...message });
  }
}

async function replayOutbox(manual) {
  await tellPages({ phase: "start" });
  let result;
  try {
    result = await Outbox.replay({ manual });
  } catch (error) {
    result = { error: String(error) };
  }
  if (result && result.signedOut) {
    await forgetPages(); // the entries wait for their owner's next sign-in
  }
  await tellPages({ phase: "done", result });
  return result;
}

async function precache(urls, person) {
  const list = urls.filter((url) => url.startsWith("/") && !url.startsWith("//"));
  const key = `${person}|${list.join(" ")}`;
  if (!list.length || (precached.key === key && Date.now() - precached.at < PRECACHE_EVERY)) {
    return;
  }
  precached = { key, at: Date.now() };
  const cache = await caches.open(PAGES_CACHE);
  await Promise.all(list.map(async (url) => {
    try {
      const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (cacheable(response)) {
        await cache.put(pageKey(url), response);
      }
    } catch (error) {
      precached.at = 0; // try again after the next page load
    }
  }));
}

self.addEventListener("sync", (event) => {
  if (event.tag === Outbox.SYNC_TAG) {
    event.waitUntil(replayOutbox(false).then((result) => {
      if (result && result.offline) {
        throw new Error("still offline"); // the browser tries the sync again later
      }
    }));
  }
});

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "replay") {
    event.waitUntil(replayOutbox(Boolean(data.manual)));
  } else if (data.type === "precache" && Array.isArray(data.urls)) {
    event.waitUntil(precache(data.urls, data.person || ""));
  }
});

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    // cache: "reload" so that the shell comes from the server, not from the HTTP cache.
    await cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const keep = new Set([SHELL_CACHE, PAGES_CACHE]);
    const names = await caches.keys();
    await Promise.all(names.filter((name) => name.startsWith(PREFIX) && !keep.has(name))
      .map((name) => caches.delete(name)));
    if (self.registration.navigationPreload) {
      await self.registration.navigationPreload.enable();
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return; // not ours: the browser handles it
  }
  if (url.pathname === "/events") {
    return; // the live stream (js/live.js): straight to the network, never held by the worker
  }
  if (SESSION_PATHS.test(url.pathname) || LOCALE_PATHS.test(url.pathname)) {
    offlinePageStale = true;
  }
  if (request.method !== "GET") {
    if (/^\/signout(\/|$)/.test(url.pathname)) {
      event.waitUntil(forgetPages());
    } else if (SESSION_PATHS.test(url.pathname)) {
      precached = { key: "", at: 0 };
      event.waitUntil(caches.delete(PAGES_CACHE));
    }
    const answer = outbox(event);
    if (answer) {
      event.respondWith(answer);
    }
    return; // never cached
  }
  if (request.mode === "navigate") {
    event.respondWith(networkFirstPage(event));
    return;
  }
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(cacheFirstStatic(event));
    return;
  }
  // Any other GET (htmx, JSON): network only, watched for a session that ended.
  event.respondWith(fetch(request).then((response) => watched(event, response)));
});

// Whose pages these were is over: the pages cache goes, as on signing out. Nobody is signed in
// now, so what is queued next has no owner until a page says who. The outbox entries stay
// (docs/decisions.md, "Offline outbox"); the /offline page is fetched again after the next page.
async function forgetPages() {
  precached = { key: "", at: 0 };
  offlinePageStale = true;
  await caches.delete(PAGES_CACHE);
  await Outbox.setMeta("person", null);
}

// The session behind this request ended (revoked, expired): a 401 (unsafe requests), or the
// sign-in page in its place (the server redirects a GET there; a navigation lands on it).
function sessionEnded(response) {
  const landed = new URL(response.url || "/", self.location.origin).pathname;
  return response.status === 401 || (response.ok && /^\/signin(\/|$)/.test(landed));
}

function watched(event, response) {
  if (sessionEnded(response)) {
    event.waitUntil(forgetPages());
  }
  return response;
}

function cacheable(response) {
  return Boolean(response) && response.ok && response.status === 200 && response.type === "basic" &&
    !response.redirected && !/no-store/i.test(response.headers.get("Cache-Control") || "");
}

async function networkFirstPage(event) {
  const request = event.request;
  let response;
  try {
    response = (await event.preloadResponse) || (await fetch(request));
  } catch (error) {
    return (await cachedPage(request)) || offlinePage();
  }
  watched(event, response);
  if (response.status >= 502 && response.status <= 504) {
    // The server (or the proxy in front of it) is unreachable: a cached copy is more useful.
    const cached = await cachedPage(request);
    if (cached) {
      return cached;
    }
  }
  if (cacheable(response)) {
    const copy = response.clone();
    event.waitUntil(keepPage(request, copy));
    if (offlinePageStale) {
      offlinePageStale = false;
      event.waitUntil(refreshOfflinePage());
    }
  }
  return response;
}

// The cache key of a page: its URL without the parameters only the page's script reads.
function pageKey(url) {
  const key = new URL(url, self.location.origin);
  CLIENT_PARAMS.forEach((name) => key.searchParams.delete(name));
  return key.href;
}

async function cachedPage(request) {
  const cache = await caches.open(PAGES_CACHE);
  return cache.match(pageKey(request.url), MATCH);
}

async function offlinePage() {
  const cache = await caches.open(SHELL_CACHE);
  const page = await cache.match(OFFLINE_URL, MATCH);
  return page || new Response("Offline · 离线", {
    status: 503,
    headers: { "Content-Type": "text/plain; charset=utf-8" },
  });
}

async function keepPage(request, response) {
  const cache = await caches.open(PAGES_CACHE);
  await cache.put(pageKey(request.url), response);
  // Keys come back in insertion order (a put moves the URL to the end): drop the oldest.
  const keys = await cache.keys();
  await Promise.all(keys.slice(0, Math.max(0, keys.length - MAX_PAGES)).map((key) => cache.delete(key)));
}

async function refreshOfflinePage() {
  try {
    const response = await fetch(OFFLINE_URL, { cache: "no-store", credentials: "same-origin" });
    if (cacheable(response)) {
      const cache = await caches.open(SHELL_CACHE);
      await cache.put(OFFLINE_URL, response);
    }
  } catch (error) {
    offlinePageStale = true; // try again after the next page load
  }
}

async function cacheFirstStatic(event) {
  const request = event.request;
  const cache = await caches.open(SHELL_CACHE);
  const hit = await cache.match(request, MATCH);
  if (hit) {
    return hit;
  }
  try {
    const response = await fetch(request);
    if (cacheable(response)) {
      event.waitUntil(keepStatic(cache, request, response.clone()));
    }
    return response;
  } catch (error) {
    // No network: any cached version of this file beats nothing.
    const anyVersion = await cache.match(request, { ignoreSearch: true, ignoreVary: true });
    if (anyVersion) {
      return anyVersion;
    }
    throw error;
  }
}

async function keepStatic(cache, request, response) {
  await cache.put(request, response);
  const url = new URL(request.url);
  if (!url.search) {
    return;
  }
  // Drop older versions (?v=<old hash>) of this file; keep the unversioned precached copy.
  const same = await cache.keys(request, { ignoreSearch: true, ignoreVary: true });
  await Promise.all(same.filter((key) => {
    const other = new URL(key.url);
    return other.search && other.href !== url.href;
  }).map((key) => cache.delete(key, MATCH)));
}

// ---------------------------------------------------------------------------------------------
// Phone notifications. The server sends {title, body, url} (app/domain/push.payload).

function localPath(url) {
  if (typeof url !== "string" || !url.startsWith("/") || url.startsWith("//") || url.startsWith("/\\")) {
    return "/";
  }
  const resolved = new URL(url, self.location.origin);
  return resolved.origin === self.location.origin ? resolved.pathname + resolved.search + resolved.hash : "/";
}

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    data = {};
  }
  event.waitUntil(self.registration.showNotification(data.title || "阡陌", {
    body: data.body || "",
    icon: "/static/icons/icon-192.png",
    badge: "/static/icons/icon-64.png",
    data: { url: localPath(data.url) },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL(localPath(event.notification.data && event.notification.data.url), self.location.origin).href;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const open = windows.find((client) => new URL(client.url).origin === self.location.origin);
    if (open) {
      await open.focus();
      if ("navigate" in open) {
        await open.navigate(url).catch(() => self.clients.openWindow(url));
      }
      return;
    }
    await self.clients.openWindow(url);
  })());
});
