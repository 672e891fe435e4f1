// Starts a real Volant server on a free loopback port with its own SQLite file.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

// The first administrator the server is started with.
export const ADMIN = { email: "chef@garage-e2e.fr", password: "cheval agrafe batterie correcte" };

// A database of its own on the PostgreSQL server of `TEST_DATABASE_URL`: its
// address, and how to drop it.
function postgresDatabase() {
  const base = new URL(process.env.TEST_DATABASE_URL);
  const name = `volant_e2e_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = ["-h", base.hostname, "-p", base.port || "5432", "-U", decodeURIComponent(base.username) || "postgres"];
  execFileSync("createdb", [...admin, name]);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => execFileSync("dropdb", [...admin, "--force", name]) };
}

// Whether the browser tests can also run on PostgreSQL (CI always sets it).
export const HAS_POSTGRES = Boolean(process.env.TEST_DATABASE_URL);

// `env`: more settings for this server (its own limits, say); `backend`:
// "sqlite" (a file of its own) or "postgres" (a database of its own).
export async function startServer(env = {}, backend = "sqlite") {
  const bin = process.env.VOLANT_BIN || path.join(root, "target", "debug", "volant");
  const dir = mkdtempSync(path.join(tmpdir(), "volant-e2e-"));
  const postgres = backend === "postgres" ? postgresDatabase() : null;
  const databaseUrl = postgres ? postgres.url : `sqlite://${dir}/e2e.db?mode=rwc`;
  const child = spawn(bin, ["serve"], {
    env: {
      ...process.env,
      VOLANT_ADDR: "127.0.0.1:0",
      DATABASE_URL: databaseUrl,
      VOLANT_ENCRYPTION_KEY_FILE: `${dir}/volant.keys`,
      VOLANT_MAIL_OUTBOX_DIR: `${dir}/outbox`,
      // Report files and the like stay in the run's own folder, not in the checkout.
      VOLANT_FILES_DIR: `${dir}/files`,
      VOLANT_LOG_FORMAT: "json",
      VOLANT_ADMIN_EMAIL: ADMIN.email,
      VOLANT_ADMIN_PASSWORD: ADMIN.password,
      RUST_LOG: "info",
      // Nothing beyond loopback: no geocoder, no weather service, and map tiles
      // from a closed local port (maps give way to their list) unless a test serves some.
      VOLANT_GEOCODER_URL: "off",
      VOLANT_WEATHER_URL: "off",
      VOLANT_MAP_TILE_URL: "http://127.0.0.1:9/{z}/{x}/{y}.png",
      ...env,
    },
    stdio: ["ignore", "inherit", "pipe"],
  });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("server did not start within 30 s")), 30_000);
    let buffer = "";
    child.stderr.on("data", (chunk) => {
      if (process.env.E2E_SERVER_LOGS) process.stderr.write(chunk);
      buffer += chunk.toString();
      const match = buffer.match(/open (http:\/\/127\.0\.0\.1:\d+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}`)));
    child.on("error", (err) => reject(new Error(`cannot start ${bin}: ${err.message}`)));
  });
  // `volant <args>` on this server's database and files, as an operator types it
  // beside the running server: its standard output, or a thrown error with its
  // standard error when it fails.
  const command = (args, more = {}) =>
    execFileSync(bin, args, {
      env: { ...process.env, ...env, DATABASE_URL: databaseUrl, VOLANT_ENCRYPTION_KEY_FILE: `${dir}/volant.keys`, VOLANT_FILES_DIR: `${dir}/files`, VOLANT_MAIL_OUTBOX_DIR: `${dir}/outbox`, RUST_LOG: "warn", ...more },
      stdio: ["ignore", "pipe", "pipe"],
      encoding: "utf8",
    });
  return {
    url,
    dir,
    command,
    // Where e-mails are written: no SMTP server is configured.
    outbox: `${dir}/outbox`,
    // Creates a user with `volant create-user`, as an operator would.
    createUser(email, role, password) {
      command(["create-user", "--email", email, "--role", role], { VOLANT_NEW_USER_PASSWORD: password });
    },
    // Fills the database with the demo, as `volant seed-demo` does for a newcomer;
    // answers the password of the demo's accounts, as the command prints it.
    seedDemo() {
      const out = command(["seed-demo"]);
      const match = out.match(/Mot de passe de ces comptes : (\S+)/);
      if (!match) throw new Error(`seed-demo printed no password:\n${out}`);
      return match[1];
    },
    // A bearer token for the administrator, through the real sign-in endpoint.
    async token() {
      const response = await fetch(`${url}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(ADMIN),
      });
      if (response.status !== 200) throw new Error(`login failed: ${response.status}`);
      return (await response.json()).access_token;
    },
    // `call(method, path, body)`: the JSON API as the administrator; a refusal fails the test.
    async api() {
      const headers = { "content-type": "application/json", authorization: `Bearer ${await this.token()}` };
      return async (method, path, body) => {
        const response = await fetch(`${url}/api/v1${path}`, { method, headers, body: body && JSON.stringify(body) });
        if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
        return response.json();
      };
    },
    async stop() {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
      rmSync(dir, { recursive: true, force: true });
      postgres?.drop();
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

// axe-core's engine, evaluated in the page (an evaluation is not a page script:
// the page's Content-Security-Policy does not apply to it).
const axeSource = readFileSync(path.join(root, "e2e", "node_modules", "axe-core", "axe.min.js"), "utf8");

// Runs axe-core on the page as it is; fails on any serious or critical violation.
export async function assertAccessible(page, label) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const grave = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const described = grave.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
  if (grave.length > 0) throw new Error(`${label}: accessibility violations\n${described.join("\n")}`);
}

// Signs `who` in on the sign-in page (the page is taken there first).
export async function signIn(page, server, who) {
  await page.goto(`${server.url}/login`);
  await page.getByLabel("Adresse e-mail").fill(who.email);
  await page.getByLabel("Mot de passe").fill(who.password);
  await page.getByRole("button", { name: "Se connecter", exact: true }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"));
}
