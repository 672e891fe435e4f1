// A garage manager brings their fleet from the spreadsheet they kept until now:
// the Administration menu's import page, the file saved by Excel on a French
// Windows (semicolons, Windows-1252 accents), the columns Volant recognized, the
// check that writes nothing and names the refused rows, the import followed to
// its end, the vehicles in the list; then the undo, and the list as it was.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
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

// Windows-1252 for the characters of these rows (Latin-1 and cp1252 agree on them).
function windows1252(text) {
  return Buffer.from(text, "latin1");
}

test("a garage manager imports the fleet from an Excel CSV, then undoes it", async () => {
  const api = `${server.url}/api/v1`;
  const headers = { "content-type": "application/json", authorization: `Bearer ${await server.token()}` };
  const garage = await fetch(`${api}/garages`, {
    method: "POST",
    headers,
    body: JSON.stringify({ name: "Garage du Centre", address: "1 rue de la Paix" }),
  });
  assert.equal(garage.status, 201);
  const dir = mkdtempSync(path.join(tmpdir(), "volant-import-"));
  const file = path.join(dir, "parc-auto.csv");
  writeFileSync(
    file,
    windows1252(
      "Immatriculation;Marque;Modèle;Année;Kilométrage;Propriétaire;E-mail du propriétaire\r\n" +
        "AB-123-CD;Renault;Clio;2019;84 000;Hélène Lefèvre;helene@example.fr\r\n" +
        "EF-456-GH;Citroën;C3;2021;12000;Paul Durand;paul@example.fr\r\n" +
        "IJ-789-KL;Peugeot;208;deux mille;;;\r\n",
    ),
  );

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await signIn(page, server, ADMIN);
  await page.getByRole("link", { name: "Importer des données" }).click();
  await page.getByRole("heading", { name: "Importer des données", level: 1 }).waitFor();
  await assertAccessible(page, "imports page");
  await page.getByLabel("Que contient le fichier ?").selectOption({ label: "Véhicules (avec leurs propriétaires)" });
  await page.getByLabel(/^Fichier/).setInputFiles(file);
  await page.getByRole("button", { name: "Envoyer le fichier" }).click();
  await page.getByText("Fichier reçu : vérifiez les colonnes, puis lancez la vérification.").waitFor();

  // The columns recognized from their French headers, each with the first row's value.
  assert.equal(await page.getByLabel("Immatriculation", { exact: true }).inputValue(), "0");
  assert.equal(await page.getByLabel("Propriétaire (e-mail)").inputValue(), "6");
  await page.getByText("Exemple : Hélène Lefèvre").waitFor();
  await page.locator("#import-sample").getByText("Citroën").waitFor();
  await assertAccessible(page, "import mapping");
  await page.getByRole("button", { name: "Vérifier les lignes (rien n'est enregistré)" }).click();

  // The check's report: two vehicles to create, one refused with its reason; nothing written yet.
  await page.getByRole("heading", { name: "Résultat de la vérification" }).waitFor({ timeout: 20_000 });
  assert.equal(await page.locator("[data-count=created]").textContent(), "2");
  assert.equal(await page.locator("[data-count=refused]").textContent(), "1");
  await page.getByRole("link", { name: "Refusées (1)" }).click();
  const refused = page.locator("tr[data-line='4']");
  await refused.getByText("IJ-789-KL").waitFor();
  assert.match(await refused.textContent(), /Année/);
  const vehicles = await (await fetch(`${api}/vehicles`, { headers })).json();
  assert.equal(vehicles.length, 0, "the check wrote nothing");
  await assertAccessible(page, "import check report");

  await page.getByRole("button", { name: "Importer (2 ligne(s))" }).click();
  await page.getByRole("heading", { name: "Résultat de l'import" }).waitFor({ timeout: 20_000 });
  await page.locator("#import-status").getByText("Importé").waitFor();

  // The vehicles are in the list, with their owners.
  await page.goto(`${server.url}/vehicles`);
  await page.getByText("AB-123-CD").waitFor();
  await page.getByText("EF-456-GH").waitFor();
  const clients = await (await fetch(`${api}/clients?q=helene`, { headers })).json();
  assert.equal(clients[0]?.name, "Hélène Lefèvre", "the owner was created with the accents of the file");

  // Undone, after a confirmation.
  await page.goBack();
  page.once("dialog", (dialog) => dialog.accept());
  await page.getByRole("button", { name: "Annuler cet import" }).click();
  await page.locator("#import-status").getByText("Annulé").waitFor({ timeout: 20_000 });
  assert.equal((await (await fetch(`${api}/vehicles`, { headers })).json()).length, 0);
  assert.equal((await (await fetch(`${api}/clients`, { headers })).json()).length, 0);

  // The history lists it.
  await page.goto(`${server.url}/imports`);
  await page.getByRole("link", { name: "parc-auto.csv" }).waitFor();
  await context.close();
});
