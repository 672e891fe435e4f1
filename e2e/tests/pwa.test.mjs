// Volant as an app on a phone: installable (manifest, icons, a service worker
// controlling the pages), the instructor's planning and a lesson read in the car
// without a connection, each saying it is the copy of a given time; nothing of
// the person left on the phone once signed out.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, assertAccessible } from "./server.mjs";

let server;
let browser;
let password;

before(async () => {
  browser = await launchBrowser();
  server = await startServer();
  password = server.seedDemo();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: "fr-FR" };

// Monday of next week (`YYYY-MM-DD`): the demo's next week is planned.
function nextMonday() {
  const today = new Date();
  const monday = new Date(today.getTime() + ((8 - (today.getUTCDay() || 7)) % 7 || 7) * 86400000);
  return monday.toISOString().slice(0, 10);
}

// How many pages the phone keeps for reading offline (0 when none).
async function savedPages(page, href) {
  return page.evaluate(async (href) => {
    if (!(await caches.has("volant-pages"))) return 0;
    const cache = await caches.open("volant-pages");
    if (href) return (await cache.match(new URL(href, location.origin).href)) ? 1 : 0;
    return (await cache.keys()).length;
  }, href);
}

async function until(check, what) {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`still not ${what} after 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function look(page, step) {
  await assertAccessible(page, `pwa: ${step}`);
  if (process.env.E2E_SCREENSHOTS) {
    await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/pwa-${step}.png`, fullPage: true });
  }
}

test("an instructor installs Volant on a phone and reads the planning and a lesson offline", async () => {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  try {
    await page.goto(`${server.url}/login`);
    await page.getByLabel("Adresse e-mail").fill("moniteur@volant-demo.example");
    await page.getByLabel("Mot de passe").fill(password);
    await page.getByRole("button", { name: "Se connecter", exact: true }).tap();
    await page.waitForURL(/\/school\/planning/);

    // What Chromium checks before it offers to install: nothing missing (a test's
    // browser context is a private window, where nothing installs: that one aside).
    const cdp = await context.newCDPSession(page);
    const { installabilityErrors } = await cdp.send("Page.getInstallabilityErrors");
    const missing = installabilityErrors.filter((e) => e.errorId !== "in-incognito");
    assert.deepEqual(missing, [], JSON.stringify(installabilityErrors));
    const manifest = await cdp.send("Page.getAppManifest");
    assert.match(manifest.url, /\/manifest\.webmanifest$/);
    assert.deepEqual(manifest.errors, []);

    // The week, opened again once the worker is there: it controls the page and saves it,
    // with the lessons the week lists.
    await page.evaluate(() => navigator.serviceWorker.ready);
    const week = `${server.url}/school/planning?week=${nextMonday()}`;
    await page.goto(week);
    assert.ok(await page.evaluate(() => Boolean(navigator.serviceWorker.controller)), "controlled by the worker");
    const lesson = page.locator(".agenda .lesson", { hasText: "Devant l'auto-école" }).first();
    await lesson.waitFor();
    const href = await lesson.locator("a").first().getAttribute("href");
    const seen = (await lesson.textContent()).replace(/\s+/g, " ").trim();
    await until(async () => (await savedPages(page, week)) === 1, "the week saved");
    await until(async () => (await savedPages(page, href)) === 1, "the lesson saved ahead");
    assert.equal(await page.locator("[data-offline-note]:visible").count(), 0, "online: no note");

    // In the car, no network: the week is the saved copy, and says of when.
    await context.setOffline(true);
    await page.reload();
    const note = page.getByText(/^Hors ligne : cette page est la copie enregistrée sur cet appareil le \d\d\/\d\d\/\d{4} \d\d:\d\d\./);
    await note.waitFor();
    assert.equal(await page.locator("[data-offline-note]:visible").count(), 1, "the copy's note only");
    const again = page.locator(".agenda .lesson", { hasText: "Devant l'auto-école" }).first();
    assert.equal((await again.textContent()).replace(/\s+/g, " ").trim(), seen);
    await look(page, "1-week-offline");
    // A lesson opens from its copy: the candidate and the meeting point.
    await again.locator("a").first().tap();
    await page.waitForURL((url) => url.pathname === href);
    await note.waitFor();
    assert.match(await page.locator("main").textContent(), /Devant l'auto-école/);
    await look(page, "2-lesson-offline");
    // Sending from the copy (here: signing out) fails, and the page says so at once.
    await page.getByRole("button", { name: "Se déconnecter" }).tap();
    await page.getByText(/^Rien n'a été envoyé : pas de connexion\./).waitFor();
    await look(page, "3-sent-offline");
    // A lesson never opened nor saved: a notice, not the browser's error, and the way back.
    await page.goto(`${server.url}/school/lessons/999999`);
    await page.getByText("Hors ligne : cette page n'est pas enregistrée sur cet appareil.").waitFor();
    assert.equal(await page.getByRole("link", { name: "Revenir à l'accueil" }).getAttribute("href"), "/");

    // Back in range: the server's page again, without the note.
    await context.setOffline(false);
    await page.goto(week);
    await page.locator(".agenda .lesson").first().waitFor();
    assert.equal(await page.locator("[data-offline-note]:visible").count(), 0);

    // Signing out leaves nothing of the instructor on the phone.
    await page.getByRole("button", { name: "Se déconnecter" }).tap();
    await page.waitForURL(/\/login/);
    await until(async () => (await savedPages(page)) === 0, "the saved pages gone");
  } catch (error) {
    if (process.env.E2E_SCREENSHOTS) {
      await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/pwa-failed.png`, fullPage: true });
    }
    throw error;
  } finally {
    await context.close();
  }
});
