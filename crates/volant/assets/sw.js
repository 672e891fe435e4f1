// Volant's service worker (served as /sw.js, scope /). It touches three kinds of
// request and lets every other one go to the network untouched (forms, the API,
// downloads, live updates):
// - the assets (/assets/…?v=<version>): from this device once fetched;
// - the pages of a working day away from a desk (the instructor's planning and
//   lessons, the candidate's portal): from the network when it answers, and
//   then saved on this device; from the saved copy when it does not (the page
//   says it is a copy, and of when: app.js);
// - the lessons a planning links to, saved ahead when the page asks (app.js).
// Saved pages are personal: app.js empties the cache when the person signs out
// and whenever a page is shown signed out.
"use strict";

const VERSION = "__VOLANT_ASSET_VERSION__";
const ASSETS = "volant-assets-" + VERSION;
const PAGES = "volant-pages";
// The pages kept for reading offline.
const SAVED = [/^\/school\/planning$/, /^\/school\/lessons\/\d+$/, /^\/portal$/];
// What the start page (/) shows each person, for the app opened offline.
const START_PAGES = ["/school/planning", "/portal"];
// Saved ahead at most this many at a time, and not again within ten minutes.
const MAX_AHEAD = 60;
const FRESH_MS = 10 * 60 * 1000;

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key.startsWith("volant-assets-") && key !== ASSETS) await caches.delete(key);
      }
      await self.clients.claim();
    })(),
  );
});

// A whole page: a navigation, or htmx following a link of a boosted page (it
// asks for the whole page too). A fragment asked by htmx is not kept.
function wholePage(request) {
  return request.mode === "navigate" || (request.headers.get("HX-Request") && request.headers.get("HX-Boosted"));
}

function isSaved(url) {
  return SAVED.some((pattern) => pattern.test(url.pathname));
}

// Keeps a page as answered to a signed-in person (not a redirection to the
// sign-in page, not an error).
async function keep(url, response) {
  const type = response.headers.get("Content-Type") || "";
  if (response.ok && !response.redirected && response.type === "basic" && type.startsWith("text/html")) {
    const cache = await caches.open(PAGES);
    await cache.put(url.href, response.clone());
  }
}

async function savedCopy(url) {
  const cache = await caches.open(PAGES);
  const exact = await cache.match(url.href, { ignoreVary: true });
  if (exact) return exact;
  if (url.pathname === "/") {
    for (const path of START_PAGES) {
      const start = await cache.match(new URL(path, url).href, { ignoreVary: true, ignoreSearch: true });
      if (start) return start;
    }
    return undefined;
  }
  // Another week or view of the same page, rather than nothing: the page names its dates.
  return cache.match(url.href, { ignoreVary: true, ignoreSearch: true });
}

// The language of the pages saved here (the organization's), else the browser's.
async function savedLanguage() {
  const cache = await caches.open(PAGES);
  const [first] = await cache.keys();
  const html = first ? await (await cache.match(first)).text() : "";
  const lang = (html.match(/<html lang="([a-z]+)"/) || [])[1] || self.navigator.language || "fr";
  return lang.toLowerCase().startsWith("en") ? "en" : "fr";
}

async function offlinePage() {
  const lang = await savedLanguage();
  const text =
    lang === "fr"
      ? "Hors ligne : cette page n'est pas enregistrée sur cet appareil. Elle s'affichera au retour de la connexion."
      : "Offline: this page is not saved on this device. It will show when the connection is back.";
  const body = `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Volant</title></head><body><main><h1>Volant</h1><p>${text}</p></main></body></html>`;
  return new Response(body, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

// The saved copy, showing the note the server wrote hidden into it (its time
// is the copy's): whatever the browser believes of the network, a copy says so.
async function shownAsCopy(response) {
  const html = (await response.text()).replace(/data-offline-note hidden/g, 'data-offline-note="copy"');
  const headers = new Headers(response.headers);
  headers.delete("Content-Length");
  headers.delete("Content-Encoding");
  return new Response(html, { status: 200, headers });
}

async function page(request, url) {
  try {
    const response = await fetch(request);
    if (isSaved(url)) await keep(url, response);
    return response;
  } catch (error) {
    const copy = await savedCopy(url);
    return copy ? shownAsCopy(copy) : offlinePage();
  }
}

async function asset(request) {
  const cache = await caches.open(ASSETS);
  const hit = await cache.match(request);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/assets/")) {
    event.respondWith(asset(request));
  } else if (wholePage(request) && (isSaved(url) || url.pathname === "/")) {
    event.respondWith(page(request, url));
  }
});

// `{ type: "save", urls }`: pages a planning links to, saved for reading offline.
self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type !== "save" || !Array.isArray(data.urls)) return;
  event.waitUntil(
    (async () => {
      for (const path of data.urls.slice(0, MAX_AHEAD)) {
        const url = new URL(path, self.location.origin);
        if (url.origin !== self.location.origin || !isSaved(url)) continue;
        const cached = await (await caches.open(PAGES)).match(url.href, { ignoreVary: true });
        const savedAt = cached ? Date.parse(cached.headers.get("Date") || "") : NaN;
        if (Date.now() - savedAt < FRESH_MS) continue;
        try {
          await keep(url, await fetch(url.href, { credentials: "same-origin" }));
        } catch (error) {
          return;
        }
      }
    })(),
  );
});
