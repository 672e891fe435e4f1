// A driving school gets paid, in a real browser: the manager adds a pack to
// the catalogue, sells it from a candidate's file in three instalments, takes
// the first at the desk from the invoice, and sees what is still owed; the
// candidate, on her phone, sees what she bought, paid and owes, and downloads
// her invoice, read back by pdftotext.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
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

async function look(page, step) {
  await assertAccessible(page, `packs: ${step}`);
  if (process.env.E2E_SCREENSHOTS) {
    await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/packs-${step}.png`, fullPage: true });
  }
}

async function signIn(page, path, who) {
  await page.goto(`${server.url}${path}`);
  await page.getByLabel("Adresse e-mail").fill(who.email);
  await page.getByLabel("Mot de passe").fill(who.password);
  await page.getByRole("button", { name: "Se connecter" }).click();
}

// Amounts as the page prints them (narrow no-break spaces as plain ones).
const plain = (text) => text.replace(/\s/g, " ").trim();

test("a pack is sold in three instalments, the first paid at the desk; the candidate sees it on her phone", async () => {
  const call = await server.api();
  await call("PATCH", "/organization", {
    name: "Auto-école du Port", address: "8 quai des Belges\n13001 Marseille",
    registration_number: "732 829 320 00074", vat_number: "FR44732829320",
  });
  const lea = { email: "lea.ecuyer@exemple.fr", password: "girafe lanterne abricot voilier" };
  server.createUser(lea.email, "candidate", lea.password);
  const users = await call("GET", "/users?limit=200");
  const account = users.find((u) => u.email === lea.email);
  const file = await call("POST", "/school/candidates", {
    user_id: account.id, first_name: "Léa", last_name: "Écuyer", category: "B", email: lea.email,
    address: "14 rue Paradis\n13006 Marseille",
  });

  const office = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await office.newPage();
  page.setDefaultTimeout(10_000);
  await signIn(page, "/school/packs", ADMIN);
  await page.waitForURL(/\/school\/packs$/);

  // The catalogue: the price including tax, as the school displays it.
  await page.getByLabel("Formule").fill("Forfait B 20 h + code");
  await page.getByLabel("Description (imprimée sur la facture)").fill("20 h de conduite\ncode en ligne illimité ✓ 🚗");
  await page.getByLabel("Heures de conduite").fill("20");
  await page.getByLabel("Prix TTC").fill("1190");
  await page.getByRole("button", { name: "Enregistrer" }).click();
  await page.getByText("Formule « Forfait B 20 h + code » enregistrée.").waitFor();
  const row = page.locator("#packs tbody tr", { hasText: "Forfait B 20 h + code" });
  assert.match(plain(await row.textContent()), /1 190,00 €/);
  await look(page, "1-catalogue");

  // Sold from her file, in three instalments starting today.
  await page.goto(`${server.url}/school/candidates/${file.id}`);
  await page.getByLabel("Formule", { exact: true }).selectOption({ index: 0 });
  await page.getByLabel("Règlement").selectOption("3");
  await page.getByRole("button", { name: "Vendre et facturer" }).click();
  await page.getByText(/Forfait B 20 h \+ code vendue : facture FAC-\d{4}-00001 émise\./).waitFor();
  assert.equal(plain(await page.getByTestId("due-now").textContent()), "396,68 €");
  assert.equal(plain(await page.getByTestId("account-balance").textContent()), "1 190,00 €");
  const schedule = page.locator("table.schedule tbody tr");
  assert.equal(await schedule.count(), 3);
  assert.match(plain(await schedule.nth(1).textContent()), /396,66 €.*À venir/);
  await look(page, "2-sold");

  // The first instalment, paid at the desk from the invoice: the form proposes it.
  await page.getByRole("link", { name: /^FAC-\d{4}-00001$/ }).click();
  await page.waitForURL(/\/invoices\/\d+$/);
  assert.equal(await page.getByLabel("Montant").inputValue(), "396,68");
  await page.getByLabel("Moyen de paiement").selectOption("card");
  await page.getByRole("button", { name: "Enregistrer un paiement" }).click();
  await page.getByText("Reste à payer : 793,32").waitFor();
  assert.equal(await page.getByTestId("invoice-state").textContent(), "Payée en partie");
  // A pack's invoice is corrected by cancelling the sale from the file, not by a credit note here.
  await page.locator("#cancel-from-file").waitFor();
  assert.equal(await page.getByRole("button", { name: "Émettre l'avoir" }).count(), 0);
  await look(page, "3-paid-first");

  // Back on her file: nothing due today, the next instalment in a month.
  await page.goto(`${server.url}/school/candidates/${file.id}`);
  assert.equal(plain(await page.getByTestId("due-now").textContent()), "0,00 €");
  assert.match(plain(await page.getByTestId("next-instalment").textContent()), /^396,66 € le \d{2}\/\d{2}\/\d{4}$/);
  await office.close();

  // Léa, on her phone: what she bought, paid and owes; her invoice downloaded.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, acceptDownloads: true });
  const mine = await phone.newPage();
  mine.setDefaultTimeout(10_000);
  await signIn(mine, "/", lea);
  await mine.waitForURL(`${server.url}/portal`);
  await mine.getByRole("heading", { name: "Achats et paiements" }).waitFor();
  assert.equal(plain(await mine.getByTestId("account-balance").textContent()), "793,32 €");
  const wide = await mine.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 390, `nothing wider than the phone (${wide}px)`);
  await look(mine, "4-portal-phone");
  const [download] = await Promise.all([
    mine.waitForEvent("download"),
    mine.getByRole("link", { name: "Télécharger (PDF)" }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^FAC-\d{4}-00001\.pdf$/);
  const pdf = await download.path();
  assert.equal(readFileSync(pdf).subarray(0, 5).toString(), "%PDF-");
  let text = null;
  try {
    text = execFileSync("pdftotext", ["-layout", pdf, "-"], { encoding: "utf8" });
  } catch (error) {
    if (error.code !== "ENOENT" || process.env.CI) throw error;
    console.log("pdftotext is not installed: not checked");
  }
  if (text !== null) {
    for (const expected of ["Léa Écuyer", "Forfait B 20 h + code", "Échéancier", "396,68", "396,66", "1 190,00"]) {
      assert.ok(text.replace(/\s/g, " ").includes(expected), `${expected} in the PDF:\n${text}`);
    }
  }
  await phone.close();
});
