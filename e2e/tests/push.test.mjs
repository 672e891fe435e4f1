// A candidate's phone is told when a lesson moves (Web Push): the preferences
// page offers to subscribe the phone and says when it cannot; the message the
// office's change sends reaches a push service on loopback, signed with the
// instance's VAPID key (checked here as a push service does) and encrypted for
// the phone's keys, which an independent RFC 8291 implementation (the http_ece
// package) decrypts as the browser would; the service worker shows it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import crypto from "node:crypto";
import ece from "http_ece";
import { startServer, launchBrowser, assertAccessible } from "./server.mjs";

let server;
let browser;
let password;
let pushService;
const received = [];

before(async () => {
  browser = await launchBrowser();
  server = await startServer({ VOLANT_PUSH_ALLOW_PRIVATE_HOSTS: "true" });
  password = server.seedDemo();
  pushService = http.createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      received.push({ path: request.url, headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(201).end();
    });
  });
  await new Promise((resolve) => pushService.listen(0, "127.0.0.1", resolve));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  pushService?.close();
});

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: "fr-FR" };

async function apiAs(email) {
  const login = await fetch(`${server.url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  assert.equal(login.status, 200);
  const { access_token: token } = await login.json();
  return async (method, path, body) => {
    const response = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: body && JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return response.json();
  };
}

async function until(check, what, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`still not ${what} after ${ms / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// What a push service checks of `Authorization: vapid t=…, k=…` (RFC 8292).
function vapidClaims(header, publicKey) {
  const parts = Object.fromEntries(header.replace(/^vapid /, "").split(",").map((p) => p.trim().split(/=(.*)/s).slice(0, 2)));
  assert.equal(parts.k, publicKey, "signed with the key the browser subscribed with");
  const point = Buffer.from(parts.k, "base64url");
  const key = crypto.createPublicKey({
    key: { kty: "EC", crv: "P-256", x: point.subarray(1, 33).toString("base64url"), y: point.subarray(33).toString("base64url") },
    format: "jwk",
  });
  const [head, claims, signature] = parts.t.split(".");
  assert.equal(JSON.parse(Buffer.from(head, "base64url")).alg, "ES256");
  const valid = crypto.verify("sha256", Buffer.from(`${head}.${claims}`), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(signature, "base64url"));
  assert.ok(valid, "the VAPID signature verifies");
  return JSON.parse(Buffer.from(claims, "base64url"));
}

test("a candidate's phone is told, encrypted and signed, when the office moves a lesson", async () => {
  const context = await browser.newContext(PHONE);
  await context.grantPermissions(["notifications"], { origin: server.url });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  try {
    await page.goto(`${server.url}/login`);
    await page.getByLabel("Adresse e-mail").fill("candidat@volant-demo.example");
    await page.getByLabel("Mot de passe").fill(password);
    await page.getByRole("button", { name: "Se connecter", exact: true }).tap();
    await page.waitForURL(/\/portal/);
    await page.evaluate(() => navigator.serviceWorker.ready);

    // Lesson changes go to the device by default: the page says no device will get them yet.
    await page.goto(`${server.url}/notifications/preferences`);
    await page.getByText("Aucun appareil abonné : les notifications cochées « Sur l'appareil » ne partiront qu'une fois un appareil abonné ici.").waitFor();
    // This test's browser has no push service to reach: it says so, rather than nothing.
    await page.getByRole("button", { name: "Recevoir les notifications sur cet appareil" }).tap();
    await page.locator("[data-push-state]:visible").waitFor({ timeout: 20_000 });
    assert.match(await page.locator("[data-push-state]:visible").textContent(), /n'a pas pu s'abonner|ne reçoit pas/);
    await assertAccessible(page, "push: preferences");

    // The phone's subscription, as its browser sends it (keys made here, the
    // push service on loopback).
    const phone = crypto.createECDH("prime256v1");
    phone.generateKeys();
    const auth = crypto.randomBytes(16);
    const endpoint = `http://127.0.0.1:${pushService.address().port}/push/phone-1`;
    const status = await page.evaluate(async (fields) => {
      const token = document.querySelector("form[action='/logout'] input[name=_csrf]").value;
      const response = await fetch("/notifications/push", {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": token },
        body: new URLSearchParams(fields),
      });
      return response.status;
    }, { endpoint, p256dh: phone.getPublicKey().toString("base64url"), auth: auth.toString("base64url"), device: "Android · Chrome" });
    assert.equal(status, 204);
    await page.reload();
    await page.locator("#devices li", { hasText: "Android · Chrome — abonné le" }).waitFor();
    if (process.env.E2E_SCREENSHOTS) await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/push-preferences.png`, fullPage: true });
    const publicKey = await page.locator("[data-push-key]").getAttribute("data-push-key");

    // The office moves the candidate's next lesson to 11:00 (or 16:00), free for everyone.
    const candidate = await apiAs("candidat@volant-demo.example");
    const office = await apiAs("gerant@volant-demo.example");
    const lessons = await candidate("GET", "/school/lessons?limit=100");
    const next = (Array.isArray(lessons) ? lessons : lessons.items)
      .filter((l) => l.status === "scheduled" && Date.parse(l.starts_at) > Date.now() + 86400000)
      .sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at))[0];
    assert.ok(next, "the demo candidate has a coming lesson");
    const start = new Date(next.starts_at);
    const hour = new Intl.DateTimeFormat("fr-FR", { timeZone: "Europe/Paris", hour: "numeric" }).format(start);
    const shift = (Number.parseInt(hour, 10) < 12 ? 11 : 16) - Number.parseInt(hour, 10);
    const moved = (t) => new Date(Date.parse(t) + shift * 3600000).toISOString();
    await office("PUT", `/school/lessons/${next.id}`, { starts_at: moved(next.starts_at), ends_at: moved(next.ends_at) });

    await until(() => received.some((r) => r.path === "/push/phone-1"), "the push service reached");
    const message = received.find((r) => r.path === "/push/phone-1");
    assert.equal(message.headers["content-encoding"], "aes128gcm");
    const claims = vapidClaims(message.headers.authorization, publicKey);
    assert.equal(claims.aud, `http://127.0.0.1:${pushService.address().port}`);
    assert.ok(claims.exp * 1000 > Date.now() && claims.exp * 1000 <= Date.now() + 24 * 3600 * 1000);
    const plain = ece.decrypt(message.body, { version: "aes128gcm", privateKey: phone, authSecret: auth.toString("base64url") });
    const shown = JSON.parse(plain.toString("utf8"));
    assert.match(shown.title, /^Leçon déplacée au /);
    assert.equal(shown.url, `/school/lessons/${next.id}`);

    // The phone's service worker shows it (the message delivered as the browser would).
    const cdp = await context.newCDPSession(page);
    const registrations = [];
    cdp.on("ServiceWorker.workerRegistrationUpdated", (event) => registrations.push(...event.registrations));
    await cdp.send("ServiceWorker.enable");
    await until(async () => registrations.some((r) => r.scopeURL === `${server.url}/`), "the worker's registration known");
    const registration = registrations.find((r) => r.scopeURL === `${server.url}/`);
    // Delivered again until shown: a worker still starting may miss the first one
    // (the notification's tag makes a repeat replace, not add).
    const titles = () => page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => n.title));
    const deadline = Date.now() + 30_000;
    while (!(await titles()).includes(shown.title)) {
      if (Date.now() > deadline) throw new Error("the notification was never shown");
      await cdp.send("ServiceWorker.deliverPushMessage", { origin: server.url, registrationId: registration.registrationId, data: plain.toString("utf8") });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    }
    assert.equal((await titles()).filter((t) => t === shown.title).length, 1, "one notification per message");
  } finally {
    await context.close();
  }
});
