// An administrator connects the school's ERP with a webhook, as they would: the
// Webhooks page, the ERP's address, the events it wants; a test from the
// endpoint's page, then a real event. The ERP here is an HTTP server on loopback
// that checks every signature with node's own HMAC, as a receiver must.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createHmac } from "node:crypto";
import { startServer, launchBrowser, assertAccessible, signIn, ADMIN } from "./server.mjs";

let server;
let browser;
let erp;
const received = [];

before(async () => {
  erp = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      received.push({ headers: request.headers, body });
      response.writeHead(200, { "content-type": "text/plain" });
      response.end("ok");
    });
  });
  await new Promise((resolve) => erp.listen(0, "127.0.0.1", resolve));
  // The ERP is on loopback: this instance allows it (production refuses internal addresses).
  server = await startServer({ VOLANT_WEBHOOK_ALLOW_PRIVATE_HOSTS: "true" });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  erp?.close();
});

function signed(secret, { headers, body }) {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`).digest("base64");
  return headers["webhook-signature"].split(" ").includes(`v1,${expected}`);
}

async function until(what, check) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const found = await check();
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test("an administrator subscribes the ERP to new candidates, tries it, and sees each delivery", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await signIn(page, server, ADMIN);
  await page.goto(`${server.url}/admin/webhooks`);
  await page.getByRole("heading", { name: "Webhooks" }).waitFor();
  await page.getByText("Aucune adresse abonnée pour l'instant.").waitFor();
  await assertAccessible(page, "webhooks page");

  const address = `http://127.0.0.1:${erp.address().port}/volant`;
  await page.getByLabel("Adresse (URL)").fill(address);
  await page.getByLabel("Description").fill("ERP de l'école — élèves 🎓");
  await page.getByRole("button", { name: "Ajouter une adresse" }).click();
  await page.getByText("Choisissez au moins un événement.").waitFor();
  await page.getByLabel(/Élève inscrit/).check();
  await page.getByRole("button", { name: "Ajouter une adresse" }).click();
  await page.waitForURL(/\/admin\/webhooks\/\d+$/);
  await page.getByText("copiez la clé de signature").waitFor();
  const secret = (await page.locator("#webhook-secret").textContent()).trim();
  assert.match(secret, /^whsec_/);
  await assertAccessible(page, "webhook endpoint page");

  await page.getByRole("button", { name: "Envoyer un test" }).click();
  const ping = await until("the ping", () => received.find((r) => JSON.parse(r.body).type === "ping"));
  assert.ok(signed(secret, ping), "the ping is signed with the key shown");
  await until("the delivery shown as received", async () => {
    await page.reload();
    return (await page.locator("#deliveries").getByText("Reçu").count()) > 0;
  });

  // A candidate registered at the desk reaches the ERP, without their name.
  const call = await server.api();
  const lea = await call("POST", "/school/candidates", { first_name: "Léa", last_name: "Nguyễn", category: "B" });
  const event = await until("the candidate event", () => received.find((r) => JSON.parse(r.body).type === "candidate.created"));
  assert.ok(signed(secret, event));
  assert.equal(JSON.parse(event.body).data.candidate_id, lea.id);
  assert.doesNotMatch(event.body, /Nguyễn/);
  await page.reload();
  await page.locator("#deliveries").getByText("candidate.created", { exact: true }).waitFor();

  // Sent again from the log: the same message id, a fresh signature.
  const before = received.length;
  await page.locator("#deliveries tr", { hasText: "candidate.created" }).getByRole("button", { name: "Renvoyer" }).click();
  await page.getByText("Envoi programmé de nouveau.").waitFor();
  const replay = await until("the replay", () => received.length > before && received[received.length - 1]);
  assert.equal(replay.headers["webhook-id"], event.headers["webhook-id"]);
  assert.equal(replay.body, event.body);
  assert.ok(signed(secret, replay));
  await context.close();
});
