// A forgotten password, as the person lives it: on a phone, from the sign-in page
// to the e-mail (read from the outbox folder, since no mail server is configured:
// the page says so) and back in with the new password. Then the administrator's
// way: a reset link handed over from the user's page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { startServer, launchBrowser, assertAccessible, ADMIN } from "./server.mjs";

const PERSON = { email: "secretariat@garage-e2e.fr", password: "cheval agrafe batterie correcte" };
const NEW_PASSWORD = "tulipe marteau rivière nocturne";

let server;
let browser;

before(async () => {
  // Several people sign in from this one address within a minute.
  server = await startServer({ VOLANT_LOGIN_ATTEMPTS_PER_MINUTE: "30" });
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
  await assertAccessible(page, "forgotten password form");
  await page.getByLabel("Adresse e-mail").fill(PERSON.email);
  await page.getByRole("button", { name: "Recevoir le lien" }).tap();
  await page.getByText(`Si un compte correspond à l'adresse ${PERSON.email}`).waitFor();
  await assertFitsTheScreen(page);
  await assertAccessible(page, "link asked");
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
  await assertAccessible(page, "new password form");
  await page.getByLabel("Nouveau mot de passe", { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel("Confirmer le nouveau mot de passe").fill("pas la même chose du tout");
  await page.getByRole("button", { name: "Enregistrer le mot de passe" }).tap();
  await page.getByText("Les deux mots de passe ne correspondent pas.").waitFor();
  await assertAccessible(page, "new password form with an error");
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
  await assertAccessible(page, "used link");
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
  await assertAccessible(page, "reset link handed over");
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

async function signIn(page, who) {
  await page.getByLabel("Adresse e-mail").fill(who.email);
  await page.getByLabel("Mot de passe").fill(who.password);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"));
}

// The newcomer opens the link on their phone, chooses a password, signs in.
async function joinFromPhone(link, email, landing) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await page.goto(link);
  await page.getByRole("heading", { name: "Bienvenue : choisissez votre mot de passe" }).waitFor();
  await page.getByText(`Votre compte ${email} est prêt`).waitFor();
  await assertFitsTheScreen(page);
  await assertAccessible(page, "welcome page");
  await page.getByLabel("Nouveau mot de passe", { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel("Confirmer le nouveau mot de passe").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Enregistrer le mot de passe" }).tap();
  await page.waitForURL(/\/login$/);
  await page.getByText("Votre compte est prêt.").waitFor();
  await signIn(page, { email, password: NEW_PASSWORD });
  await page.waitForURL(landing);
  await screenshot(page, `joined-${email.split("@")[0]}`);
  await context.close();
}

test("a manager invites a colleague, who joins from the link on their phone", async () => {
  const manager = { email: "gerant@garage-e2e.fr", password: "cheval agrafe batterie correcte" };
  server.createUser(manager.email, "manager", manager.password);
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/login`);
  await signIn(page, manager);
  await page.getByRole("link", { name: "Inviter un collègue" }).click();
  await page.waitForURL(/\/admin\/invitations$/);
  await page.getByText("l'invitation sera enregistrée mais ne partira pas").waitFor();
  assert.equal(await page.getByLabel("Administrateur").count(), 0, "a manager cannot make administrators");
  await assertAccessible(page, "invitation form");
  await page.getByLabel("Adresse e-mail").fill("paul.durand@garage-e2e.fr");
  await page.getByLabel("Nom affiché (prénom et nom)").fill("Paul Durand");
  await page.getByRole("checkbox", { name: "Atelier" }).check();
  await page.getByRole("button", { name: "Envoyer l'invitation" }).click();
  await page.getByRole("heading", { name: "Lien d'invitation" }).waitFor();
  await screenshot(page, "invitation-handover");
  await assertAccessible(page, "invitation handed over");
  const link = await page.locator("#reset-link").textContent();
  await context.close();
  await joinFromPhone(link, "paul.durand@garage-e2e.fr", /\/interventions$/);
});

test("a school manager gives an instructor their access from the instructor's file", async () => {
  const response = await fetch(`${server.url}/api/v1/school/instructors`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${await server.token()}` },
    body: JSON.stringify({ first_name: "Karim", last_name: "Benali", email: "karim@ecole-e2e.fr", licence_number: "AE-77001", categories: ["B"] }),
  });
  const created = await response.text();
  assert.equal(response.status, 201, created);
  const { id } = JSON.parse(created);
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/school/instructors/${id}`);
  await signIn(page, ADMIN);
  await page.getByRole("button", { name: "Créer son accès et l'inviter" }).click();
  await page.getByRole("heading", { name: "Lien d'invitation" }).waitFor();
  const link = await page.locator("#reset-link").textContent();
  await page.getByRole("link", { name: "Retour" }).click();
  await page.waitForURL(new RegExp(`/school/instructors/${id}$`));
  assert.equal(await page.getByLabel("Compte du moniteur (e-mail)").inputValue(), "karim@ecole-e2e.fr", "the file is linked");
  assert.equal(await page.getByRole("button", { name: "Créer son accès et l'inviter" }).count(), 0, "done once");
  await context.close();
  await joinFromPhone(link, "karim@ecole-e2e.fr", /\/school\/planning$/);
});
