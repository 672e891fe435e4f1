// A garage's counter: a new client, a quote with two lines, its PDF, and the
// maintenance alerts — in a real browser.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
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

async function signIn(page, path) {
  await page.goto(`${server.url}${path}`);
  await page.getByLabel("Adresse e-mail").fill(ADMIN.email);
  await page.getByLabel("Mot de passe").fill(ADMIN.password);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await page.waitForURL(`${server.url}${path}`);
}

test("create a client, write a quote with two lines, download its PDF, see the alerts", async () => {
  // The vehicle is already in the fleet, with 90,000 km on the clock and no service on record.
  const api = `${server.url}/api/v1`;
  const headers = { "content-type": "application/json", authorization: `Bearer ${await server.token()}` };
  const garage = await (await fetch(`${api}/garages`, {
    method: "POST", headers, body: JSON.stringify({ name: "Garage du Port", address: "2 quai Est", city: "Marseille" }),
  })).json();
  const vehicle = await fetch(`${api}/vehicles`, {
    method: "POST", headers,
    body: JSON.stringify({ garage_id: garage.id, brand: "Renault", model: "Kangoo", year: 2019, license_plate: "GH-451-KL", mileage_km: 90000 }),
  });
  assert.equal(vehicle.status, 201);
  const item = await fetch(`${api}/catalogue`, {
    method: "POST", headers,
    body: JSON.stringify({ kind: "part", description: "Plaquettes de frein avant", unit: "jeu", unit_price: "48.90" }),
  });
  assert.equal(item.status, 201);

  const page = await browser.newPage({ acceptDownloads: true });
  await signIn(page, "/clients");
  await page.getByRole("link", { name: "Nouveau client" }).click();
  await page.getByLabel("Nom et prénom").fill("Jeanne Martin");
  await page.getByLabel("Téléphone").fill("06 12 34 56 78");
  await page.getByLabel("E-mail", { exact: true }).fill("jeanne.martin@exemple.fr");
  await page.getByRole("button", { name: "Enregistrer" }).click();
  await page.getByText("Client Jeanne Martin créé.").waitFor();

  await page.getByLabel("Rattacher un véhicule (immatriculation)").fill("gh 451 kl");
  await page.getByRole("button", { name: "Rattacher" }).click();
  await page.getByText("Le véhicule GH-451-KL appartient désormais à ce client.").waitFor();

  await page.getByRole("link", { name: "Nouveau devis" }).click();
  await page.getByLabel("Véhicule", { exact: true }).selectOption({ label: "GH-451-KL — Renault Kangoo" });
  // The brake pads are in the catalogue: typing a word offers them, choosing fills the line.
  await page.getByLabel("Désignation 1").pressSequentially("plaq");
  await page.locator('#catalogue-options option[value="Plaquettes de frein avant"]').waitFor({ state: "attached" });
  await page.getByLabel("Désignation 1").fill("Plaquettes de frein avant");
  assert.equal(await page.getByLabel("PU HT 1").inputValue(), "48,90");
  assert.equal(await page.getByLabel("Unité 1").inputValue(), "jeu");
  await page.getByLabel("Type 2").selectOption({ label: "Main-d'œuvre" });
  await page.getByLabel("Désignation 2").fill("Remplacement des plaquettes");
  await page.getByLabel("Qté 2").fill("1,5");
  await page.getByLabel("PU HT 2").fill("60");
  // The totals follow what is typed, before anything is saved; a line moves and goes.
  const runningIncl = (expected) => page.waitForFunction(
    (text) => document.querySelector("[data-testid=running-incl]")?.textContent.replace(/\s/g, " ") === text,
    expected,
  );
  await runningIncl("166,68 €");
  await page.getByLabel("Désignation 3").fill("Balais d'essuie-glace");
  await page.getByLabel("PU HT 3").fill("20");
  await runningIncl("190,68 €");
  await page.getByRole("button", { name: "Monter la ligne 3" }).click();
  assert.equal(await page.getByLabel("Désignation 2").inputValue(), "Balais d'essuie-glace");
  assert.equal((await page.locator("[data-line-row]").nth(1).locator("[data-line-total]").textContent()).replace(/\s/g, " "), "20,00 €");
  await page.getByRole("button", { name: "Retirer la ligne 2" }).click();
  await runningIncl("166,68 €");
  assert.equal(await page.getByLabel("Désignation 2").inputValue(), "Remplacement des plaquettes");
  await assertAccessible(page, "quote editor with running totals");
  if (process.env.E2E_SCREENSHOTS) {
    await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/quote-editor.png`, fullPage: true });
  }
  // Remarks on two lines, typed as people type them (Enter in the text area).
  await page.getByLabel("Remarques").fill("Pneus arrière à surveiller.\nPrévoir la vidange à 95 000 km 🚗");
  await page.getByRole("button", { name: "Enregistrer" }).click();
  await page.getByText(/Devis DEV-\d{4}-0001 créé\./).waitFor();
  const remarks = page.locator("section", { hasText: "Remarques" }).locator("p.pre");
  assert.equal(await remarks.innerText(), "Pneus arrière à surveiller.\nPrévoir la vidange à 95 000 km 🚗");
  // 48.90 + 90.00 = 138.90 excl. tax; VAT 27.78; 166.68 incl.
  assert.equal((await page.getByTestId("total-incl").textContent()).replace(/\s/g, " "), "166,68 €");

  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Télécharger le PDF" }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^DEV-\d{4}-0001\.pdf$/);
  const pdf = readFileSync(await download.path());
  assert.equal(pdf.subarray(0, 5).toString(), "%PDF-");
  assert.ok(pdf.length > 5000, `a real document (${pdf.length} bytes)`);
  if (process.env.E2E_SCREENSHOTS) {
    await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/quote.png`, fullPage: true });
  }

  // The next quote starts from the quotes list: the client is found by a plate she owns.
  await page.goto(`${server.url}/quotes`);
  await page.getByRole("link", { name: "Nouveau devis" }).click();
  await page.getByRole("searchbox", { name: "Client" }).fill("GH-451");
  await page.getByRole("button", { name: "Rechercher" }).click();
  await page.getByRole("link", { name: "Jeanne Martin" }).click();
  await page.waitForURL(/\/quotes\/new\?client_id=/);
  assert.match(await page.locator("main form").first().textContent(), /Client :\s*Jeanne Martin/);
  await assertAccessible(page, "quote for a client found by plate");

  // The client list as a spreadsheet, downloaded by the browser (it asks for gzip).
  await page.goto(`${server.url}/clients`);
  const [csv] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Exporter CSV" }).click(),
  ]);
  assert.equal(await csv.failure(), null, "the download completed");
  assert.match(csv.suggestedFilename(), /^clients-\d{4}-\d{2}-\d{2}\.csv$/);
  const rows = readFileSync(await csv.path(), "utf8");
  assert.ok(rows.startsWith("\ufeff"), "UTF-8 with its byte-order mark");
  assert.match(rows, /Jeanne Martin/);
  assert.match(rows.split("\n")[0], /;/, "a French spreadsheet's separator");

  // At the counter, the mileage is read off the dashboard: the alerts follow at once.
  await page.goto(`${server.url}/vehicles/${(await vehicle.json()).id}/maintenance`);
  await page.getByRole("spinbutton", { name: /^Kilométrage/ }).fill("90500");
  await page.getByRole("button", { name: "Enregistrer le relevé" }).click();
  await page.getByText("Relevé kilométrique enregistré.").waitFor();

  await page.getByRole("link", { name: "Alertes", exact: true }).click();
  await page.waitForURL(`${server.url}/alerts`);
  const alerts = page.locator("main table");
  await alerts.getByText("GH-451-KL").first().waitFor();
  assert.match(await alerts.textContent(), /Vidange/);
  assert.match(await alerts.textContent(), /Contrôle des freins/);
  // Nothing on record here: oil, tyres and brakes are to check with Jeanne, not "overdue".
  await page.getByLabel("Échéance").selectOption({ label: "À vérifier" });
  await page.getByRole("button", { name: "Filtrer" }).click();
  await page.waitForURL(/window=to_check/);
  const alertRows = page.locator("main tbody tr");
  assert.ok((await alertRows.count()) >= 3, "oil, tyres and brakes are to check");
  const first = await alertRows.first().textContent();
  assert.match(first, /Jeanne Martin/);
  assert.match(first, /06 12 34 56 78/);
  assert.match(first, /À vérifier/);
  await assertAccessible(page, "alerts with owners and bulk actions");
  // She has not accepted service e-mails: the reminder says so rather than pretending.
  await page.getByRole("checkbox", { name: "Tout sélectionner" }).check();
  await page.locator("#bulk-alerts").getByRole("button", { name: "Envoyer un rappel aux propriétaires" }).click();
  await page.getByText("Propriétaire qui n'accepte pas les e-mails : 1 véhicule(s).").waitFor();
  // The manager will call her: every alert acknowledged at once.
  await page.getByRole("checkbox", { name: "Tout sélectionner" }).check();
  await page.locator("#bulk-alerts").getByRole("button", { name: "Prendre en compte" }).click();
  await page.getByText(/\d+ alerte\(s\) mise\(s\) à jour\./).waitFor();
  assert.equal(await page.locator("main tbody .badge-alert-open").count(), 0, "none left open");
  // The owner checks who did what: in words, with links, filtered with pickers.
  await page.goto(`${server.url}/admin/audit`);
  await page.getByLabel("Type d'objet").selectOption({ label: "Client" });
  await page.getByRole("button", { name: "Rechercher" }).click();
  await page.waitForURL(/entity_type=client/);
  const created = page.locator("main tbody tr", { hasText: "jeanne.martin@exemple.fr" });
  await created.getByRole("link", { name: "Jeanne Martin" }).waitFor();
  assert.match(await created.textContent(), /Téléphone : 06 12 34 56 78/);
  await assertAccessible(page, "audit trail");
  // Printed, a list is its table: no menu, filters or buttons.
  await page.goto(`${server.url}/alerts?window=to_check`);
  await page.emulateMedia({ media: "print" });
  assert.equal(await page.locator(".topbar").isVisible(), false, "no menu on paper");
  assert.equal(await page.locator("#bulk-alerts").isVisible(), false, "no bulk actions on paper");
  assert.equal(await page.locator("form.filters").isVisible(), false, "no filters on paper");
  assert.equal(await page.locator("main table").isVisible(), true, "the table is printed");
  if (process.env.E2E_SCREENSHOTS) {
    await page.pdf({ path: `${process.env.E2E_SCREENSHOTS}/alerts-print.pdf` });
  }
  await page.emulateMedia({ media: "screen" });
  if (process.env.E2E_SCREENSHOTS) {
    await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/audit.png`, fullPage: true });
    await page.goto(`${server.url}/alerts?window=to_check`);
    await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/alerts.png`, fullPage: true });
    await page.goto(`${server.url}/dashboard`);
    await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/dashboard.png`, fullPage: true });
  }
  await page.close();
});
