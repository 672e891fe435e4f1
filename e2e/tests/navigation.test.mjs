// The navigation as each person meets it: grouped by module on a desktop, behind
// a menu button on a phone; a refusal leads back to the person's own home page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, assertAccessible, ADMIN } from "./server.mjs";

const MECHANIC = { email: "meca@garage-e2e.fr", password: "cheval agrafe batterie correcte" };

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  server.createUser(MECHANIC.email, "staff", MECHANIC.password);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function signIn(page, who, path = "/") {
  await page.goto(`${server.url}${path}`);
  await page.getByLabel("Adresse e-mail").fill(who.email);
  await page.getByLabel("Mot de passe").fill(who.password);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"));
}

test("on a desktop the administrator's menu is grouped by module", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, ADMIN);
  const nav = page.getByRole("navigation", { name: "Navigation principale" });
  const groups = await nav.locator(".nav-module").allTextContents();
  assert.deepEqual(groups, ["Atelier", "Auto-école", "Facturation", "Administration"]);
  assert.equal(await page.getByRole("button", { name: "Menu" }).isVisible(), false, "no menu button on a desktop");
  await nav.getByRole("list", { name: "Administration" }).getByRole("link", { name: "Utilisateurs" }).click();
  await page.waitForURL(/\/admin\/users$/);
  await assertAccessible(page, "users list");
  await context.close();
});

test("on a phone the mechanic opens the menu from a button, and only sees what they may do", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await signIn(page, MECHANIC);
  // A mechanic starts on the vehicles in the workshop.
  await page.waitForURL(/\/interventions$/);
  const nav = page.locator("#main-nav");
  assert.equal(await nav.isVisible(), false, "the menu is folded");
  const toggle = page.getByRole("button", { name: "Menu" });
  assert.equal(await toggle.getAttribute("aria-expanded"), "false");
  await toggle.tap();
  assert.equal(await toggle.getAttribute("aria-expanded"), "true");
  await nav.getByRole("link", { name: "Véhicules" }).waitFor();
  // The counter records payments: the invoices are theirs to read.
  assert.deepEqual(await nav.locator(".nav-module").allTextContents(), ["Atelier", "Facturation"], "no administration for a mechanic");
  assert.equal(await page.getByRole("link", { name: "Nouveau garage" }).count(), 0, "no button that ends in a refusal");
  await assertAccessible(page, "mechanic's workshop page with the menu open");
  if (process.env.E2E_SCREENSHOTS) await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/menu-phone.png` });
  await nav.getByRole("link", { name: "Véhicules" }).tap();
  await page.waitForURL(/\/vehicles$/);
  await page.getByRole("heading", { name: "Véhicules", level: 1 }).waitFor();
  await page.locator("#main-nav").waitFor({ state: "hidden", timeout: 5_000 });

  // Typed by hand: the refusal leads home, not to a page the mechanic cannot use.
  await page.goto(`${server.url}/garages/new`);
  await page.getByText("403").waitFor();
  await page.getByRole("link", { name: "Retour à l'accueil" }).tap();
  await page.waitForURL(/\/interventions$/);
  await context.close();
});
