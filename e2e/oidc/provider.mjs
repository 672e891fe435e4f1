// A real OpenID provider for Volant's single sign-on tests: the certified
// `oidc-provider` package on a loopback port, with dynamic client registration
// (RFC 7591: a test registers Volant's callback address), PKCE required, and the
// people below. The login screen is out of scope: an authorization request signs in
// the account its `login_hint` names (an unknown one is refused, `access_denied`).
// For the refusal tests, `POST /test/tamper` with `signature` (the next ID token's
// payload altered after signing) or `replay` (the next token answer carries the
// previous ID token, whose nonce is another sign-in's), `none` to stop; and
// `POST /test/as` with an account's id: the next sign-in is that account's,
// whatever the hint (someone signed in at the provider as somebody else).
//
// Run on its own (`node e2e/oidc/provider.mjs`) it prints `issuer <url>` once
// listening; imported, `startProvider()` answers `{ issuer, close }`.
import http from "node:http";
import { fileURLToPath } from "node:url";
import Provider from "oidc-provider";

export const ACCOUNTS = {
  ana: { email: "ana@garage-sso.fr", email_verified: true, name: "Ana Martin", groups: ["chefs-atelier"] },
  bruno: { email: "bruno@garage-sso.fr", email_verified: true, name: "Bruno Petit", groups: ["mecaniciens"] },
  zoe: { email: "zoe@garage-sso.fr", email_verified: true, name: "Zoé Lefèvre", groups: [] },
  lea: { email: "lea@garage-sso.fr", email_verified: false, name: "Léa Roux", groups: ["mecaniciens"] },
  eve: { email: "eve@ailleurs.example", email_verified: true, name: "Eve Dupuis", groups: ["chefs-atelier"] },
};

function accountByEmail(email) {
  const wanted = String(email || "").toLowerCase();
  return Object.keys(ACCOUNTS).find((id) => ACCOUNTS[id].email === wanted);
}

export async function startProvider() {
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    findAccount: async (_ctx, id) =>
      ACCOUNTS[id] && { accountId: id, claims: async () => ({ sub: id, ...ACCOUNTS[id] }) },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"], groups: ["groups"] },
    scopes: ["openid", "email", "profile", "groups"],
    // The claims asked by scope go into the ID token too, as Entra, Google and Keycloak do.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false }, registration: { enabled: true } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
    cookies: { keys: ["volant-test-provider"] },
    clientDefaults: { grant_types: ["authorization_code"], response_types: ["code"], token_endpoint_auth_method: "client_secret_basic" },
  });
  let tamper = "none";
  let nextAccount = null;
  let lastIdToken = null;
  const readBody = (req) =>
    new Promise((resolve) => {
      let text = "";
      req.on("data", (c) => (text += c));
      req.on("end", () => resolve(text.trim()));
    });
  provider.use(async (ctx, next) => {
    if (ctx.method === "POST" && ctx.path === "/test/tamper") {
      tamper = (await readBody(ctx.req)) || "none";
      ctx.body = { tamper };
      return;
    }
    if (ctx.method === "POST" && ctx.path === "/test/as") {
      nextAccount = (await readBody(ctx.req)) || null;
      ctx.body = { as: nextAccount };
      return;
    }
    if (ctx.path.startsWith("/interaction/")) {
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      const accountId = nextAccount || accountByEmail(details.params.login_hint);
      nextAccount = null;
      let result;
      if (!accountId) {
        result = { error: "access_denied", error_description: "unknown account" };
      } else {
        const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
        grant.addOIDCScope(String(details.params.scope));
        result = { login: { accountId }, consent: { grantId: await grant.save() } };
      }
      ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false }));
      return;
    }
    await next();
    if (ctx.path === "/token" && ctx.body && ctx.body.id_token) {
      const issued = ctx.body.id_token;
      if (tamper === "signature") {
        const [head, payload, signature] = issued.split(".");
        const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
        claims.email = "admin@garage-sso.fr";
        ctx.body = { ...ctx.body, id_token: [head, Buffer.from(JSON.stringify(claims)).toString("base64url"), signature].join(".") };
        tamper = "none";
      } else if (tamper === "replay" && lastIdToken) {
        ctx.body = { ...ctx.body, id_token: lastIdToken };
        tamper = "none";
      }
      lastIdToken = issued;
    }
  });
  server.on("request", provider.callback());
  return { issuer, close: () => new Promise((resolve) => server.close(resolve)) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { issuer } = await startProvider();
  console.log(`issuer ${issuer}`);
}
