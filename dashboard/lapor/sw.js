// The service worker: the app's shell from the phone's cache, so /lapor opens with no network
// (after a browser restart and a reboot too: the cache is on disk). The server writes the
// version (a hash of every file of the app) and the list of the shell's files into this file
// when it serves it (dashboard/lapor.py), so a changed app is a changed sw.js: the browser
// installs the new worker, which fetches the new shell into a cache of its own name, takes
// over (skipWaiting + clients.claim), and removes the old cache. The page running now keeps
// its code; the next open runs the new one.
//
// Cache first for the shell; never for /api and /ws (network only: reports and reads must
// reach the server or fail, never be answered from a cache). Reports wait in IndexedDB, not
// here: see js/outbox.js and js/sender.js.

const VERSION = /* POSKO_LAPOR_VERSION */ "dev";
const SHELL = /* POSKO_LAPOR_SHELL */ [];
const PREFIX = "posko-lapor-";
const CACHE = PREFIX + VERSION;
const INDEX = "/lapor/";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      // no-cache: revalidated against the server (ETag), so what the page just loaded is a
      // 304, not a second download.
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "no-cache" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith(PREFIX) && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

function fromCache(request, key) {
  return caches
    .open(CACHE)
    .then((cache) => cache.match(key || request, { ignoreSearch: true }))
    .then((hit) => hit || fetch(request));
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/ws/")) return; // network only
  if (!url.pathname.startsWith(INDEX)) return;
  if (request.mode === "navigate") {
    // Any page of the app, offline or not: the cached index (the screens are in its script).
    event.respondWith(fromCache(request, INDEX));
    return;
  }
  event.respondWith(fromCache(request));
});
