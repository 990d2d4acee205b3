// End to end: the client-secret lifecycle of issue 4 (../shared/reference/pocket-id-api.md §2.7,
// §4.3) on simulated Pocket ID 2.14 (several secrets), 2.13 and 2.12 (one secret, settable), and
// 2.9 (one random secret, pre-2.10 token-endpoint errors). Every run goes through the harness,
// which also fails the test when any secret appears in the log or the summary.
import { afterEach, describe, expect, it } from "vitest";
import { type HarborSim, startHarbor } from "../sandbox/harbor.ts";
import { type PocketIdSim, type RequestRecord, type SimClient, startPocketId } from "../sandbox/pocket-id.ts";
import { type ActionRun, connection, type RunOptions, runAction } from "./helpers/action.ts";

const API_KEY = "pocket-id-admin-key-4f9a2c81d0";
const PASSWORD = "Harbor-admin-pw-7d1e90b3";
const CLIENT = "harbor";
/** A client-secret input: 16+ printable ASCII characters. */
const GIVEN = "Given-Secret-0123456789-abcdef";

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

interface Env {
  pocketId: PocketIdSim;
  harbor: HarborSim;
  run(extra?: Record<string, string>, opts?: RunOptions): Promise<ActionRun>;
  /** Seeds the Harbor client in Pocket ID as the action itself would make it (no client update needed). */
  seedClient(): SimClient;
}

async function start(version: string, opts: { secretOnCreate?: boolean } = {}): Promise<Env> {
  const pocketId = await startPocketId({ apiKey: API_KEY, version, ...opts });
  open.push(pocketId);
  const harbor = await startHarbor({ adminPassword: PASSWORD });
  open.push(harbor);
  const inputs = (extra: Record<string, string>) => ({ ...connection(pocketId, harbor, API_KEY, PASSWORD), "client-id": CLIENT, ...extra });
  return {
    pocketId,
    harbor,
    run: (extra = {}, o = {}) => runAction(inputs(extra), { pocketId, harbor, ...o }),
    seedClient: () =>
      pocketId.addClient({
        id: CLIENT,
        name: "Harbor",
        callbackURLs: [`${harbor.url}/c/oidc/callback`],
        logoutCallbackURLs: [`${harbor.url}/account/sign-in`],
        launchURL: harbor.url,
        pkceEnabled: true,
      }),
  };
}

/** Secret writes to Pocket ID: POST …/secret(s) and DELETE …/secrets/{id}. */
const secretPosts = (p: PocketIdSim): RequestRecord[] => p.writes().filter((r) => r.method === "POST" && /\/secrets?$/.test(r.path));
const secretDeletes = (p: PocketIdSim): RequestRecord[] => p.writes().filter((r) => r.method === "DELETE" && /\/secrets\//.test(r.path));
/** Harbor PUTs that carried a client secret. */
const harborSecretPuts = (h: HarborSim): RequestRecord[] => h.writes().filter((r) => r.method === "PUT" && "oidc_client_secret" in JSON.parse(r.body || "{}"));
const secretValues = (p: PocketIdSim): string[] => (p.client(CLIENT)?.secrets ?? []).map((s) => s.value);
const message = (r: ActionRun): string => r.errors.join("\n");
const warnings = (r: ActionRun): string[] => [...r.stdout.matchAll(/^::warning[^:]*::(.*)$/gm)].map((m) => (m[1] as string).replace(/%0A/g, "\n"));

/** The action's own secret, when this run issued or was given one: masked, and Harbor holds it. */
function expectHandedOver(r: ActionRun, e: Env): string {
  expect(r.code, r.stdout).toBe(0);
  const secret = e.harbor.secret() as string;
  expect(secret).toMatch(/^\S{16,}$/);
  expect(e.pocketId.acceptsSecret(CLIENT, secret)).toBe(true);
  expect(r.outputs["client-secret"]).toBe(secret);
  expect(r.masked).toContain(secret);
  expect(e.harbor.config().oidc_client_id).toBe(CLIENT);
  return secret;
}

/**
 * The invariant of every fault case: exit 0 means Pocket ID accepts the secret Harbor holds;
 * a failure names a way out (or says nothing was changed), and if Harbor is left holding a
 * secret Pocket ID rejects, the masked output carries one Pocket ID accepts, with the exact step.
 */
function expectSafeEnd(r: ActionRun, e: Env): void {
  const held = e.harbor.secret();
  const configured = e.harbor.config().oidc_client_id === CLIENT;
  if (r.code === 0) {
    expect(configured).toBe(true);
    expect(held).toBeDefined();
    expect(e.pocketId.acceptsSecret(CLIENT, held as string)).toBe(true);
    return;
  }
  expect(r.errors.length, r.stdout).toBeGreaterThan(0);
  expect(message(r)).toMatch(/run (the action )?again|nothing was changed/i);
  if (configured && held !== undefined && !e.pocketId.acceptsSecret(CLIENT, held)) {
    // Harbor holds a secret Pocket ID rejects: the way back must be in the message, and a secret
    // that exists only in this run must be in the masked output.
    const out = r.outputs["client-secret"] as string;
    if (out) {
      expect(e.pocketId.acceptsSecret(CLIENT, out)).toBe(true);
      expect(message(r)).toMatch(/client-secret set to that output/);
    } else {
      expect(message(r)).toMatch(/run the action again with rotate-secret: true/);
    }
  }
}

// ---------------------------------------------------------------------------------------------

describe.each(["2.14.0", "2.13.0", "2.12.0", "2.9.0"])("Pocket ID %s", (version) => {
  it("new client: issues a secret, hands it to Harbor, proves it, outputs it masked", async () => {
    const e = await start(version);
    const r = await e.run();
    const secret = expectHandedOver(r, e);
    expect(r.outputs["client-created"]).toBe("true");
    expect(r.outputs["secret-rotated"]).toBe("true");
    expect(secretValues(e.pocketId)).toEqual([secret]);
    expect(secretPosts(e.pocketId)).toHaveLength(1);
    expect(harborSecretPuts(e.harbor)).toHaveLength(1);
    // The secret never shows in the log except in the runner's ::add-mask:: command, which comes
    // before any line that could carry it.
    const lines = r.stdout.split("\n");
    expect(lines.filter((l) => l.includes(secret))).toEqual([`::add-mask::${secret}`]);
    expect(lines.findIndex((l) => l.startsWith("::add-mask::") && l.includes(secret))).toBeLessThan(
      lines.findIndex((l) => l.includes("Issued a client secret")),
    );
    expect(r.summary).not.toContain(secret);
    const changes = JSON.parse(r.outputs.changes as string) as { setting: string; from: unknown; to: unknown }[];
    expect(changes.find((c) => c.setting === "client secret")?.to).toBe("***");
  });

  it("rerun with Harbor already configured for the client keeps Harbor's secret", async () => {
    const e = await start(version);
    const first = expectHandedOver(await e.run(), e);
    const writes = { pocketId: e.pocketId.writes().length, harbor: e.harbor.writes().length };
    const r = await e.run();
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs["client-secret"]).toBe("");
    expect(r.outputs["secret-rotated"]).toBe("false");
    expect(r.outputs["client-created"]).toBe("false");
    expect(e.pocketId.writes()).toHaveLength(writes.pocketId);
    expect(e.harbor.writes()).toHaveLength(writes.harbor);
    expect(e.harbor.secret()).toBe(first);
    expect(e.pocketId.acceptsSecret(CLIENT, first)).toBe(true);
  });

  it("client-secret given and Pocket ID already accepts it: no secret POST, Harbor is still given it", async () => {
    const e = await start(version);
    e.seedClient();
    e.pocketId.addSecret(CLIENT, { value: GIVEN });
    const r = await e.run({ "client-secret": GIVEN });
    expect(r.code, r.stdout).toBe(0);
    expect(secretPosts(e.pocketId)).toEqual([]);
    expect(e.pocketId.writes()).toEqual([]);
    expect(harborSecretPuts(e.harbor)).toHaveLength(1);
    expect(e.harbor.secret()).toBe(GIVEN);
    expect(e.pocketId.acceptsSecret(CLIENT, GIVEN)).toBe(true);
    expect(r.outputs["client-secret"]).toBe(GIVEN);
    expect(r.outputs["secret-rotated"]).toBe("false");
    // The input is masked before the run prints anything else.
    const lines = r.stdout.split("\n");
    expect(lines.indexOf(`::add-mask::${GIVEN}`)).toBeGreaterThan(-1);
    expect(lines.indexOf(`::add-mask::${GIVEN}`)).toBeLessThan(lines.findIndex((l) => !l.startsWith("::add-mask::")));
  });

  it("existing client, no client-secret, Harbor not configured for it: a new secret is issued", async () => {
    const e = await start(version);
    e.seedClient();
    const old = e.pocketId.addSecret(CLIENT);
    const r = await e.run();
    const secret = expectHandedOver(r, e);
    expect(secret).not.toBe(old);
    expect(r.outputs["client-created"]).toBe("false");
    expect(r.outputs["secret-rotated"]).toBe("true");
    expect(secretPosts(e.pocketId)).toHaveLength(1);
    if (version === "2.14.0") {
      // Additive: whoever else uses the old secret keeps working, and no warning is needed.
      expect(e.pocketId.acceptsSecret(CLIENT, old)).toBe(true);
      expect(secretValues(e.pocketId)).toEqual([old, secret]);
      expect(secretDeletes(e.pocketId)).toEqual([]);
      expect(warnings(r).join("\n")).not.toMatch(/one secret per client/);
    } else {
      expect(e.pocketId.acceptsSecret(CLIENT, old)).toBe(false);
      expect(secretValues(e.pocketId)).toEqual([secret]);
      expect(warnings(r).join("\n")).toMatch(new RegExp(`Pocket ID ${version.replace(/\./g, "\\.")} keeps one secret per client.*stops working`));
    }
  });

  it("rotate-secret: a new secret reaches Harbor and only it is left", async () => {
    const e = await start(version);
    const first = expectHandedOver(await e.run(), e);
    const r = await e.run({ "rotate-secret": "true" });
    const second = expectHandedOver(r, e);
    expect(second).not.toBe(first);
    expect(r.outputs["secret-rotated"]).toBe("true");
    expect(e.pocketId.acceptsSecret(CLIENT, first)).toBe(false);
    expect(secretValues(e.pocketId)).toEqual([second]);
    // Harbor already has every other setting: only the secret is written.
    expect(JSON.parse(e.harbor.writes().at(-1)?.body as string)).toEqual({ oidc_client_secret: second });
    if (version === "2.14.0") {
      // Added, then (once Harbor holds it and it is proven) the older one revoked.
      expect(
        e.pocketId
          .writes()
          .slice(-2)
          .map((w) => w.method),
      ).toEqual(["POST", "DELETE"]);
      expect(r.stdout).toMatch(/Revoked 1 older secret/);
    } else {
      expect(secretDeletes(e.pocketId)).toEqual([]);
    }
  });
});

describe.each(["2.14.0", "2.13.0", "2.12.0"])("client-secret on Pocket ID %s", (version) => {
  it("the client does not exist: created, made to accept the given secret, Harbor given it", async () => {
    const e = await start(version);
    const r = await e.run({ "client-secret": GIVEN });
    expect(expectHandedOver(r, e)).toBe(GIVEN);
    expect(r.outputs["client-created"]).toBe("true");
    expect(r.outputs["secret-rotated"]).toBe("true");
    expect(secretValues(e.pocketId)).toEqual([GIVEN]);
    const post = secretPosts(e.pocketId);
    expect(post).toHaveLength(1);
    expect(JSON.parse(post[0]?.body as string)).toEqual({ secret: GIVEN });
  });

  it("the client exists with another secret: the given one is set, Harbor holds it", async () => {
    const e = await start(version);
    e.seedClient();
    const old = e.pocketId.addSecret(CLIENT);
    const r = await e.run({ "client-secret": GIVEN });
    expect(expectHandedOver(r, e)).toBe(GIVEN);
    expect(r.outputs["client-created"]).toBe("false");
    expect(r.outputs["secret-rotated"]).toBe("true");
    if (version === "2.14.0") {
      expect(e.pocketId.acceptsSecret(CLIENT, old)).toBe(true);
      expect(secretValues(e.pocketId)).toEqual([old, GIVEN]);
    } else {
      expect(e.pocketId.acceptsSecret(CLIENT, old)).toBe(false);
      expect(secretValues(e.pocketId)).toEqual([GIVEN]);
    }
  });
});

describe("client-secret on Pocket ID 2.9 (a chosen value cannot be set)", () => {
  it("the client does not exist: a clear error before any change", async () => {
    const e = await start("2.9.0");
    const r = await e.run({ "client-secret": GIVEN });
    expect(r.code).toBe(1);
    expect(message(r)).toMatch(/client-secret cannot be set on Pocket ID 2\.9\.0.*2\.12 or later/);
    expect(message(r)).toMatch(/Nothing was changed/);
    expect(e.pocketId.writes()).toEqual([]);
    expect(e.harbor.writes()).toEqual([]);
    expect(e.pocketId.clients()).toEqual([]);
  });

  it("the probe (pre-2.10 error strings) finds the given secret accepted: Harbor is given it, Pocket ID untouched", async () => {
    const e = await start("2.9.0");
    e.seedClient();
    e.pocketId.addSecret(CLIENT, { value: GIVEN });
    const r = await e.run({ "client-secret": GIVEN });
    expect(expectHandedOver(r, e)).toBe(GIVEN);
    expect(e.pocketId.writes()).toEqual([]);
    const probes = e.pocketId.requests.filter((q) => q.path === "/api/oidc/token");
    // The preflight probe and the final proof, both answered "Invalid authorization code".
    expect(probes.map((q) => q.status)).toEqual([400, 400]);
    expect(r.summary).toMatch(/Pocket ID accepts client-secret \| ✅ passed/);
  });

  it("the probe finds the given secret rejected: a clear error, zero writes", async () => {
    const e = await start("2.9.0");
    e.seedClient();
    const old = e.pocketId.addSecret(CLIENT);
    const r = await e.run({ "client-secret": GIVEN });
    expect(r.code).toBe(1);
    expect(message(r)).toMatch(/client-secret cannot be set on Pocket ID 2\.9\.0/);
    const probes = e.pocketId.requests.filter((q) => q.path === "/api/oidc/token");
    expect(probes.map((q) => q.status)).toEqual([401]);
    expect(e.pocketId.writes()).toEqual([]);
    expect(e.harbor.writes()).toEqual([]);
    expect(e.pocketId.acceptsSecret(CLIENT, old)).toBe(true);
  });
});

describe("rotation on Pocket ID 2.14", () => {
  it("revokes every older secret, after Harbor holds the new one", async () => {
    const e = await start("2.14.0");
    const first = expectHandedOver(await e.run(), e);
    const other = e.pocketId.addSecret(CLIENT);
    const r = await e.run({ "rotate-secret": "true" });
    const second = expectHandedOver(r, e);
    expect(e.pocketId.acceptsSecret(CLIENT, first)).toBe(false);
    expect(e.pocketId.acceptsSecret(CLIENT, other)).toBe(false);
    expect(secretValues(e.pocketId)).toEqual([second]);
    // Order of events in Pocket ID: POST the secret, (Harbor PUT), the proof, then the DELETEs.
    const postAt = e.pocketId.requests.findIndex((q) => q.method === "POST" && q.path.endsWith("/secrets") && q.status === 201);
    const deletes = e.pocketId.requests.map((q, i) => [q, i] as const).filter(([q]) => q.method === "DELETE");
    const lastProbe = e.pocketId.requests.findLastIndex((q) => q.path === "/api/oidc/token");
    expect(deletes).toHaveLength(2);
    expect(postAt).toBeGreaterThan(-1);
    for (const [, i] of deletes) expect(i).toBeGreaterThan(lastProbe);
    expect(lastProbe).toBeGreaterThan(postAt);
  });

  it("at the cap of 20 with expired secrets: revokes expired ones first, then rotates", async () => {
    const e = await start("2.14.0");
    const first = expectHandedOver(await e.run(), e);
    const past = new Date(Date.now() - 86_400_000).toISOString();
    for (let i = 0; i < 3; i++) e.pocketId.addSecret(CLIENT, { expiresAt: past });
    for (let i = 0; i < 16; i++) e.pocketId.addSecret(CLIENT);
    expect(e.pocketId.client(CLIENT)?.secrets).toHaveLength(20);
    const before = e.pocketId.writes().length;
    const r = await e.run({ "rotate-secret": "true" });
    const second = expectHandedOver(r, e);
    expect(second).not.toBe(first);
    const writes = e.pocketId.writes().slice(before);
    // One expired secret is revoked to make room, before the POST.
    expect(writes[0]?.method).toBe("DELETE");
    expect(writes[1]?.method).toBe("POST");
    expect(r.stdout).toMatch(/Revoked expired secret .* cap of 20/);
    // Then the rotation revokes every older one, each once.
    expect(secretValues(e.pocketId)).toEqual([second]);
    expect(secretDeletes(e.pocketId).map((w) => w.status)).toEqual(Array(20).fill(204));
    expect(r.stdout).toMatch(/Revoked 19 older secret\(s\)/);
    expect(e.pocketId.acceptsSecret(CLIENT, first)).toBe(false);
  });

  it("at the cap of 20, all active: a clear error before any change", async () => {
    const e = await start("2.14.0");
    const first = expectHandedOver(await e.run(), e);
    for (let i = 0; i < 19; i++) e.pocketId.addSecret(CLIENT);
    const writes = { pocketId: e.pocketId.writes().length, harbor: e.harbor.writes().length };
    const r = await e.run({ "rotate-secret": "true" });
    expect(r.code).toBe(1);
    expect(message(r)).toMatch(/has 20 secrets, the most Pocket ID keeps, and only 0 expired; delete unused secrets/);
    expect(message(r)).toMatch(/Nothing was changed/);
    expect(e.pocketId.writes()).toHaveLength(writes.pocketId);
    expect(e.harbor.writes()).toHaveLength(writes.harbor);
    expect(e.harbor.secret()).toBe(first);
    expect(e.pocketId.client(CLIENT)?.secrets).toHaveLength(20);
  });

  it("at the cap of 20, a given client-secret Pocket ID does not know: a clear error before any change", async () => {
    const e = await start("2.14.0");
    e.seedClient();
    for (let i = 0; i < 20; i++) e.pocketId.addSecret(CLIENT);
    const r = await e.run({ "client-secret": GIVEN });
    expect(r.code).toBe(1);
    expect(message(r)).toMatch(/has 20 secrets/);
    expect(e.pocketId.writes()).toEqual([]);
    expect(e.harbor.writes()).toEqual([]);
  });
});

describe("rotation on Pocket ID 2.13", () => {
  it("replaces the secret in place and warns that the old one ends at once", async () => {
    const e = await start("2.13.0");
    const first = expectHandedOver(await e.run(), e);
    const r = await e.run({ "rotate-secret": "true" });
    const second = expectHandedOver(r, e);
    expect(second).not.toBe(first);
    expect(e.pocketId.acceptsSecret(CLIENT, first)).toBe(false);
    expect(secretValues(e.pocketId)).toEqual([second]);
    expect(secretPosts(e.pocketId).at(-1)?.path).toBe(`/api/oidc/clients/${CLIENT}/secret`);
    expect(warnings(r).join("\n")).toMatch(/keeps one secret per client/);
  });
});

describe("a newer Pocket ID that makes a secret with the client (secretOnCreate)", () => {
  it("revokes the unknown secret once the action's own is in place", async () => {
    const e = await start("2.14.0", { secretOnCreate: true });
    const r = await e.run();
    const secret = expectHandedOver(r, e);
    expect(secretValues(e.pocketId)).toEqual([secret]);
    expect(secretDeletes(e.pocketId)).toHaveLength(1);
    expect(r.stdout).toMatch(/Revoked 1 older secret/);
  });

  it("with client-secret: only the given secret remains", async () => {
    const e = await start("2.14.0", { secretOnCreate: true });
    const r = await e.run({ "client-secret": GIVEN });
    expect(expectHandedOver(r, e)).toBe(GIVEN);
    expect(secretValues(e.pocketId)).toEqual([GIVEN]);
  });
});

// ---------------------------------------------------------------------------------------------
// Faults at every step of the secret path.

const CREATE = { method: "POST", path: "/api/oidc/clients" } as const;
const SECRET_POST = /^\/api\/oidc\/clients\/[^/]+\/secrets?$/;
const HARBOR_PUT = { method: "PUT", path: "/api/v2.0/configurations" } as const;
const TOKEN = { method: "POST", path: "/api/oidc/token" } as const;

describe.each(["2.14.0", "2.13.0", "2.12.0", "2.9.0"])("faults on Pocket ID %s", (version) => {
  it("the client create's answer is lost after commit: exactly one client, set up", async () => {
    const e = await start(version);
    e.pocketId.fault({ ...CREATE, kind: "reset-after" });
    const r = await e.run();
    expectSafeEnd(r, e);
    expect(r.code, r.stdout).toBe(0);
    expect(e.pocketId.clients()).toHaveLength(1);
    expect(r.outputs["client-created"]).toBe("true");
    expect(r.stdout).toMatch(/create's answer was lost, but the client exists/);
    expectHandedOver(r, e);
  });

  it("the client create's answer is lost after commit, without client-id: exactly one client", async () => {
    const e = await start(version);
    e.pocketId.fault({ ...CREATE, kind: "reset-after" });
    const r = await e.run({ "client-id": "" });
    expect(r.code, r.stdout).toBe(0);
    expect(e.pocketId.clients()).toHaveLength(1);
    const id = e.pocketId.clients()[0]?.id as string;
    expect(r.outputs["client-id"]).toBe(id);
    expect(e.harbor.config().oidc_client_id).toBe(id);
    expect(e.pocketId.acceptsSecret(id, e.harbor.secret() as string)).toBe(true);
  });

  it("the client create fails before commit (reset), with client-id: created once more, exactly one client", async () => {
    const e = await start(version);
    e.pocketId.fault({ ...CREATE, kind: "reset" });
    const r = await e.run();
    expectSafeEnd(r, e);
    expect(r.code, r.stdout).toBe(0);
    expect(e.pocketId.requests.filter((q) => q.method === "POST" && q.path === "/api/oidc/clients")).toHaveLength(2);
    expect(e.pocketId.clients()).toHaveLength(1);
    expect(r.stdout).toMatch(/creating it once more/);
    expectHandedOver(r, e);
  });

  it("the client create fails before commit (reset), without client-id: nothing is created, nothing changed", async () => {
    const e = await start(version);
    e.pocketId.fault({ ...CREATE, kind: "reset" });
    const r = await e.run({ "client-id": "" });
    expect(r.code).toBe(1);
    expect(e.pocketId.clients()).toEqual([]);
    expect(e.harbor.writes()).toEqual([]);
    expect(message(r)).toMatch(/POST \/api\/oidc\/clients[\s\S]*nothing was changed/);
    expectSafeEnd(r, e);
  });

  it("the secret POST's answer is lost after commit: no unexplained extra secret", async () => {
    const e = await start(version);
    e.seedClient();
    const old = e.pocketId.addSecret(CLIENT);
    e.pocketId.fault({ method: "POST", path: SECRET_POST, kind: "reset-after" });
    const r = await e.run();
    expectSafeEnd(r, e);
    const secret = expectHandedOver(r, e);
    // 2.14 keeps the old secret beside the action's, and nothing else; older versions hold one.
    expect(secretValues(e.pocketId)).toEqual(version === "2.14.0" ? [old, secret] : [secret]);
  });

  it("the secret POST's answer is lost after commit on a new client", async () => {
    const e = await start(version);
    e.pocketId.fault({ method: "POST", path: SECRET_POST, kind: "reset-after" });
    const r = await e.run();
    expectSafeEnd(r, e);
    const secret = expectHandedOver(r, e);
    expect(secretValues(e.pocketId)).toEqual([secret]);
    expect(e.pocketId.clients()).toHaveLength(1);
  });

  it("the secret POST fails before commit (reset): one more POST, exactly one new secret", async () => {
    const e = await start(version);
    e.pocketId.fault({ method: "POST", path: SECRET_POST, kind: "reset" });
    const r = await e.run();
    expectSafeEnd(r, e);
    const secret = expectHandedOver(r, e);
    expect(secretValues(e.pocketId)).toEqual([secret]);
    expect(secretPosts(e.pocketId)).toHaveLength(2);
  });

  it.each([500, 503])("the secret POST answers %i: the run fails, Harbor untouched, a rerun completes", async (status) => {
    const e = await start(version);
    e.pocketId.fault({ method: "POST", path: SECRET_POST, kind: "status", status, body: { error: "Something went wrong" }, times: 5 });
    const r = await e.run();
    expect(r.code).toBe(1);
    expect(e.harbor.writes()).toEqual([]);
    expect(secretValues(e.pocketId)).toEqual([]);
    expectSafeEnd(r, e);
    e.pocketId.clearFaults();
    expectHandedOver(await e.run(), e);
  });

  it("the final probe gets no clear answer: the run fails and says what to do", async () => {
    const e = await start(version);
    e.pocketId.fault({ ...TOKEN, kind: "status", status: 500, body: { error: "Something went wrong" }, times: 10 });
    const r = await e.run();
    expect(r.code).toBe(1);
    expect(message(r)).toMatch(/gave no clear answer about the client secret Harbor now holds/);
    expectSafeEnd(r, e);
    // Harbor holds the new secret and the output carries it.
    expect(r.outputs["client-secret"]).toBe(e.harbor.secret());
  });

  it("the final probe is overloaded (503 twice): retried, then proven", async () => {
    const e = await start(version);
    e.pocketId.fault({ ...TOKEN, kind: "status", status: 503, times: 2 });
    const r = await e.run();
    expectSafeEnd(r, e);
    expectHandedOver(r, e);
  });
});

describe.each(["500", "503", "reset"])("Harbor's PUT fails every time (%s)", (how) => {
  const fault = (h: HarborSim) =>
    h.fault(how === "reset" ? { ...HARBOR_PUT, kind: "reset", times: 10 } : { ...HARBOR_PUT, kind: "status", status: Number(how), times: 10 });

  it("Pocket ID 2.14, existing client: the just-issued secret is revoked, Pocket ID is as before", async () => {
    const e = await start("2.14.0");
    e.seedClient();
    const old = e.pocketId.addSecret(CLIENT);
    const ids = e.pocketId.client(CLIENT)?.secrets.map((s) => s.id);
    fault(e.harbor);
    const r = await e.run();
    expect(r.code).toBe(1);
    expect(message(r)).toMatch(/revoked again, so Pocket ID's secrets are as before; run again once Harbor accepts changes/);
    expect(e.pocketId.client(CLIENT)?.secrets.map((s) => s.id)).toEqual(ids);
    expect(e.pocketId.acceptsSecret(CLIENT, old)).toBe(true);
    expect(e.harbor.secret()).toBeUndefined();
    expect(r.outputs["client-secret"]).toBe("");
    expect(r.outputs["secret-rotated"]).toBe("false");
    expectSafeEnd(r, e);
  });

  it("Pocket ID 2.14, new client: the run fails clearly and leaves no secret behind", async () => {
    const e = await start("2.14.0");
    fault(e.harbor);
    const r = await e.run();
    expect(r.code).toBe(1);
    expect(message(r)).toMatch(/revoked again/);
    expect(secretValues(e.pocketId)).toEqual([]);
    expectSafeEnd(r, e);
    e.harbor.clearFaults();
    expectHandedOver(await e.run(), e);
  });

  it("Pocket ID 2.14, rotation with Harbor configured: Harbor keeps its secret, which still works", async () => {
    const e = await start("2.14.0");
    const first = expectHandedOver(await e.run(), e);
    fault(e.harbor);
    const r = await e.run({ "rotate-secret": "true" });
    expect(r.code).toBe(1);
    expectSafeEnd(r, e);
    expect(e.harbor.secret()).toBe(first);
    expect(e.pocketId.acceptsSecret(CLIENT, first)).toBe(true);
    if (how === "reset") {
      // Only the secret was in the PUT: whether Harbor took it cannot be seen, so the new secret
      // stays valid and is handed out with the way back.
      expect(secretValues(e.pocketId)).toHaveLength(2);
      expect(r.outputs["client-secret"]).toBeTruthy();
      expect(e.pocketId.acceptsSecret(CLIENT, r.outputs["client-secret"] as string)).toBe(true);
      expect(message(r)).toMatch(/client-secret set to that output/);
    } else {
      expect(secretValues(e.pocketId)).toEqual([first]);
      expect(message(r)).toMatch(/revoked again/);
    }
  });

  it("Pocket ID 2.14, the revocation fails too: the secret is handed out with the recovery step", async () => {
    const e = await start("2.14.0");
    e.seedClient();
    const old = e.pocketId.addSecret(CLIENT);
    fault(e.harbor);
    e.pocketId.fault({ method: "DELETE", path: /\/secrets\//, kind: "status", status: 500, times: 10 });
    const r = await e.run();
    expect(r.code).toBe(1);
    const out = r.outputs["client-secret"] as string;
    expect(out).toBeTruthy();
    expect(r.masked).toContain(out);
    expect(e.pocketId.acceptsSecret(CLIENT, out)).toBe(true);
    expect(e.pocketId.acceptsSecret(CLIENT, old)).toBe(true);
    expect(message(r)).toMatch(/Pocket ID still holds it.*client-secret set to that output/s);
    expectSafeEnd(r, e);
  });

  it.each(["2.13.0", "2.12.0", "2.9.0"])("Pocket ID %s: fails with the new secret in the masked output and the exact recovery step", async (version) => {
    const e = await start(version);
    e.seedClient();
    const old = e.pocketId.addSecret(CLIENT);
    fault(e.harbor);
    const r = await e.run();
    expect(r.code).toBe(1);
    const out = r.outputs["client-secret"] as string;
    expect(out).toBeTruthy();
    expect(out).not.toBe(old);
    expect(r.masked).toContain(out);
    expect(e.pocketId.acceptsSecret(CLIENT, out)).toBe(true);
    expect(e.pocketId.acceptsSecret(CLIENT, old)).toBe(false);
    expect(message(r)).toMatch(/now accepts only it/);
    expect(message(r)).toMatch(/run the action again with client-secret set to that output \(\$\{\{ steps\.<this step's id>\.outputs\.client-secret \}\}\)/);
    expect(r.outputs["secret-rotated"]).toBe("true");
    expectSafeEnd(r, e);
    // The recovery step works (where a chosen value can be set or is already accepted).
    e.harbor.clearFaults();
    const again = await e.run({ "client-secret": out });
    expect(expectHandedOver(again, e)).toBe(out);
    expect(secretPosts(e.pocketId)).toHaveLength(1);
  });
});

describe("Harbor's PUT answer is lost", () => {
  it("once, after commit: the PUT is repeated and the run completes", async () => {
    const e = await start("2.14.0");
    e.harbor.fault({ ...HARBOR_PUT, kind: "reset-after" });
    const r = await e.run();
    expectSafeEnd(r, e);
    expectHandedOver(r, e);
  });

  it("every time, after commit: the read-back shows it went through", async () => {
    const e = await start("2.13.0");
    e.harbor.fault({ ...HARBOR_PUT, kind: "reset-after", times: 10 });
    const r = await e.run();
    expectSafeEnd(r, e);
    expectHandedOver(r, e);
    expect(r.stdout).toMatch(/its configuration shows the new values: it went through/);
  });
});

describe("given client-secret with faults", () => {
  it("Pocket ID 2.14: the secret POST's answer is lost after commit: the given secret is stored once", async () => {
    const e = await start("2.14.0");
    e.seedClient();
    const old = e.pocketId.addSecret(CLIENT);
    e.pocketId.fault({ method: "POST", path: SECRET_POST, kind: "reset-after" });
    const r = await e.run({ "client-secret": GIVEN });
    expectSafeEnd(r, e);
    expect(expectHandedOver(r, e)).toBe(GIVEN);
    expect(secretValues(e.pocketId)).toEqual([old, GIVEN]);
  });

  it("Pocket ID 2.14: Harbor's PUT fails: the given secret is revoked again", async () => {
    const e = await start("2.14.0");
    e.seedClient();
    const old = e.pocketId.addSecret(CLIENT);
    e.harbor.fault({ ...HARBOR_PUT, kind: "status", status: 500, times: 10 });
    const r = await e.run({ "client-secret": GIVEN });
    expect(r.code).toBe(1);
    expect(secretValues(e.pocketId)).toEqual([old]);
    expect(message(r)).toMatch(/revoked again/);
    expectSafeEnd(r, e);
  });

  it("Pocket ID 2.13, already accepted: Harbor's PUT fails: nothing changed in Pocket ID", async () => {
    const e = await start("2.13.0");
    e.seedClient();
    e.pocketId.addSecret(CLIENT, { value: GIVEN });
    e.harbor.fault({ ...HARBOR_PUT, kind: "status", status: 500, times: 10 });
    const r = await e.run({ "client-secret": GIVEN });
    expect(r.code).toBe(1);
    expect(e.pocketId.writes()).toEqual([]);
    expect(e.pocketId.acceptsSecret(CLIENT, GIVEN)).toBe(true);
    expectSafeEnd(r, e);
  });
});

describe("a secret POST's answer is lost and cannot be settled", () => {
  it("Pocket ID 2.13, rotation, the probe gets no clear answer: the chosen secret is handed out", async () => {
    const e = await start("2.13.0");
    const first = expectHandedOver(await e.run(), e);
    e.pocketId.fault({ method: "POST", path: SECRET_POST, kind: "reset-after" });
    e.pocketId.fault({ ...TOKEN, kind: "status", status: 500, body: { error: "Something went wrong" } });
    const r = await e.run({ "rotate-secret": "true" });
    expect(r.code).toBe(1);
    // The lost POST did replace the secret: Harbor's no longer works, the output's does.
    expect(e.pocketId.acceptsSecret(CLIENT, first)).toBe(false);
    const out = r.outputs["client-secret"] as string;
    expect(out).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(r.masked).toContain(out);
    expect(e.pocketId.acceptsSecret(CLIENT, out)).toBe(true);
    expect(message(r)).toMatch(/Whether Pocket ID stored the new client secret is unknown/);
    expect(r.summary).toMatch(/Pocket ID accepts the secret Harbor holds \| ❌ failed/);
    expectSafeEnd(r, e);
    // The recovery step, as printed.
    const again = await e.run({ "client-secret": out });
    expect(expectHandedOver(again, e)).toBe(out);
  });

  it("Pocket ID 2.9, rotation, both POSTs' answers lost: the message says to rotate again, and that works", async () => {
    const e = await start("2.9.0");
    const first = expectHandedOver(await e.run(), e);
    e.pocketId.fault({ method: "POST", path: SECRET_POST, kind: "reset-after", times: 2 });
    const r = await e.run({ "rotate-secret": "true" });
    expect(r.code).toBe(1);
    expect(e.pocketId.acceptsSecret(CLIENT, first)).toBe(false);
    expect(r.outputs["client-secret"]).toBe("");
    expect(message(r)).toMatch(/may have replaced the client secret with one nobody knows.*rotate-secret: true/s);
    expectSafeEnd(r, e);
    expectHandedOver(await e.run({ "rotate-secret": "true" }), e);
  });

  it("Pocket ID 2.14, new client, the secret POST hangs: the timeout is settled by the probe", async () => {
    const e = await start("2.14.0");
    e.pocketId.fault({ method: "POST", path: SECRET_POST, kind: "hang" });
    const r = await e.run({ "request-timeout": "2" });
    expectSafeEnd(r, e);
    const secret = expectHandedOver(r, e);
    expect(secretValues(e.pocketId)).toEqual([secret]);
  });
});

describe("Harbor's read-back fails after the new secret was handed over", () => {
  it.each(["2.14.0", "2.13.0"])("Pocket ID %s: the secret is in the masked output with the recovery step", async (version) => {
    const e = await start(version);
    // The preflight's read passes (a zero delay takes the first match), every read after the PUT fails.
    e.harbor.fault({ method: "GET", path: "/api/v2.0/configurations", kind: "delay", ms: 0 });
    e.harbor.fault({ method: "GET", path: "/api/v2.0/configurations", kind: "status", status: 500, times: 20 });
    const r = await e.run();
    expect(r.code).toBe(1);
    const held = e.harbor.secret() as string;
    expect(e.pocketId.acceptsSecret(CLIENT, held)).toBe(true);
    expect(r.outputs["client-secret"]).toBe(held);
    expect(r.masked).toContain(held);
    expect(message(r)).toMatch(/Before the failure this run had created Pocket ID client harbor, issued a client secret, updated Harbor's configuration\./);
    expect(message(r)).toMatch(/client-secret set to that output/);
    expectSafeEnd(r, e);
  });
});
