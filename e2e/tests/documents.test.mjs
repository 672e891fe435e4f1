// Documents and photos, as their users handle them: a mechanic checks a car in
// on a phone (the camera's photo, damage tapped on the outline, the customer
// signing with a finger) and the customer gets the signed PDF; a school keeps a
// candidate's file (several files chosen at once, a thumbnail, the original
// downloaded through the browser, a forged file refused).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, launchBrowser, assertAccessible, ADMIN } from "./server.mjs";

let server;
let browser;

const files = fileURLToPath(new URL("../../crates/volant/tests/api/files/", import.meta.url));
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, acceptDownloads: true };

before(async () => {
  // Three journeys and their API clients sign in within a minute (the default allows five).
  server = await startServer({ VOLANT_LOGIN_ATTEMPTS_PER_MINUTE: "30" });
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

async function look(page, name) {
  if (process.env.E2E_SCREENSHOTS) {
    await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/documents-${name}.png`, fullPage: true });
  }
}

function pdfText(file) {
  try {
    return execFileSync("pdftotext", ["-layout", file, "-"], { encoding: "utf8" });
  } catch (error) {
    if (error.code === "ENOENT" && !process.env.CI) return null;
    throw error;
  }
}

// Every image of the page was decoded (a thumbnail that does not load is 0 wide);
// thumbnails load lazily, once scrolled to.
async function imagesLoaded(page, selector) {
  // At least one: the upload's page may still be on its way (the count would pass with none).
  await page.locator(selector).first().waitFor();
  for (const img of await page.locator(selector).all()) await img.scrollIntoViewIfNeeded();
  await page.waitForFunction((s) => [...document.querySelectorAll(s)].every((img) => img.complete && img.naturalWidth > 0), selector);
  return page.locator(selector).count();
}

test("a mechanic checks a car in on a phone and the customer receives the signed PDF", async () => {
  const call = await server.api();
  const garage = await call("POST", "/garages", { name: "Garage des Lilas", address: "4 rue des Lilas", city: "Lyon" });
  const vehicle = await call("POST", "/vehicles", {
    garage_id: garage.id, brand: "Peugeot", model: "208", year: 2020, license_plate: "EL-208-PG", mileage_km: 61000,
  });
  const client = await call("POST", "/clients", { name: "Hélène Moreau", email: "helene.moreau@exemple.fr" });
  await call("POST", `/clients/${client.id}/vehicles`, { vehicle_id: vehicle.id });
  const work = await call("POST", "/interventions", {
    vehicle_id: vehicle.id, description: "Bruit au freinage\nContrôle des plaquettes", mileage_km: 61250, in_progress: true,
  });

  const phone = await browser.newContext(PHONE);
  const page = await phone.newPage();
  await signIn(page, `/vehicles/${vehicle.id}/maintenance`);
  await page.getByRole("link", { name: /Bruit au freinage/ }).click();
  await page.getByRole("link", { name: "Faire l'état des lieux" }).click();
  await page.getByRole("heading", { name: /État des lieux/ }).waitFor();
  assert.equal(await page.getByLabel("Kilométrage").inputValue(), "61250", "the work's mileage is offered");
  await page.getByLabel("Carburant").selectOption("3");
  // Damage tapped on the outline ticks its box.
  await page.locator('[data-zone="windscreen"]').tap();
  assert.ok(await page.getByRole("checkbox", { name: "Pare-brise" }).isChecked());
  await page.getByRole("checkbox", { name: "Côté droit arrière" }).check();
  assert.ok(await page.locator('[data-zone="right_rear"].damaged').count(), "the ticked zone is coloured");
  // The phone's camera: an input that asks for it.
  const camera = page.getByLabel("Photos");
  assert.equal(await camera.getAttribute("capture"), "environment");
  await camera.setInputFiles(path.join(files, "logo.jpg"));
  await page.getByText("1 fichier(s) choisi(s)").waitFor();
  await page.getByLabel("Observations").fill("Impact sur le pare-brise\nRayure aile arrière droite 🚗");
  assert.equal(await page.getByLabel("Nom du signataire").inputValue(), "Hélène Moreau");
  // No mail server here: the page says the e-mail will only be saved.
  await page.getByText(/l'e-mail sera seulement enregistré/).waitFor();
  // The customer signs with a finger.
  await page.locator("canvas[data-signature-pad]").scrollIntoViewIfNeeded();
  const pad = await page.locator("canvas[data-signature-pad]").boundingBox();
  await page.mouse.move(pad.x + 20, pad.y + pad.height * 0.7);
  await page.mouse.down();
  await page.mouse.move(pad.x + pad.width * 0.4, pad.y + pad.height * 0.2, { steps: 8 });
  await page.mouse.move(pad.x + pad.width * 0.8, pad.y + pad.height * 0.6, { steps: 8 });
  await page.mouse.up();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the form fits a phone (${overflow}px too wide)`);
  await assertAccessible(page, "documents: check-in form");
  await look(page, "1-checkin-form");
  await page.getByRole("button", { name: "Enregistrer l'état des lieux signé" }).click();
  await page.getByText("État des lieux enregistré et envoyé à helene.moreau@exemple.fr.").waitFor();

  const checkin = page.getByTestId("checkin");
  const summary = await checkin.textContent();
  for (const expected of ["61 250 km", "3/8", "Pare-brise", "Côté droit arrière", "Hélène Moreau"]) {
    assert.ok(summary.replace(/\u202f/g, " ").includes(expected), `${expected} in ${summary}`);
  }
  // The intervention's documents: the photo, the signature, the PDF.
  await page.getByTestId("document").first().waitFor();
  assert.equal(await page.getByTestId("document").count(), 3);
  assert.equal(await imagesLoaded(page, "[data-testid=document] img"), 2, "the photo's and the signature's thumbnails");
  await look(page, "2-intervention");

  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Télécharger le PDF" }).click(),
  ]);
  const pdf = await download.path();
  assert.equal(readFileSync(pdf).subarray(0, 5).toString(), "%PDF-");
  const text = pdfText(pdf);
  if (text !== null) {
    for (const expected of ["ÉTAT DES LIEUX", "EL-208-PG", "Hélène Moreau", "Pare-brise", "Rayure aile arrière droite", "Signé par Hélène Moreau"]) {
      assert.ok(text.includes(expected), `${expected} in the PDF:\n${text}`);
    }
  }
  await phone.close();

  // The customer's e-mail, saved in the outbox, carries the PDF.
  let mail = "";
  for (let i = 0; i < 100 && !mail; i++) {
    let names = [];
    try {
      names = readdirSync(server.outbox); // Made with the first e-mail written.
    } catch {}
    const eml = names.filter((f) => f.endsWith(".eml"))
      .map((f) => readFileSync(path.join(server.outbox, f), "utf8"))
      .find((m) => m.includes("helene.moreau@exemple.fr"));
    if (eml) mail = eml; else await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(mail.includes("application/pdf") && mail.includes("etat-des-lieux-EL-208-PG.pdf"), mail.slice(0, 2000));
  const checkinApi = await call("GET", `/interventions/${work.id}/checkin`);
  assert.deepEqual(checkinApi.damages, ["windscreen", "right_rear"]);
});

test("a school keeps a candidate's file: several files at once, a thumbnail, the original downloaded", async () => {
  const call = await server.api();
  const candidate = await call("POST", "/school/candidates", { first_name: "Inès", last_name: "Benali", category: "B" });
  const page = await browser.newPage({ acceptDownloads: true });
  await signIn(page, `/school/candidates/${candidate.id}`);
  await page.getByRole("heading", { name: "Documents et photos" }).waitFor();
  await page.getByText("Aucun document pour l'instant.").waitFor();
  await page.getByLabel("Type de document").selectOption("identity_document");
  await page.getByTestId("choose-files").setInputFiles([path.join(files, "logo.png"), path.join(files, "identity.pdf")]);
  await page.getByText("2 fichier(s) choisi(s)").waitFor();
  await look(page, "3-candidate-chosen");
  await page.getByRole("button", { name: "Envoyer" }).click();
  await page.getByText("2 document(s) ajouté(s).").waitFor();
  await page.getByTestId("document").nth(1).waitFor();
  assert.equal(await page.getByTestId("document").count(), 2);
  assert.equal(await imagesLoaded(page, "[data-testid=document] img"), 1, "the photo's thumbnail, decrypted on the way");
  await assertAccessible(page, "documents: candidate file");
  await look(page, "4-candidate-file");

  // The original, downloaded through the browser, is the file sent.
  const card = page.getByTestId("document").filter({ hasText: "identity.pdf" });
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    card.getByRole("link", { name: "Télécharger l'original" }).click(),
  ]);
  assert.equal(download.suggestedFilename(), "identity.pdf");
  assert.deepEqual(readFileSync(await download.path()), readFileSync(path.join(files, "identity.pdf")));

  // A text file named like a photo is refused, saying why.
  await page.getByLabel("Type de document").selectOption("photo");
  await page.getByTestId("choose-files").setInputFiles({ name: "photo.jpg", mimeType: "image/jpeg", buffer: Buffer.from("<script>alert(1)</script>") });
  await page.getByRole("button", { name: "Envoyer" }).click();
  await page.getByText(/Format non accepté/).waitFor();
  await page.getByTestId("document").nth(1).waitFor();
  assert.equal(await page.getByTestId("document").count(), 2);
});

test("a garage that keeps its photos as taken downloads them byte for byte", async () => {
  const call = await server.api();
  const garage = await call("POST", "/garages", { name: "Garage du Constat", address: "1 rue du Port", city: "Brest" });
  const vehicle = await call("POST", "/vehicles", {
    garage_id: garage.id, brand: "Renault", model: "Clio", year: 2019, license_plate: "KP-719-GT",
  });
  const page = await browser.newPage({ acceptDownloads: true });
  await signIn(page, `/vehicles/${vehicle.id}`);
  await page.goto(`${server.url}/admin/organization`);
  const keep = page.getByLabel(/Conserver les métadonnées des photos/);
  assert.equal(await keep.isChecked(), false, "stripped unless the organization chooses");
  await keep.check();
  await page.getByRole("button", { name: "Enregistrer" }).first().click();
  await page.getByText("Paramètres de l'organisation enregistrés.").waitFor();
  assert.equal(await page.getByLabel(/Conserver les métadonnées des photos/).isChecked(), true);

  await page.goto(`${server.url}/vehicles/${vehicle.id}`);
  await page.getByRole("heading", { name: "Documents et photos" }).waitFor();
  await page.getByLabel("Type de document").selectOption("photo");
  await page.getByTestId("choose-files").setInputFiles(path.join(files, "logo.jpg"));
  await page.getByRole("button", { name: "Envoyer" }).click();
  await page.getByText("1 document(s) ajouté(s).").waitFor();
  assert.equal(await imagesLoaded(page, "[data-testid=document] img"), 1);
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByTestId("document").getByRole("link", { name: "Télécharger l'original" }).click(),
  ]);
  assert.deepEqual(readFileSync(await download.path()), readFileSync(path.join(files, "logo.jpg")), "the photo as taken");
});
