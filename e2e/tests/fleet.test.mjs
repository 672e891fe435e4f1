// A garage owner's first minutes: create a garage, add a vehicle, meet the
// duplicate-plate error, delete the vehicle — in a real browser.
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

/** Signs in through the login page, as a person would; lands where `path` asked. */
async function signIn(page, path, who = ADMIN) {
  await page.goto(`${server.url}${path}`);
  assert.match(page.url(), /\/login\?next=/, "strangers are sent to the login page");
  await page.getByLabel("Adresse e-mail").fill(who.email);
  await page.getByLabel("Mot de passe").fill(who.password);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await page.waitForURL(`${server.url}${path}`);
}

test("create a garage, add a vehicle, see the duplicate-plate error, delete the vehicle", async () => {
  const page = await browser.newPage();
  await signIn(page, "/garages");
  assert.match(await page.textContent("h1"), /Garages/);

  await page.getByRole("link", { name: "Nouveau garage" }).click();
  await page.getByLabel("Nom").fill("Garage du Centre");
  await page.getByLabel("Adresse").fill("12 rue de la République");
  await page.getByLabel("Ville").fill("Lyon");
  await page.getByRole("button", { name: "Enregistrer" }).click();
  await page.getByText("Garage « Garage du Centre » créé.").waitFor();
  assert.equal(await page.textContent("h1"), "Garage du Centre");

  await page.getByRole("link", { name: "Ajouter un véhicule" }).click();
  await page.getByLabel("Immatriculation").fill("AB-123-CD");
  await page.getByLabel("Marque").fill("Renault");
  await page.getByLabel("Modèle").fill("Clio");
  await page.getByLabel("Année").fill("2019");
  await page.getByRole("button", { name: "Enregistrer" }).click();
  await page.getByText("Véhicule AB-123-CD ajouté.").waitFor();

  // The same plate typed differently is the same car.
  await page.goto(`${server.url}/vehicles/new`);
  await page.getByLabel("Garage").selectOption({ label: "Garage du Centre" });
  await page.getByLabel("Immatriculation").fill("ab 123 cd");
  await page.getByLabel("Marque").fill("Peugeot");
  await page.getByLabel("Modèle").fill("208");
  await page.getByLabel("Année").fill("2021");
  await page.getByRole("button", { name: "Enregistrer" }).click();
  const error = page.locator("#license_plate-error");
  await error.waitFor();
  assert.equal(
    await error.textContent(),
    "L'immatriculation AB-123-CD est déjà enregistrée au garage « Garage du Centre ».",
  );
  assert.equal(await page.getByLabel("Immatriculation").inputValue(), "ab 123 cd", "input kept");
  assert.equal(await page.getByLabel("Immatriculation").getAttribute("aria-invalid"), "true");

  await page.goto(`${server.url}/vehicles`);
  await page.getByRole("link", { name: "AB-123-CD" }).click();
  await page.getByRole("link", { name: "Supprimer" }).click();
  await page.getByRole("button", { name: "Oui, supprimer" }).click();
  await page.getByText("Véhicule AB-123-CD supprimé.").waitFor();
  assert.match(await page.textContent("#vehicle-results"), /Aucun véhicule pour l’instant/);
  if (process.env.E2E_SCREENSHOTS) {
    await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/garage.png`, fullPage: true });
  }
  await page.close();
});

test("live search narrows a garage's vehicles without reloading the page", async () => {
  const page = await browser.newPage();
  const api = `${server.url}/api/v1`;
  const headers = { "content-type": "application/json", authorization: `Bearer ${await server.token()}` };
  const garage = await (await fetch(`${api}/garages`, {
    method: "POST",
    headers,
    body: JSON.stringify({ name: "Auto Service Plateau", address: "Avenue Senghor", city: "Dakar" }),
  })).json();
  for (const [plate, brand, model] of [["DK-1234-AB", "Toyota", "Hilux"], ["DK-5678-CD", "Peugeot", "308"]]) {
    const response = await fetch(`${api}/vehicles`, {
      method: "POST",
      headers,
      body: JSON.stringify({ garage_id: garage.id, brand, model, year: 2018, license_plate: plate }),
    });
    assert.equal(response.status, 201);
  }
  await signIn(page, `/garages/${garage.id}`);
  await page.getByRole("searchbox").fill("hilux");
  await page.locator("#vehicle-results").getByText("DK-5678-CD").waitFor({ state: "detached" });
  assert.match(await page.textContent("#vehicle-results"), /DK-1234-AB/);
  assert.match(page.url(), /q=hilux/, "the search is in the address bar");
  if (process.env.E2E_SCREENSHOTS) {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/search-phone.png`, fullPage: true });
  }
  await page.close();
});

test("a candidate cannot reach the fleet pages", async () => {
  const candidate = { email: "candidat@ecole-e2e.sn", password: "tortue lanterne orage violon" };
  server.createUser(candidate.email, "candidate", candidate.password);
  const page = await browser.newPage();
  await signIn(page, "/vehicles", candidate);
  assert.equal(await page.textContent("h1"), "Accès refusé");
  assert.match(await page.textContent("main"), /Votre rôle ne permet pas cette action/);
  const response = await page.goto(`${server.url}/garages`);
  assert.equal(response.status(), 403);
  assert.equal(await page.locator("text=Garage du Centre").count(), 0, "no fleet data shown");
  await page.close();
});
