// End to end, issue 3: every preflight failure stops the run before the first change on either
// server; the read-back catches what Harbor drops; plan and verify modes; the job summary,
// annotations and log groups.
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type HarborOptions, type HarborSim, startHarbor } from "../sandbox/harbor.ts";
import { type PocketIdOptions, type PocketIdSim, startPocketId } from "../sandbox/pocket-id.ts";
import { type ActionRun, connection, runAction } from "./helpers/action.ts";

const API_KEY = `pid-${randomBytes(12).toString("hex")}`;
const PASSWORD = `Harbor-${randomBytes(8).toString("hex")}`;
const DEFAULT_SCOPE = "openid,offline_access,email,profile,groups";
const EXTERNAL = "https://registry.example.com";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function startP(p: Partial<PocketIdOptions> = {}): Promise<PocketIdSim> {
  const pocketId = await startPocketId({ apiKey: API_KEY, ...p });
  closers.push(() => pocketId.close());
  return pocketId;
}

async function startH(h: Partial<HarborOptions> = {}): Promise<HarborSim> {
  const harbor = await startHarbor({ adminPassword: PASSWORD, ...h });
  closers.push(() => harbor.close());
  return harbor;
}

async function servers(p: Partial<PocketIdOptions> = {}, h: Partial<HarborOptions> = {}) {
  return { pocketId: await startP(p), harbor: await startH(h) };
}

function inputs(pocketId: { url: string }, harbor: { url: string }, extra: Record<string, string> = {}): Record<string, string> {
  return { ...connection(pocketId, harbor, API_KEY, PASSWORD), "client-id": "harbor", ...extra };
}

function run(pocketId: PocketIdSim, harbor: HarborSim, extra: Record<string, string> = {}): Promise<ActionRun> {
  return runAction(inputs(pocketId, harbor, extra), { pocketId, harbor });
}

function why(r: ActionRun): string {
  return `exit ${r.code}\n${r.errors.join("\n")}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-1000)}`;
}

/** The one error message of a failed run. */
function failure(r: ActionRun): string {
  expect(r.code, why(r)).not.toBe(0);
  expect(r.code).not.toBeNull();
  expect(r.errors, why(r)).toHaveLength(1);
  return r.errors[0] as string;
}

function noWrites(...sims: { writes(): unknown[] }[]): void {
  for (const sim of sims) expect(sim.writes()).toEqual([]);
}

/** Pocket ID and Harbor already set up by the action (client-id harbor), writes counted from here. */
async function synced(h: Partial<HarborOptions> = {}, extra: Record<string, string> = {}) {
  const { pocketId, harbor } = await servers({}, h);
  const first = await run(pocketId, harbor, extra);
  expect(first.code, why(first)).toBe(0);
  const before = { pocketId: pocketId.writes().length, harbor: harbor.writes().length };
  const unchanged = () => expect({ pocketId: pocketId.writes().length, harbor: harbor.writes().length }).toEqual(before);
  return { pocketId, harbor, unchanged };
}

/** A port on loopback where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("preflight: credentials", () => {
  it("a wrong Pocket ID API key: rejected, nothing changed", async () => {
    const { pocketId, harbor } = await servers();
    const r = await runAction({ ...inputs(pocketId, harbor), "pocket-id-api-key": "wrong-key-0123456789" }, { pocketId, harbor });
    const message = failure(r);
    expect(message).toContain("the Pocket ID API key was rejected (missing, wrong or expired)");
    expect(message).toContain("pocket-id-api-key");
    expect(message, "one cause, one line").not.toMatch(/problems found/);
    expect(message).toContain("Nothing was changed on either server");
    expect(r.stdout).toMatch(/^::error title=Preflight failed::/m);
    noWrites(pocketId, harbor);
    expect(harbor.pings).toEqual([]);
  });

  it("a Pocket ID API key of a user who is not an admin", async () => {
    const nonAdmin = `user-${randomBytes(12).toString("hex")}`;
    const { pocketId, harbor } = await servers({ nonAdminApiKey: nonAdmin });
    const r = await runAction({ ...inputs(pocketId, harbor), "pocket-id-api-key": nonAdmin }, { pocketId, harbor });
    const message = failure(r);
    expect(message).toMatch(/the Pocket ID API key is not an admin/);
    expect(message).not.toContain("rejected");
    noWrites(pocketId, harbor);
  });

  it("a wrong Harbor password: rejected, one request per Harbor read (a 401 is never retried)", async () => {
    const { pocketId, harbor } = await servers();
    const wrong = "not-the-password-123";
    const r = await runAction({ ...inputs(pocketId, harbor), "harbor-password": wrong }, { pocketId, harbor });
    const message = failure(r);
    expect(message).toMatch(/Harbor rejected the credentials of harbor-username "admin"/);
    expect(message).toContain("401");
    expect(message, "one cause, one line").not.toMatch(/problems found/);
    noWrites(pocketId, harbor);
    const bad = basic("admin", wrong);
    const sent = harbor.requests.filter((q) => q.headers.authorization === bad);
    expect(sent.length).toBeGreaterThan(0);
    expect(harbor.requests.every((q) => q.headers.authorization === bad)).toBe(true);
    const perPath = new Map<string, number>();
    for (const q of sent) perPath.set(`${q.method} ${q.path}`, (perPath.get(`${q.method} ${q.path}`) ?? 0) + 1);
    expect(perPath.get("GET /api/v2.0/users/current")).toBe(1);
    for (const [call, n] of perPath) expect(n, call).toBe(1);
    expect(harbor.pings).toEqual([]);
  });

  it("a Harbor account that is not a system administrator", async () => {
    const devPassword = `Dev-${randomBytes(8).toString("hex")}`;
    const { pocketId, harbor } = await servers({}, { otherAccounts: [{ username: "dev", password: devPassword, sysadmin: false }] });
    const r = await runAction({ ...inputs(pocketId, harbor), "harbor-username": "dev", "harbor-password": devPassword }, { pocketId, harbor });
    const message = failure(r);
    expect(message).toMatch(/Harbor user "dev" is not a system administrator/);
    expect(message, "one cause, one line").not.toMatch(/problems found/);
    noWrites(pocketId, harbor);
  });

  it("every credential problem at once: both servers reject, one line each", async () => {
    const { pocketId, harbor } = await servers();
    const r = await runAction(
      { ...inputs(pocketId, harbor), "pocket-id-api-key": "wrong-key-0123456789", "harbor-password": "not-the-password-123" },
      { pocketId, harbor },
    );
    const message = failure(r);
    const lines = message.split("\n").filter((l) => l.startsWith("- "));
    expect(message).toMatch(/^2 problems found before any change:/);
    expect(lines).toHaveLength(2);
    expect(lines.some((l) => l.includes("the Pocket ID API key was rejected"))).toBe(true);
    expect(lines.some((l) => l.includes("Harbor rejected the credentials"))).toBe(true);
    noWrites(pocketId, harbor);
  });

  it("Pocket ID unreachable: names Pocket ID and the call", async () => {
    const harbor = await startH();
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}`;
    const r = await runAction({ ...inputs({ url }, harbor), "request-timeout": "2" }, { harbor });
    const message = failure(r);
    expect(message).toMatch(/Pocket ID: GET \/(api|\.well-known)\/\S+ got no answer/);
    expect(message).toMatch(/ECONNREFUSED|connection refused/i);
    expect(message).toMatch(/Check that Pocket ID is reachable from the runner/);
    expect(message, "one cause, one line").not.toMatch(/problems found/);
    noWrites(harbor);
    expect(harbor.pings).toEqual([]);
  });
});

describe("preflight: Harbor's state", () => {
  it("a read-only configuration (CONFIG_OVERWRITE_JSON): says so and how to fix it", async () => {
    const { pocketId, harbor } = await servers({}, { configOverwriteJson: true });
    const r = await run(pocketId, harbor);
    const message = failure(r);
    expect(message).toContain("CONFIG_OVERWRITE_JSON");
    expect(message).toMatch(/read-only/);
    expect(message).toMatch(/remove the variable and restart Harbor core/);
    noWrites(pocketId, harbor);
    expect(pocketId.clients()).toEqual([]);
  });

  it("a read-only Harbor that already holds the desired settings passes verify and a no-op apply", async () => {
    // Set up once on a writable Harbor, then start a read-only one with the same values.
    const first = await synced({ externalUrl: EXTERNAL });
    const harbor = await startH({ externalUrl: EXTERNAL, configOverwriteJson: true, initialConfig: first.harbor.config() });
    const { pocketId } = first;
    const verify = await run(pocketId, harbor, { mode: "verify" });
    expect(verify.code, why(verify)).toBe(0);
    expect(verify.outputs).toMatchObject({ drift: "false", changes: "[]" });
    const apply = await run(pocketId, harbor);
    expect(apply.code, why(apply)).toBe(0);
    expect(apply.outputs).toMatchObject({ drift: "false", "harbor-changed": "false" });
    first.unchanged();
    noWrites(harbor);
  });

  it("the auth-mode lock: explains the rule, counts the users, gives the ways out", async () => {
    const { pocketId, harbor } = await servers({}, { users: ["alice", "bob"] });
    const r = await run(pocketId, harbor);
    const message = failure(r);
    expect(message).toMatch(/Harbor refuses to switch auth_mode from db_auth to oidc_auth/);
    expect(message).toMatch(/\b2 user\(s\) besides admin/);
    expect(message).toMatch(/only while admin is the only user/);
    expect(message).toMatch(/delete those users/);
    expect(message).toMatch(/fresh Harbor/);
    noWrites(pocketId, harbor);
    expect(harbor.config().auth_mode).toBe("db_auth");
  });
});

describe("preflight: inputs (no request at all)", () => {
  it.each([
    ["a /.well-known/ URL as pocket-id-url", { "pocket-id-url": "/.well-known/openid-configuration" }, "pocket-id-url", /\/\.well-known\//],
    ["a scope without openid", { scope: "profile,email" }, "scope", /must contain "openid"/],
    ["a group-filter that is not a regular expression", { "group-filter": "([a-z" }, "group-filter", /regular expression/],
  ])("%s", async (_name, extra, input, detail) => {
    const { pocketId, harbor } = await servers();
    const values: Record<string, string> = { ...extra };
    if (values["pocket-id-url"]) values["pocket-id-url"] = `${pocketId.url}${values["pocket-id-url"]}`;
    const r = await run(pocketId, harbor, values);
    const message = failure(r);
    expect(message).toContain(`Input \`${input}\``);
    expect(message).toMatch(detail);
    expect(r.stdout).toMatch(/^::error title=Invalid input::/m);
    expect(pocketId.requests).toHaveLength(0);
    expect(harbor.requests).toHaveLength(0);
  });
});

describe("preflight: the issuer and Harbor's OIDC test", () => {
  it("the ping fails while the runner fetches discovery: Harbor cannot reach Pocket ID", async () => {
    const { pocketId, harbor } = await servers({}, { blockOutbound: true });
    const r = await run(pocketId, harbor);
    const message = failure(r);
    expect(message).toMatch(/Test OIDC server" failed for/);
    expect(message).toContain(pocketId.issuer);
    expect(message).toMatch(/Harbor cannot reach Pocket ID from its own network or does not trust its certificate/);
    expect(harbor.pings).toHaveLength(1);
    expect(harbor.pings[0]?.ok).toBe(false);
    noWrites(pocketId, harbor);
    expect(r.summary).toMatch(/Harbor's Test OIDC server \| ❌ failed/);
  });

  it("test-oidc: false skips the ping, and the run succeeds", async () => {
    const { pocketId, harbor } = await servers({}, { blockOutbound: true });
    const r = await run(pocketId, harbor, { "test-oidc": "false" });
    expect(r.code, why(r)).toBe(0);
    expect(harbor.requests.filter((q) => q.path === "/api/v2.0/system/oidc/ping")).toEqual([]);
    expect(harbor.config().auth_mode).toBe("oidc_auth");
    expect(pocketId.acceptsSecret("harbor", harbor.secret() ?? "")).toBe(true);
    expect(r.summary).toMatch(/Harbor's Test OIDC server \| ➖ skipped/);
  });
});

describe("preflight: version gates", () => {
  const old = { pkce: "false", "session-logout": "false" };

  it("primary-auth-mode: true on Harbor 2.7 needs 2.8", async () => {
    const { pocketId, harbor } = await servers({}, { version: "2.7.0" });
    const r = await run(pocketId, harbor, { ...old, "primary-auth-mode": "true" });
    const message = failure(r);
    expect(message).toMatch(/primary-auth-mode: true needs Harbor 2\.8 or later \(this Harbor is v2\.7\.0\)/);
    noWrites(pocketId, harbor);
  });

  it("group-filter works on Harbor 2.7", async () => {
    const { pocketId, harbor } = await servers({}, { version: "2.7.0" });
    const r = await run(pocketId, harbor, { ...old, "group-filter": "^harbor-" });
    expect(r.code, why(r)).toBe(0);
    expect(harbor.config()).toMatchObject({ auth_mode: "oidc_auth", oidc_group_filter: "^harbor-" });
    expect(harbor.config()).not.toHaveProperty("primary_auth_mode");
  });

  it("group-filter on Harbor 2.6 needs 2.7", async () => {
    const { pocketId, harbor } = await servers({}, { version: "2.6.0" });
    const r = await run(pocketId, harbor, { ...old, "group-filter": "^harbor-" });
    const message = failure(r);
    expect(message).toMatch(/group-filter: "\^harbor-" needs Harbor 2\.7 or later/);
    noWrites(pocketId, harbor);
  });
});

describe("read-back", () => {
  it("catches a key Harbor answered 200 to but dropped", async () => {
    const { pocketId, harbor } = await servers({}, { dropKeys: ["oidc_user_claim"] });
    const r = await run(pocketId, harbor, { "request-timeout": "2" });
    const message = failure(r);
    expect(message).toMatch(/oidc_user_claim \(sent "email", Harbor has ""\)/);
    expect(harbor.config().oidc_user_claim).toBe("");
    // Read back for a bounded time (3 × request-timeout), then fail.
    const put = harbor.requests.findIndex((q) => q.method === "PUT");
    const reads = harbor.requests.slice(put + 1).filter((q) => q.path === "/api/v2.0/configurations");
    expect(reads.length).toBeGreaterThan(1);
    expect(r.durationMs).toBeLessThan(15_000);
    // Harbor took the other keys and the secret: Pocket ID must accept what Harbor holds.
    expect(pocketId.acceptsSecret("harbor", harbor.secret() ?? "")).toBe(true);
  });

  it("rides out a config cache that serves old values for a moment", async () => {
    const { pocketId, harbor } = await servers({}, { staleReads: 2 });
    const r = await run(pocketId, harbor, { "request-timeout": "2" });
    expect(r.code, why(r)).toBe(0);
    const put = harbor.requests.findIndex((q) => q.method === "PUT");
    const reads = harbor.requests.slice(put + 1).filter((q) => q.method === "GET" && q.path === "/api/v2.0/configurations");
    expect(reads).toHaveLength(3);
    expect(harbor.config()).toMatchObject({ auth_mode: "oidc_auth", oidc_user_claim: "email" });
  });
});

describe("mode: plan", () => {
  it("on fresh servers: reports every change, changes nothing, succeeds", async () => {
    const { pocketId, harbor } = await servers();
    const r = await run(pocketId, harbor, { mode: "plan" });
    expect(r.code, why(r)).toBe(0);
    noWrites(pocketId, harbor);
    expect(harbor.pings).toHaveLength(1);
    expect(pocketId.clients()).toEqual([]);
    expect(harbor.config().auth_mode).toBe("db_auth");
    expect(r.outputs).toMatchObject({
      drift: "true",
      "client-created": "false",
      "secret-rotated": "false",
      "harbor-changed": "false",
      "client-secret": "",
      "client-id": "harbor",
      issuer: pocketId.issuer,
    });
    const changes = JSON.parse(r.outputs.changes ?? "[]") as { target: string; setting: string; from: unknown; to: unknown }[];
    expect(changes.length).toBeGreaterThan(5);
    expect(changes).toContainEqual({ target: "harbor", setting: "auth_mode", from: "db_auth", to: "oidc_auth" });
    expect(changes).toContainEqual({ target: "harbor", setting: "oidc_scope", from: "", to: DEFAULT_SCOPE });
    // The plan as a table in the log: target, setting, from → to.
    expect(r.stdout).toMatch(/^ {2}target {5}setting +from → to$/m);
    expect(r.stdout).toMatch(/^ {2}harbor {5}auth_mode +db_auth → oidc_auth$/m);
    expect(r.stdout).toMatch(/^ {2}pocket-id {2}client +\(empty\) → harbor$/m);
    expect(r.summary).toMatch(/^### pocket-id-harbor-oidc \(plan\): ✅/m);
    expect(r.summary).toContain("| target | setting | from | to |");
    expect(r.summary).toContain("| harbor | auth_mode | db_auth | oidc_auth |");
  });

  it("reports what would stop an apply, yet succeeds and changes nothing", async () => {
    const { pocketId, harbor } = await servers({}, { users: ["alice"] });
    const r = await run(pocketId, harbor, { mode: "plan" });
    expect(r.code, why(r)).toBe(0);
    noWrites(pocketId, harbor);
    expect(r.stdout).toMatch(/^::warning title=apply would stop here::Harbor refuses to switch auth_mode/m);
    expect(r.summary).toMatch(/apply would stop on 1 problem/);
    expect(r.summary).toMatch(/apply would stop: Harbor refuses to switch auth_mode from db_auth to oidc_auth: 1 user/);
    expect(r.outputs.drift).toBe("true");
  });

  it("warns when harbor-username is not the built-in admin, which alone keeps basic auth in OIDC mode", async () => {
    const opsPassword = `Ops-${randomBytes(8).toString("hex")}`;
    const { pocketId, harbor } = await servers({}, { otherAccounts: [{ username: "ops", password: opsPassword, sysadmin: true }] });
    const r = await runAction(
      { ...inputs(pocketId, harbor, { mode: "plan" }), "harbor-username": "ops", "harbor-password": opsPassword },
      { pocketId, harbor },
    );
    expect(r.code, why(r)).toBe(0);
    noWrites(pocketId, harbor);
    expect(r.stdout).toMatch(/^::warning title=pocket-id-harbor-oidc::harbor-username "ops" is not Harbor's built-in admin/m);
    // The account itself is a user besides admin, so Harbor's lock would stop the switch too.
    expect(r.stdout).toMatch(/^::warning title=apply would stop here::Harbor refuses to switch auth_mode/m);
  });

  it("on an in-sync setup: no drift, no changes", async () => {
    const { pocketId, harbor, unchanged } = await synced();
    const r = await run(pocketId, harbor, { mode: "plan" });
    expect(r.code, why(r)).toBe(0);
    unchanged();
    expect(r.outputs).toMatchObject({ drift: "false", changes: "[]", "client-secret": "" });
    expect(r.summary).toContain("No changes");
    expect(r.summary).not.toContain("| target | setting |");
  });
});

describe("mode: verify", () => {
  it("in sync: succeeds and lists the checks as passed", async () => {
    const { pocketId, harbor, unchanged } = await synced();
    const r = await run(pocketId, harbor, { mode: "verify" });
    expect(r.code, why(r)).toBe(0);
    unchanged();
    expect(r.outputs).toMatchObject({ drift: "false", changes: "[]" });
    expect(r.summary).toMatch(/^### pocket-id-harbor-oidc \(verify\): ✅ in sync/m);
    for (const check of ["Pocket ID API key (admin)", "Harbor credentials (admin, system admin)", "Discovery from the runner", "Harbor's Test OIDC server"]) {
      expect(r.summary).toContain(`| ${check} | ✅ passed |`);
    }
  });

  it("drifted: fails with one line per difference, changes nothing", async () => {
    const { pocketId, harbor } = await synced();
    // Someone edits both servers by hand.
    const put = await fetch(`${harbor.url}/api/v2.0/configurations`, {
      method: "PUT",
      headers: { authorization: basic("admin", PASSWORD), "content-type": "application/json" },
      body: JSON.stringify({ oidc_scope: "openid,email" }),
    });
    expect(put.status).toBe(200);
    const client = pocketId.client("harbor");
    if (!client) throw new Error("no client");
    client.callbackURLs = ["https://wrong.example.com/c/oidc/callback"];
    const before = { pocketId: pocketId.writes().length, harbor: harbor.writes().length };

    const r = await run(pocketId, harbor, { mode: "verify" });
    const message = failure(r);
    expect({ pocketId: pocketId.writes().length, harbor: harbor.writes().length }).toEqual(before);
    const lines = message.split("\n").filter((l) => l.startsWith("- "));
    expect(lines).toEqual([
      `- drift: pocket-id callbackURLs: ["https://wrong.example.com/c/oidc/callback"] → ["${harbor.url}/c/oidc/callback"]`,
      `- drift: harbor oidc_scope: openid,email → ${DEFAULT_SCOPE}`,
    ]);
    expect(r.stdout).toMatch(/^::error title=Verification failed::/m);
    expect(r.outputs).toMatchObject({ drift: "true", "harbor-changed": "false", "secret-rotated": "false" });
    expect(JSON.parse(r.outputs.changes ?? "[]")).toHaveLength(2);
    expect(r.summary).toMatch(/^### pocket-id-harbor-oidc \(verify\): ❌/m);
    expect(r.summary).toContain("| harbor | oidc_scope | openid,email |");
  });

  it("drift and a failed check together: every problem on its own line", async () => {
    const { pocketId, harbor } = await synced();
    const client = pocketId.client("harbor");
    if (!client) throw new Error("no client");
    client.launchURL = "https://old.example.com";
    harbor.fault({
      method: "POST",
      path: "/api/v2.0/system/oidc/ping",
      kind: "status",
      status: 400,
      body: { errors: [{ code: "BAD_REQUEST", message: "failed to verify connection" }] },
    });
    const before = { pocketId: pocketId.writes().length, harbor: harbor.writes().length };
    const r = await run(pocketId, harbor, { mode: "verify" });
    const message = failure(r);
    expect({ pocketId: pocketId.writes().length, harbor: harbor.writes().length }).toEqual(before);
    const lines = message.split("\n").filter((l) => l.startsWith("- "));
    expect(lines).toHaveLength(2);
    expect(lines.some((l) => l.includes(`pocket-id launchURL: https://old.example.com → ${harbor.url}`))).toBe(true);
    expect(lines.some((l) => l.includes("Test OIDC server") && l.includes("failed to verify connection"))).toBe(true);
    expect(r.outputs.drift).toBe("true");
  });
});

describe("reporting", () => {
  it("the summary of an apply: result, changes, checks, client ID, issuer, versions, warnings; annotations; log groups", async () => {
    const { pocketId, harbor } = await servers();
    const r = await run(pocketId, harbor, { "verify-cert": "false", "primary-auth-mode": "true" });
    expect(r.code, why(r)).toBe(0);
    const s = r.summary;
    expect(s).toMatch(/^### pocket-id-harbor-oidc \(apply\): ✅ \d+ change\(s\) applied$/m);
    expect(s).toContain("| target | setting | from | to |");
    expect(s).toContain("| pocket-id | client | (empty) | harbor |");
    expect(s).toContain("| harbor | oidc_client_secret | *** | *** |");
    expect(s).toContain("| harbor | primary_auth_mode | false | true |");
    expect(s).toContain("| check | result | detail |");
    expect(s).toContain("| Harbor's Test OIDC server | ✅ passed |");
    expect(s).toContain("| Pocket ID accepts the secret Harbor holds | ✅ passed |");
    expect(s).toContain("- Client ID: `harbor`");
    expect(s).toContain(`- Issuer: \`${pocketId.issuer}\``);
    expect(s).toContain("- Pocket ID: 2.14.0; Harbor: v2.15.2");
    expect(s).toMatch(/⚠️ verify-cert: false/);

    expect(r.stdout).toMatch(/^::warning title=[^:]+::verify-cert: false/m);
    expect(r.stdout).toMatch(new RegExp(`^::notice title=[^:]+::primary-auth-mode is on.*${harbor.url.replace(/[.]/g, "\\.")}/account/sign-in`, "m"));
    // Log groups per phase, each closed.
    const groups = r.stdout.split("\n").filter((l) => l.startsWith("::group::"));
    expect(groups.map((g) => g.slice("::group::".length))).toEqual(expect.arrayContaining([expect.stringMatching(/^Preflight/), "Apply"]));
    expect(r.stdout.split("\n").filter((l) => l === "::endgroup::")).toHaveLength(groups.length);
  });

  it("the summary of a preflight failure says what failed", async () => {
    const { pocketId, harbor } = await servers({}, { users: ["alice"] });
    const r = await run(pocketId, harbor);
    failure(r);
    expect(r.summary).toMatch(/^### pocket-id-harbor-oidc \(apply\): ❌ /m);
    expect(r.summary).toContain("auth_mode");
    expect(r.summary).toContain("- Pocket ID: 2.14.0; Harbor: v2.15.2");
  });

  it("a failure before anything was read still leaves a one-line summary", async () => {
    const { pocketId, harbor } = await servers();
    const r = await runAction({ ...inputs(pocketId, harbor), "pocket-id-api-key": "wrong-key-0123456789" }, { pocketId, harbor });
    failure(r);
    expect(r.summary).toMatch(/^### pocket-id-harbor-oidc \(apply\): ❌ .*Pocket ID API key was rejected/m);
  });
});
