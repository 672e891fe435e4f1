// The bell: a notification made by a background job (a report the admin asked
// for) shows up in the header of an open page without reloading it (Server-Sent
// Events), in a real browser; reading it clears the count.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, ADMIN } from "./server.mjs";

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

test("a new notification lights the bell of an open page, and reading it clears it", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/profile`);
  await page.getByLabel("Adresse e-mail").fill(ADMIN.email);
  await page.getByLabel("Mot de passe").fill(ADMIN.password);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await page.waitForURL(/\/profile/);
  const count = page.locator("[data-bell-count]");
  assert.equal(await count.isHidden(), true, "nothing unread yet");

  // Meanwhile, through the API, the admin asks for a report: a worker makes it
  // and notifies them. The page is not reloaded.
  const response = await fetch(`${server.url}/api/v1/school/reports`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${await server.token()}` },
    body: JSON.stringify({ kind: "pass_rates", format: "csv" }),
  });
  assert.equal(response.status, 202, await response.text());
  await count.waitFor({ state: "visible", timeout: 20_000 });
  assert.equal(await count.textContent(), "1");
  await page.getByRole("link", { name: "Notifications 1", exact: true }).waitFor();
  if (process.env.E2E_SCREENSHOTS) {
    await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/bell.png` });
  }

  await page.locator("[data-bell]").click();
  await page.waitForURL(/\/notifications$/);
  await page.getByText("Votre rapport est prêt").waitFor();
  await page.getByRole("button", { name: "Tout marquer comme lu" }).click();
  await page.getByText("Toutes les notifications sont marquées comme lues.").waitFor();
  await count.waitFor({ state: "hidden", timeout: 10_000 });
  await context.close();
});
