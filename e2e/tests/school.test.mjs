// A driving school's office: the admin books a lesson from a free slot of the
// planning board, and the candidate finds it in her portal — in a real browser.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, assertAccessible, ADMIN } from "./server.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function signIn(page, path, who) {
  await page.goto(`${server.url}${path}`);
  await page.getByLabel("Adresse e-mail").fill(who.email);
  await page.getByLabel("Mot de passe").fill(who.password);
  await page.getByRole("button", { name: "Se connecter" }).click();
}

test("the admin books from the planning board; the candidate sees the lesson in her portal", async () => {
  const api = `${server.url}/api/v1`;
  const headers = { "content-type": "application/json", authorization: `Bearer ${await server.token()}` };
  const post = async (path, body, method = "POST") => {
    const response = await fetch(`${api}${path}`, { method, headers, body: JSON.stringify(body) });
    assert.ok(response.status < 300, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
    return response.json();
  };
  // The school: an instructor available every day, a dual-control car, a candidate with her portal account.
  const teacher = await post("/school/instructors", { first_name: "Karim", last_name: "Benali", licence_number: "AE-13-0042", categories: ["B"] });
  const weekly = [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: "08:00", end: "19:00" }));
  await post(`/school/instructors/${teacher.id}/availability`, { weekly }, "PUT");
  const garage = await post("/garages", { name: "Auto-école du Port", address: "2 quai Est" });
  const car = await post("/vehicles", { garage_id: garage.id, brand: "Peugeot", model: "208", year: 2023, license_plate: "AE-208-PP" });
  await post(`/school/vehicles/${car.id}`, { category: "B", dual_controls: true }, "PUT");
  const lea = { email: "lea.planchon@exemple.fr", password: "girafe lanterne abricot voilier" };
  server.createUser(lea.email, "candidate", lea.password);
  const users = await (await fetch(`${api}/users?limit=200`, { headers })).json();
  const account = users.find((u) => u.email === lea.email);
  const file = await post("/school/candidates", { user_id: account.id, first_name: "Léa", last_name: "Planchon", category: "B", bought_minutes: 1200 });

  const day = new Date(Date.now() + 3 * 86400000).toISOString().slice(0, 10);
  const [year, month, date] = day.split("-");

  const office = await browser.newContext();
  const page = await office.newPage();
  await signIn(page, `/school/planning?week=${day}&instructor_id=${teacher.id}`, ADMIN);
  await page.waitForURL(/\/school\/planning/);
  await page.locator(`a.slot[href*="date=${day}"][href*="start=10%3A00"]`).click();
  // The board has its own "Candidat" and "Véhicule" filters: wait for the booking form.
  await page.waitForURL(/\/school\/lessons\/new/);
  await page.getByLabel("Candidat").selectOption({ label: `Planchon Léa (${file.number})` });
  await page.getByLabel("Véhicule").selectOption({ label: "Peugeot 208 (AE-208-PP)" });
  await page.getByLabel("Lieu de rendez-vous").fill("Gare Saint-Charles");
  await page.getByRole("button", { name: "Réserver" }).click();
  await page.getByText("Leçon réservée pour Léa Planchon").waitFor();
  const card = page.locator(".week-board .lesson", { hasText: "Léa Planchon" });
  assert.match(await card.textContent(), /10:00–11:00/);
  if (process.env.E2E_SCREENSHOTS) {
    await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/planning.png`, fullPage: true });
  }
  await office.close();

  // Léa, on her phone.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const mine = await phone.newPage();
  await signIn(mine, "/", lea);
  await mine.waitForURL(`${server.url}/portal`);
  const upcoming = mine.locator("#upcoming-lessons");
  await upcoming.waitFor();
  const text = await upcoming.textContent();
  assert.match(text, new RegExp(`${date}/${month}/${year} 10:00–11:00`));
  assert.match(text, /Karim Benali/);
  assert.match(text, /Gare Saint-Charles/);
  // Her progress reads on the phone: one bar per competency across the card, with its percentage.
  const bars = mine.getByRole("list", { name: "Progression par compétence" }).getByRole("listitem");
  assert.equal(await bars.count(), 4);
  assert.match(await bars.first().textContent(), /C1\s+Maîtriser[\s\S]*0 %/);
  const bar = await mine.locator("meter").first().boundingBox();
  assert.ok(bar.width > 280, `a bar as wide as the phone allows (${bar.width}px)`);
  await assertAccessible(mine, "candidate portal on a phone");
  if (process.env.E2E_SCREENSHOTS) {
    await mine.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/portal.png`, fullPage: true });
  }
  await phone.close();

  // Karim, in the car, on his phone: his week reads as days, not as an hour grid.
  const karim = { email: "karim.benali@exemple.fr", password: "volant rétroviseur clignotant" };
  server.createUser(karim.email, "instructor", karim.password);
  const staff = await (await fetch(`${api}/users?limit=200`, { headers })).json();
  const karimAccount = staff.find((u) => u.email === karim.email);
  await post(`/school/instructors/${teacher.id}`, { user_id: karimAccount.id, first_name: "Karim", last_name: "Benali", licence_number: "AE-13-0042", categories: ["B"] }, "PUT");
  const car2 = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const his = await car2.newPage();
  await signIn(his, `/school/planning?week=${day}`, karim);
  await his.waitForURL(/\/school\/planning/);
  assert.equal(await his.locator(".week-board").isVisible(), false, "no hour grid on a phone");
  const lesson = his.locator(".agenda .lesson", { hasText: "Léa Planchon" });
  await lesson.waitFor();
  assert.match(await lesson.textContent(), /10:00–11:00[\s\S]*Gare Saint-Charles/);
  const height = await his.evaluate(() => document.documentElement.scrollHeight);
  assert.ok(height < 2500, `the week fits in a few screens, not ${height}px`);
  await assertAccessible(his, "instructor's week on a phone");
  await his.getByRole("link", { name: "Jour", exact: true }).tap();
  await his.waitForURL(/view=day/);
  await his.goto(`${server.url}/school/planning?view=day&week=${day}`);
  await his.locator(".agenda .lesson", { hasText: "Léa Planchon" }).waitFor();
  if (process.env.E2E_SCREENSHOTS) {
    await his.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/instructor-day-phone.png`, fullPage: true });
  }

  // Yesterday morning with Léa (in the past and in his hours whatever the hour of the run):
  // he reports from the car, tapping levels on the grid.
  const yesterday = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Paris" }).format(Date.now() - 86400000);
  const held = await post("/school/lessons", {
    candidate_id: file.id, instructor_id: teacher.id, vehicle_id: car.id,
    starts_at: `${yesterday}T10:00:00+01:00`, ends_at: `${yesterday}T11:00:00+01:00`,
  });
  await his.goto(`${server.url}/school/lessons/${held.id}#report`);
  await his.getByRole("textbox", { name: "Ce qui a été travaillé" }).fill("Démarrages en côte ✔\nRegard loin : à revoir");
  await his.locator("details").first().locator("summary").tap();
  const c1a = his.getByRole("group", { name: /^C1a/ });
  // The level's whole round button takes the tap.
  await c1a.getByRole("radio", { name: "Assimilé" }).tap();
  assert.equal(await c1a.getByRole("radio", { name: "Assimilé" }).isChecked(), true);
  await assertAccessible(his, "lesson report on a phone");
  await his.getByRole("button", { name: "Enregistrer" }).tap();
  await his.getByText("Compte rendu enregistré.").waitFor();
  const grid = await (await fetch(`${api}/school/progress?candidate_id=${file.id}`, { headers })).json();
  const level = grid[0].items.find((i) => i.item === "C1a").level;
  assert.equal(level, 3, "the tapped level is recorded");
  await car2.close();

  // Léa calls: she cannot come. The office cancels from the board, saying who and why.
  const desk = await browser.newContext();
  const office2 = await desk.newPage();
  await signIn(office2, `/school/planning?week=${day}&instructor_id=${teacher.id}`, ADMIN);
  await office2.locator(".week-board .lesson", { hasText: "Léa Planchon" }).getByRole("link", { name: "Annuler" }).click();
  await office2.waitForURL(/\/cancel$/);
  const lessonId = office2.url().match(/lessons\/(\d+)\/cancel/)[1];
  await office2.getByLabel("Annulée à la demande de").selectOption({ label: "Candidat" });
  await office2.getByLabel("Motif").fill("Malade\nrappellera lundi 🤒");
  await assertAccessible(office2, "cancellation confirmation");
  await office2.getByRole("button", { name: "Confirmer l’annulation" }).click();
  await office2.getByText("Leçon annulée.").waitFor();
  const cancelled = await (await fetch(`${api}/school/lessons/${lessonId}`, { headers })).json();
  assert.equal(cancelled.status, "cancelled");
  assert.equal(cancelled.cancelled_by, "candidate");
  assert.equal(cancelled.cancellation_reason, "Malade\nrappellera lundi 🤒");
  await desk.close();
});
