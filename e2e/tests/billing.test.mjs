// A garage gets paid, in a real browser: completed work is invoiced in one click,
// issued, e-mailed (the page says the e-mail will not leave without a mail
// server), downloaded as a PDF that independent readers check (pdftotext, the
// factur-x validator), paid in two goes at the counter — the customer reminded
// in between, the second by mobile money —, and finally corrected by a credit note. A second journey asks a
// deposit on an accepted quote, has it paid, and sees the final invoice deduct it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
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

// What a command-line reader prints of `file`; null (with a note) where it is
// not installed outside CI.
function read(command, args) {
  try {
    return execFileSync(command, args, { encoding: "utf8" });
  } catch (error) {
    // Not installed: the command is missing, or (python3 -c "import …") its module is.
    if ((error.code === "ENOENT" || args[0] === "-c") && !process.env.CI) {
      console.log(`${command} is not installed: not checked`);
      return null;
    }
    throw error;
  }
}

// Downloads the page's PDF through the browser and reads it back with
// independent readers: pdftotext must find `texts`, the factur-x validator the
// EN 16931 XML with `grandTotal`.
async function downloadAndRead(page, fileName, texts, grandTotal) {
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Télécharger le PDF" }).click(),
  ]);
  assert.equal(download.suggestedFilename(), fileName);
  const file = await download.path();
  assert.equal(readFileSync(file).subarray(0, 5).toString(), "%PDF-");
  const text = read("pdftotext", ["-layout", file, "-"]);
  if (text !== null) {
    for (const expected of texts) {
      assert.ok(text.includes(expected), `${expected} in the PDF:\n${text}`);
    }
  }
  const checker = fileURLToPath(new URL("../../crates/volant/tests/api/fixtures/facturx_check.py", import.meta.url));
  // The validator is Python's factur-x package (`.ci/run` installs it; required in CI).
  const installed = read("python3", ["-c", "import facturx"]) !== null || process.env.CI;
  const facturx = installed ? read("python3", [checker, file]) : null;
  if (facturx !== null) {
    assert.match(facturx, /^factur-x\.xml\nen16931\n/);
    assert.ok(facturx.includes(`<ram:GrandTotalAmount>${grandTotal}</ram:GrandTotalAmount>`), facturx);
  }
}

async function look(page, step) {
  await assertAccessible(page, `billing: ${step}`);
  if (process.env.E2E_SCREENSHOTS) {
    await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/billing-${step}.png`, fullPage: true });
  }
}

test("completed work is invoiced, e-mailed, part-paid, reminded, paid and corrected by a credit note", async () => {
  const call = await server.api();
  await call("PATCH", "/organization", {
    name: "Garage du Port", address: "2 quai Est\n13002 Marseille",
    registration_number: "732 829 320 00074", vat_number: "FR44732829320",
  });
  const garage = await call("POST", "/garages", { name: "Atelier du Port", address: "2 quai Est" });
  const vehicle = await call("POST", "/vehicles", {
    garage_id: garage.id, brand: "Renault", model: "Kangoo", year: 2019, license_plate: "GH-451-KL",
  });
  const client = await call("POST", "/clients", {
    kind: "company", name: "Paul Durand", company_name: "Transports Durand", tax_id: "FR40303265045",
    email: "compta@durand.example", address: "12 avenue de la Gare\n69003 Lyon",
  });
  await call("POST", `/clients/${client.id}/vehicles`, { vehicle_id: vehicle.id });
  await call("POST", "/interventions", {
    vehicle_id: vehicle.id, description: "Freins avant\nessai routier ✓ 🚗",
    lines: [
      { kind: "part", description: "Plaquettes de frein avant", quantity: 1, unit: "jeu", unit_price: "48.90" },
      { kind: "labour", description: "Remplacement plaquettes", quantity: "1,2", unit: "h", unit_price: "62", discount: "10" },
    ],
  });

  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(`${server.url}/vehicles/${vehicle.id}/maintenance`);
  await page.getByLabel("Adresse e-mail").fill(ADMIN.email);
  await page.getByLabel("Mot de passe").fill(ADMIN.password);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await page.waitForURL(/\/maintenance$/);

  // The work done, invoiced from the car's history in one click.
  await page.getByRole("button", { name: "Facturer" }).click();
  await page.getByText("Brouillon de facture créé").waitFor();
  assert.match(page.url(), /\/invoices\/\d+$/);
  // 48.90 + 1.2 × 62 − 10 % = 115.86 excl. tax; VAT 23.17; 139.03.
  assert.equal((await page.getByTestId("total-incl").textContent()).replace(/\s/g, " "), "139,03 €");
  await page.locator("span.pre", { hasText: "Remplacement plaquettes" }).waitFor();
  await look(page, "1-draft");

  await page.getByRole("button", { name: "Émettre la facture" }).click();
  const year = new Date().getFullYear();
  await page.getByText(`Facture FAC-${year}-00001 émise.`).waitFor();
  assert.equal(await page.getByTestId("invoice-state").textContent(), "Non payée");
  assert.equal(await page.getByRole("button", { name: "Émettre la facture" }).count(), 0, "issued: no second issue");
  // Without a payment provider, the page says online payment is unavailable, and why.
  assert.match(await page.locator("#online-payment-off").textContent(), /aucun prestataire de paiement n'est configuré/);
  await look(page, "2-issued");

  // E-mailed: without a mail server, the page says the e-mail will not leave.
  await page.getByRole("button", { name: "Envoyer par e-mail" }).click();
  await page.getByText(/aucun serveur d'envoi n'est configuré/).waitFor();

  // The customer opens the link the e-mail carries, on a phone, without an account.
  const link = await page.getByTestId("customer-link").getAttribute("href");
  const phone = await browser.newContext({ acceptDownloads: true, viewport: { width: 390, height: 844 }, isMobile: true });
  const customer = await phone.newPage();
  await customer.goto(link);
  await customer.getByRole("heading", { name: new RegExp(`FAC-${year}-00001`) }).waitFor();
  assert.equal((await customer.getByTestId("balance-due").textContent()).replace(/\s/g, " "), "139,03 €");
  assert.equal(await customer.getByTestId("invoice-state").textContent(), "Non payée");
  const overflow = await customer.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the customer's page fits a phone (${overflow}px too wide)`);
  await assertAccessible(customer, "billing: customer link");
  if (process.env.E2E_SCREENSHOTS) {
    await customer.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/billing-customer-link.png`, fullPage: true });
  }
  await downloadAndRead(customer, `FAC-${year}-00001.pdf`, [`FAC-${year}-00001`, "139,03"], "139.03");
  await phone.close();

  // The PDF, downloaded by the browser, read back by independent readers.
  await downloadAndRead(
    page, `FAC-${year}-00001.pdf`,
    ["FACTURE", `FAC-${year}-00001`, "Garage du Port", "Transports Durand", "139,03", "40 €"], "139.03",
  );

  // Paid at the counter in two goes.
  await page.getByLabel("Montant").fill("39,03");
  await page.getByLabel("Moyen de paiement").selectOption("cash");
  await look(page, "3-payment");
  await page.getByRole("button", { name: "Enregistrer un paiement" }).click();
  await page.getByText("Reste à payer : 100,00").waitFor();
  assert.equal(await page.getByTestId("invoice-state").textContent(), "Payée en partie");
  assert.equal(await page.getByLabel("Montant").inputValue(), "100", "the form proposes what is still due");

  // The customer is reminded of the rest by hand (the page says the e-mail
  // will not leave), once a day.
  await page.getByRole("button", { name: "Relancer le client" }).click();
  await page.getByText(/Relance enregistrée pour compta@durand\.example, mais l'e-mail ne partira pas/).waitFor();
  assert.equal(await page.getByTestId("reminder").count(), 1);
  await page.getByRole("button", { name: "Relancer le client" }).click();
  await page.getByText("Ce client a déjà été relancé aujourd'hui pour cette facture.").waitFor();
  assert.equal(await page.getByTestId("reminder").count(), 1);
  await look(page, "3b-reminded");
  await page.getByLabel("Moyen de paiement").selectOption("mobile_money");
  await page.getByLabel("Opérateur mobile money").fill("Wave");
  await page.getByLabel("Référence").fill("WV-20261204-778");
  await page.getByRole("button", { name: "Enregistrer un paiement" }).click();
  await page.getByText("Reste à payer : 0,00").waitFor();
  assert.equal(await page.getByTestId("invoice-state").textContent(), "Payée");
  await page.getByText("Mobile money · Wave").waitFor();
  await look(page, "4-paid");

  // The counter's day.
  await page.goto(`${server.url}/payments/daily`);
  assert.equal((await page.getByTestId("cash-net").textContent()).replace(/\s/g, " "), "139,03 €");
  await look(page, "5-cash");
  // The day's payments downloaded as a spreadsheet, read as the accountant would.
  const [csv] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Exporter (CSV)" }).click(),
  ]);
  assert.match(csv.suggestedFilename(), /^paiements-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
  const rows = readFileSync(await csv.path(), "utf8").replace(/^\uFEFF/, "").trim().split(/\r?\n/);
  assert.equal(rows.length, 3, `a header and two payments:\n${rows.join("\n")}`);
  assert.ok(rows[0].includes("Garage") && rows.slice(1).every((r) => r.includes("Atelier du Port")), rows.join("\n"));

  // A mistake found later: corrected by a credit note, never by changing the invoice.
  await page.goto(`${server.url}/invoices`);
  await page.getByRole("link", { name: `FAC-${year}-00001` }).click();
  await page.getByLabel("Motif").fill("Remise commerciale oubliée\nà refaire");
  await page.getByRole("button", { name: "Émettre l'avoir" }).click();
  await page.getByText(`Avoir AV-${year}-00001 émis.`).waitFor();
  await page.getByText(`Avoir relatif à la facture FAC-${year}-00001`).waitFor();
  await look(page, "6-credit-note");
  await page.goto(`${server.url}/invoices`);
  const numbers = await page.locator("main table tbody tr a.mono").allTextContents();
  assert.deepEqual(numbers, [`AV-${year}-00001`, `FAC-${year}-00001`]);
  await look(page, "7-list");
  await context.close();
});

test("a deposit is asked on an accepted quote, paid, and deducted by the final invoice", async () => {
  const call = await server.api();
  await call("PATCH", "/organization", {
    name: "Garage du Port", address: "2 quai Est\n13002 Marseille",
    registration_number: "732 829 320 00074", vat_number: "FR44732829320",
  });
  const client = await call("POST", "/clients", {
    kind: "company", name: "Léa Garnier", company_name: "Taxis Garnier", tax_id: "FR40303265045",
    address: "5 rue du Port\n13002 Marseille",
  });
  // 200 € of parts at 20 % and 2 h of labour at 50 € at 10 %: 350 € including tax.
  const quote = await call("POST", "/quotes", {
    client_id: client.id,
    lines: [
      { kind: "part", description: "Embrayage complet", unit_price: "200", vat_rate: 20 },
      { kind: "labour", description: "Pose embrayage\nessai ✓", quantity: 2, unit: "h", unit_price: "50", vat_rate: 10 },
    ],
  });
  await call("POST", `/quotes/${quote.id}/send`, {});
  await call("POST", `/quotes/${quote.id}/decision`, { decision: "accept" });

  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(`${server.url}/quotes/${quote.id}`);
  await page.getByLabel("Adresse e-mail").fill(ADMIN.email);
  await page.getByLabel("Mot de passe").fill(ADMIN.password);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await page.waitForURL(/\/quotes\/\d+$/);
  await page.getByText("Aucun acompte demandé.").waitFor();

  // 30 % asked: a deposit invoice, issued at once, VAT included rate by rate.
  await page.getByLabel("Acompte (% du total accepté)").fill("30");
  await page.getByRole("button", { name: "Facturer un acompte" }).click();
  const issued = await page.getByText(/Facture d'acompte FAC-\d{4}-\d{5} émise/).textContent();
  const depositNumber = issued.match(/FAC-\d{4}-\d{5}/)[0];
  assert.match(await page.locator("h1").textContent(), /Facture d'acompte/);
  assert.equal((await page.getByTestId("total-incl").textContent()).replace(/\s/g, " "), "105,00 €");
  await look(page, "deposit-1-issued");
  assert.equal(await page.getByLabel("Montant").inputValue(), "105", "the form proposes the deposit");
  await page.getByLabel("Moyen de paiement").selectOption("card");
  await page.getByRole("button", { name: "Enregistrer un paiement" }).click();
  await page.getByText("Reste à payer : 0,00").waitFor();
  assert.equal(await page.getByTestId("invoice-state").textContent(), "Payée");

  // Back on the quote: the deposit is listed, paid, not deducted yet.
  await page.getByTestId("deposit-quote").click();
  const listed = page.getByTestId("deposit");
  await listed.waitFor();
  const row = (await listed.textContent()).replace(/\s+/g, " ");
  for (const expected of [depositNumber, "30 %", "105,00", "Payée", "Pas encore déduit"]) {
    assert.ok(row.includes(expected), `${expected} in: ${row}`);
  }
  await look(page, "deposit-2-quote");

  // The final invoice: the whole quote less the deposit, rate by rate.
  await page.getByRole("button", { name: "Facturer", exact: true }).click();
  await page.getByText("Brouillon de facture créé").waitFor();
  await page.getByText(`Déduction de l'acompte ${depositNumber}`).first().waitFor();
  assert.equal((await page.getByTestId("total-incl").textContent()).replace(/\s/g, " "), "245,00 €");
  await look(page, "deposit-3-final-draft");
  await page.getByRole("button", { name: "Émettre la facture" }).click();
  const finalIssued = await page.getByText(/Facture FAC-\d{4}-\d{5} émise\./).textContent();
  const finalNumber = finalIssued.match(/FAC-\d{4}-\d{5}/)[0];
  await downloadAndRead(
    page, `${finalNumber}.pdf`, ["FACTURE", finalNumber, "Déduction de l'acompte", depositNumber, "245,00"], "245.00",
  );
  // The quote now says which invoice deducted its deposit.
  await page.goto(`${server.url}/quotes/${quote.id}`);
  await page.getByTestId("deposit").getByRole("link", { name: finalNumber }).waitFor();
  await look(page, "deposit-4-deducted");
  await context.close();
});
