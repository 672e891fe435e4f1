// The platform operator looks after backups: encrypted backups and a restore
// drill made by the commands they type beside the server, then the status page
// says the drill succeeded; a damaged backup fails the next drill, which the
// status page and the operator's notifications say.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import path from "node:path";
import { startServer, launchBrowser, assertAccessible, signIn, ADMIN } from "./server.mjs";

let server;
let browser;
let keys;

before(async () => {
  keys = mkdtempSync(path.join(tmpdir(), "volant-e2e-keys-"));
  const bin = process.env.VOLANT_BIN || path.resolve("..", "target", "debug", "volant");
  const key = execFileSync(bin, ["generate-backup-key"], { encoding: "utf8" });
  writeFileSync(`${keys}/backup.key`, key, { mode: 0o600 });
  const recipient = key.match(/^# public key \(VOLANT_BACKUP_RECIPIENTS\): (age1\S+)$/m)[1];
  server = await startServer({
    VOLANT_BACKUP_DIR: `${keys}/backups`,
    VOLANT_BACKUP_RECIPIENTS: recipient,
    VOLANT_BACKUP_IDENTITY_FILE: `${keys}/backup.key`,
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(keys, { recursive: true, force: true });
});

async function shot(page, name) {
  if (process.env.E2E_SCREENSHOTS) {
    await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/${name}.png`, fullPage: true });
  }
}

test("the operator sees an encrypted backup's drill succeed, then a damaged one's fail", async () => {
  server.seedDemo();
  const made = server.command(["backup"]).trim();
  assert.match(made, /volant-.*\.db\.age$/);
  assert.match(server.command(["restore-drill"]), /restored and checked/);

  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, server, ADMIN);
  await page.goto(`${server.url}/admin/status`);
  const drill = page.locator("#restore-drill");
  await assert.doesNotReject(drill.getByText("réussi", { exact: true }).waitFor());
  assert.match(await drill.innerText(), /tables, \d+ rows and 0 files restored and checked/);
  assert.match(await drill.innerText(), /Tous les 30 jours/);
  const details = await page.locator("dl").innerText();
  assert.match(details, /dernière sauvegarde[\s\S]*chiffrées/i);
  assert.doesNotMatch(details, /non chiffrées/i);
  await assertAccessible(page, "status page");
  await shot(page, "operations-drill-succeeded");

  // The newest backup damaged in storage (the server's workers may have made one
  // too): the next drill fails, and says so everywhere.
  const backups = `${keys}/backups`;
  const file = readdirSync(backups).filter((name) => name.endsWith(".db.age")).sort().at(-1);
  const bytes = readFileSync(`${backups}/${file}`);
  bytes[Math.floor(bytes.length / 2)] ^= 0x55;
  writeFileSync(`${backups}/${file}`, bytes);
  assert.throws(() => server.command(["restore-drill"]), /restore drill failed: .*damaged/);
  await page.reload();
  await assert.doesNotReject(drill.getByText("échoué", { exact: true }).waitFor());
  const said = await drill.innerText();
  assert.match(said, /damaged/);
  assert.match(said, /Dernier exercice réussi :/);
  await shot(page, "operations-drill-failed");
  await page.goto(`${server.url}/notifications`);
  await assert.doesNotReject(page.getByText("Échec de l'exercice de restauration").first().waitFor());
  await context.close();
});
