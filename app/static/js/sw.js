/* Qianmo service worker. Served by the app at /sw.js (root path) so that its scope is the
 * whole site; a worker served from /static/ would only control /static/.
 *
 * Strategies
 * - Navigations: network first. A good answer is kept in the pages cache; without a network
 *   the cached copy of that exact URL is shown, else the cached /offline page.
 * - GET /static/...: cache first. Pages ask for /static/x?v=<content hash>, so an exact hit is
 *   always the right version; on a miss the file is fetched and kept (older ?v= copies of the
 *   same file are dropped). Without a network any cached version of the file is served
 *   (ignoreSearch), including the unversioned copies precached at install.
 * - Every other GET (htmx fragments, JSON, ...): network only.
 * - Non-GET requests are never cached. They go to the network untouched, except for the
 *   outbox hook below (a no-op for now).
 * Only ok, same-origin, non-redirected answers without "Cache-Control: no-store" are cached.
 *
 * Bump VERSION when SHELL or this file's behaviour changes: the new worker precaches the shell
 * again and, on activate, deletes every older qianmo-* cache.
 * Plain ES2020, no libraries, no build step.
 */
"use strict";

const VERSION = "v1";
const PREFIX = "qianmo-";
const SHELL_CACHE = `${PREFIX}shell-${VERSION}`;
const PAGES_CACHE = `${PREFIX}pages-${VERSION}`;
const MAX_PAGES = 60;
const OFFLINE_URL = "/offline";

const SHELL = [
  OFFLINE_URL,
  "/static/css/app.css",
  "/static/js/app.js",
  "/static/vendor/htmx-2.0.11.min.js",
  "/static/manifest.webmanifest",
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
// Offline POST queue (IndexedDB outbox): NOT BUILT YET, a later issue adds it here.
//
// outbox(event) is called for every same-origin non-GET request. Returning a Promise<Response>
// takes the request over (the worker answers it); returning null lets it go to the network as
// usual. The later implementation should, for record-creating form posts that fail for lack
// of a network: store the request (URL, method, form body, its client-generated UUID) in an
// IndexedDB outbox and answer with a page that says it is waiting to be sent; replay on
// "online"/"sync" after fetching a fresh CSRF token; keep a rejected replay (even a 403) in the
// outbox with its error shown, never drop it silently. See ARCHITECTURE.md, "Known traps".
// ---------------------------------------------------------------------------------------------
function outbox(event) {
  return null;
}

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
  if (SESSION_PATHS.test(url.pathname) || LOCALE_PATHS.test(url.pathname)) {
    offlinePageStale = true;
  }
  if (request.method !== "GET") {
    if (SESSION_PATHS.test(url.pathname)) {
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
  }
  // Any other GET: network only (no respondWith, so the browser fetches it itself).
});

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

async function cachedPage(request) {
  const cache = await caches.open(PAGES_CACHE);
  return cache.match(request, MATCH);
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
  await cache.put(request, response);
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
