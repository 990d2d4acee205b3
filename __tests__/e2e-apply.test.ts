// End to end, issue 2 ("What a user can do"): dist/index.js run as the Actions runner runs it,
// against the Pocket ID and Harbor simulators, asserting both servers' final state, every output
// and the writes each server received.
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { type HarborOptions, type HarborSim, startHarbor } from "../sandbox/harbor.ts";
import { type PocketIdOptions, type PocketIdSim, startPocketId } from "../sandbox/pocket-id.ts";
import { type ActionRun, connection, runAction } from "./helpers/action.ts";

const API_KEY = `pid-${randomBytes(12).toString("hex")}`;
const PASSWORD = `Harbor-${randomBytes(8).toString("hex")}`;
const DEFAULT_SCOPE = "openid,offline_access,email,profile,groups";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function servers(p: Partial<PocketIdOptions> = {}, h: Partial<HarborOptions> = {}): Promise<{ pocketId: PocketIdSim; harbor: HarborSim }> {
  const pocketId = await startPocketId({ apiKey: API_KEY, ...p });
  closers.push(() => pocketId.close());
  const harbor = await startHarbor({ adminPassword: PASSWORD, ...h });
  closers.push(() => harbor.close());
  return { pocketId, harbor };
}

function inputs(pocketId: PocketIdSim, harbor: HarborSim, extra: Record<string, string> = {}): Record<string, string> {
  return { ...connection(pocketId, harbor, API_KEY, PASSWORD), ...extra };
}

function run(pocketId: PocketIdSim, harbor: HarborSim, extra: Record<string, string> = {}): Promise<ActionRun> {
  return runAction(inputs(pocketId, harbor, extra), { pocketId, harbor });
}

/** What a step's log shows when it fails, so a failed assertion explains itself. */
function why(r: ActionRun): string {
  return `exit ${r.code}\n${r.errors.join("\n")}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-1000)}`;
}

function changesOf(r: ActionRun): { target: string; setting: string; from: unknown; to: unknown }[] {
  return JSON.parse(r.outputs.changes ?? "null");
}

const calls = (sim: { writes(): { method: string; path: string }[] }) => sim.writes().map((w) => `${w.method} ${w.path}`);

/** The JSON body of every Harbor PUT /configurations. */
function harborPuts(harbor: HarborSim): Record<string, unknown>[] {
  return harbor
    .writes()
    .filter((w) => w.method === "PUT" && w.path === "/api/v2.0/configurations")
    .map((w) => JSON.parse(w.body));
}

async function discoveryIssuer(pocketId: PocketIdSim): Promise<string> {
  const doc = (await (await fetch(`${pocketId.url}/.well-known/openid-configuration`)).json()) as { issuer: string };
  return doc.issuer;
}

/** Every assertion of a fresh setup with default inputs; returns the client ID. */
async function expectFreshSetup(r: ActionRun, pocketId: PocketIdSim, harbor: HarborSim, clientId?: string): Promise<string> {
  expect(r.code, why(r)).toBe(0);
  const id = r.outputs["client-id"] ?? "";
  if (clientId) expect(id).toBe(clientId);
  else expect(id).toMatch(/^[0-9a-f-]{36}$/);
  const ext = harbor.url;

  // Pocket ID: exactly one client, with the managed fields of the seed guide (+ logout callback).
  expect(pocketId.clients().map((c) => c.id)).toEqual([id]);
  const client = pocketId.client(id);
  expect(client).toMatchObject({
    name: "Harbor",
    callbackURLs: [`${ext}/c/oidc/callback`],
    logoutCallbackURLs: [`${ext}/account/sign-in`],
    launchURL: ext,
    pkceEnabled: true,
    isPublic: false,
    isGroupRestricted: false,
  });
  expect(client?.secrets).toHaveLength(1);

  // Harbor: every OIDC key, the endpoint exactly the discovery issuer, and the secret Pocket ID accepts.
  const issuer = await discoveryIssuer(pocketId);
  const config = harbor.config();
  expect(config).toMatchObject({
    auth_mode: "oidc_auth",
    oidc_name: "Pocket ID",
    oidc_endpoint: issuer,
    oidc_client_id: id,
    oidc_groups_claim: "groups",
    oidc_admin_group: "",
    oidc_scope: DEFAULT_SCOPE,
    oidc_verify_cert: true,
    oidc_auto_onboard: true,
    oidc_user_claim: "email",
    oidc_logout: true,
    primary_auth_mode: false,
    oidc_group_filter: "",
  });
  expect(config.oidc_endpoint === issuer).toBe(true);
  const secret = harbor.secret() ?? "";
  expect(secret.length).toBeGreaterThanOrEqual(16);
  expect(pocketId.acceptsSecret(id, secret)).toBe(true);

  // The OIDC test ran, against the issuer, before the Harbor PUT, and passed.
  expect(harbor.pings).toEqual([{ url: issuer, verifyCert: true, ok: true }]);
  const pingAt = harbor.requests.findIndex((q) => q.path === "/api/v2.0/system/oidc/ping");
  const putAt = harbor.requests.findIndex((q) => q.method === "PUT");
  expect(pingAt).toBeGreaterThanOrEqual(0);
  expect(pingAt).toBeLessThan(putAt);

  // Outputs.
  expect(r.outputs).toMatchObject({
    "client-id": id,
    "client-secret": secret,
    issuer,
    "client-created": "true",
    "secret-rotated": "true",
    "harbor-changed": "true",
    drift: "true",
    "login-test": "skipped",
  });
  expect(r.masked).toContain(secret);
  const changes = changesOf(r);
  expect(changes).toContainEqual({ target: "pocket-id", setting: "client", from: null, to: clientId ?? "Harbor" });
  expect(changes).toContainEqual({ target: "harbor", setting: "auth_mode", from: "db_auth", to: "oidc_auth" });
  expect(changes).toContainEqual({ target: "harbor", setting: "oidc_endpoint", from: "", to: issuer });
  const secretChanges = changes.filter((c) => /secret/.test(c.setting));
  expect(secretChanges.map((c) => `${c.target} ${c.setting}`).sort()).toEqual(["harbor oidc_client_secret", "pocket-id client secret"]);
  for (const c of secretChanges) expect(c.to).toBe("***");
  expect(r.outputs.changes).not.toContain(secret);
  return id;
}

describe("apply on a fresh Pocket ID 2.14 and a fresh Harbor 2.15", () => {
  it("sets everything up with client-id: harbor, and a rerun changes nothing", async () => {
    const { pocketId, harbor } = await servers();
    const first = await run(pocketId, harbor, { "client-id": "harbor" });
    await expectFreshSetup(first, pocketId, harbor, "harbor");
    expect(calls(pocketId)).toEqual(["POST /api/oidc/clients", "POST /api/oidc/clients/harbor/secrets"]);
    expect(calls(harbor)).toEqual(["PUT /api/v2.0/configurations"]);
    // Only the managed keys are sent to Harbor, never a key it was not asked to change.
    expect(Object.keys(harborPuts(harbor)[0] ?? {}).sort()).toEqual(
      [
        "auth_mode",
        "oidc_auto_onboard",
        "oidc_client_id",
        "oidc_client_secret",
        "oidc_endpoint",
        "oidc_groups_claim",
        "oidc_logout",
        "oidc_name",
        "oidc_scope",
        "oidc_user_claim",
      ].sort(),
    );

    const secret = harbor.secret();
    const writes = { pocketId: pocketId.writes().length, harbor: harbor.writes().length };
    const again = await run(pocketId, harbor, { "client-id": "harbor" });
    expect(again.code, why(again)).toBe(0);
    expect({ pocketId: pocketId.writes().length, harbor: harbor.writes().length }).toEqual(writes);
    expect(again.outputs).toMatchObject({
      "client-id": "harbor",
      "client-secret": "",
      issuer: pocketId.issuer,
      "client-created": "false",
      "secret-rotated": "false",
      "harbor-changed": "false",
      drift: "false",
      "login-test": "skipped",
      changes: "[]",
    });
    expect(harbor.secret()).toBe(secret);
    expect(pocketId.acceptsSecret("harbor", secret ?? "")).toBe(true);
    expect(harbor.pings).toHaveLength(2); // the OIDC test runs on every run, and is no write
    expect(again.summary).toContain("No changes");
  });

  it("sets everything up without client-id (server-made ID), and a rerun finds the client by name", async () => {
    const { pocketId, harbor } = await servers();
    // A trailing slash on the URL is tolerated; oidc_endpoint is still the issuer, byte for byte.
    const first = await run(pocketId, harbor, { "pocket-id-url": `${pocketId.url}/` });
    const id = await expectFreshSetup(first, pocketId, harbor);
    expect(calls(pocketId)).toEqual(["POST /api/oidc/clients", `POST /api/oidc/clients/${id}/secrets`]);
    expect(harborPuts(harbor)[0]?.oidc_client_id).toBe(id);

    const writes = { pocketId: pocketId.writes().length, harbor: harbor.writes().length };
    const again = await run(pocketId, harbor);
    expect(again.code, why(again)).toBe(0);
    expect({ pocketId: pocketId.writes().length, harbor: harbor.writes().length }).toEqual(writes);
    expect(again.outputs).toMatchObject({
      "client-id": id,
      "client-secret": "",
      "client-created": "false",
      "secret-rotated": "false",
      "harbor-changed": "false",
      drift: "false",
      changes: "[]",
    });
    expect(pocketId.clients()).toHaveLength(1);
  });

  it("uses Harbor's external_url, not harbor-url, for the client's URLs", async () => {
    const { pocketId, harbor } = await servers({}, { externalUrl: "https://registry.example.com" });
    const r = await run(pocketId, harbor, { "client-id": "harbor" });
    expect(r.code, why(r)).toBe(0);
    expect(pocketId.client("harbor")).toMatchObject({
      callbackURLs: ["https://registry.example.com/c/oidc/callback"],
      logoutCallbackURLs: ["https://registry.example.com/account/sign-in"],
      launchURL: "https://registry.example.com",
    });
    expect(pocketId.acceptsSecret("harbor", harbor.secret() ?? "")).toBe(true);
    expect(JSON.stringify(pocketId.client("harbor"))).not.toContain(harbor.url);
  });
});

describe("adopting a client made by hand", () => {
  const federated = { issuer: "https://ci.example.com", subject: "repo:org/app", audience: "harbor", jwks: "", replayProtection: true };

  it("adopts the one client named exactly Harbor, fixes the managed fields and keeps every other field", async () => {
    const { pocketId, harbor } = await servers();
    const byHand = pocketId.addClient({
      name: "Harbor",
      callbackURLs: [],
      description: "made by hand",
      skipConsent: true,
      requiresReauthentication: true,
      accessTokenDurationMinutes: 15,
      refreshTokenDurationMinutes: 1440,
      federatedIdentities: [federated],
      hasLogo: true,
    });
    const oldSecret = pocketId.addSecret(byHand.id);
    // A client whose name only contains "Harbor" is someone else's: not adopted, not touched.
    const other = pocketId.addClient({ name: "Harbor old", callbackURLs: ["https://old.example.com/c/oidc/callback"], description: "legacy" });
    const otherBefore = structuredClone(other);

    const r = await run(pocketId, harbor);
    expect(r.code, why(r)).toBe(0);
    expect(r.outputs["client-id"]).toBe(byHand.id);
    expect(r.outputs["client-created"]).toBe("false");
    expect(pocketId.clients()).toHaveLength(2);
    expect(calls(pocketId).filter((c) => c === "POST /api/oidc/clients")).toEqual([]);
    expect(calls(pocketId)).toContain(`PUT /api/oidc/clients/${byHand.id}`);

    const c = pocketId.client(byHand.id);
    expect(c).toMatchObject({
      // managed
      name: "Harbor",
      callbackURLs: [`${harbor.url}/c/oidc/callback`],
      logoutCallbackURLs: [`${harbor.url}/account/sign-in`],
      launchURL: harbor.url,
      pkceEnabled: true,
      isPublic: false,
      // kept through the full-replace PUT
      description: "made by hand",
      skipConsent: true,
      requiresReauthentication: true,
      accessTokenDurationMinutes: 15,
      refreshTokenDurationMinutes: 1440,
      federatedIdentities: [federated],
      hasLogo: true,
    });
    // Harbor was not configured for this client: a new secret is added beside the old one (2.14).
    expect(c?.secrets).toHaveLength(2);
    expect(pocketId.acceptsSecret(byHand.id, oldSecret)).toBe(true);
    expect(pocketId.acceptsSecret(byHand.id, harbor.secret() ?? "")).toBe(true);
    expect(harbor.config().oidc_client_id).toBe(byHand.id);
    expect(changesOf(r)).toContainEqual({ target: "pocket-id", setting: "callbackURLs", from: [], to: [`${harbor.url}/c/oidc/callback`] });

    expect(pocketId.client(other.id)).toEqual(otherBefore);
  });

  it("does not adopt a client whose name only contains Harbor", async () => {
    const { pocketId, harbor } = await servers();
    const other = pocketId.addClient({ name: "Harbor old", callbackURLs: ["https://old.example.com/c/oidc/callback"] });
    const otherBefore = structuredClone(other);
    const r = await run(pocketId, harbor);
    expect(r.code, why(r)).toBe(0);
    expect(r.outputs["client-created"]).toBe("true");
    expect(r.outputs["client-id"]).not.toBe(other.id);
    expect(
      pocketId
        .clients()
        .map((c) => c.name)
        .sort(),
    ).toEqual(["Harbor", "Harbor old"]);
    expect(pocketId.client(other.id)).toEqual(otherBefore);
    expect(calls(pocketId).some((c) => c.includes(other.id))).toBe(false);
  });

  it("refuses two clients named Harbor without client-id: names both IDs and client-id, changes nothing", async () => {
    const { pocketId, harbor } = await servers();
    const a = pocketId.addClient({ name: "Harbor", callbackURLs: ["https://a.example.com/c/oidc/callback"] });
    const b = pocketId.addClient({ name: "Harbor", callbackURLs: ["https://b.example.com/c/oidc/callback"] });
    const r = await run(pocketId, harbor);
    expect(r.code).not.toBe(0);
    const message = r.errors.join("\n");
    expect(message).toContain(a.id);
    expect(message).toContain(b.id);
    expect(message).toContain("client-id");
    expect(message).toMatch(/2 Pocket ID clients are named "Harbor"/);
    expect(pocketId.writes()).toEqual([]);
    expect(harbor.writes()).toEqual([]);
    expect(harbor.config().auth_mode).toBe("db_auth");
  });

  it("client-id: harbor updates an existing client harbor in place", async () => {
    const { pocketId, harbor } = await servers();
    pocketId.addClient({
      id: "harbor",
      name: "registry",
      callbackURLs: ["https://elsewhere.example.com/callback"],
      logoutCallbackURLs: ["https://elsewhere.example.com/bye"],
      launchURL: "https://elsewhere.example.com",
      pkceEnabled: false,
      description: "kept",
    });
    const r = await run(pocketId, harbor, { "client-id": "harbor" });
    expect(r.code, why(r)).toBe(0);
    expect(r.outputs).toMatchObject({ "client-id": "harbor", "client-created": "false", "secret-rotated": "true", "harbor-changed": "true" });
    expect(pocketId.clients().map((c) => c.id)).toEqual(["harbor"]);
    expect(calls(pocketId)).not.toContain("POST /api/oidc/clients");
    expect(pocketId.client("harbor")).toMatchObject({
      name: "Harbor",
      callbackURLs: [`${harbor.url}/c/oidc/callback`],
      logoutCallbackURLs: [`${harbor.url}/account/sign-in`],
      launchURL: harbor.url,
      pkceEnabled: true,
      isPublic: false,
      description: "kept",
    });
    expect(pocketId.acceptsSecret("harbor", harbor.secret() ?? "")).toBe(true);
    const changes = changesOf(r);
    expect(changes).toContainEqual({ target: "pocket-id", setting: "name", from: "registry", to: "Harbor" });
    expect(changes).toContainEqual({ target: "pocket-id", setting: "pkceEnabled", from: false, to: true });
  });

  it("client-id: harbor on a fresh Pocket ID creates the client with exactly that ID", async () => {
    const { pocketId, harbor } = await servers();
    const r = await run(pocketId, harbor, { "client-id": "harbor" });
    expect(r.code, why(r)).toBe(0);
    const create = pocketId.writes().find((w) => w.method === "POST" && w.path === "/api/oidc/clients");
    expect(JSON.parse(create?.body ?? "{}").id).toBe("harbor");
    expect(pocketId.clients().map((c) => c.id)).toEqual(["harbor"]);
    expect(r.outputs["client-id"]).toBe("harbor");
  });
});

describe("Harbor's Authentication settings from the inputs", () => {
  it("sends every custom input to Harbor, with its warning and notice", async () => {
    const { pocketId, harbor } = await servers();
    pocketId.addGroup("harbor-admins"); // admin-group must name a Pocket ID group
    const custom = {
      "client-id": "harbor",
      "provider-name": "Company SSO",
      "groups-claim": "roles",
      "admin-group": "harbor-admins",
      scope: "openid profile email",
      "username-claim": "preferred_username",
      "auto-onboard": "false",
      "verify-cert": "false",
      "primary-auth-mode": "true",
      "group-filter": "^harbor-.*$",
      "session-logout": "false",
    };
    const r = await run(pocketId, harbor, custom);
    expect(r.code, why(r)).toBe(0);
    expect(harbor.config()).toMatchObject({
      auth_mode: "oidc_auth",
      oidc_name: "Company SSO",
      oidc_groups_claim: "roles",
      oidc_admin_group: "harbor-admins",
      oidc_scope: "openid,profile,email",
      oidc_user_claim: "preferred_username",
      oidc_auto_onboard: false,
      oidc_verify_cert: false,
      primary_auth_mode: true,
      oidc_group_filter: "^harbor-.*$",
      oidc_logout: false,
    });
    // session-logout: false is not sent (Harbor's default is already off) and registers no logout URL.
    expect(harborPuts(harbor)[0]).not.toHaveProperty("oidc_logout");
    const client = pocketId.client("harbor");
    expect(client?.logoutCallbackURLs ?? []).toEqual([]);
    expect(client?.callbackURLs).toEqual([`${harbor.url}/c/oidc/callback`]);
    // The OIDC test runs with Harbor's own verify_cert.
    expect(harbor.pings).toEqual([{ url: pocketId.issuer, verifyCert: false, ok: true }]);
    expect(r.stdout).toMatch(/^::warning title=[^:]*::verify-cert: false/m);
    const notice = r.stdout.split("\n").find((l) => l.startsWith("::notice"));
    expect(notice).toContain("primary-auth-mode");
    expect(notice).toContain(`${harbor.url}/account/sign-in`);

    // The same inputs again: in sync, including the scope written with spaces.
    const writes = harbor.writes().length + pocketId.writes().length;
    const again = await run(pocketId, harbor, custom);
    expect(again.code, why(again)).toBe(0);
    expect(again.outputs.changes).toBe("[]");
    expect(harbor.writes().length + pocketId.writes().length).toBe(writes);
  });

  it("turns session logout off again on a Harbor that had it on, and drops the logout callback", async () => {
    const { pocketId, harbor } = await servers();
    expect((await run(pocketId, harbor, { "client-id": "harbor" })).code).toBe(0);
    expect(harbor.config().oidc_logout).toBe(true);
    const r = await run(pocketId, harbor, { "client-id": "harbor", "session-logout": "false" });
    expect(r.code, why(r)).toBe(0);
    expect(harbor.config().oidc_logout).toBe(false);
    expect(harborPuts(harbor).at(-1)).toEqual({ oidc_logout: false });
    expect(pocketId.client("harbor")?.logoutCallbackURLs ?? []).toEqual([]);
    expect(r.outputs).toMatchObject({ "harbor-changed": "true", "secret-rotated": "false", "client-created": "false" });
  });
});

describe("older servers", () => {
  it("works end to end with Pocket ID 2.13 (single secret endpoint)", async () => {
    const { pocketId, harbor } = await servers({ version: "2.13.0" });
    const r = await run(pocketId, harbor, { "client-id": "harbor" });
    await expectFreshSetup(r, pocketId, harbor, "harbor");
    expect(calls(pocketId)).toEqual(["POST /api/oidc/clients", "POST /api/oidc/clients/harbor/secret"]);
    expect(r.summary).toContain("Pocket ID: 2.13.0");
  });

  it("refuses pkce and session-logout on Harbor 2.12, naming 2.13, and changes nothing", async () => {
    const { pocketId, harbor } = await servers({ version: "2.13.0" }, { version: "2.12.0" });
    const r = await run(pocketId, harbor, { "client-id": "harbor" });
    expect(r.code).not.toBe(0);
    const message = r.errors.join("\n");
    expect(message).toMatch(/pkce: true needs Harbor 2\.13 or later/);
    expect(message).toMatch(/session-logout: true needs Harbor 2\.13 or later/);
    expect(message).toContain("2.12.0");
    expect(message).toContain("Nothing was changed");
    expect(pocketId.writes()).toEqual([]);
    expect(harbor.writes()).toEqual([]);
  });

  it("succeeds on Harbor 2.12 with pkce and session-logout off, sending no oidc_logout", async () => {
    const { pocketId, harbor } = await servers({ version: "2.13.0" }, { version: "2.12.0" });
    const r = await run(pocketId, harbor, { "client-id": "harbor", pkce: "false", "session-logout": "false" });
    expect(r.code, why(r)).toBe(0);
    const puts = harborPuts(harbor);
    expect(puts).toHaveLength(1);
    expect(puts[0]).not.toHaveProperty("oidc_logout");
    expect(harbor.config()).not.toHaveProperty("oidc_logout");
    expect(harbor.config()).toMatchObject({ auth_mode: "oidc_auth", oidc_client_id: "harbor", oidc_endpoint: pocketId.issuer });
    expect(pocketId.client("harbor")).toMatchObject({ pkceEnabled: false, isPublic: false });
    expect(pocketId.client("harbor")?.logoutCallbackURLs ?? []).toEqual([]);
    expect(pocketId.acceptsSecret("harbor", harbor.secret() ?? "")).toBe(true);
    expect(r.summary).toMatch(/Harbor: v2\.12\.0/);
  });
});
