// Maps and weather (issue 23), as their users meet them, on the demo, with the
// outside services played by one local server: map tiles, a Nominatim-compatible
// geocoder and an Open-Meteo-compatible forecast announcing a storm. The garage
// manager finds the garages on a map, adds one located from its address, pins it
// by hand, and still reads the addresses when the tiles are down; a client's page
// says which garage is nearest. The school manager sees the stormy lessons on the
// planning and cancels one for weather in one click; the instructor sees the
// warning on his phone.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startServer, launchBrowser, assertAccessible } from "./server.mjs";

// A 1×1 PNG: what the tile server serves for every tile.
const TILE = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);

// The outside world: tiles (unless `tilesDown`), geocoding (every address lands
// near Lyon's centre, a little further for each letter), and a stormy week.
function startServices() {
  const state = { tilesDown: false, tiles: 0, searches: [] };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://localhost");
    if (url.pathname.startsWith("/tiles/")) {
      state.tiles += 1;
      if (state.tilesDown) { res.writeHead(503).end(); return; }
      res.writeHead(200, { "content-type": "image/png" }).end(TILE);
      return;
    }
    if (url.pathname === "/search") {
      const q = url.searchParams.get("q") || "";
      state.searches.push(q);
      const shift = (q.length % 20) / 1000;
      const body = [{ lat: String(45.757 + shift), lon: String(4.832 + shift), display_name: q }];
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
      return;
    }
    if (url.pathname === "/v1/forecast") {
      const start = Math.floor(Date.now() / 86_400_000) * 86_400;
      const time = Array.from({ length: 8 * 24 }, (_, h) => start + h * 3600);
      const fill = (v) => time.map(() => v);
      const hourly = { time, precipitation: fill(2), temperature_2m: fill(11), wind_gusts_10m: fill(95), snowfall: fill(0) };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ hourly }));
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => {
    resolve({ state, url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() });
  }));
}

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
const DESK = { viewport: { width: 1280, height: 800 } };

let services;
let server;
let browser;
let password;

before(async () => {
  services = await startServices();
  server = await startServer({
    VOLANT_GEOCODER_URL: services.url,
    VOLANT_GEOCODER_INTERVAL_MS: "0",
    VOLANT_WEATHER_URL: services.url,
    VOLANT_MAP_TILE_URL: `${services.url}/tiles/{z}/{x}/{y}.png`,
    VOLANT_MAP_ATTRIBUTION: "Tuiles de test © OpenStreetMap",
  });
  password = server.seedDemo();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  services?.close();
});

async function signIn(page, email) {
  await page.goto(`${server.url}/login`);
  await page.getByLabel("Adresse e-mail").fill(email);
  await page.getByLabel("Mot de passe").fill(password);
  await page.getByRole("button", { name: "Se connecter", exact: true }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"));
}

// Reloads `path` until `text` shows (a job's work), 20 s at most.
async function reloadUntil(page, path, text) {
  for (let i = 0; i < 40; i += 1) {
    await page.goto(`${server.url}${path}`);
    if (await page.getByText(text).count()) return;
    await page.waitForTimeout(500);
  }
  throw new Error(`${path}: « ${text} » never showed`);
}

async function look(page, label) {
  await assertAccessible(page, label);
  if (process.env.E2E_SCREENSHOTS) {
    await page.screenshot({ path: `${process.env.E2E_SCREENSHOTS}/maps-${label.replace(/\W+/g, "-")}.png`, fullPage: true });
  }
}

function journey(title, options, walk) {
  test(title, async () => {
    const context = await browser.newContext({ ...options, locale: "fr-FR" });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    try {
      await walk(page);
    } finally {
      await context.close();
    }
  });
}

// Tomorrow in the school's time zone, as the planning's `week` parameter takes it.
function tomorrow() {
  const day = new Date(Date.now() + 86_400_000);
  return day.toLocaleDateString("sv-SE", { timeZone: "Europe/Paris" });
}

describe("maps and weather", () => {
  journey("the garage manager finds the garages on a map, adds one, pins it, and keeps the addresses without tiles", DESK, async (page) => {
    await signIn(page, "gerant@volant-demo.example");
    await page.goto(`${server.url}/garages`);
    await page.getByRole("link", { name: "Carte des garages" }).click();
    await page.waitForURL(/\/garages\/map$/);
    // The demo's three garages, on tiles from the configured server, with their attribution.
    await page.locator(".leaflet-marker-icon").nth(2).waitFor();
    assert.equal(await page.locator(".leaflet-marker-icon").count(), 3);
    await page.locator("img.leaflet-tile-loaded").first().waitFor();
    assert.match(await page.locator(".leaflet-control-attribution").textContent(), /Tuiles de test © OpenStreetMap/);
    await page.locator(".leaflet-marker-icon[title='Garage du Centre']").click();
    await page.locator(".leaflet-popup a", { hasText: "Garage du Centre" }).waitFor();
    await look(page, "manager-1-map");

    // A new garage is placed from its address by the geocoder.
    await page.goto(`${server.url}/garages/new`);
    await page.getByLabel("Nom").fill("Garage Bellecour");
    await page.getByLabel("Adresse").fill("5 place Bellecour");
    await page.getByLabel("Ville").fill("Lyon");
    await page.getByRole("button", { name: "Enregistrer" }).click();
    await page.waitForURL(/\/garages\/\d+$/);
    const garagePath = new URL(page.url()).pathname;
    await reloadUntil(page, garagePath, "Trouvée d'après l'adresse");
    assert.ok(services.state.searches.some((q) => q.startsWith("5 place Bellecour")), services.state.searches.join(" | "));
    await page.locator(".leaflet-marker-icon").waitFor();

    // Pinned by hand: a tap on the form's map fills the coordinates.
    await page.getByRole("link", { name: "Modifier" }).click();
    const map = page.locator(".map-pick");
    await map.waitFor();
    await page.locator(".map-pick img.leaflet-tile-loaded").first().waitFor();
    await map.scrollIntoViewIfNeeded();
    const box = await map.boundingBox();
    await page.mouse.click(box.x + box.width / 2 + 40, box.y + box.height / 2 - 30);
    assert.match(await page.getByLabel("Latitude").inputValue(), /^4\d\.\d+$/);
    assert.match(await page.getByLabel("Longitude").inputValue(), /^\d\.\d+$/);
    await look(page, "manager-2-pin");
    await page.getByRole("button", { name: "Enregistrer" }).click();
    await page.waitForURL(/\/garages\/\d+$/);
    await page.getByText("Placée à la main sur la carte").waitFor();

    // The tile server goes down: the map gives way, the addresses stay.
    services.state.tilesDown = true;
    await page.goto(`${server.url}/garages/map`);
    await page.getByText("La carte ne peut pas s'afficher").waitFor({ timeout: 15_000 });
    assert.equal(await page.locator(".map").isVisible(), false);
    await page.locator("[data-places] li", { hasText: "Garage Bellecour — 5 place Bellecour, Lyon" }).waitFor();
    await look(page, "manager-3-no-tiles");
    services.state.tilesDown = false;

    // A client with an address: the nearest garages, as the crow flies.
    await page.goto(`${server.url}/clients/new`);
    await page.getByLabel("Nom").first().fill("Inès Vidal");
    await page.getByLabel("Adresse").fill("14 rue Mercière\n69002 Lyon");
    await page.getByRole("button", { name: "Enregistrer" }).click();
    await page.waitForURL(/\/clients\/\d+$/);
    const clientPath = new URL(page.url()).pathname;
    await reloadUntil(page, clientPath, "à vol d'oiseau");
    const nearest = await page.locator("[data-distances] li").allTextContents();
    assert.ok(nearest.length >= 2, nearest.join(" | "));
    assert.match(nearest[0], /^Garage (Bellecour|du Centre) — [\d,]+ (km|m) à vol d'oiseau$/);
    await look(page, "manager-4-client");
  });

  journey("the school manager sees the storm on the planning and cancels a lesson for weather in one click", DESK, async (page) => {
    await signIn(page, "gerant@volant-demo.example");
    await page.goto(`${server.url}/school/weather`);
    assert.equal(await page.getByLabel("Pluie sur la journée (mm) · risque moyen").inputValue(), "10");
    assert.equal(await page.getByLabel("Pluie sur la journée (mm) · risque élevé").inputValue(), "20");
    await look(page, "school-1-thresholds");
    // Saving the thresholds assesses the coming lessons again at once.
    await page.getByRole("button", { name: "Enregistrer" }).click();
    await page.getByText("Seuils météo enregistrés.").waitFor();
    const planning = `/school/planning?view=3days&week=${tomorrow()}`;
    await reloadUntil(page, planning, "Météo : risque élevé");
    await look(page, "school-2-planning");
    await page.locator(".lesson", { has: page.locator("[data-weather='high']") }).first().locator("a").first().click();
    await page.waitForURL(/\/school\/lessons\/\d+$/);
    await page.getByText("Météo : risque élevé").waitFor();
    await page.getByText("pluie 48 mm, rafales 95 km/h").waitFor();
    await look(page, "school-3-lesson");
    const lessonPath = new URL(page.url()).pathname;
    await page.getByRole("button", { name: "Annuler pour météo" }).click();
    await page.getByText("Leçon annulée.").waitFor();
    await page.goto(`${server.url}${lessonPath}`);
    const cancelledBy = await page.locator("dt", { hasText: "Annulée à la demande de" }).locator("xpath=..").textContent();
    assert.match(cancelledBy, /Météo · Météo : pluie 48 mm, rafales 95 km\/h/);
    assert.equal(await page.getByText("hors délai").count(), 0, "never charged");
  });

  journey("the instructor sees the warning on his phone", PHONE, async (page) => {
    await signIn(page, "moniteur@volant-demo.example");
    await page.goto(`${server.url}/school/planning?view=3days&week=${tomorrow()}`);
    const badge = page.locator(".agenda .weather-badge").first();
    await badge.waitFor();
    assert.equal(await badge.textContent(), "Météo : risque élevé");
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `nothing wider than the phone (${width}px)`);
    await look(page, "instructor-1-agenda");
    await page.goto(`${server.url}/notifications`);
    await page.getByText(/Météo à risque élevé pour (la leçon du|\d+ leçons)/).first().waitFor();
    await look(page, "instructor-2-notifications");
  });
});
