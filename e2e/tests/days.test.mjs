// A working day, one journey per person, on the demo a newcomer gets from
// `volant seed-demo`, signed in with the accounts it prints: the garage manager
// and the mechanic at their desks, the school manager at the office, the
// instructor and the candidate on their phones. Every page they see is checked
// by axe-core and, with E2E_SCREENSHOTS set, photographed in order.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, assertAccessible, HAS_POSTGRES } from "./server.mjs";

let server;
let browser;
let password;
// The database the days run on, in the screenshots' names.
let backend;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
const DESK = { viewport: { width: 1280, height: 800 } };

// One person's day in a browser of their own (`options`: a phone or a desk),
// photographed where it stops if it fails.
function day(title, options, walk) {
  test(title, async () => {
    const context = await browser.newContext(options);
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    try {
      await walk(page);
    } catch (error) {
      if (process.env.E2E_SCREENSHOTS) {
        const name = title.split(":")[0].replace(/\W+/g, "-");
        await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/day-${backend}-failed-${name}.png`, fullPage: true });
      }
      throw error;
    } finally {
      await context.close();
    }
  });
}

// Chooses the option of `select` whose text holds `text`.
async function choose(select, text) {
  await select.selectOption(await select.locator("option", { hasText: text }).first().getAttribute("value"));
}

// Checks the page as the person sees it and photographs it as `person-step`.
async function look(page, person, step) {
  await assertAccessible(page, `${person}: ${step}`);
  if (process.env.E2E_SCREENSHOTS) {
    await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/day-${backend}-${person}-${step}.png`, fullPage: true });
  }
}

async function signIn(page, email) {
  await page.goto(`${server.url}/`);
  await page.getByLabel("Adresse e-mail").fill(email);
  await page.getByLabel("Mot de passe").fill(password);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"));
}

// The texts of a table's first cells, as read on the screen.
async function column(page, index = 0) {
  return page.locator("main table tbody tr").evaluateAll(
    (rows, i) => rows.map((row) => row.querySelectorAll("td")[i]?.textContent.trim() ?? ""),
    index,
  );
}

// Sorted as a French reader expects: accents and case aside.
function isAlphabetical(names) {
  const key = (s) => s.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
  return names.every((name, i) => i === 0 || key(names[i - 1]) <= key(name));
}

// Monday of next week, as a date (`YYYY-MM-DD`): the demo's next week is planned.
function nextMonday() {
  const today = new Date();
  const monday = new Date(today.getTime() + ((8 - (today.getUTCDay() || 7)) % 7 || 7) * 86400000);
  return monday.toISOString().slice(0, 10);
}

// The same day on each database a business may run Volant on.
for (const on of HAS_POSTGRES ? ["sqlite", "postgres"] : ["sqlite"]) {
describe(`on ${on}`, () => {
  before(async () => {
    backend = on;
    server = await startServer({}, on);
    password = server.seedDemo();
  });

  after(async () => {
    await server?.stop();
  });

  day("the garage manager's day: clients by name, the quotes by amount, a quote, the alerts", DESK, async (page) => {
    await signIn(page, "gerant@volant-demo.example");
    await page.getByRole("heading", { level: 1 }).first().waitFor();
    await look(page, "manager", "1-home");

    await page.getByRole("navigation", { name: "Navigation principale" }).getByRole("link", { name: "Clients" }).click();
    await page.waitForURL(/\/clients$/);
    const names = await column(page);
    assert.ok(names.length >= 5, `the demo's clients are listed (${names.length})`);
    assert.ok(isAlphabetical(names), `by name: ${names.join(", ")}`);
    await look(page, "manager", "2-clients");
    // The heading turns the order round, and says so.
    await page.getByRole("link", { name: /^Nom/ }).click();
    await page.waitForURL(/sort=-name/);
    assert.equal(await page.locator("th[aria-sort=descending]").count(), 1);
    assert.ok(isAlphabetical((await column(page)).reverse()), "Z to A");
    // A live search: the list and its count follow the typing.
    await page.getByRole("searchbox").fill("mar");
    await page.locator("#list-count", { hasText: "correspondant(s)" }).waitFor();
    const found = await column(page);
    assert.ok(found.length >= 1 && found.length < names.length, `the search narrows the list: ${found.join(", ")}`);
    await look(page, "manager", "3-clients-searched");

    await page.getByRole("navigation", { name: "Navigation principale" }).getByRole("link", { name: "Devis" }).click();
    await page.waitForURL(/\/quotes$/);
    await page.getByRole("link", { name: /^Total TTC/ }).click();
    await page.waitForURL(/sort=-total/);
    const amounts = (await column(page, 6)).map((a) => Number(a.replace(/[^\d,]/g, "").replace(",", ".")));
    assert.ok(amounts.length >= 2, "the demo's quotes");
    assert.ok(amounts.every((a, i) => i === 0 || amounts[i - 1] >= a), `highest first: ${amounts.join(" ")}`);
    await look(page, "manager", "4-quotes-by-amount");
    await page.locator("main table tbody tr").first().locator("a.mono").click();
    await page.waitForURL(/\/quotes\/\d+$/);
    await page.getByRole("link", { name: "Télécharger le PDF" }).waitFor();
    await look(page, "manager", "5-quote");

    await page.goto(`${server.url}/alerts`);
    await page.getByRole("heading", { level: 1 }).waitFor();
    await look(page, "manager", "6-alerts");

    // A walk-in customer and her car, in one screen.
    await page.goto(`${server.url}/clients`);
    await page.getByRole("link", { name: "Nouveau client" }).click();
    await page.getByLabel("Nom et prénom").fill("Amélie Poulain");
    await page.getByLabel("Téléphone").fill("06 98 76 54 32");
    await page.getByLabel("Immatriculation").fill("FG-456-HJ");
    await page.getByLabel("Marque").fill("Citroën");
    await page.getByLabel("Modèle").fill("C3");
    await page.getByLabel("Année").fill("2017");
    await page.getByLabel("Kilométrage").fill("98500");
    await look(page, "manager", "7-walk-in");
    await page.getByRole("button", { name: "Enregistrer" }).click();
    await page.waitForURL(/\/clients\/\d+$/);
    await page.getByRole("link", { name: "FG-456-HJ" }).first().waitFor();
    // Sold the next week: the car's page changes its owner to a client found by name.
    await page.getByRole("link", { name: "FG-456-HJ" }).first().click();
    await page.waitForURL(/\/vehicles\/\d+/);
    if (!page.url().endsWith("/maintenance")) await page.getByRole("link", { name: "Entretien" }).first().click();
    await page.getByRole("link", { name: "Changer de propriétaire" }).click();
    await page.getByRole("searchbox").fill("martin");
    await page.getByRole("button", { name: "Rechercher" }).click();
    const buttons = page.getByRole("button", { name: /^Choisir .* comme propriétaire$/ });
    await buttons.first().waitFor();
    await look(page, "manager", "8-owner");
    await buttons.first().click();
    await page.getByText(/est désormais le propriétaire du véhicule/).waitFor();
  });

  day("the mechanic's day: finds the car by its plate, records the work done, the alert follows", DESK, async (page) => {
    await signIn(page, "mecanicien@volant-demo.example");
    // The day starts on the vehicles in the workshop; only what a mechanic may
    // do: no garage to create, no vehicle to delete.
    await page.waitForURL(/\/interventions$/);
    assert.equal(await page.getByRole("link", { name: "Nouveau garage" }).count(), 0);
    await look(page, "mechanic", "1-home");

    await page.getByRole("navigation", { name: "Navigation principale" }).getByRole("link", { name: "Véhicules" }).click();
    await page.waitForURL(/\/vehicles$/);
    const plate = (await column(page))[0];
    // Typed as read on the car: lower case, no dashes.
    await page.getByRole("searchbox").fill(plate.slice(0, 5).replace("-", " ").toLowerCase());
    await page.locator("#list-count", { hasText: "correspondant(s)" }).waitFor();
    await page.getByRole("link", { name: plate, exact: true }).click();
    await page.waitForURL(/\/vehicles\/\d+$/);
    assert.equal(await page.getByRole("link", { name: "Supprimer" }).count(), 0, "no delete for a mechanic");
    await look(page, "mechanic", "2-vehicle");

    await page.getByRole("link", { name: "Entretien" }).first().click();
    await page.waitForURL(/\/maintenance$/);
    await look(page, "mechanic", "3-maintenance");
    await page.getByRole("link", { name: "Nouvelle intervention" }).click();
    await page.waitForURL(/\/interventions\/new$/);
    await page.getByLabel("Travaux réalisés").fill("Vidange moteur et filtre à huile\nNiveau de liquide de refroidissement complété 👍");
    const services = page.locator("fieldset.choice input[name=service]");
    const ticked = (await services.count()) > 0;
    if (ticked) await services.first().check();
    await page.getByLabel("Désignation 1").fill("Huile moteur 5W30");
    await page.getByLabel("Qté 1").fill("4,5");
    await page.getByLabel("PU HT 1").fill("9,90");
    // The running total follows the typing (4,5 × 9,90 = 44,55 HT).
    await page.locator("#running-totals", { hasText: "44,55" }).waitFor();
    await look(page, "mechanic", "4-intervention");
    await page.getByRole("button", { name: "Enregistrer" }).click();
    await page.getByText("Intervention enregistrée").waitFor();
    const history = page.locator("main", { hasText: "Historique d'entretien" });
    await history.getByText("Niveau de liquide de refroidissement complété 👍").waitFor();
    await look(page, "mechanic", "5-recorded");
  });

  day("the school manager's day: candidates by name, a file, a lesson booked from the board", DESK, async (page) => {
    await signIn(page, "gerant@volant-demo.example");
    await page.goto(`${server.url}/school/candidates`);
    const names = await column(page, 1);
    assert.ok(names.length >= 8, `the demo's candidates (${names.length})`);
    assert.ok(isAlphabetical(names), `by last name: ${names.join(", ")}`);
    await look(page, "school-manager", "1-candidates");
    await page.getByRole("searchbox").fill("martin");
    await page.getByRole("button", { name: "Rechercher" }).click();
    await page.getByText("1 correspondant(s)").waitFor();
    await page.getByRole("link", { name: "Martin Léa" }).click();
    await page.waitForURL(/\/school\/candidates\/\d+$/);
    await page.getByRole("heading", { name: /Léa Martin|Martin Léa/ }).first().waitFor();
    await look(page, "school-manager", "2-file");

    // Next week's board, one instructor's hours: "+" only where Karim works.
    await page.goto(`${server.url}/school/planning?week=${nextMonday()}`);
    const karim = page.locator(".filters").getByLabel("Moniteur");
    await choose(karim, "Benali");
    const option = await karim.inputValue();
    await page.getByRole("button", { name: "Filtrer" }).click();
    await page.waitForURL(new RegExp(`instructor_id=${option}`));
    const slot = page.locator("a.slot").first();
    await slot.waitFor();
    await look(page, "school-manager", "3-planning");
    await slot.click();
    await page.waitForURL(/\/school\/lessons\/new/);
    // The instructor comes from the board, the car he drives from his last lessons.
    assert.equal(await page.getByLabel("Moniteur").inputValue(), option);
    assert.notEqual(await page.getByLabel("Véhicule").inputValue(), "", "a car for a driving lesson");
    await choose(page.getByLabel("Candidat"), "Martin Léa");
    await look(page, "school-manager", "4-booking");
    await page.getByRole("button", { name: "Réserver" }).click();
    await page.getByText(/Leçon réservée pour/).waitFor();
    await look(page, "school-manager", "5-booked");
  });

  day("the instructor's day on a phone: the next lessons as an agenda, a candidate's file", PHONE, async (page) => {
    await signIn(page, "moniteur@volant-demo.example");
    await page.goto(`${server.url}/school/planning?week=${nextMonday()}`);
    assert.equal(await page.locator(".week-board").isVisible(), false, "no hour grid on a phone");
    // Each lesson with its time, candidate, car and meeting point; the one the
    // office booked this morning is there too.
    const lesson = page.locator(".agenda .lesson", { hasText: "Devant l'auto-école" }).first();
    await lesson.waitFor();
    assert.match(await lesson.textContent(), /\d\d:00–\d\d:00 \S+[\s\S]*Conduite · Karim Benali · \S+/);
    await page.locator(".agenda .lesson", { hasText: "08:00–09:00 Léa Martin" }).waitFor();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `nothing wider than the phone (${width}px)`);
    await look(page, "instructor", "1-week");
    await page.getByRole("link", { name: "3 jours", exact: true }).tap();
    await page.waitForURL(/view=3days|view=three/);
    await look(page, "instructor", "2-three-days");
    await page.goto(`${server.url}/school/planning?week=${nextMonday()}`);
    await page.locator(".agenda .lesson a").first().tap();
    await page.waitForURL(/\/school\/lessons\/\d+/);
    await look(page, "instructor", "3-lesson");
    // His own candidate's file opens from the lesson.
    await page.locator("main a[href^='/school/candidates/']").first().tap();
    await page.waitForURL(/\/school\/candidates\/\d+$/);
    await page.getByRole("list", { name: "Progression par compétence" }).waitFor();
    await look(page, "instructor", "4-candidate");
  });

  day("the candidate's day on a phone: her next lessons, her calendar, a message to the school", PHONE, async (page) => {
    await signIn(page, "candidat@volant-demo.example");
    await page.waitForURL(/\/portal$/);
    const upcoming = page.locator("#upcoming-lessons");
    await upcoming.waitFor();
    assert.match(await upcoming.textContent(), /Devant l'auto-école/);
    await page.getByRole("list", { name: "Progression par compétence" }).waitFor();
    await look(page, "candidate", "1-portal");
    await page.getByRole("button", { name: "Obtenir l'adresse de mon agenda" }).tap();
    const webcal = page.locator("a[href^='webcal://']");
    await webcal.waitFor();
    await look(page, "candidate", "2-calendar");

    await page.goto(`${server.url}/messages`);
    await page.getByRole("link", { name: "Nouveau message" }).tap();
    await page.getByLabel("Objet").fill("Leçon de lundi");
    await page.getByRole("textbox", { name: /^Message/ }).fill("Bonjour,\npuis-je décaler à 10 h ? Merci 🙏");
    await look(page, "candidate", "3-message");
    await page.getByRole("button", { name: "Envoyer" }).tap();
    await page.getByText("Message envoyé.").waitFor();
    await page.getByText("puis-je décaler à 10 h ? Merci 🙏").waitFor();
    await look(page, "candidate", "4-sent");
  });
});
}
