// Odd networks (issue 5): both servers over HTTPS with a private CA, trusted through
// ca-certificate (PEM text or file) or NODE_EXTRA_CA_CERTS, and never without it; and a forward
// proxy on loopback (CONNECT tunnels and absolute-URI requests) that HTTPS_PROXY / HTTP_PROXY /
// NO_PROXY, upper- or lower-case, send the action through or around.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { type HarborSim, startHarbor } from "../sandbox/harbor.ts";
import { type PocketIdSim, startPocketId } from "../sandbox/pocket-id.ts";
import { type ActionRun, connection, runAction } from "./helpers/action.ts";

const TLS_DIR = join(import.meta.dirname, "fixtures/tls");
const CA_PATH = join(TLS_DIR, "ca.pem");
const CA = readFileSync(CA_PATH, "utf8");
const TLS = { key: readFileSync(join(TLS_DIR, "server.key"), "utf8"), cert: readFileSync(join(TLS_DIR, "server.pem"), "utf8") };

const apiKey = randomBytes(16).toString("hex");
const password = `Harbor-${randomBytes(8).toString("hex")}`;
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function servers(opts: { https: boolean; harborTrustsCa?: boolean }): Promise<{ pocketId: PocketIdSim; harbor: HarborSim }> {
  const pocketId = await startPocketId({ apiKey, ...(opts.https ? { tls: TLS } : {}) });
  cleanups.push(() => pocketId.close());
  // Harbor's "Test OIDC server" fetches Pocket ID's discovery itself: it must trust the CA too.
  const harbor = await startHarbor({ adminPassword: password, ...(opts.https ? { tls: TLS } : {}), ...(opts.harborTrustsCa === false ? {} : { ca: CA }) });
  cleanups.push(() => harbor.close());
  return { pocketId, harbor };
}

function inputs(pocketId: PocketIdSim, harbor: HarborSim, extra: Record<string, string> = {}): Record<string, string> {
  return { ...connection(pocketId, harbor, apiKey, password), "client-id": "harbor", "request-timeout": "5", ...extra };
}

function assertConfigured(r: ActionRun, pocketId: PocketIdSim, harbor: HarborSim): void {
  expect(r.errors).toEqual([]);
  expect(r.code).toBe(0);
  expect(pocketId.clients().map((c) => c.id)).toEqual(["harbor"]);
  expect(pocketId.client("harbor")?.callbackURLs).toEqual([`${harbor.url}/c/oidc/callback`]);
  const config = harbor.config();
  expect(config.auth_mode).toBe("oidc_auth");
  expect(config.oidc_endpoint).toBe(pocketId.issuer);
  expect(pocketId.issuer).toMatch(/^https?:\/\/127\.0\.0\.1:\d+$/);
  expect(pocketId.acceptsSecret("harbor", harbor.secret() ?? "")).toBe(true);
  expect(harbor.pings.at(-1)).toMatchObject({ url: pocketId.issuer, ok: true });
}

describe("TLS with a private CA", () => {
  test("without ca-certificate: a TLS failure that names both servers and points to ca-certificate; nothing changed", async () => {
    const { pocketId, harbor } = await servers({ https: true });
    expect(pocketId.url).toMatch(/^https:/);
    const r = await runAction(inputs(pocketId, harbor), { pocketId, harbor });
    expect(r.code).not.toBe(0);
    expect(r.errors).toHaveLength(1);
    const message = r.errors[0] as string;
    for (const server of ["Pocket ID", "Harbor"]) {
      expect(message).toMatch(
        new RegExp(
          `${server}: GET /\\S+ got no answer: (unable to get local issuer certificate|unable to verify the first certificate|self[- ]signed certificate)`,
        ),
      );
    }
    expect(message).toContain("TLS: see ca-certificate");
    // Verification failed during the handshake: no request reached either server.
    expect(pocketId.requests).toEqual([]);
    expect(harbor.requests).toEqual([]);
  });

  test.each([
    ["as PEM text", { "ca-certificate": CA }, {}],
    ["as a file path", { "ca-certificate": CA_PATH }, {}],
    ["through NODE_EXTRA_CA_CERTS (no input)", {}, { NODE_EXTRA_CA_CERTS: CA_PATH }],
  ])("with the CA %s: the fresh setup passes over HTTPS", async (_how, extra: Record<string, string>, env: Record<string, string>) => {
    const { pocketId, harbor } = await servers({ https: true });
    const r = await runAction(inputs(pocketId, harbor, extra), { pocketId, harbor, env });
    assertConfigured(r, pocketId, harbor);
    expect(r.outputs.issuer).toBe(pocketId.issuer);
  });

  test("a CA bundle (another certificate before ours) works as well", async () => {
    const { pocketId, harbor } = await servers({ https: true });
    // The server certificate is a valid PEM certificate but no CA: it must not get in the way.
    const r = await runAction(inputs(pocketId, harbor, { "ca-certificate": `${TLS.cert}\n${CA}` }), { pocketId, harbor });
    assertConfigured(r, pocketId, harbor);
  });

  test("the action trusts the CA but Harbor does not: Harbor's OIDC test fails, explained, before any change", async () => {
    const { pocketId, harbor } = await servers({ https: true, harborTrustsCa: false });
    const r = await runAction(inputs(pocketId, harbor, { "ca-certificate": CA }), { pocketId, harbor });
    expect(r.code).not.toBe(0);
    // Harbor answers only "failed to verify connection"; the x509 error is in core's log.
    expect(r.errors[0]).toContain(`Harbor's "Test OIDC server" failed for ${pocketId.issuer}`);
    expect(r.errors[0]).toContain("does not trust its certificate");
    expect(r.errors[0]).toContain("Harbor core's log");
    expect(pocketId.writes()).toEqual([]);
    expect(harbor.writes()).toEqual([]);
    expect(harbor.pings).toEqual([expect.objectContaining({ url: pocketId.issuer, ok: false, reason: expect.stringContaining("x509") })]);
  });
});

// ---------------------------------------------------------------------------------------------

interface Proxy {
  url: string;
  /** CONNECT targets ("127.0.0.1:port"), one per tunnel. */
  tunnels: string[];
  /** Absolute-URI requests forwarded ("GET http://127.0.0.1:port/path"). */
  forwarded: string[];
  /** Every host:port this proxy carried traffic to, by either way. */
  targets(): Set<string>;
  close(): Promise<void>;
}

/** A small forward proxy on loopback: CONNECT tunnels and plain-HTTP absolute-URI forwarding. */
async function startProxy(opts: { refuse?: number } = {}): Promise<Proxy> {
  const tunnels: string[] = [];
  const forwarded: string[] = [];
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => s.destroy());
  };
  const server = http.createServer((req, res) => {
    forwarded.push(`${req.method} ${req.url}`);
    const target = new URL(req.url ?? "");
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: `${target.pathname}${target.search}`, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.on("connect", (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    tunnels.push(req.url ?? "");
    track(client);
    if (opts.refuse) {
      client.end(`HTTP/1.1 ${opts.refuse} Forbidden\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    const [host, port] = (req.url ?? "").split(":");
    const upstream = net.connect(Number(port), host as string, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    track(upstream);
    upstream.on("close", () => client.destroy());
    client.on("close", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels,
    forwarded,
    targets: () => new Set([...tunnels, ...forwarded.map((f) => new URL(f.split(" ")[1] as string).host)]),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function proxy(opts: { refuse?: number } = {}): Promise<Proxy> {
  const p = await startProxy(opts);
  cleanups.push(() => p.close());
  return p;
}

const hostOf = (url: string) => new URL(url).host;

describe("proxies from the environment", () => {
  test("HTTPS_PROXY and HTTP_PROXY: both servers are reached through the proxy (CONNECT, TLS inside), and the run succeeds", async () => {
    const p = await proxy();
    const { pocketId, harbor } = await servers({ https: true });
    const r = await runAction(inputs(pocketId, harbor, { "ca-certificate": CA }), { pocketId, harbor, env: { HTTPS_PROXY: p.url, HTTP_PROXY: p.url } });
    assertConfigured(r, pocketId, harbor);
    expect(p.targets()).toEqual(new Set([hostOf(pocketId.url), hostOf(harbor.url)]));
    expect(p.tunnels.length).toBeGreaterThanOrEqual(2);
  });

  test("lower-case https_proxy and http_proxy are honoured too (plain-http servers)", async () => {
    const p = await proxy();
    const { pocketId, harbor } = await servers({ https: false });
    const r = await runAction(inputs(pocketId, harbor), { pocketId, harbor, env: { https_proxy: p.url, http_proxy: p.url } });
    assertConfigured(r, pocketId, harbor);
    expect(p.targets()).toEqual(new Set([hostOf(pocketId.url), hostOf(harbor.url)]));
  });

  test("NO_PROXY=127.0.0.1: the proxy sees nothing and the run succeeds", async () => {
    const p = await proxy();
    const { pocketId, harbor } = await servers({ https: true });
    const r = await runAction(inputs(pocketId, harbor, { "ca-certificate": CA }), {
      pocketId,
      harbor,
      env: { HTTPS_PROXY: p.url, HTTP_PROXY: p.url, NO_PROXY: "127.0.0.1" },
    });
    assertConfigured(r, pocketId, harbor);
    expect(p.tunnels).toEqual([]);
    expect(p.forwarded).toEqual([]);
  });

  test("a proxy that refuses the tunnel: a clear failure naming both servers and the proxy settings, nothing changed", async () => {
    const p = await proxy({ refuse: 403 });
    const { pocketId, harbor } = await servers({ https: true });
    const r = await runAction(inputs(pocketId, harbor, { "ca-certificate": CA }), { pocketId, harbor, env: { HTTPS_PROXY: p.url } });
    expect(r.code).not.toBe(0);
    const message = r.errors[0] as string;
    expect(message).toMatch(/Pocket ID: GET \/\S+ got no answer: .*403/);
    expect(message).toMatch(/Harbor: GET \/\S+ got no answer: .*403/);
    expect(message).toContain("proxy settings");
    expect(pocketId.requests).toEqual([]);
    expect(harbor.requests).toEqual([]);
    expect(p.targets()).toEqual(new Set([hostOf(pocketId.url), hostOf(harbor.url)]));
  });

  test("a password in the proxy URL is masked and never printed, even when the proxy refuses", async () => {
    const p = await proxy({ refuse: 407 });
    const { pocketId, harbor } = await servers({ https: true });
    const password = `proxy-${Date.now()}-pw`;
    const proxyUrl = p.url.replace("://", `://ops:${password}@`);
    const r = await runAction(inputs(pocketId, harbor, { "ca-certificate": CA }), { pocketId, harbor, env: { HTTPS_PROXY: proxyUrl }, secrets: [password] });
    expect(r.code).not.toBe(0);
    expect(r.masked).toContain(password);
    expect(p.tunnels.length).toBeGreaterThanOrEqual(1);
  });
});
