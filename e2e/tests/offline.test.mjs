// Writing without a connection, on a phone: the instructor reports three lessons
// in the car with no network and finds them recorded once when back in range;
// a report the office overtook meanwhile is shown with the server's answer and
// what was typed. The mechanic completes an intervention and records a mileage
// in the workshop's dead zone, sent when the network returns.
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

// The JSON API as a demo account; a refusal fails the test unless `allowed`.
async function apiAs(email) {
  const login = await fetch(`${server.url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  assert.equal(login.status, 200, `sign-in of ${email}`);
  const { access_token: token } = await login.json();
  return async (method, path, body, allowed = false) => {
    const response = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: body && JSON.stringify(body),
    });
    if (!response.ok && !allowed) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return { status: response.status, json: response.ok ? await response.json() : null };
  };
}

function items(list) {
  return Array.isArray(list) ? list : list.items;
}

// The last weekday before today (`YYYY-MM-DD`) and Paris's offset that day.
function lastWeekday() {
  let day = new Date(Date.now() - 86400000);
  while ([0, 6].includes(day.getUTCDay())) day = new Date(day.getTime() - 86400000);
  const date = day.toISOString().slice(0, 10);
  const name = new Intl.DateTimeFormat("en", { timeZone: "Europe/Paris", timeZoneName: "longOffset" })
    .formatToParts(new Date(`${date}T12:00:00Z`))
    .find((p) => p.type === "timeZoneName").value;
  return { date, offset: name.replace("GMT", "") || "+00:00" };
}

async function savedPages(page, href) {
  return page.evaluate(async (href) => {
    if (!(await caches.has("volant-pages"))) return 0;
    const cache = await caches.open("volant-pages");
    return (await cache.match(new URL(href, location.origin).href)) ? 1 : 0;
  }, href);
}

async function until(check, what, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`still not ${what} after ${ms / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

async function look(page, step) {
  await assertAccessible(page, `offline: ${step}`);
  if (process.env.E2E_SCREENSHOTS) {
    await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/offline-${step}.png`, fullPage: true });
  }
}

async function signIn(page, email) {
  await page.goto(`${server.url}/login`);
  await page.getByLabel("Adresse e-mail").fill(email);
  await page.getByLabel("Mot de passe").fill(password);
  await page.getByRole("button", { name: "Se connecter", exact: true }).tap();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"));
  await page.evaluate(() => navigator.serviceWorker.ready);
}

const entries = (page, state) => page.locator(`[data-outbox-entry="${state}"]`);

test("an instructor reports three lessons offline in the car and finds them recorded once back in range", async () => {
  // Four lessons the instructor gave on the last weekday, not reported yet.
  const office = await apiAs("gerant@volant-demo.example");
  const teacher = items((await office("GET", "/school/instructors")).json).find((i) => i.user_id);
  const car = items((await office("GET", "/school/vehicles")).json)[0];
  const candidates = items((await office("GET", "/school/candidates?limit=50")).json);
  const { date, offset } = lastWeekday();
  const lessons = [];
  let next = 0;
  for (const hour of ["08", "11", "14", "16"]) {
    while (next < candidates.length) {
      const booked = await office("POST", "/school/lessons", {
        candidate_id: candidates[next++].id,
        instructor_id: teacher.id,
        vehicle_id: car.vehicle_id,
        kind: "driving",
        starts_at: `${date}T${hour}:00:00${offset}`,
        ends_at: `${date}T${String(Number(hour) + 1).padStart(2, "0")}:00:00${offset}`,
        meeting_point: "Parking du lycée",
      }, true);
      if (booked.status === 201) {
        lessons.push(booked.json.id);
        break;
      }
    }
  }
  assert.equal(lessons.length, 4, "four lessons booked on the last weekday");

  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  try {
    await signIn(page, "moniteur@volant-demo.example");
    // The day is opened while there is network: it and its lessons are saved.
    await page.goto(`${server.url}/school/planning?view=day&week=${date}`);
    for (const id of lessons) await until(async () => (await savedPages(page, `/school/lessons/${id}`)) === 1, `lesson ${id} saved`);

    // In the car, no network: three reports, typed on the phone.
    await context.setOffline(true);
    const notes = (n) => `Leçon ${n} : créneaux en côte\nrond-point à deux voies 🚗`;
    for (const [n, id] of lessons.entries()) {
      await page.goto(`${server.url}/school/lessons/${id}`);
      await page.getByText(/^Hors ligne : cette page est la copie enregistrée/).waitFor();
      const report = page.locator("#report");
      await report.locator("textarea[name=notes]").fill(notes(n + 1));
      if (n === 0) {
        await report.locator("details summary").first().tap();
        await report.locator("label.chip", { has: page.locator("input[name=level_C1a][value='2']") }).tap();
      }
      await report.getByRole("button", { name: "Enregistrer" }).tap();
      await report.getByText(/^Pas de connexion : ce formulaire est gardé sur ce téléphone/).waitFor();
      assert.equal(await report.getByRole("button", { name: "Enregistrer" }).isDisabled(), true, "not filled in twice");
      assert.equal(await entries(page, "pending").count(), n + 1);
      if (n === 0) await look(page, "1-report-kept");
    }
    assert.match(await page.locator("[data-outbox]").textContent(), /Compte rendu de la leçon :.*En attente : partira tout seul/s);

    // Meanwhile the office marked the fourth lesson as missed.
    await office("POST", `/school/lessons/${lessons[3]}/outcome`, { status: "no_show" });

    // Back in range: sent by themselves, once each.
    await context.setOffline(false);
    await until(async () => (await entries(page, "pending").count()) === 0, "all sent", 20_000);
    assert.equal(await entries(page, "sent").count(), 3);
    assert.equal(await entries(page, "refused").count(), 1);
    const refused = entries(page, "refused");
    assert.match(await refused.textContent(), /Non enregistré\. Réponse du serveur : Cette leçon n'est plus prévue : elle a déjà été annulée ou effectuée\./);
    assert.match(await refused.textContent(), /Vous aviez saisi : Leçon 4 : créneaux en côte\nrond-point à deux voies 🚗/);
    await look(page, "2-synced");

    for (const [n, id] of lessons.slice(0, 3).entries()) {
      const lesson = (await office("GET", `/school/lessons/${id}`)).json;
      assert.equal(lesson.status, "done");
      assert.equal(lesson.notes.replace(/\r\n/g, "\n"), notes(n + 1));
    }
    assert.equal((await office("GET", `/school/lessons/${lessons[3]}`)).json.status, "no_show", "the office's record stands");

    // The phone never heard the first answer (a mast dropped it): sent again with
    // its key, it is answered as before and recorded nowhere twice.
    await page.evaluate(async (action) => {
      const db = await new Promise((resolve, reject) => {
        const open = indexedDB.open("volant", 1);
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const store = () => db.transaction("outbox", "readwrite").objectStore("outbox");
      const all = await new Promise((resolve) => { const r = store().getAll(); r.onsuccess = () => resolve(r.result); });
      const entry = all.find((e) => e.action === action);
      entry.state = "pending";
      await new Promise((resolve) => { const r = store().put(entry); r.onsuccess = resolve; });
      db.close();
      window.dispatchEvent(new Event("online"));
    }, `/school/lessons/${lessons[0]}/outcome`);
    await until(async () => (await entries(page, "pending").count()) === 0, "sent again");
    assert.equal(await entries(page, "sent").count(), 3, "answered as the first time, not refused");
    // The level tapped in the car is the candidate's.
    const first = (await office("GET", `/school/lessons/${lessons[0]}`)).json;
    const grid = (await office("GET", `/school/progress?candidate_id=${first.candidate_id}`)).json;
    const c1a = grid.flatMap((competency) => competency.items).find((item) => item.item === "C1a");
    assert.equal(c1a.level, 2);

    // What was refused stays until the instructor has read it.
    await refused.getByRole("button", { name: "Retirer de la liste" }).tap();
    await until(async () => (await entries(page, "refused").count()) === 0, "the refusal removed");
  } finally {
    await context.close();
  }
});

test("a mechanic completes an intervention and records a mileage in the workshop's dead zone", async () => {
  const office = await apiAs("gerant@volant-demo.example");
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  try {
    await signIn(page, "mecanicien@volant-demo.example");
    // The mechanic starts on the vehicles in the workshop.
    await page.waitForURL(/\/interventions$/);
    await page.getByRole("heading", { name: "En atelier", level: 1 }).waitFor();
    const cards = page.locator(".under-way > li");
    assert.equal(await cards.count(), 2, "the demo's two vehicles under way");
    const work = await cards.first().locator("h2 a").getAttribute("href");
    const vehiclePage = await cards.nth(1).getByRole("link", { name: "Entretien et kilométrage" }).getAttribute("href");
    await look(page, "3-workshop");
    // Opened again once the worker runs: saved with what it links to.
    await page.reload();
    for (const href of ["/interventions", work, vehiclePage]) await until(async () => (await savedPages(page, href)) === 1, `${href} saved`);
    const vehicleId = Number(vehiclePage.match(/\/vehicles\/(\d+)\//)[1]);
    const before = (await office("GET", `/vehicles/${vehicleId}/mileage`)).json;
    const km = Math.max(0, ...before.map((r) => r.mileage_km)) + 512;

    await context.setOffline(true);
    await page.goto(`${server.url}${work}`);
    await page.getByText(/^Hors ligne : cette page est la copie enregistrée/).waitFor();
    await page.getByRole("button", { name: "Terminer" }).tap();
    await page.getByText(/^Pas de connexion : ce formulaire est gardé sur ce téléphone/).waitFor();
    await page.goto(`${server.url}${vehiclePage}`);
    await page.getByLabel("Kilométrage").fill(String(km));
    await page.getByRole("button", { name: "Enregistrer le relevé" }).tap();
    await page.getByText(/^Pas de connexion : ce formulaire est gardé sur ce téléphone/).waitFor();
    assert.equal(await entries(page, "pending").count(), 2);
    assert.match(await page.locator("[data-outbox]").textContent(), new RegExp(`Kilométrage : .* ${km}`));
    await look(page, "4-workshop-kept");

    await context.setOffline(false);
    await until(async () => (await entries(page, "sent").count()) === 2, "both sent", 20_000);
    const interventionId = Number(work.match(/\/interventions\/(\d+)$/)[1]);
    assert.equal((await office("GET", `/interventions/${interventionId}`)).json.in_progress, false, "the vehicle left the workshop");
    const after = (await office("GET", `/vehicles/${vehicleId}/mileage`)).json;
    assert.equal(after.filter((r) => r.mileage_km === km).length, 1, "the reading, once");
    // Online again, the workshop's page has one vehicle left.
    await page.goto(`${server.url}/interventions`);
    assert.equal(await page.locator(".under-way > li").count(), 1);
  } finally {
    await context.close();
  }
});
