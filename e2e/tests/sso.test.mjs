// Single sign-on as a garage's administrator and its people use it: the
// administrator connects the company's OpenID provider from the Administration
// menu (a real provider, the `oidc-provider` package, on loopback), then a
// workshop manager signs in with their work e-mail and no password, and a mechanic
// does the same on a phone; someone signed in at the provider with an address
// outside the garage's domain is refused, and told why.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, assertAccessible, signIn, ADMIN } from "./server.mjs";
import { startProvider } from "../oidc/provider.mjs";

let server;
let browser;
let provider;

before(async () => {
  provider = await startProvider();
  // The provider is on loopback: this instance allows it (production refuses internal addresses).
  server = await startServer({ VOLANT_SSO_ALLOW_PRIVATE_HOSTS: "true", VOLANT_LOGIN_ATTEMPTS_PER_MINUTE: "30" });
  browser = await launchBrowser();
});

// Volant registered at the provider with the address its page shows, as an
// administrator would in Entra or Keycloak.
async function register(redirectUri) {
  const registered = await fetch(`${provider.issuer}/reg`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ redirect_uris: [redirectUri], client_name: "Volant" }),
  });
  return registered.json();
}

after(async () => {
  await browser?.close();
  await server?.stop();
  await provider?.close();
});

async function signInWithSso(page, email) {
  await page.goto(`${server.url}/login`);
  await page.getByLabel("Adresse e-mail").fill(email);
  await page.getByRole("button", { name: "Se connecter avec l'authentification unique (SSO)" }).click();
}

test("an administrator connects the company's provider, then colleagues sign in through it", async () => {
  const admin = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await admin.newPage();
  await signIn(page, server, ADMIN);
  await page.getByRole("link", { name: "Authentification unique" }).click();
  await page.getByRole("heading", { name: "Authentification unique (SSO)" }).waitFor();
  const redirectUri = (await page.locator("#redirect-uri").textContent()).trim();
  assert.match(redirectUri, new RegExp(`^${server.url}/login/sso/callback/[0-9a-f]{24}$`));
  await assertAccessible(page, "single sign-on settings");
  const client = await register(redirectUri);

  await page.getByLabel("Émetteur (issuer)").fill(provider.issuer);
  await page.getByLabel("Identifiant client (client ID)").fill(client.client_id);
  await page.getByLabel("Secret client").fill(client.client_secret);
  await page.getByLabel("Domaines e-mail couverts").fill("garage-sso.fr");
  await page.getByLabel(/Donnés par le fournisseur/).check();
  await page.getByLabel("Attribut (claim) des rôles").fill("groups");
  await page.getByLabel("Valeur de l'attribut 1").fill("chefs-atelier");
  await page.getByLabel("Rôle dans Volant 1").selectOption({ label: "Gérant" });
  await page.getByLabel("Valeur de l'attribut 2").fill("mecaniciens");
  await page.getByLabel("Rôle dans Volant 2").selectOption({ label: "Atelier" });
  await page.getByRole("button", { name: "Enregistrer et vérifier le fournisseur" }).click();
  await page.getByText("Authentification unique enregistrée : le fournisseur a répondu.").waitFor();
  await page.getByText("Un secret est enregistré").waitFor();
  assert.equal(await page.getByLabel("Secret client").inputValue(), "", "the secret is never shown again");
  await admin.close();

  // The workshop manager: work e-mail, no password, straight to the page she asked for.
  const desk = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const ana = await desk.newPage();
  await ana.goto(`${server.url}/vehicles`);
  await ana.waitForURL(/\/login\?next=/);
  await ana.getByLabel("Adresse e-mail").fill("ana@garage-sso.fr");
  await ana.getByRole("button", { name: "Se connecter avec l'authentification unique (SSO)" }).click();
  await ana.waitForURL(`${server.url}/vehicles`);
  await ana.getByText("Ana Martin").first().waitFor();
  await desk.close();

  // A mechanic on his phone.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const bruno = await phone.newPage();
  await signInWithSso(bruno, "bruno@garage-sso.fr");
  await bruno.waitForURL((url) => !url.pathname.startsWith("/login"));
  const call = await server.api();
  const people = await call("GET", "/users");
  const roles = Object.fromEntries(people.map((u) => [u.email, u.roles]));
  assert.deepEqual(roles["ana@garage-sso.fr"], ["manager"]);
  assert.deepEqual(roles["bruno@garage-sso.fr"], ["staff"]);
  await phone.close();

  // Signed in at the provider as someone of another company: refused, and told.
  const stranger = await browser.newContext();
  const eve = await stranger.newPage();
  await fetch(`${provider.issuer}/test/as`, { method: "POST", body: "eve" });
  await signInWithSso(eve, "ana@garage-sso.fr");
  await eve.getByText("Votre adresse e-mail n'appartient pas aux domaines de cette organisation").waitFor();
  assert.equal(new URL(eve.url()).pathname, "/login", "back on the sign-in page, not on the provider's answer address");
  await assertAccessible(eve, "a refused single sign-on");
  assert.ok(!people.some((u) => u.email === "eve@ailleurs.example"));
  await stranger.close();
});
