// A client of Volant's API written against the types generated from its own
// OpenAPI document (openapi-typescript), called through openapi-fetch. It is
// type-checked by tsc before it runs: a change of the contract that breaks
// clients (a renamed field, a removed route, a new required input) breaks CI.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./volant.js";

type Vehicle = components["schemas"]["Vehicle"];
type Problem = components["schemas"]["Problem"];

export interface Outcome {
  garageId: number;
  platesByPage: string[][];
  duplicate: Problem;
  invalid: Problem;
  renamed: string;
  /** `RateLimit-Limit` and `RateLimit-Remaining` of the last page read. */
  allowance: { limit: number; remaining: number };
}

/** The `cursor` of a `Link: <…>; rel="next"` header, if there is a next page. */
function nextCursor(link: string | null): string | undefined {
  const target = link?.match(/<([^>]+)>;\s*rel="next"/)?.[1];
  return target ? (new URL(target).searchParams.get("cursor") ?? undefined) : undefined;
}

export async function scenario(baseUrl: string, email: string, password: string): Promise<Outcome> {
  const api = createClient<paths>({ baseUrl });
  const login = await api.POST("/api/v1/auth/login", { body: { email, password } });
  if (!login.data) throw new Error(`sign-in refused: ${JSON.stringify(login.error)}`);
  const token = login.data.access_token;
  const bearer: Middleware = {
    onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  };
  api.use(bearer);

  const created = await api.POST("/api/v1/garages", {
    body: { name: "Garage du Client Typé", address: "3 quai des Types", city: "Nantes" },
  });
  if (!created.data) throw new Error(`garage refused: ${JSON.stringify(created.error)}`);
  const garageId = created.data.id;

  const plates = ["TS-001-AA", "TS-002-AA", "TS-003-AA"];
  for (const [index, plate] of plates.entries()) {
    const vehicle = await api.POST("/api/v1/vehicles", {
      body: { garage_id: garageId, brand: "Peugeot", model: "208", year: 2020 + index, license_plate: plate },
    });
    if (!vehicle.data) throw new Error(`vehicle ${plate} refused: ${JSON.stringify(vehicle.error)}`);
  }

  // Two by two, following `Link` until it is absent.
  const platesByPage: string[][] = [];
  let cursor: string | undefined;
  let allowance = { limit: 0, remaining: 0 };
  do {
    const page = await api.GET("/api/v1/garages/{id}/vehicles", {
      params: { path: { id: garageId }, query: { limit: 2, ...(cursor ? { cursor } : {}) } },
    });
    if (!page.data) throw new Error(`list refused: ${JSON.stringify(page.error)}`);
    const vehicles: Vehicle[] = page.data;
    platesByPage.push(vehicles.map((v) => v.license_plate));
    cursor = nextCursor(page.response.headers.get("link"));
    allowance = {
      limit: Number(page.response.headers.get("ratelimit-limit")),
      remaining: Number(page.response.headers.get("ratelimit-remaining")),
    };
  } while (cursor && platesByPage.length < 10);

  // Errors are typed problems: a duplicate plate, a year out of range.
  const again = await api.POST("/api/v1/vehicles", {
    body: { garage_id: garageId, brand: "Renault", model: "Clio", year: 2019, license_plate: "ts 001 aa" },
  });
  if (!again.error) throw new Error("a duplicate plate was accepted");
  const invalid = await api.POST("/api/v1/vehicles", {
    body: { garage_id: garageId, brand: "Renault", model: "Clio", year: 1800, license_plate: "TS-009-ZZ" },
  });
  if (!invalid.error) throw new Error("a vehicle of 1800 was accepted");

  const patched = await api.PATCH("/api/v1/garages/{id}", {
    params: { path: { id: garageId } },
    body: { name: "Garage du Client Typé — Nantes" },
  });
  if (!patched.data) throw new Error(`patch refused: ${JSON.stringify(patched.error)}`);

  return {
    garageId,
    platesByPage,
    duplicate: again.error,
    invalid: invalid.error,
    renamed: patched.data.name,
    allowance,
  };
}
