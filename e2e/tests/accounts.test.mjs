// A forgotten password, as the person lives it: on a phone, from the sign-in page
// to the e-mail (read from the outbox folder, since no mail server is configured:
// the page says so) and back in with the new password. Then the administrator's
// way: a reset link handed over from the user's page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { startServer, launchBrowser, ADMIN } from "./server.mjs";

const PERSON = { email: "secretariat@garage-e2e.fr", password: "cheval agrafe batterie correcte" };
const NEW_PASSWORD = "tulipe marteau rivière nocturne";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  server.createUser(PERSON.email, "staff", PERSON.password);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function screenshot(page, name) {
  if (process.env.E2E_SCREENSHOTS) {
    await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/${name}.png`, fullPage: true });
  }
}

// The text of the newest .eml for `to`, quoted-printable decoded, within 20 s.
async function newestEmail(to) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    let files = [];
    try {
      files = readdirSync(server.outbox).filter((f) => f.endsWith(".eml"));
    } catch {}
    const found = files
      .map((f) => readFileSync(path.join(server.outbox, f), "utf8"))
      .filter((raw) => raw.includes(`To: ${to}`));
    if (found.length > 0) {
      return found[found.length - 1].replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no e-mail to ${to} in ${server.outbox}`);
}

async function assertFitsTheScreen(page) {
  const overflow = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
}

test("a person who forgot their password gets back in from their phone", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await page.goto(`${server.url}/login`);
  await page.getByRole("link", { name: "Mot de passe oublié ?" }).tap();
  await page.waitForURL(/\/password\/forgot$/);
  await page.getByText("Cette installation n'envoie pas encore d'e-mails").first().waitFor();
  await page.getByLabel("Adresse e-mail").fill(PERSON.email);
  await page.getByRole("button", { name: "Recevoir le lien" }).tap();
  await page.getByText(`Si un compte correspond à l'adresse ${PERSON.email}`).waitFor();
  await assertFitsTheScreen(page);
  await screenshot(page, "password-asked-phone");

  const mail = await newestEmail(PERSON.email);
  // The e-mail's link, on this test server (started on a port chosen at random).
  const found = mail.match(/\/password\/reset\/[0-9a-f]{64}/);
  assert.ok(found, "the e-mail carries the link");
  const link = `${server.url}${found[0]}`;
  assert.doesNotMatch(mail, /List-Unsubscribe/);

  await page.goto(link);
  await page.getByText(`Nouveau mot de passe pour le compte ${PERSON.email}`).waitFor();
  await assertFitsTheScreen(page);
  await page.getByLabel("Nouveau mot de passe", { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel("Confirmer le nouveau mot de passe").fill("pas la même chose du tout");
  await page.getByRole("button", { name: "Enregistrer le mot de passe" }).tap();
  await page.getByText("Les deux mots de passe ne correspondent pas.").waitFor();
  await page.getByLabel("Nouveau mot de passe", { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel("Confirmer le nouveau mot de passe").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Enregistrer le mot de passe" }).tap();
  await page.waitForURL(/\/login$/);
  await page.getByText("Votre mot de passe est enregistré.").waitFor();
  await screenshot(page, "password-saved-phone");

  await page.getByLabel("Adresse e-mail").fill(PERSON.email);
  await page.getByLabel("Mot de passe").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Se connecter" }).tap();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"));

  // The link served once.
  await page.goto(link);
  await page.getByText("Ce lien ne fonctionne plus").waitFor();
  await context.close();
});

test("an administrator hands a reset link over while e-mails do not leave", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/admin/users`);
  await page.getByLabel("Adresse e-mail").fill(ADMIN.email);
  await page.getByLabel("Mot de passe").fill(ADMIN.password);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await page.waitForURL(/\/admin\/users$/);
  await page.getByRole("link", { name: "secretariat", exact: true }).click();
  await page.getByRole("button", { name: "Envoyer un lien de réinitialisation du mot de passe" }).click();
  await page.getByRole("heading", { name: "Lien de réinitialisation" }).waitFor();
  await page.getByText("Aucun serveur d'envoi d'e-mails n'est configuré").waitFor();
  await screenshot(page, "password-handover");
  // The address the administrator's browser uses, ready to paste.
  const link = await page.locator("#reset-link").textContent();
  assert.ok(link.startsWith(`${server.url}/password/reset/`), link);
  assert.match(link, /\/password\/reset\/[0-9a-f]{64}$/);

  const stranger = await browser.newContext();
  const opened = await stranger.newPage();
  await opened.goto(link);
  await opened.getByRole("heading", { name: "Choisir un nouveau mot de passe" }).waitFor();
  await stranger.close();
  await context.close();
});
