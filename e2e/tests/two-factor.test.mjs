// Two-factor sign-in as a manager lives it, on a phone: the organization requires
// it, so the first sign-in leads to setting it up (the key typed into the app,
// since a test cannot scan the QR code); the codes are computed here by an
// independent RFC 6238 implementation (node's crypto), as the phone's app would.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { startServer, launchBrowser, assertAccessible, signIn } from "./server.mjs";

const MANAGER = { email: "responsable@garage-e2e.fr", password: "cheval agrafe batterie correcte" };

let server;
let browser;

before(async () => {
  server = await startServer({ VOLANT_LOGIN_ATTEMPTS_PER_MINUTE: "30" });
  browser = await launchBrowser();
  server.createUser(MANAGER.email, "manager", MANAGER.password);
  const call = await server.api();
  await call("PATCH", "/organization", { require_two_factor: true });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of text.replace(/\s|=/g, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

// RFC 6238 with SHA-1, six digits, 30-second steps; `offset` in steps.
function totp(secret, offset = 0) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + offset));
  const mac = createHmac("sha1", base32(secret)).update(counter).digest();
  const at = mac[mac.length - 1] & 0xf;
  const number = (mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000;
  return String(number).padStart(6, "0");
}

async function assertFitsTheScreen(page) {
  const overflow = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
}

test("a manager sets up two-factor sign-in on their phone, then signs in with a code and with a recovery code", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await signIn(page, server, MANAGER);
  // The organization requires it: the set-up comes before anything else.
  await page.waitForURL(/\/profile\/two-factor$/);
  await page.getByText("Votre organisation exige la double authentification pour votre rôle").first().waitFor();
  await page.goto(`${server.url}/garages`);
  await page.waitForURL(/\/profile\/two-factor$/);
  assert.ok(await page.locator(".qr svg").isVisible(), "the QR code is shown");
  await assertFitsTheScreen(page);
  await assertAccessible(page, "two-factor set-up");

  const secret = (await page.locator("#totp-secret").textContent()).trim();
  await page.getByLabel("Code de vérification").fill("000000");
  await page.getByRole("button", { name: "Activer" }).tap();
  await page.getByText("Ce code ne correspond pas").waitFor();
  await page.getByLabel("Code de vérification").fill(totp(secret));
  await page.getByRole("button", { name: "Activer" }).tap();
  await page.getByRole("heading", { name: "Vos codes de secours" }).waitFor();
  const codes = await page.locator("#recovery-codes li").allTextContents();
  assert.equal(codes.length, 10);
  await assertFitsTheScreen(page);

  // The pages open now; signing out and in again asks for the code.
  await page.goto(`${server.url}/garages`);
  await page.waitForURL(/\/garages$/);
  await page.goto(`${server.url}/login`);
  await context.clearCookies();
  await page.goto(`${server.url}/login`);
  await page.getByLabel("Adresse e-mail").fill(MANAGER.email);
  await page.getByLabel("Mot de passe").fill(MANAGER.password);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await page.waitForURL(/\/login\/two-factor/);
  await page.getByRole("heading", { name: "Vérification en deux étapes" }).waitFor();
  assert.equal(await page.getByLabel("Code de vérification").getAttribute("autocomplete"), "one-time-code");
  await assertFitsTheScreen(page);
  await assertAccessible(page, "two-factor challenge");
  // The code that confirmed the set-up was used: the app's next one is taken.
  await page.getByLabel("Code de vérification").fill(totp(secret, 1));
  // A double tap sends the form once (a second sending would find the pending
  // sign-in spent and land on the sign-in page).
  await page.locator("form[action='/login/two-factor']").evaluate((form) => {
    form.requestSubmit();
    setTimeout(() => form.requestSubmit(), 30);
  });
  // Where the page comes to rest (the first navigation is cut short by the second).
  let settled = "";
  for (let i = 0; i < 40 && settled !== page.url(); i++) {
    settled = page.url();
    await page.waitForLoadState("load").catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.ok(!new URL(page.url()).pathname.startsWith("/login"), `signed in, at ${page.url()}`);

  // Without the phone: a recovery code, once.
  await context.clearCookies();
  await page.goto(`${server.url}/login`);
  await page.getByLabel("Adresse e-mail").fill(MANAGER.email);
  await page.getByLabel("Mot de passe").fill(MANAGER.password);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await page.waitForURL(/\/login\/two-factor/);
  await page.getByLabel("Code de vérification").fill(codes[0]);
  await page.getByRole("button", { name: "Vérifier" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"));
  await page.goto(`${server.url}/profile/two-factor`);
  assert.equal((await page.locator("#codes-left").textContent()).trim(), "9");
  await context.close();
});
