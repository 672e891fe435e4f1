// The administrator is told that e-mails do not leave, sets the organization's
// own mail server from the banner, and tries it: the server's answer is shown
// (here a server that cannot be reached: the failure is said, not hidden).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { startServer, launchBrowser, assertAccessible, ADMIN } from "./server.mjs";

let server;
let browser;

before(async () => {
  // The unreachable test server is on loopback: allowed by the operator here.
  server = await startServer({ VOLANT_MAIL_ALLOW_PRIVATE_HOSTS: "true" });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

// A loopback port nobody listens on.
async function closedPort() {
  const probe = net.createServer();
  await new Promise((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

test("an administrator sets the mail server from the banner and sees the server's answer to a test", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/login`);
  await page.getByLabel("Adresse e-mail").fill(ADMIN.email);
  await page.getByLabel("Mot de passe").fill(ADMIN.password);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"));
  const banner = page.locator("#undelivered");
  await banner.getByText("Ni les e-mails ni les SMS ne partent").waitFor();
  await banner.getByRole("link", { name: "Configurer l'envoi des e-mails" }).click();
  await page.waitForURL(/\/admin\/mail$/);
  await page.getByText("Aucun serveur d'envoi : les e-mails sont seulement enregistrés").waitFor();
  await assertAccessible(page, "mail settings");

  await page.getByLabel("Serveur SMTP (adresse)").fill(`smtp://127.0.0.1:${await closedPort()}`);
  await page.getByLabel("Expéditeur").fill("Garage Dupont <atelier@garage-dupont.fr>");
  await page.getByRole("button", { name: "Enregistrer" }).click();
  await page.getByText("Réglage de l'envoi enregistré.").waitFor();
  assert.equal(await page.locator("#current-from").textContent(), "Garage Dupont <atelier@garage-dupont.fr>");
  assert.equal(await page.locator("#undelivered").getByText("Les SMS ne partent pas").count(), 1, "e-mails now have a way out");

  await page.getByRole("button", { name: `Envoyer un e-mail de test à ${ADMIN.email}` }).click();
  const outcome = page.locator("#test-outcome");
  await outcome.getByText("L'e-mail de test n'est pas parti.").waitFor({ timeout: 30_000 });
  assert.ok((await outcome.locator("code").textContent()).length > 0, "the server's answer is shown");
  await assertAccessible(page, "mail settings after a failed test");
  if (process.env.E2E_SCREENSHOTS) await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/mail-test.png`, fullPage: true });
  await context.close();
});
