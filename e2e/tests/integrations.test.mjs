// An administrator connects their accounting software, as they would: on the
// profile page, a token that may only read the fleet, usable only from the
// accounting machine (here, this loopback address); the software then calls the
// API with it, and what lies outside its scopes is refused with the scope named.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, assertAccessible, signIn, ADMIN } from "./server.mjs";

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

// What the accounting software gets for `method path` with `token`.
async function call(token, method, path, body) {
  const response = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body && JSON.stringify(body),
  });
  return { status: response.status, challenge: response.headers.get("www-authenticate"), body: await response.json().catch(() => null) };
}

test("an administrator gives the accounting software a read-only token bound to its address", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await signIn(page, server, ADMIN);
  await page.goto(`${server.url}/profile`);
  await page.getByRole("heading", { name: "Jetons d'API personnels" }).waitFor();

  // Nothing chosen: the form says what is missing and keeps what was typed.
  await page.getByLabel("Nom").fill("Export comptable 📊 — Sàrl");
  await page.getByRole("button", { name: "Créer un jeton" }).click();
  await page.getByText("Choisissez au moins un domaine auquel le jeton aura accès.").waitFor();
  assert.equal(await page.getByLabel("Nom").inputValue(), "Export comptable 📊 — Sàrl");
  await assertAccessible(page, "token form refused");

  await page.getByLabel("Parc (garages, véhicules)").selectOption({ label: "Lecture" });
  await page.getByLabel("Adresses autorisées").fill("127.0.0.1");
  await page.getByRole("button", { name: "Créer un jeton" }).click();
  await page.getByText("Copiez ce jeton maintenant").waitFor();
  const token = (await page.locator("#new-token").textContent()).trim();
  assert.match(token, /^vlt_[0-9a-f]{64}$/);
  await assertAccessible(page, "token created");

  // The accounting software reads the fleet from the allowed address…
  const garages = await call(token, "GET", "/garages");
  assert.equal(garages.status, 200);
  // …but may not change it, nor read what lies outside its scopes.
  const write = await call(token, "POST", "/garages", { name: "Intrus", address: "1 rue" });
  assert.equal(write.status, 403);
  assert.equal(write.body.code, "insufficient_scope");
  assert.equal(write.challenge, 'Bearer error="insufficient_scope", scope="fleet:write"');
  const clients = await call(token, "GET", "/clients");
  assert.equal(clients.body.code, "insufficient_scope");
  assert.match(clients.body.detail, /workshop:read/);

  // The list shows what the token may do, from where, and that it was used.
  await page.goto(`${server.url}/profile`);
  const row = page.getByRole("row", { name: /Export comptable 📊 — Sàrl/ });
  await row.getByText("Parc (garages, véhicules) : Lecture").waitFor();
  await row.getByText("127.0.0.1/32").waitFor();
  const lastUsed = await row.locator('td[data-label="Dernière utilisation"]').textContent();
  assert.match(lastUsed.trim(), /^\d{2}\/\d{2}\/\d{4}$/, `last use shown: ${lastUsed}`);

  // A token bound to another network is refused from here, saying why.
  await page.getByLabel("Nom").fill("Ailleurs");
  await page.getByLabel("Parc (garages, véhicules)").selectOption({ label: "Lecture et écriture" });
  await page.getByLabel("Adresses autorisées").fill("192.0.2.0/24");
  await page.getByRole("button", { name: "Créer un jeton" }).click();
  const elsewhere = (await page.locator("#new-token").textContent()).trim();
  const refused = await call(elsewhere, "GET", "/garages");
  assert.equal(refused.status, 403);
  assert.equal(refused.body.code, "token_ip_not_allowed");

  // Revoked, the first token no longer works.
  await page.goto(`${server.url}/profile`);
  await page.getByRole("row", { name: /Export comptable/ }).getByRole("button", { name: "Révoquer" }).click();
  await page.getByText("Jeton révoqué.").waitFor();
  assert.equal((await call(token, "GET", "/garages")).status, 401);
  await context.close();
});
