// Sanity tests of the Harbor simulator itself (sandbox/harbor.ts), against the reference in
// /work/shared/reference/harbor-api.md.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type HarborOptions, startHarbor } from "../sandbox/harbor.ts";

const PASSWORD = "Harbor12345";
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function harbor(opts: Partial<HarborOptions> = {}) {
  const sim = await startHarbor({ adminPassword: PASSWORD, ...opts });
  closers.push(() => sim.close());
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${sim.url}/api/v2.0${path}`, {
      method,
      headers: { authorization: basic("admin", PASSWORD), ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
  const values = async () => {
    const got = (await (await call("GET", "/configurations")).json()) as Record<string, { value: unknown; editable: boolean }>;
    return Object.fromEntries(Object.entries(got).map(([k, v]) => [k, v.value]));
  };
  return { sim, call, values };
}

/** A discovery endpoint whose document claims `issuer(base)`. */
async function discoveryServer(issuer: (base: string) => string, tlsOptions?: { key: string; cert: string }): Promise<string> {
  let base = "";
  const handler: http.RequestListener = (req, res) => {
    if (req.url !== "/.well-known/openid-configuration") return void res.writeHead(404).end("not found");
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ issuer: issuer(base), jwks_uri: `${base}/jwks` }));
  };
  const server = tlsOptions ? https.createServer(tlsOptions, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `${tlsOptions ? "https" : "http"}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return base;
}

describe("Harbor simulator", () => {
  it("serves a fresh 2.15.2's configuration: wrappers, defaults, no secret", async () => {
    const { sim, call } = await harbor();
    const res = await call("GET", "/configurations");
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, { value: unknown; editable: boolean }>;
    expect(body.auth_mode).toEqual({ value: "db_auth", editable: true });
    expect(body.oidc_verify_cert).toEqual({ value: true, editable: true });
    expect(body.oidc_extra_redirect_parms).toEqual({ value: "{}", editable: true });
    expect(body.robot_name_prefix?.value).toBe("robot$");
    expect(body.oidc_logout?.value).toBe(false);
    expect(body).not.toHaveProperty("oidc_client_secret");
    expect(sim.secret()).toBeUndefined();
    const anonymous = await fetch(`${sim.url}/api/v2.0/configurations`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ errors: [{ code: "UNAUTHORIZED", message: "unauthorized" }] });
  });

  it("applies a partial PUT: unknown keys dropped, map canonicalised, secret write-only", async () => {
    const { sim, call, values } = await harbor();
    const res = await call("PUT", "/configurations", {
      auth_mode: "oidc_auth",
      oidc_client_secret: "s3cret",
      oidc_extra_redirect_parms: '{ "prompt": "login", "a": "<x>" }',
      oidc_scopes: "openid", // a typo: silently dropped
      oidc_name: null, // null leaves the value alone
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
    const got = await values();
    expect(got.auth_mode).toBe("oidc_auth");
    expect(got.oidc_scope).toBe("");
    expect(got.oidc_extra_redirect_parms).toBe('{"a":"\\u003cx\\u003e","prompt":"login"}');
    expect(sim.secret()).toBe("s3cret");
    expect(await (await call("PUT", "/configurations", { oidc_client_secret: "" })).text()).toBe("");
    expect(sim.secret()).toBe("");
  });

  it("knows only the keys of the simulated version", async () => {
    const { sim, call, values } = await harbor({ version: "2.7.0" });
    expect((await call("PUT", "/configurations", { oidc_logout: true, primary_auth_mode: true, oidc_group_filter: "x" })).status).toBe(200);
    const got = await values();
    expect(got).not.toHaveProperty("oidc_logout");
    expect(got).not.toHaveProperty("primary_auth_mode");
    expect(got.oidc_group_filter).toBe("x");
    expect(sim.config()).not.toHaveProperty("oidc_logout");
    const info = (await (await call("GET", "/systeminfo")).json()) as Record<string, unknown>;
    expect(info.harbor_version).toMatch(/^v2\.7\.0-[0-9a-f]{8}$/);
    expect(info).not.toHaveProperty("oidc_provider_name");
    expect(info).not.toHaveProperty("primary_auth_mode");
  });

  it("locks auth_mode while other users exist, until they are deleted", async () => {
    const { sim, call, values } = await harbor({ users: ["alice"] });
    const cfg = (await (await call("GET", "/configurations")).json()) as Record<string, { editable: boolean }>;
    expect(cfg.auth_mode?.editable).toBe(false);
    expect(cfg.oidc_name?.editable).toBe(true);
    const locked = await call("PUT", "/configurations", { auth_mode: "oidc_auth", oidc_name: "Pocket ID" });
    expect(locked.status).toBe(400);
    expect(await locked.json()).toEqual({
      errors: [{ code: "BAD_REQUEST", message: "the auth mode cannot be modified as new users have been inserted into database" }],
    });
    expect((await values()).oidc_name).toBe(""); // atomic
    expect((await call("PUT", "/configurations", { auth_mode: "db_auth", oidc_name: "Pocket ID" })).status).toBe(200); // same value: no check
    const users = (await (await call("GET", "/users?page=1&page_size=10")).json()) as { user_id: number; username: string }[];
    expect(users.map((u) => u.username)).toEqual(["admin", "alice"]);
    expect((await call("DELETE", `/users/${users[1]?.user_id}`)).status).toBe(200);
    expect((await call("PUT", "/configurations", { auth_mode: "oidc_auth" })).status).toBe(200);
    sim.addUser("bob");
    expect((await call("PUT", "/configurations", { auth_mode: "db_auth" })).status).toBe(400);
  });

  it("validates values (400) and the body (422), changing nothing on failure", async () => {
    const { sim, call } = await harbor();
    const before = sim.config();
    const badMode = await call("PUT", "/configurations", { auth_mode: "oidc", oidc_name: "x" });
    expect(badMode.status).toBe(400);
    expect(((await badMode.json()) as { errors: { message: string }[] }).errors[0]?.message).toBe(
      "bad request: item name auth_mode: invalid auth_mode, shoud be one of db_auth, ldap_auth, uaa_auth, http_auth, oidc_auth",
    );
    const emptyMap = await call("PUT", "/configurations", { oidc_extra_redirect_parms: "" });
    expect(((await emptyMap.json()) as { errors: { message: string }[] }).errors[0]?.message).toBe(
      "bad request: item name oidc_extra_redirect_parms: unexpected end of JSON input",
    );
    expect((await call("PUT", "/configurations", { oidc_extra_redirect_parms: { prompt: "login" } })).status).toBe(422);
    expect((await call("PUT", "/configurations", { oidc_verify_cert: "true" })).status).toBe(422);
    expect((await call("PUT", "/configurations", { session_timeout: 1.5 })).status).toBe(422);
    expect((await call("PUT", "/configurations")).status).toBe(422);
    const text = await call("PUT", "/configurations", '{"oidc_name":"x"}', { "content-type": "text/plain" });
    expect(text.status).toBe(422);
    expect(((await text.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe("UNPROCESSABLE_ENTITY");
    expect(sim.config()).toEqual(before);
  });

  it("is read-only under CONFIG_OVERWRITE_JSON", async () => {
    const { call } = await harbor({ configOverwriteJson: true, initialConfig: { auth_mode: "oidc_auth", oidc_name: "Pocket ID" } });
    const cfg = (await (await call("GET", "/configurations")).json()) as Record<string, { value: unknown; editable: boolean }>;
    expect(Object.values(cfg).every((item) => !item.editable)).toBe(true);
    expect(cfg.oidc_name?.value).toBe("Pocket ID");
    const res = await call("PUT", "/configurations", { oidc_name: "x" });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      errors: [{ code: "FORBIDDEN", message: "current config is init by env variable: CONFIG_OVERWRITE_JSON, it cannot be updated" }],
    });
  });

  it("locks a principal for 1.5 s after a wrong password; non-admins get 403 or, in OIDC mode, 401", async () => {
    const { call } = await harbor({
      otherAccounts: [
        { username: "ops", password: "Ops12345", sysadmin: true },
        { username: "dev", password: "Dev12345", sysadmin: false },
      ],
    });
    const start = Date.now();
    const wrong = await call("GET", "/users/current", undefined, { authorization: basic("admin", "nope") });
    expect(wrong.status).toBe(401);
    expect(Date.now() - start).toBeGreaterThanOrEqual(1400);
    // The lock is still on for a concurrent request with the right password.
    const [, during] = await Promise.all([
      call("GET", "/users/current", undefined, { authorization: basic("admin", "nope") }),
      new Promise((r) => setTimeout(r, 50)).then(() => call("GET", "/users/current")),
    ]);
    expect(during.status).toBe(401);
    await new Promise((r) => setTimeout(r, 1600));
    const me = (await (await call("GET", "/users/current")).json()) as Record<string, unknown>;
    expect(me).toMatchObject({ user_id: 1, username: "admin", sysadmin_flag: true, admin_role_in_auth: false });
    const dev = await call("GET", "/configurations", undefined, { authorization: basic("dev", "Dev12345") });
    expect(await dev.json()).toEqual({ errors: [{ code: "FORBIDDEN", message: "dev" }] });
    expect((await call("GET", "/configurations", undefined, { authorization: basic("ops", "Ops12345") })).status).toBe(200);
    // otherAccounts are users too: switching the mode needs them gone; seed OIDC mode instead.
    const oidc = await harbor({ initialConfig: { auth_mode: "oidc_auth" }, otherAccounts: [{ username: "ops", password: "Ops12345", sysadmin: true }] });
    expect((await oidc.call("GET", "/configurations", undefined, { authorization: basic("ops", "Ops12345") })).status).toBe(401);
    expect((await oidc.call("GET", "/configurations")).status).toBe(200);
  }, 10_000);

  it("sets a sid cookie and refuses unsafe requests that return it without a CSRF token", async () => {
    const { call } = await harbor();
    const first = await call("GET", "/configurations", undefined, { "x-request-id": "rid-1" });
    expect(first.headers.get("x-request-id")).toBe("rid-1");
    const sid = /sid=([^;]+)/.exec(first.headers.get("set-cookie") ?? "")?.[1];
    expect(sid).toBeTruthy();
    const refused = await call("PUT", "/configurations", { oidc_name: "x" }, { cookie: `sid=${sid}` });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ errors: [{ code: "FORBIDDEN", message: "CSRF token invalid" }] });
    // A browser-like client: keep both cookies and echo the token header.
    const withSession = await call("GET", "/configurations", undefined, { cookie: `sid=${sid}` });
    const token = withSession.headers.get("x-harbor-csrf-token") ?? "";
    const gorilla = /_gorilla_csrf=([^;]+)/.exec(withSession.headers.get("set-cookie") ?? "")?.[1];
    const accepted = await call("PUT", "/configurations", { oidc_name: "x" }, { cookie: `sid=${sid}; _gorilla_csrf=${gorilla}`, "x-harbor-csrf-token": token });
    expect(accepted.status).toBe(200);
  });

  it("answers systeminfo with public fields to anyone and more to the authenticated", async () => {
    const { sim, call } = await harbor({ externalUrl: "https://harbor.example.com", initialConfig: { auth_mode: "oidc_auth", oidc_name: "Pocket ID" } });
    const anonymous = (await (await fetch(`${sim.url}/api/v2.0/systeminfo`)).json()) as Record<string, unknown>;
    expect(anonymous).toEqual({
      auth_mode: "oidc_auth",
      primary_auth_mode: false,
      self_registration: false,
      banner_message: "",
      oidc_provider_name: "Pocket ID",
    });
    const badCreds = await fetch(`${sim.url}/api/v2.0/systeminfo`, { headers: { authorization: basic("admin", "wrong") } });
    expect(badCreds.status).toBe(200);
    expect(await badCreds.json()).toEqual(anonymous);
    const admin = (await (await call("GET", "/systeminfo")).json()) as Record<string, unknown>;
    expect(admin).toMatchObject({ harbor_version: "v2.15.2-080b0220", external_url: "https://harbor.example.com", registry_url: "harbor.example.com" });
  });

  it("pings like go-oidc: exact issuer, real fetch, 400 on any failure", async () => {
    const { sim, call } = await harbor();
    const good = await discoveryServer((base) => base);
    expect((await call("POST", "/system/oidc/ping", { url: good, verify_cert: true })).status).toBe(200);
    const slash = await call("POST", "/system/oidc/ping", { url: `${good}/` });
    expect(slash.status).toBe(400);
    expect(await slash.json()).toEqual({ errors: [{ code: "BAD_REQUEST", message: "failed to verify connection" }] });
    expect((await call("POST", "/system/oidc/ping", { url: `${good}/.well-known/openid-configuration` })).status).toBe(400);
    expect((await call("POST", "/system/oidc/ping")).status).toBe(422);
    expect(sim.pings.map((p) => [p.ok, p.verifyCert])).toEqual([
      [true, true],
      [false, false],
      [false, false],
    ]);
    expect(sim.pings[1]?.reason).toContain("issuer did not match");
    expect(sim.pings[2]?.reason).toMatch(/^404 Not Found/);
    expect(sim.writes()).toEqual([]);

    const blocked = await harbor({ blockOutbound: true });
    expect((await blocked.call("POST", "/system/oidc/ping", { url: good })).status).toBe(400);
    expect(blocked.sim.pings[0]?.reason).toContain("network is unreachable");
  });

  it("honours verify_cert and the extra CA for an HTTPS issuer", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sim-harbor-"));
    const [key, cert] = [join(dir, "key.pem"), join(dir, "cert.pem")];
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    const pem = { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8") };
    const issuer = await discoveryServer((base) => base, pem);
    const plain = await harbor();
    expect((await plain.call("POST", "/system/oidc/ping", { url: issuer, verify_cert: true })).status).toBe(400);
    expect(plain.sim.pings[0]?.reason).toContain("x509: certificate signed by unknown authority");
    expect((await plain.call("POST", "/system/oidc/ping", { url: issuer, verify_cert: false })).status).toBe(200);
    const trusting = await harbor({ ca: pem.cert });
    expect((await trusting.call("POST", "/system/oidc/ping", { url: issuer, verify_cert: true })).status).toBe(200);
  });

  it("models accepted-but-not-applied keys and stale reads", async () => {
    const { sim, call, values } = await harbor({ dropKeys: ["oidc_user_claim"], staleReads: 1 });
    expect((await call("PUT", "/configurations", { oidc_user_claim: "preferred_username", oidc_name: "Pocket ID" })).status).toBe(200);
    expect((await values()).oidc_name).toBe(""); // the stale read
    const fresh = await values();
    expect(fresh.oidc_name).toBe("Pocket ID");
    expect(fresh.oidc_user_claim).toBe("");
    expect(sim.writes().map((r) => `${r.method} ${r.path}`)).toEqual(["PUT /api/v2.0/configurations"]);
  });

  it("answers ping, unknown paths and wrong methods like Harbor's router", async () => {
    const { sim, call } = await harbor();
    const pong = await fetch(`${sim.url}/api/v2.0/ping`);
    expect([pong.status, await pong.text()]).toEqual([200, "Pong"]);
    const missing = await call("GET", "/nope");
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe("NOT_FOUND");
    expect((await call("POST", "/configurations", {})).status).toBe(405);
  });
});
