// The fault matrix (issue 5): every request the action makes on the apply path of a fresh setup,
// each with a 500, a 503, a 429 with Retry-After, a connection reset and a hang past the timeout
// (plus a lost answer for the requests that write). Every case ends either in success with the
// right final state or in a clear failure that names the server and the call; and in every case
// there is never a second client, nor a Harbor secret that Pocket ID rejects.
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, test } from "vitest";
import { type HarborSim, startHarbor } from "../sandbox/harbor.ts";
import { type PocketIdSim, startPocketId } from "../sandbox/pocket-id.ts";
import type { Fault } from "../sandbox/sim-kit.ts";
import { type ActionRun, connection, runAction } from "./helpers/action.ts";

type Server = "Pocket ID" | "Harbor";
interface Call {
  server: Server;
  method: string;
  path: string;
  /** The action may repeat it (reads, idempotent PUT, the token probe, Harbor's OIDC test). */
  retried: boolean;
  /** A create that, after a lost answer, is settled by reading back (client) or probing (secret). */
  settledAfterLoss?: "always" | "if-processed";
  /** Made after the secret is proven, only to tidy up: its failure is a warning, not a failure. */
  tidyUp?: true;
}

// The apply path of a fresh setup with client-id: harbor, in the order a clean run sends them
// (the first test below checks this list against a clean run, so a new request cannot be missed).
const CALLS: Call[] = [
  { server: "Pocket ID", method: "GET", path: "/api/version/current", retried: true },
  { server: "Pocket ID", method: "GET", path: "/.well-known/openid-configuration", retried: true },
  { server: "Pocket ID", method: "GET", path: "/api/oidc/clients/harbor", retried: true },
  // A lost answer is settled by reading back; not there, one more POST is safe with a fixed ID
  // (a taken ID is refused). Without client-id the action stops instead (e2e-secrets covers it).
  { server: "Pocket ID", method: "POST", path: "/api/oidc/clients", retried: false, settledAfterLoss: "always" },
  // Lists a new client's secrets to revoke any the action did not issue (newer Pocket IDs make one).
  { server: "Pocket ID", method: "GET", path: "/api/oidc/clients/harbor/secrets", retried: true, tidyUp: true },
  // The action picks the secret's value, so a lost answer is settled by probing it.
  { server: "Pocket ID", method: "POST", path: "/api/oidc/clients/harbor/secrets", retried: false, settledAfterLoss: "always" },
  { server: "Pocket ID", method: "POST", path: "/api/oidc/token", retried: true },
  { server: "Harbor", method: "GET", path: "/api/v2.0/users/current", retried: true },
  { server: "Harbor", method: "GET", path: "/api/v2.0/systeminfo", retried: true },
  { server: "Harbor", method: "GET", path: "/api/v2.0/configurations", retried: true },
  { server: "Harbor", method: "POST", path: "/api/v2.0/system/oidc/ping", retried: true },
  { server: "Harbor", method: "PUT", path: "/api/v2.0/configurations", retried: true },
];

type Kind = "500" | "503" | "429" | "reset" | "hang" | "reset-after";
const KINDS: Kind[] = ["500", "503", "429", "reset", "hang"];

function faultFor(call: Call, kind: Kind): Fault {
  const at = { method: call.method, path: call.path, times: 1 };
  switch (kind) {
    case "500":
      // Each server's own error shape; Harbor says nothing more than this for any 5xx.
      return call.server === "Harbor"
        ? { ...at, kind: "status", status: 500, body: { errors: [{ code: "UNKNOWN", message: "internal server error" }] } }
        : { ...at, kind: "status", status: 500, body: { error: "Something went wrong" } };
    case "503":
      return { ...at, kind: "status", status: 503, body: "Service Unavailable", headers: { "content-type": "text/plain" } };
    case "429":
      return { ...at, kind: "status", status: 429, body: { error: "Too many requests" }, headers: { "retry-after": "1" } };
    case "reset":
      return { ...at, kind: "reset" };
    case "hang":
      return { ...at, kind: "hang" };
    case "reset-after":
      return { ...at, kind: "reset-after" };
  }
}

/** What the action must do: succeed, or fail cleanly (stop and say so). */
function expected(call: Call, kind: Kind): "success" | "failure" {
  if (kind === "500") return call.tidyUp ? "success" : "failure"; // a real server error: not retried, nothing guessed
  if (call.retried) return "success"; // one 503/429/reset/hang/lost answer: retried
  if (kind === "503" || kind === "429") return "failure"; // a create is never repeated blindly
  // A lost answer (reset: not processed; reset-after: processed; hang: never processed here).
  if (call.settledAfterLoss === "always") return "success";
  return kind === "reset-after" ? "success" : "failure";
}

/** Every kind for every call, and a lost answer (processed, then the connection drops) for writes. */
function kindsFor(call: Call): Kind[] {
  return call.method === "GET" ? KINDS : [...KINDS, "reset-after"];
}

let pocketId: PocketIdSim | undefined;
let harbor: HarborSim | undefined;
let apiKey = "";
let password = "";

async function start(): Promise<{ pocketId: PocketIdSim; harbor: HarborSim }> {
  apiKey = randomBytes(16).toString("hex");
  password = `Harbor-${randomBytes(8).toString("hex")}`;
  pocketId = await startPocketId({ apiKey });
  harbor = await startHarbor({ adminPassword: password });
  return { pocketId, harbor };
}

afterEach(async () => {
  await Promise.all([pocketId?.close(), harbor?.close()]);
  pocketId = undefined;
  harbor = undefined;
});

function inputs(p: PocketIdSim, h: HarborSim): Record<string, string> {
  return { ...connection(p, h, apiKey, password), "client-id": "harbor", "request-timeout": "2" };
}

function run(p: PocketIdSim, h: HarborSim): Promise<ActionRun> {
  return runAction(inputs(p, h), { pocketId: p, harbor: h });
}

/** Holds after every run, whatever happened: one client at most, and no Harbor secret Pocket ID rejects. */
function assertInvariants(p: PocketIdSim, h: HarborSim): void {
  const ours = p.clients().filter((c) => c.name === "Harbor" || c.id === "harbor");
  expect(ours.length, "never a second client").toBeLessThanOrEqual(1);
  const held = h.secret();
  if (held !== undefined) expect(p.acceptsSecret("harbor", held), "Harbor never holds a secret Pocket ID rejects").toBe(true);
}

/** Success: the state a fresh setup must end in. */
function assertConfigured(r: ActionRun, p: PocketIdSim, h: HarborSim, { outputs = true } = {}): void {
  expect(r.errors).toEqual([]);
  expect(r.code).toBe(0);
  expect(p.clients().map((c) => [c.id, c.name])).toEqual([["harbor", "Harbor"]]);
  const client = p.client("harbor");
  expect(client?.callbackURLs).toEqual([`${h.url}/c/oidc/callback`]);
  expect(client?.pkceEnabled).toBe(true);
  // Exactly the one secret Harbor holds: no orphan from a lost answer.
  expect(client?.secrets).toHaveLength(1);
  const config = h.config();
  expect(config.auth_mode).toBe("oidc_auth");
  expect(config.oidc_client_id).toBe("harbor");
  expect(config.oidc_endpoint).toBe(p.issuer);
  const held = h.secret();
  expect(held).toMatch(/^[A-Za-z0-9]{32}$/);
  expect(p.acceptsSecret("harbor", held as string)).toBe(true);
  expect(r.outputs["client-id"]).toBe("harbor");
  if (outputs) expect(r.outputs["client-secret"]).toBe(held);
}

describe("fault matrix, apply path of a fresh setup (client-id: harbor, request-timeout: 2)", () => {
  test("the matrix covers every request a clean run makes", async () => {
    const { pocketId: p, harbor: h } = await start();
    const r = await run(p, h);
    assertConfigured(r, p, h);
    const seen = (server: Server, reqs: { method: string; path: string }[]) => [...new Set(reqs.map((q) => `${server} ${q.method} ${q.path}`))].sort();
    // Pocket ID's requests include Harbor's own discovery fetch for the OIDC test: the same call.
    expect([...seen("Pocket ID", p.requests), ...seen("Harbor", h.requests)].sort()).toEqual(CALLS.map((c) => `${c.server} ${c.method} ${c.path}`).sort());
  });

  describe.each(CALLS)("$server $method $path", (call) => {
    test.each(kindsFor(call).map((kind) => [kind, expected(call, kind)] as const))("%s → %s", async (kind, outcome) => {
      const { pocketId: p, harbor: h } = await start();
      const sim = call.server === "Harbor" ? h : p;
      sim.fault(faultFor(call, kind));
      const r = await run(p, h);
      // The fault was hit: the action really made this call.
      const hits = sim.requests.filter((q) => q.method === call.method && q.path === call.path);
      expect(hits.some((q) => q.status < 0 || [500, 503, 429].includes(q.status))).toBe(true);
      assertInvariants(p, h);
      if (outcome === "success") {
        assertConfigured(r, p, h);
        // Retried: the call was made again and went through.
        if (call.retried && !(call.tidyUp && kind === "500")) expect(hits.length).toBeGreaterThanOrEqual(2);
        if (call.tidyUp && kind === "500") expect(r.stdout).toMatch(/^::warning::Could not list the secrets of client harbor/m);
        return;
      }
      expect(r.code).not.toBe(0);
      expect(r.errors).toHaveLength(1);
      const message = r.errors[0] as string;
      expect(message).toContain(call.server);
      expect(message).toContain(`${call.method} ${call.path}`);
      if (kind === "500" || kind === "503" || kind === "429") expect(message).toContain(`answered ${kind}`);
      // What to do: Harbor says nothing but "internal server error", so point to core's log.
      if (kind === "500") expect(message).toContain(call.server === "Harbor" ? "Harbor core's log" : "Pocket ID's log");
      if (kind === "hang") expect(message).toContain("request-timeout");
      // Failing cleanly means a plain rerun, once the fault is gone, finishes the job.
      p.clearFaults();
      h.clearFaults();
      const again = await run(p, h);
      assertInvariants(p, h);
      // (A rerun may find Harbor's secret in place and then has none to output.)
      assertConfigured(again, p, h, { outputs: false });
    });
  });
});

describe("faults that do not go away", () => {
  test("a GET that answers 503 every time: tried 5 times with backoff, then a clear failure, nothing changed", async () => {
    const { pocketId: p, harbor: h } = await start();
    h.fault({ method: "GET", path: "/api/v2.0/configurations", kind: "status", status: 503, body: "Service Unavailable", times: 100 });
    const r = await run(p, h);
    expect(r.code).not.toBe(0);
    expect(r.errors[0]).toContain("Harbor: GET /api/v2.0/configurations answered 503");
    expect(r.errors[0]).toContain("Harbor core's log");
    expect(h.requests.filter((q) => q.path === "/api/v2.0/configurations")).toHaveLength(5);
    expect([...p.writes(), ...h.writes()]).toEqual([]);
    // Backoff: the four waits (0.15–0.3, 0.3–0.6, 0.6–1.2, 1.2–2.4 s) add up to at least 2.25 s.
    expect(r.durationMs).toBeGreaterThan(2250);
  });

  test("a read that hangs every time: tried 5 times, then a failure naming request-timeout", async () => {
    const { pocketId: p, harbor: h } = await start();
    p.fault({ method: "GET", path: "/api/version/current", kind: "hang", times: 100 });
    const r = await runAction({ ...inputs(p, h), "request-timeout": "1" }, { pocketId: p, harbor: h });
    expect(r.code).not.toBe(0);
    expect(r.errors[0]).toContain("Pocket ID: GET /api/version/current got no answer: no answer within 1 s (input request-timeout)");
    expect(r.errors[0]).toContain("raise request-timeout");
    expect(p.requests.filter((q) => q.path === "/api/version/current")).toHaveLength(5);
    expect([...p.writes(), ...h.writes()]).toEqual([]);
  });

  test("Harbor's PUT resets every time: the secret issued for it is revoked again and Harbor holds none", async () => {
    const { pocketId: p, harbor: h } = await start();
    h.fault({ method: "PUT", path: "/api/v2.0/configurations", kind: "reset", times: 100 });
    const r = await run(p, h);
    expect(r.code).not.toBe(0);
    expect(r.errors[0]).toContain("Harbor: PUT /api/v2.0/configurations got no answer");
    expect(r.errors[0]).toContain("revoked again");
    expect(h.requests.filter((q) => q.method === "PUT")).toHaveLength(5);
    expect(h.secret()).toBeUndefined();
    expect(h.config().auth_mode).toBe("db_auth");
    expect(p.client("harbor")?.secrets).toEqual([]);
    expect(r.outputs["client-secret"] ?? "").toBe("");
    assertInvariants(p, h);
  });

  test("Harbor is down (connection refused): a clear failure naming Harbor, nothing changed in Pocket ID", async () => {
    const { pocketId: p, harbor: h } = await start();
    const url = h.url;
    await h.close();
    const r = await runAction({ ...inputs(p, h), "harbor-url": url }, { pocketId: p });
    expect(r.code).not.toBe(0);
    expect(r.errors[0]).toMatch(/Harbor: GET \/api\/v2\.0\/\S+ got no answer: .*ECONNREFUSED/);
    expect(r.errors[0]).toContain("Check that Harbor is reachable from the runner");
    expect(p.writes()).toEqual([]);
  });
});

describe("a server's error text never shows a secret", () => {
  test("Pocket ID echoes the API key in a 400 on the client lookup: the message shows *** instead", async () => {
    const { pocketId: p, harbor: h } = await start();
    p.fault({ method: "GET", path: "/api/oidc/clients/harbor", kind: "status", status: 400, body: { error: `invalid key ${apiKey} for this route` } });
    const r = await run(p, h);
    expect(r.code).not.toBe(0);
    expect(r.errors[0]).toContain("Pocket ID: GET /api/oidc/clients/harbor answered 400 (invalid key *** for this route)");
    expect(r.errors[0]).not.toContain(apiKey);
    expect([...p.writes(), ...h.writes()]).toEqual([]);
  });

  test("Harbor answers 403 with the password (and its basic-auth form) as the message: shown as ***", async () => {
    const { pocketId: p, harbor: h } = await start();
    const basic = Buffer.from(`admin:${password}`).toString("base64");
    h.fault({
      method: "GET",
      path: "/api/v2.0/configurations",
      kind: "status",
      status: 403,
      body: { errors: [{ code: "FORBIDDEN", message: `${password} / Basic ${basic}` }] },
    });
    const r = await run(p, h);
    expect(r.code).not.toBe(0);
    expect(r.errors[0]).toContain("Harbor: GET /api/v2.0/configurations answered 403 (FORBIDDEN: *** / Basic ***)");
    expect(r.errors[0]).not.toContain(password);
    expect(r.errors[0]).not.toContain(basic);
  });

  test("a secret in the server's error code and in a 500 of the write path is scrubbed too", async () => {
    const { pocketId: p, harbor: h } = await start();
    h.fault({ method: "PUT", path: "/api/v2.0/configurations", kind: "status", status: 500, body: { errors: [{ code: password, message: apiKey }] } });
    const r = await run(p, h);
    expect(r.code).not.toBe(0);
    expect(r.errors[0]).toContain("Harbor: PUT /api/v2.0/configurations answered 500 (***: ***)");
    expect(r.errors[0]).toContain("Harbor core's log");
    assertInvariants(p, h);
  });
});
