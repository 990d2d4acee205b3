// Sanity tests of the Pocket ID simulator itself (not of the action).
import { afterEach, describe, expect, it } from "vitest";
import { type PocketIdOptions, type PocketIdSim, startPocketId } from "../sandbox/pocket-id.ts";

const KEY = "admin-key-0123456789";
const sims: PocketIdSim[] = [];

async function start(opts: Partial<PocketIdOptions> = {}): Promise<PocketIdSim> {
  const sim = await startPocketId({ apiKey: KEY, nonAdminApiKey: "user-key-0123456789", ...opts });
  sims.push(sim);
  return sim;
}

// biome-ignore lint/suspicious/noExplicitAny: bodies are checked by the assertions
type JsonResponse = Omit<Response, "json"> & { json(): Promise<any> };
const call = (url: string, init?: RequestInit) => fetch(url, init) as Promise<JsonResponse>;

afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

function api(sim: PocketIdSim, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const json = body !== undefined && typeof body !== "string";
  return call(sim.url + path, {
    method,
    headers: { "x-api-key": KEY, ...(json ? { "content-type": "application/json" } : {}), ...headers },
    body: json ? JSON.stringify(body) : body,
  });
}

function token(sim: PocketIdSim, clientId: string, secret: string, extra = "") {
  return call(`${sim.url}/api/oidc/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString("base64")}`,
    },
    body: `grant_type=authorization_code&code=probe${extra}`,
  });
}

const harbor = { id: "harbor", name: "Harbor", callbackURLs: ["https://harbor.example.com/c/oidc/callback"], isGroupRestricted: true };

describe("Pocket ID simulator", () => {
  it("authenticates with X-API-Key and shapes errors per version", async () => {
    const sim = await start();
    const none = await call(`${sim.url}/api/oidc/clients`);
    expect(none.status).toBe(401);
    const body = await none.json();
    expect(body).toMatchObject({ error: "You are not signed in", code: "not_signed_in" });
    expect(body.request_id).toBe(none.headers.get("x-request-id"));
    expect((await api(sim, "GET", "/api/oidc/clients", undefined, { "x-api-key": "user-key-0123456789" })).status).toBe(403);
    const version = await call(`${sim.url}/api/version/current`, { headers: { "X-API-KEY": "user-key-0123456789" } });
    expect(await version.json()).toEqual({ currentVersion: "2.14.0" });

    const old = await start({ version: "2.2.0" });
    expect(await (await call(`${old.url}/api/oidc/clients`)).json()).toEqual({ error: "You are not signed in" });
    const missing = await api(old, "GET", "/api/version/current");
    expect([missing.status, await missing.json()]).toEqual([404, { error: "API endpoint not found" }]);
  });

  it("creates a client without a secret and refuses a duplicate id per version", async () => {
    const sim = await start();
    const res = await api(sim, "POST", "/api/oidc/clients", { ...harbor, pkceEnabled: false, isPublic: false });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({
      id: "harbor",
      clientType: "standard",
      logoutCallbackURLs: null,
      launchURL: null,
      accessTokenDurationMinutes: 60,
      refreshTokenDurationMinutes: 43200,
      credentials: { secrets: null },
      allowedUserGroups: null,
    });
    expect(sim.client("harbor")?.secrets).toEqual([]);
    const dup = await api(sim, "POST", "/api/oidc/clients", harbor);
    expect([dup.status, (await dup.json()).code]).toEqual([409, "client_id_already_exists"]);

    const old = await start({ version: "2.12.0" });
    await api(old, "POST", "/api/oidc/clients", harbor);
    const oldDup = await api(old, "POST", "/api/oidc/clients", harbor);
    expect([oldDup.status, await oldDup.json()]).toEqual([400, { error: "Client ID already in use" }]);
  });

  it("validates like the server, with JSON field names from 2.13 and Go names before", async () => {
    const bad = { name: "x", callbackURLs: ["harbor.example.com/callback"], launchURL: "" };
    const sim = await start();
    const res = await api(sim, "POST", "/api/oidc/clients", bad);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: "CallbackURLs[0] is invalid",
      code: "validation_failed",
      details: {
        fields: [
          { field: "callbackURLs[0]", code: "callback_url_pattern", message: "is invalid" },
          { field: "launchURL", code: "invalid_format", message: "must be a valid URL" },
        ],
      },
    });
    const old = await start({ version: "2.12.0" });
    expect(await (await api(old, "POST", "/api/oidc/clients", bad)).json()).toEqual({
      error: "CallbackURLs[0] is invalid, LaunchURL must be a valid URL",
    });
    expect(sim.clients()).toEqual([]);
  });

  it("decodes JSON like Go: content type from 2.13, bad JSON 500 before, unknown keys ignored, keys case-insensitive", async () => {
    const sim = await start();
    const plain = await api(sim, "POST", "/api/oidc/clients", JSON.stringify(harbor), { "content-type": "text/plain" });
    expect([plain.status, (await plain.json()).code]).toEqual([400, "invalid_request_body"]);
    const wrongType = await api(sim, "POST", "/api/oidc/clients", { name: 5 });
    expect(wrongType.status).toBe(400);
    await api(sim, "POST", "/api/oidc/clients", { id: "a1", name: "A", callbackUrls: ["https://typo.example"], LaunchUrl: "https://a.example" });
    expect(sim.client("a1")).toMatchObject({ callbackURLs: ["https://typo.example"], launchURL: "https://a.example" });
    await api(sim, "POST", "/api/oidc/clients", { id: "a2", name: "A", callbackURL: ["https://typo.example"] });
    expect(sim.client("a2")?.callbackURLs).toBeNull();

    const old = await start({ version: "2.12.0" });
    const malformed = await api(old, "POST", "/api/oidc/clients", "{", { "content-type": "application/json" });
    expect([malformed.status, await malformed.json()]).toEqual([500, { error: "Something went wrong" }]);
  });

  it("treats PUT as a full replace and clears groups when isGroupRestricted is false", async () => {
    const sim = await start();
    const group = sim.addGroup("harbor-admins", "Harbor Admins");
    await api(sim, "POST", "/api/oidc/clients", { ...harbor, launchURL: "https://harbor.example.com", skipConsent: true });
    const put = await api(sim, "PUT", "/api/oidc/clients/harbor/allowed-user-groups", { userGroupIds: [group.id, "nope"] });
    expect(put.status).toBe(200);
    expect(await put.json()).not.toHaveProperty("allowedUserGroups");
    expect(sim.client("harbor")?.allowedUserGroupIds).toEqual([group.id]);
    const got = await (await api(sim, "GET", "/api/oidc/clients/harbor")).json();
    expect(got.allowedUserGroups).toMatchObject([{ id: group.id, name: "harbor-admins", userCount: 0 }]);

    const res = await api(sim, "PUT", "/api/oidc/clients/harbor", { name: "Harbor" });
    expect(res.status).toBe(200);
    expect(sim.client("harbor")).toMatchObject({ callbackURLs: null, launchURL: null, skipConsent: false, isGroupRestricted: false, allowedUserGroupIds: [] });
    expect((await api(sim, "PUT", "/api/oidc/clients/nope", { name: "X" })).status).toBe(404);
    expect((await api(sim, "GET", "/api/oidc/clients/harbor/")).status).toBe(404);
  });

  it("lists with search and clamped pagination", async () => {
    const sim = await start();
    for (let i = 0; i < 5; i++) sim.addClient({ name: i % 2 ? `Harbor ${i}` : `Other ${i}` });
    const res = await api(sim, "GET", "/api/oidc/clients?search=HARBOR&pagination%5Bpage%5D=9&pagination[limit]=1");
    const body = await res.json();
    expect(body.pagination).toEqual({ totalPages: 2, totalItems: 2, currentPage: 2, itemsPerPage: 1 });
    expect(body.data[0]).toMatchObject({ name: "Harbor 3", allowedUserGroupsCount: 0 });
    expect(body.data[0]).not.toHaveProperty("allowedUserGroups");
  });

  it("manages several secrets on 2.14 and the token endpoint accepts any active one", async () => {
    const sim = await start();
    sim.addClient({ id: "harbor", name: "Harbor" });
    expect((await api(sim, "POST", "/api/oidc/clients/harbor/secret")).status).toBe(404);
    const created = await api(sim, "POST", "/api/oidc/clients/harbor/secrets", { secret: "my-own-secret-value-1" });
    expect(created.status).toBe(201);
    const first = await created.json();
    expect(first).toMatchObject({ prefix: "my-o", expiresAt: null, isActive: true, secret: "my-own-secret-value-1" });
    const second = await (await api(sim, "POST", "/api/oidc/clients/harbor/secrets")).json();
    expect(second.secret).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(sim.acceptsSecret("harbor", first.secret) && sim.acceptsSecret("harbor", second.secret)).toBe(true);
    expect(await (await api(sim, "GET", "/api/oidc/clients/harbor/secrets")).json()).toHaveLength(2);

    const good = await token(sim, "harbor", first.secret);
    expect([good.status, (await good.json()).error, good.headers.get("cache-control")]).toEqual([400, "invalid_grant", "no-store"]);
    expect((await api(sim, "DELETE", `/api/oidc/clients/harbor/secrets/${first.id}`)).status).toBe(204);
    const bad = await token(sim, "harbor", first.secret);
    expect([bad.status, (await bad.json()).error]).toEqual([401, "invalid_client"]);
    expect((await api(sim, "POST", "/api/oidc/clients/harbor/secrets", { secret: "short" })).status).toBe(400);
    const past = await api(sim, "POST", "/api/oidc/clients/harbor/secrets", { expiresAt: "2020-01-01T00:00:00Z" });
    expect((await past.json()).error).toBe("The expiration date of a client secret must be in the future");
  });

  it("replaces the single secret before 2.14, honouring a custom value only on 2.12-2.13", async () => {
    const v212 = await start({ version: "2.12.0" });
    v212.addClient({ id: "harbor", name: "Harbor" });
    const own = await api(v212, "POST", "/api/oidc/clients/harbor/secret", { secret: "custom-secret-value-1" });
    expect([own.status, await own.json()]).toEqual([200, { secret: "custom-secret-value-1" }]);
    await api(v212, "POST", "/api/oidc/clients/harbor/secret");
    expect(v212.acceptsSecret("harbor", "custom-secret-value-1")).toBe(false);
    expect((await api(v212, "POST", "/api/oidc/clients/harbor/secrets")).status).toBe(404);

    const v29 = await start({ version: "2.9.0" });
    v29.addClient({ id: "harbor", name: "Harbor" });
    const ignored = await (await api(v29, "POST", "/api/oidc/clients/harbor/secret", { secret: "custom-secret-value-1" })).json();
    expect(ignored.secret).not.toBe("custom-secret-value-1");

    const v213 = await start({ version: "2.13.0" });
    v213.addClient({ id: "spa", name: "SPA", isPublic: true });
    const refused = await api(v213, "POST", "/api/oidc/clients/spa/secret");
    expect((await refused.json()).error).toBe("Cannot create a secret for a public client");
  });

  it("answers the token probe per version", async () => {
    const v29 = await start({ version: "2.9.0" });
    v29.addClient({ id: "harbor", name: "Harbor" });
    const secret = v29.addSecret("harbor");
    const cases: [string, string, string, number, unknown][] = [
      ["harbor", secret, "", 400, { error: "Invalid authorization code" }],
      ["harbor", "wrong", "", 401, { error: "Invalid client secret" }],
      ["ghost", secret, "", 404, { error: "Client not found" }],
      // Basic wins only when the body carries no secret.
      ["harbor", secret, "&client_id=harbor&client_secret=wrong", 401, { error: "Invalid client secret" }],
    ];
    for (const [id, s, extra, status, body] of cases) {
      const res = await token(v29, id, s, extra);
      expect([res.status, await res.json()]).toEqual([status, body]);
    }
    const v214 = await start();
    v214.addClient({ id: "harbor", name: "Harbor" });
    const s214 = v214.addSecret("harbor");
    const basicWins = await token(v214, "harbor", s214, "&client_id=harbor&client_secret=wrong");
    expect(basicWins.status).toBe(400);
    expect((await (await token(v214, "ghost", s214)).json()).error).toBe("invalid_client");
    expect(v214.writes()).toEqual([]);
  });

  it("uploads, serves and deletes logos", async () => {
    const sim = await start();
    sim.addClient({ id: "harbor", name: "Harbor" });
    const svg = '<svg xmlns="http://www.w3.org/2000/svg"/>';
    const upload = (name: string, light = "true") => {
      const form = new FormData();
      form.append("file", new Blob([svg], { type: "image/svg+xml" }), name);
      return call(`${sim.url}/api/oidc/clients/harbor/logo?light=${light}`, { method: "POST", headers: { "x-api-key": KEY }, body: form });
    };
    expect((await upload("logo.SVG")).status).toBe(204);
    expect((await upload("logo.txt")).status).toBe(415);
    expect(sim.client("harbor")).toMatchObject({ hasLogo: true, hasDarkLogo: false, logo: { mimeType: "image/svg+xml" } });
    const served = await call(`${sim.url}/api/oidc/clients/harbor/logo`);
    expect([served.headers.get("content-type"), await served.text()]).toEqual(["image/svg+xml", svg]);
    expect((await api(sim, "DELETE", "/api/oidc/clients/harbor/logo?light=false")).status).toBe(404);
    expect((await api(sim, "DELETE", "/api/oidc/clients/harbor/logo?light=true")).status).toBe(204);
    expect(sim.client("harbor")?.hasLogo).toBe(false);
  });

  it("serves discovery from the issuer and keeps user groups unique", async () => {
    const sim = await start({ issuer: "https://ID.example.com/" });
    const doc = await (await call(`${sim.url}/.well-known/openid-configuration`)).json();
    expect(doc).toMatchObject({ issuer: "https://id.example.com", token_endpoint: "https://id.example.com/api/oidc/token" });
    const created = await api(sim, "POST", "/api/user-groups", { friendlyName: "Harbor Admins", name: "harbor-admins" });
    expect([created.status, (await created.json()).users]).toEqual([201, null]);
    const dup = await api(sim, "POST", "/api/user-groups", { friendlyName: "Again", name: "harbor-admins" });
    expect([dup.status, (await dup.json()).code]).toEqual([409, "already_in_use"]);
    const list = await (await api(sim, "GET", "/api/user-groups?search=admins")).json();
    expect(list.data.map((g: { name: string }) => g.name)).toEqual(["harbor-admins"]);
  });

  it("records writes and lets faults answer instead of the simulator", async () => {
    const sim = await start();
    sim.fault({ method: "POST", path: "/api/oidc/clients", kind: "status", status: 429, body: { error: "Too many requests" } });
    expect((await api(sim, "POST", "/api/oidc/clients", harbor)).status).toBe(429);
    expect(sim.clients()).toEqual([]);
    expect((await api(sim, "POST", "/api/oidc/clients", harbor)).status).toBe(201);
    await api(sim, "GET", "/api/oidc/clients/harbor");
    expect(sim.writes().map((r) => r.status)).toEqual([429, 201]);
  });
});
