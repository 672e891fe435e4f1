// The first minute of a new garage: the setup page describes the business and
// creates its administrator, then the welcome checklist leads to the first steps
// and ticks them; the menu shows only the modules the business runs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, assertAccessible } from "./server.mjs";

let server;
let browser;
const LOGO = new URL("../../crates/volant/tests/api/files/logo.png", import.meta.url).pathname;

before(async () => {
  // A fresh instance: nobody to sign in as, the setup page opens.
  server = await startServer({ VOLANT_ADMIN_EMAIL: undefined, VOLANT_ADMIN_PASSWORD: undefined });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("a garage owner sets up their business and follows the checklist", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/`);
  await page.waitForURL(/\/setup$/);
  await assertAccessible(page, "setup page");
  await page.getByLabel("Nom de l'entreprise").fill("Garage Martin");
  await page.getByLabel("Activité").selectOption({ label: "Garage" });
  await page.getByLabel("Adresse", { exact: true }).fill("8 avenue Jean Jaurès\n69007 Lyon");
  await page.getByLabel("Téléphone").fill("04 78 12 34 56");
  // A mistyped SIRET is caught by its key, and nothing typed is lost.
  await page.getByLabel("SIRET ou numéro d’immatriculation").fill("130 005 481 00011");
  await page.getByLabel("Fuseau horaire").fill("Europe/Paris");
  await page.getByLabel("Nom affiché").fill("Paul Martin");
  await page.getByLabel("Adresse e-mail").fill("paul@garage-martin.fr");
  await page.getByLabel("Mot de passe").fill("cheval agrafe batterie correcte");
  // A photo straight from the phone is too heavy for a logo: said at once, nothing sent.
  const logoField = page.getByLabel("Image du logo");
  await logoField.setInputFiles({ name: "photo.jpg", mimeType: "image/jpeg", buffer: Buffer.alloc(600 * 1024) });
  await page.getByText("Le logo dépasse 512 Ko : réduisez-le.").waitFor();
  await page.getByRole("button", { name: "Enregistrer et commencer" }).click();
  assert.equal(await logoField.evaluate((input) => input === document.activeElement), true, "back to the field");
  assert.match(page.url(), /\/setup$/);
  await logoField.setInputFiles(LOGO);
  assert.equal(await page.getByText("Le logo dépasse 512 Ko").isVisible(), false);
  await page.getByRole("button", { name: "Enregistrer et commencer" }).click();
  await page.getByText("clé correcte").waitFor();
  assert.equal(await page.getByLabel("Nom de l'entreprise").inputValue(), "Garage Martin");
  await page.getByLabel("SIRET ou numéro d’immatriculation").fill("130 005 481 00010");
  await page.getByLabel("Mot de passe").fill("cheval agrafe batterie correcte");
  // A refused form cannot keep a chosen file: it is chosen again.
  await page.getByLabel("Image du logo").setInputFiles(LOGO);
  await page.getByRole("button", { name: "Enregistrer et commencer" }).click();

  await page.waitForURL(/\/welcome$/);
  await page.getByRole("heading", { name: "Bienvenue, Garage Martin" }).waitFor();
  await page.getByText("1 étape(s) sur 5").waitFor();
  const nav = page.getByRole("navigation", { name: "Navigation principale" });
  assert.deepEqual(await nav.locator(".nav-module").allTextContents(), ["Atelier", "Facturation", "Administration"], "no school");
  await assertAccessible(page, "welcome checklist");
  if (process.env.E2E_SCREENSHOTS) await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/welcome.png` });

  await page.getByRole("link", { name: "Ajoutez votre premier garage (adresse, téléphone)" }).click();
  await page.getByLabel("Nom").fill("Garage Martin Gerland");
  await page.getByLabel("Adresse").fill("8 avenue Jean Jaurès");
  await page.getByRole("button", { name: "Enregistrer" }).click();
  await page.waitForURL(/\/garages\/\d+$/);
  await page.goto(`${server.url}/`);
  await page.waitForURL(/\/welcome$/);
  await page.getByText("2 étape(s) sur 5").waitFor();
  await page.getByRole("button", { name: "Masquer cette liste" }).click();
  await page.waitForURL(/\/garages$/);
  await page.getByText("Liste « Bien démarrer » masquée").waitFor();

  // The logo chosen at setup, that quotes, e-mails and the approval page carry; replaced from here.
  await page.goto(`${server.url}/admin/organization`);
  await page.getByRole("img", { name: "Logo actuel" }).waitFor();
  await page.getByLabel("Image du logo").setInputFiles(LOGO);
  await page.getByRole("button", { name: "Enregistrer le logo" }).click();
  await page.getByText("Logo enregistré").waitFor();
  const logo = page.getByRole("img", { name: "Logo actuel" });
  assert.equal(await logo.evaluate((img) => img.naturalWidth), 240, "the logo shows");
  await assertAccessible(page, "organization settings with a logo");
  await context.close();
});
