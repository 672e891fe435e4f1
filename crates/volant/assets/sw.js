// Volant's service worker (served as /sw.js, scope /). It touches three kinds of
// request and lets every other one go to the network untouched (forms, the API,
// downloads, live updates):
// - the assets (/assets/…?v=<version>): from this device once fetched;
// - the pages of a working day away from a desk (the instructor's planning and
//   lessons, the candidate's portal, the workshop's work under way): from the network when it answers within a
//   few seconds, and then saved on this device; from the saved copy when it does
//   not, the copy showing the note the server wrote into it (with its time);
// - the lessons a planning links to, and the interventions and vehicles the
//   workshop's page links to, saved ahead when the page asks (app.js).
// Saved pages are personal: app.js empties them on the sign-in page (where every
// ended session leads), when another person signs in, and at sign-out.
"use strict";

const VERSION = "__VOLANT_ASSET_VERSION__";
const ASSETS = "volant-assets-" + VERSION;
const PAGES = "volant-pages";
// The pages kept for reading offline: the instructor's planning and its lessons,
// the candidate's portal, the workshop's vehicles under way with each
// intervention and vehicle maintenance page (mileage).
const SAVED = [
  /^\/school\/planning$/,
  /^\/school\/lessons\/\d+$/,
  /^\/portal$/,
  /^\/interventions$/,
  /^\/interventions\/\d+$/,
  /^\/vehicles\/\d+\/maintenance$/,
];
// What the start page (/) shows each person, for the app opened offline.
const START_PAGES = ["/school/planning", "/portal", "/interventions"];
// Saved ahead at most this many at a time, and not again within ten minutes.
const MAX_AHEAD = 60;
const FRESH_MS = 10 * 60 * 1000;
// A network that does not answer within this is taken for none (a car between masts).
const PATIENCE_MS = 5000;
// A copy older than this is not shown, and goes (a lost phone keeps nothing for long).
const MAX_AGE_MS = 7 * 24 * 3600 * 1000;
// Bumped when the saved pages are forgotten: a save begun before is dropped.
let generation = 0;

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      // The previous version's assets stay until this one's are fetched: saved
      // pages still name them, and are read offline.
      const keys = (await caches.keys()).filter((key) => key.startsWith("volant-assets-") && key !== ASSETS);
      for (const key of keys.slice(0, -1)) await caches.delete(key);
      await self.clients.claim();
    })(),
  );
});

// A whole page: a navigation, htmx following a link of a boosted page, or htmx
// restoring one on "back" (each asks for the whole page). A fragment is not kept.
function wholePage(request) {
  const htmx = (name) => request.headers.get(name) === "true";
  return request.mode === "navigate" || htmx("HX-Boosted") || htmx("HX-History-Restore-Request");
}

function isSaved(url) {
  return SAVED.some((pattern) => pattern.test(url.pathname));
}

function savedAt(response) {
  return Date.parse(response.headers.get("Date") || "") || 0;
}

// Keeps a page as answered to a signed-in person (not a redirection to the
// sign-in page, not an error), unless the saved pages were forgotten meanwhile.
async function keep(url, response, since) {
  const type = response.headers.get("Content-Type") || "";
  if (!response.ok || response.redirected || response.type !== "basic" || !type.startsWith("text/html")) return;
  const cache = await caches.open(PAGES);
  if (since === generation) await cache.put(url.href, response);
}

// The newest copy of this page, or (for another week or view of it) of the
// same path; none older than MAX_AGE_MS.
async function savedCopy(url) {
  const cache = await caches.open(PAGES);
  const fresh = async (href, ignoreSearch) => {
    const copies = await cache.matchAll(href, { ignoreVary: true, ignoreSearch });
    let newest;
    for (const copy of copies) {
      if (Date.now() - savedAt(copy) > MAX_AGE_MS) continue;
      if (!newest || savedAt(copy) > savedAt(newest)) newest = copy;
    }
    return newest;
  };
  if (url.pathname === "/") {
    for (const path of START_PAGES) {
      const start = await fresh(new URL(path, url).href, true);
      if (start) return start;
    }
    return undefined;
  }
  return (await fresh(url.href, false)) || fresh(url.href, true);
}

// The saved copy, showing the note the server wrote hidden into it (its time is
// the copy's), whatever the browser believes of the network.
async function shownAsCopy(response) {
  const html = (await response.text()).replace(/data-offline-note="copy" hidden/g, 'data-offline-note="copy"');
  const headers = new Headers(response.headers);
  headers.delete("Content-Length");
  headers.delete("Content-Encoding");
  return new Response(html, { status: 200, headers });
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
  const back = lang === "fr" ? "Revenir à l'accueil" : "Back to the start page";
  const body = `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Volant</title><link rel="stylesheet" href="/assets/app.css?v=${VERSION}"></head><body><header class="topbar"><a class="brand" href="/">Volant</a></header><main id="main"><p class="flash flash-warning" role="status">${text}</p><p><a class="button" href="/">${back}</a></p></main></body></html>`;
  return new Response(body, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

function patiently(request) {
  return Promise.race([
    fetch(request),
    new Promise((_, reject) => setTimeout(() => reject(new Error("no answer")), PATIENCE_MS)),
  ]);
}

async function page(event, url) {
  let response;
  try {
    response = await patiently(event.request);
  } catch (error) {
    const copy = await savedCopy(url);
    return copy ? shownAsCopy(copy) : offlinePage();
  }
  // Saved beside the answer, not before it: the page streams as usual.
  if (isSaved(url)) event.waitUntil(keep(url, response.clone(), generation).catch(() => {}));
  return response;
}

async function asset(request) {
  const cache = await caches.open(ASSETS);
  const hit = await cache.match(request);
  if (hit) return hit;
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone()).catch(() => {});
    return response;
  } catch (error) {
    // Offline, a saved page may name the previous version's file.
    const older = await caches.match(request, { ignoreSearch: true });
    if (older) return older;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/assets/")) {
    event.respondWith(asset(request));
  } else if (wholePage(request) && (isSaved(url) || url.pathname === "/")) {
    event.respondWith(page(event, url));
  }
});

// `{ type: "save", urls }`: pages a planning links to, saved for reading offline
// (sent with `Volant-Save-Ahead`, so that they do not use up the person's message).
// `{ type: "forget" }`: the saved pages were emptied; a save under way stops.
self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "forget") {
    generation += 1;
    return;
  }
  if (data.type !== "save" || !Array.isArray(data.urls)) return;
  const since = generation;
  event.waitUntil(
    (async () => {
      for (const path of data.urls.slice(0, MAX_AHEAD)) {
        if (since !== generation) return;
        const url = new URL(path, self.location.origin);
        if (url.origin !== self.location.origin || !isSaved(url)) continue;
        const cached = await (await caches.open(PAGES)).match(url.href, { ignoreVary: true });
        if (cached && Date.now() - savedAt(cached) < FRESH_MS) continue;
        try {
          const response = await fetch(url.href, { credentials: "same-origin", headers: { "Volant-Save-Ahead": "1" } });
          await keep(url, response, since);
        } catch (error) {
          return;
        }
      }
    })(),
  );
});

// Web Push (notify::push): the message, encrypted for this browser, is shown as
// a notification; a tap opens (or focuses) the page it is about, on this site only.
function samePlace(path) {
  try {
    const url = new URL(typeof path === "string" ? path : "/notifications", self.location.origin);
    return url.origin === self.location.origin ? url.pathname + url.search : "/notifications";
  } catch (error) {
    return "/notifications";
  }
}

self.addEventListener("push", (event) => {
  let message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch (error) {
    message = { title: "Volant", body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(
    self.registration.showNotification(message.title || "Volant", {
      body: message.body || "",
      tag: message.tag,
      icon: "/assets/icons/icon-192.png?v=" + VERSION,
      badge: "/assets/icons/icon-192.png?v=" + VERSION,
      data: { url: samePlace(message.url) },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL(event.notification.data && event.notification.data.url || "/", self.location.origin).href;
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      for (const client of windows) {
        if (client.url === target && "focus" in client) return client.focus();
      }
      return self.clients.openWindow(target);
    })(),
  );
});
