// A French school's paperwork, in a real browser (issue 24). At the desk, the
// manager enrols a 16-year-old: her administrative file with her mother as
// legal guardian, the incomplete files at a glance, the initial evaluation, the
// contract funded by the CPF and a "permis à 1 € par jour" loan, signed on the
// school's screen by Zoé and her mother, downloaded and read back by pdftotext.
// On her phone, an adult candidate reads and signs her own contract.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { startServer, launchBrowser, assertAccessible, ADMIN } from "./server.mjs";

let server;
let browser;
let call;
let pack;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  call = await server.api();
  await call("PATCH", "/organization", {
    name: "Auto-école du Port", address: "8 quai des Belges\n13001 Marseille",
    registration_number: "732 829 320 00074", vat_number: "FR44732829320",
  });
  const settings = await call("GET", "/school/settings");
  await call("PUT", "/school/settings", { ...settings, approval_number: "E 21 013 0042 0", hour_price: "55" });
  pack = await call("POST", "/school/packs", { name: "Forfait B 20 h", driving_minutes: 1200, price_incl_tax: "1190" });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function look(page, step) {
  await assertAccessible(page, `enrolment: ${step}`);
  if (process.env.E2E_SCREENSHOTS) {
    await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/enrolment-${step}.png`, fullPage: true });
  }
}

async function signIn(page, path, who) {
  await page.goto(`${server.url}${path}`);
  await page.getByLabel("Adresse e-mail").fill(who.email);
  await page.getByLabel("Mot de passe").fill(who.password);
  await page.getByRole("button", { name: "Se connecter" }).click();
}

const plain = (text) => text.replace(/\s/g, " ").trim();

// The school's day as the date fields take it.
const today = () => new Date().toLocaleDateString("sv-SE", { timeZone: "Europe/Paris" });

test("the manager enrols a minor from the first visit to the contract signed with its funding", async () => {
  const born = new Date(Date.now() - (16 * 365 + 40) * 86_400_000).toISOString().slice(0, 10);
  const zoe = await call("POST", "/school/candidates", {
    first_name: "Zoé", last_name: "Écuyer", category: "B", email: "zoe@exemple.fr", birth_date: born,
  });
  const desk = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "fr-FR", acceptDownloads: true });
  const page = await desk.newPage();
  page.setDefaultTimeout(10_000);
  await signIn(page, `/school/candidates/${zoe.id}`, ADMIN);
  await page.waitForURL(`${server.url}/school/candidates/${zoe.id}`);
  // 16: identity, proof of address, photo, ASSR and a guardian are missing.
  assert.equal(await page.locator("#file-status").textContent(), "Dossier incomplet : 5 pièce(s) manquante(s).");

  // The first visit: NEPH typed with spaces, the e-photo code, her mother who consents.
  await page.getByRole("link", { name: "Modifier le dossier administratif" }).click();
  await page.getByLabel("NEPH", { exact: true }).fill("1207 7501 2345");
  await page.getByLabel("Code e-photo").fill("AB12-CD34-EF56");
  await page.getByLabel("AM", { exact: true }).check();
  await page.getByLabel("Nom du représentant légal").fill("Claire Écuyer");
  await page.getByLabel("Consentement donné le").fill(today());
  await page.getByLabel("E-mail", { exact: true }).fill("claire.ecuyer@exemple.fr");
  await page.getByLabel("Demande déposée à l'ANTS").fill(today());
  await look(page, "1-file-form");
  await page.getByRole("button", { name: "Enregistrer" }).click();
  await page.getByText("Dossier administratif enregistré.").waitFor();
  assert.equal(await page.locator("#file-status").textContent(), "Dossier incomplet : 3 pièce(s) manquante(s).");
  assert.match(plain(await page.locator("#enrolment").textContent()), /120775012345.*Claire Écuyer \(claire\.ecuyer@exemple\.fr\)/);

  // At a glance: her file among the incomplete ones, the pieces named.
  await page.goto(`${server.url}/school/candidates`);
  await page.getByRole("link", { name: "Dossiers incomplets" }).click();
  await page.waitForURL(`${server.url}/school/files`);
  const row = page.locator("#incomplete-files tbody tr", { hasText: "Zoé Écuyer" });
  assert.match(plain(await row.textContent()), /Mineur.*3 Pièce d'identité, Justificatif de domicile, ASSR 2 ou ASR/);
  await look(page, "2-incomplete-files");

  // The initial evaluation, on several lines, its forecast in French hours.
  await row.getByRole("link", { name: "Zoé Écuyer" }).click();
  await page.getByRole("link", { name: "Nouvelle évaluation de départ" }).click();
  await page.getByLabel("Résultat").fill("Bonne coordination,\nappréhension en ville 😅");
  await page.getByLabel("Heures de conduite prévues").fill("25,5");
  await page.getByRole("button", { name: "Enregistrer" }).click();
  await page.getByText("Évaluation enregistrée").waitFor();
  assert.match(plain(await page.locator("#evaluation").textContent()), /Volume prévisionnel : 25 h 30/);

  // The contract: the pack, 400 € from the CPF and 600 € lent by her bank.
  await page.getByRole("link", { name: "Préparer le contrat" }).click();
  await page.getByLabel("Formule").selectOption({ index: 1 });
  await page.locator("#source-1").selectOption("cpf");
  await page.locator("#amount-1").fill("400");
  await page.locator("#reference-1").fill("CPF-2026-778");
  await page.locator("#source-2").selectOption("loan_one_euro");
  await page.locator("#amount-2").fill("600,00");
  await page.locator("#lender-2").fill("Banque Populaire");
  await look(page, "3-contract-form");
  await page.getByRole("button", { name: "Enregistrer le projet" }).click();
  await page.getByText(/Projet de contrat 2026-\d{4}\/1 enregistré\./).waitFor();
  assert.equal(await page.locator("#contract-status").textContent(), "Projet");
  assert.equal(plain(await page.locator("#own-part").textContent()), "190,00 €");

  // Signed on the school's screen: Zoé, then her mother, under the names on file.
  await page.getByLabel("Nom de l'élève, tel qu'il signe").fill("Zoe Ecuyer");
  await page.getByLabel("Lu et approuvé : j'accepte le contrat de formation.").check();
  await page.getByRole("button", { name: "Signer le contrat" }).click();
  await page.getByText("Candidat mineur : le représentant légal signe aussi.").waitFor();
  await page.getByLabel("Nom de l'élève, tel qu'il signe").fill("Zoé Écuyer");
  await page.getByLabel("Nom du représentant légal, tel qu'il signe").fill("Claire Écuyer");
  await page.getByLabel("Lu et approuvé : j'accepte le contrat de formation.").check();
  await page.getByRole("button", { name: "Signer le contrat" }).click();
  await page.getByText(/Contrat 2026-\d{4}\/1 signé : la formule est vendue/).waitFor();
  assert.equal(await page.locator("#contract-status").textContent(), "Signé");
  assert.match(plain(await page.locator("#signature").textContent()), /Signé par Zoé Écuyer · et par Claire Écuyer \(représentant légal\)/);
  await look(page, "4-signed");

  // The PDF, downloaded through the browser and read back.
  const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#contract-pdf").click()]);
  assert.match(download.suggestedFilename(), /^contrat-2026-\d{4}-1\.pdf$/);
  const file = await download.path();
  assert.equal(readFileSync(file).subarray(0, 5).toString(), "%PDF-");
  let text = null;
  try {
    text = execFileSync("pdftotext", ["-layout", file, "-"], { encoding: "utf8" });
  } catch (error) {
    if (error.code !== "ENOENT" || process.env.CI) throw error;
    console.log("pdftotext is not installed: not checked");
  }
  if (text !== null) {
    const flat = plain(text).replace(/ +/g, " ");
    for (const expected of ["L213-2", "E 21 013 0042 0", "Zoé Écuyer", "Claire Écuyer", "25 h 30", "Banque Populaire", "CPF-2026-778", "190,00"]) {
      assert.ok(flat.includes(expected), `${expected} in the PDF:\n${text}`);
    }
  }

  // The invoice's schedule names who pays each part.
  await page.goto(`${server.url}/school/candidates/${zoe.id}`);
  const parts = (await page.locator("table.schedule").first().locator("tbody tr").allTextContents()).map((r) => plain(r).replace(/ +/g, " "));
  assert.match(parts[0], /^1 \d{2}\/\d{2}\/\d{4} 190,00 €/);
  assert.match(parts[1], /payée par CPF CPF-2026-778 400,00 €/);
  assert.match(parts[2], /payée par Permis à 1 € par jour — Banque Populaire 600,00 €/);
  await look(page, "5-file-after");
  await desk.close();
});

test("an adult candidate reads and signs her contract on her phone", async () => {
  const lea = { email: "lea.martin@exemple.fr", password: "girafe lanterne abricot voilier" };
  server.createUser(lea.email, "candidate", lea.password);
  const users = await call("GET", "/users?limit=200");
  const account = users.find((u) => u.email === lea.email);
  const file = await call("POST", "/school/candidates", {
    user_id: account.id, first_name: "Léa", last_name: "Martin", category: "B", email: lea.email, birth_date: "1995-03-02",
  });
  await call("POST", `/school/candidates/${file.id}/evaluations`, { result: "À l'aise", forecast_minutes: 1200 });
  const contract = await call("POST", `/school/candidates/${file.id}/contracts`, { pack_id: pack.id, instalments: 3 });

  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: "fr-FR" });
  const mine = await phone.newPage();
  mine.setDefaultTimeout(10_000);
  await signIn(mine, "/", lea);
  await mine.waitForURL(`${server.url}/portal`);
  await mine.getByRole("heading", { name: "Mon dossier" }).waitFor();
  await mine.locator("#missing-pieces li", { hasText: "Pièce d'identité" }).waitFor();
  await look(mine, "6-portal-phone");
  await mine.getByRole("link", { name: `Lire et signer mon contrat ${contract.number}` }).click();
  await mine.waitForURL(`${server.url}/portal/contracts/${contract.id}`);
  assert.equal(await mine.getByLabel("Nom du représentant légal, tel qu'il signe").count(), 0);
  await mine.getByLabel("Nom de l'élève, tel qu'il signe").fill("léa martin");
  await mine.getByLabel("Lu et approuvé : j'accepte le contrat de formation.").check();
  await mine.getByRole("button", { name: "Signer le contrat" }).click();
  await mine.getByText("Merci : votre contrat est signé.").waitFor();
  assert.equal(await mine.locator("#contract-status").textContent(), "Signé");
  const wide = await mine.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 390, `nothing wider than the phone (${wide}px)`);
  await look(mine, "7-signed-phone");
  const signed = await call("GET", `/school/contracts/${contract.id}`);
  assert.equal(signed.signature.method, "screen");
  assert.equal(signed.signature.recorded_by, account.id);
  await phone.close();
});
