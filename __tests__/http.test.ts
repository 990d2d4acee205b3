// The HTTP layer (src/http.ts) on its own: the backoff and Retry-After arithmetic, and HttpClient
// against a tiny node:http server on loopback: what is retried and what is not, timeouts, and
// error messages that say what failed without ever carrying a header or a secret.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { afterEach, describe, expect, test } from "vitest";
import { createTransport, DEFAULT_RETRY, HttpClient, HttpError, type RetryPolicy, retryDelay, type Transport } from "../src/http.ts";

describe("retryDelay", () => {
  const policy: RetryPolicy = { maxRetries: 4, baseDelayMs: 300, maxDelayMs: 10_000 };

  test("Retry-After in seconds is honoured as is", () => {
    expect(retryDelay(1, policy, () => 0.5, "1")).toBe(1000);
    expect(retryDelay(3, policy, () => 0.5, "7")).toBe(7000);
    expect(retryDelay(1, policy, () => 0.5, "0")).toBe(0);
  });

  test("Retry-After as an HTTP date counts from now", () => {
    const at = new Date(Date.now() + 5000).toUTCString(); // whole seconds: 4–5 s from now
    const delay = retryDelay(1, policy, () => 0.5, at);
    expect(delay).toBeGreaterThan(3900);
    expect(delay).toBeLessThanOrEqual(5000);
  });

  test("a Retry-After beyond 3 × maxDelayMs means no retry; a past or unreadable one falls back to backoff", () => {
    expect(retryDelay(1, policy, () => 0.5, "30")).toBe(30_000);
    expect(retryDelay(1, policy, () => 0.5, "31")).toBe(Number.POSITIVE_INFINITY);
    expect(retryDelay(1, policy, () => 0.5, "3600")).toBe(Number.POSITIVE_INFINITY);
    // attempt 1, random 0.5: ceiling 300 → 150 + 75
    expect(retryDelay(1, policy, () => 0.5, "soon")).toBe(225);
    expect(retryDelay(1, policy, () => 0.5, new Date(Date.now() - 60_000).toUTCString())).toBe(225);
    expect(retryDelay(1, policy, () => 0.5, "")).toBe(225);
  });

  test.each([
    [1, 300],
    [2, 600],
    [3, 1200],
    [4, 2400],
    [5, 4800],
    [6, 9600],
    [7, 10_000],
    [12, 10_000],
  ])("attempt %i: exponential backoff with jitter between half the ceiling and the ceiling (%i ms)", (attempt, ceiling) => {
    expect(retryDelay(attempt, policy, () => 0)).toBe(ceiling / 2);
    expect(retryDelay(attempt, policy, () => 0.999_999)).toBe(ceiling);
    for (let i = 0; i < 50; i++) {
      const d = retryDelay(attempt, policy, Math.random);
      expect(d).toBeGreaterThanOrEqual(ceiling / 2);
      expect(d).toBeLessThanOrEqual(ceiling);
    }
  });

  test("the default policy is bounded: 4 retries, 300 ms doubling up to 10 s", () => {
    expect(DEFAULT_RETRY).toEqual({ maxRetries: 4, baseDelayMs: 300, maxDelayMs: 10_000 });
  });
});

// ---------------------------------------------------------------------------------------------

type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | "hang" | "reset";

interface TestServer {
  url: string;
  /** Every request received: method, path (with query) and headers. */
  seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

/** Answers the n-th request with replies[n] (the last reply repeats). */
async function serve(replies: Reply[]): Promise<TestServer> {
  const seen: TestServer["seen"] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      const reply = replies[Math.min(seen.length, replies.length) - 1] as Reply;
      if (reply === "hang") return;
      if (reply === "reset") {
        req.socket.destroy();
        return;
      }
      const text = reply.body === undefined ? "" : typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
      res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const API_KEY = "key-0123456789abcdef0123456789abcdef";
const PASSWORD = "Harbor-pass-9f8e7d6c";
const scrub = (t: string) => t.split(API_KEY).join("***").split(PASSWORD).join("***");
const FAST: RetryPolicy = { maxRetries: 4, baseDelayMs: 20, maxDelayMs: 100 };

let server: TestServer | undefined;
let transport: Transport | undefined;

afterEach(async () => {
  await transport?.close();
  await server?.close();
  transport = undefined;
  server = undefined;
});

async function setup(replies: Reply[], opts: { timeoutMs?: number; deadline?: number; retry?: RetryPolicy; debug?: (m: string) => void } = {}) {
  server = await serve(replies);
  transport = createTransport({
    timeoutMs: opts.timeoutMs ?? 2000,
    deadline: opts.deadline ?? Date.now() + 60_000,
    retry: opts.retry ?? FAST,
    debug: opts.debug,
  });
  const client = new HttpClient({ server: "Pocket ID", baseUrl: server.url, authHeaders: { "x-api-key": API_KEY }, transport, scrub });
  return { server, client };
}

async function failure(p: Promise<unknown>): Promise<HttpError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HttpError);
  return err as HttpError;
}

describe("HttpClient: what is retried", () => {
  test("a GET answered 503 twice is retried and succeeds", async () => {
    const messages: string[] = [];
    const { server: s, client } = await setup([{ status: 503, body: "busy" }, { status: 503 }, { status: 200, body: { ok: 1 } }], {
      debug: (m) => messages.push(m),
    });
    const res = await client.send<{ ok: number }>("GET", "/api/thing", { query: { a: "b" } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: 1 });
    expect(s.seen.map((q) => `${q.method} ${q.url}`)).toEqual(["GET /api/thing?a=b", "GET /api/thing?a=b", "GET /api/thing?a=b"]);
    // Every try carries the auth header; the debug lines say what is retried, without the query.
    expect(s.seen.every((q) => q.headers["x-api-key"] === API_KEY)).toBe(true);
    expect(messages.filter((m) => m.startsWith("retrying"))).toEqual([
      expect.stringMatching(/^retrying GET \/api\/thing in \d+ ms after 503$/),
      expect.any(String),
    ]);
  });

  test("a PUT (idempotent) is retried on 502 and 504, with its body each time", async () => {
    const { server: s, client } = await setup([{ status: 502 }, { status: 504 }, { status: 200, body: {} }]);
    await client.send("PUT", "/api/v2.0/configurations", { json: { auth_mode: "oidc_auth" } });
    expect(s.seen.map((q) => q.body)).toEqual(Array(3).fill('{"auth_mode":"oidc_auth"}'));
  });

  test("a POST without retry: true is not retried on 503", async () => {
    const { server: s, client } = await setup([
      { status: 503, body: { error: "unavailable" } },
      { status: 201, body: {} },
    ]);
    const err = await failure(client.send("POST", "/api/oidc/clients", { json: { name: "Harbor" } }));
    expect(s.seen).toHaveLength(1);
    expect(err.kind).toBe("status");
    expect(err.status).toBe(503);
    expect(err.ambiguous).toBe(false);
    expect(err.message).toBe("Pocket ID: POST /api/oidc/clients answered 503 (unavailable). The cause is in Pocket ID's log");
  });

  test("a POST with retry: true is retried on 503", async () => {
    const { server: s, client } = await setup([{ status: 503 }, { status: 400, body: { error: "invalid_grant" } }]);
    const res = await client.send("POST", "/api/oidc/token", { form: { a: "b" }, retry: true, accept: [400] });
    expect(res.status).toBe(400);
    expect(s.seen.map((q) => q.body)).toEqual(["a=b", "a=b"]);
  });

  test("a 401 is never retried (Harbor locks the user for 1.5 s after a failed login)", async () => {
    const { server: s, client } = await setup([{ status: 401, body: { errors: [{ code: "UNAUTHORIZED", message: "unauthorized" }] } }, { status: 200 }]);
    const err = await failure(client.send("GET", "/api/v2.0/users/current"));
    expect(s.seen).toHaveLength(1);
    expect(err.status).toBe(401);
    expect(err.message).toBe("Pocket ID: GET /api/v2.0/users/current answered 401 (UNAUTHORIZED: unauthorized)");
  });

  test("a 500 is a real failure, not retried", async () => {
    const { server: s, client } = await setup([{ status: 500, body: { error: "boom" } }, { status: 200 }]);
    const err = await failure(client.send("GET", "/api/x"));
    expect(s.seen).toHaveLength(1);
    expect(err.status).toBe(500);
  });

  test("429 waits for Retry-After before the next try, even when backoff would be shorter", async () => {
    const { server: s, client } = await setup(
      [
        { status: 429, headers: { "retry-after": "1" } },
        { status: 200, body: {} },
      ],
      {
        retry: { maxRetries: 4, baseDelayMs: 20, maxDelayMs: 400 },
      },
    );
    const started = performance.now();
    await client.send("GET", "/api/x");
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(s.seen).toHaveLength(2);
  });

  test("429 with a Retry-After longer than the policy allows: no early retry, the answer is the error", async () => {
    const { server: s, client } = await setup([{ status: 429, headers: { "retry-after": "120" } }, { status: 200 }]);
    const started = performance.now();
    const err = await failure(client.send("GET", "/api/x"));
    expect(performance.now() - started).toBeLessThan(500);
    expect(s.seen).toHaveLength(1);
    expect(err.message).toBe("Pocket ID: GET /api/x answered 429. Pocket ID is rate limiting; run again later");
  });

  test("retries are bounded: 1 try + maxRetries, then the last answer is the error", async () => {
    const { server: s, client } = await setup([{ status: 503, body: { error: "still busy" } }], { retry: { maxRetries: 2, baseDelayMs: 10, maxDelayMs: 20 } });
    const err = await failure(client.send("GET", "/api/x"));
    expect(s.seen).toHaveLength(3);
    expect(err.message).toBe("Pocket ID: GET /api/x answered 503 (still busy). The cause is in Pocket ID's log");
  });

  test("a connection reset on a GET is retried", async () => {
    const { server: s, client } = await setup(["reset", { status: 200, body: { ok: true } }]);
    expect((await client.send("GET", "/api/x")).body).toEqual({ ok: true });
    expect(s.seen).toHaveLength(2);
  });

  test("a connection reset on a POST without retry is an ambiguous network failure, not retried", async () => {
    const { server: s, client } = await setup(["reset", { status: 201 }]);
    const err = await failure(client.send("POST", "/api/oidc/clients", { json: {} }));
    expect(s.seen).toHaveLength(1);
    expect(err.kind).toBe("network");
    expect(err.ambiguous).toBe(true);
    expect(err.message).toMatch(/^Pocket ID: POST \/api\/oidc\/clients got no answer: .+\[(ECONNRESET|UND_ERR_SOCKET)\]\. Check that Pocket ID is reachable/);
  });

  test("no retry would end after the deadline: the error comes at once", async () => {
    const { server: s, client } = await setup([{ status: 503 }, { status: 200 }], {
      timeoutMs: 2000,
      deadline: Date.now() + 2500,
      retry: { maxRetries: 4, baseDelayMs: 1000, maxDelayMs: 1000 },
    });
    const err = await failure(client.send("GET", "/api/x"));
    expect(err.status).toBe(503);
    expect(s.seen).toHaveLength(1);
  });
});

describe("HttpClient: timeouts", () => {
  test("a POST that hangs past timeoutMs fails with kind timeout, naming request-timeout", async () => {
    const { server: s, client } = await setup(["hang"], { timeoutMs: 300 });
    const started = performance.now();
    const err = await failure(client.send("POST", "/api/oidc/clients/harbor/secrets", { json: {} }));
    const took = performance.now() - started;
    expect(err.kind).toBe("timeout");
    expect(err.ambiguous).toBe(true);
    expect(err.message).toBe(
      "Pocket ID: POST /api/oidc/clients/harbor/secrets got no answer: no answer within 0.3 s (input request-timeout). Check that Pocket ID is up and reachable from the runner, or raise request-timeout",
    );
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(2000);
    expect(s.seen).toHaveLength(1);
  });

  test("a GET that hangs once is retried after the timeout and succeeds", async () => {
    const { server: s, client } = await setup(["hang", { status: 200, body: { ok: true } }], { timeoutMs: 300 });
    expect((await client.send("GET", "/api/x")).body).toEqual({ ok: true });
    expect(s.seen).toHaveLength(2);
  });

  test("a GET that hangs every time fails with kind timeout after 1 + maxRetries tries", async () => {
    const { server: s, client } = await setup(["hang"], { timeoutMs: 200, retry: { maxRetries: 2, baseDelayMs: 10, maxDelayMs: 20 } });
    const err = await failure(client.send("GET", "/api/x"));
    expect(err.kind).toBe("timeout");
    expect(err.message).toContain("request-timeout");
    expect(s.seen).toHaveLength(3);
  });

  test("past the overall deadline no request is sent", async () => {
    const { server: s, client } = await setup([{ status: 200 }], { deadline: Date.now() - 1 });
    const err = await failure(client.send("GET", "/api/x"));
    expect(err.kind).toBe("timeout");
    expect(err.message).toContain("the action's overall deadline has passed");
    expect(s.seen).toHaveLength(0);
  });

  test("the overall deadline striking during a request is named as such, not as request-timeout", async () => {
    const { client } = await setup(["hang"], { timeoutMs: 5000, deadline: Date.now() + 300 });
    const err = await failure(client.send("POST", "/api/x", { json: {} }));
    expect(err.kind).toBe("timeout");
    expect(err.message).toContain("the action's overall deadline passed");
    expect(err.message).not.toContain("no answer within 5 s");
  });
});

describe("HttpClient: error messages", () => {
  test("name the server, the call, the status and the server's own code and message", async () => {
    const { client } = await setup([{ status: 403, body: { errors: [{ code: "FORBIDDEN", message: "forbidden" }] } }]);
    const err = await failure(client.send("GET", "/api/v2.0/configurations", { query: { page: 1 } }));
    expect(err.message).toBe("Pocket ID: GET /api/v2.0/configurations answered 403 (FORBIDDEN: forbidden)");
    expect(err).toMatchObject({
      server: "Pocket ID",
      method: "GET",
      path: "/api/v2.0/configurations",
      status: 403,
      code: "FORBIDDEN",
      serverMessage: "forbidden",
    });
  });

  test("understand Pocket ID's {error, code} and OAuth's {error, error_description}", async () => {
    const { client } = await setup([
      { status: 400, body: { error: "Callback URLs is required", code: "validation_failed" } },
      { status: 400, body: { error: "invalid_request", error_description: "missing code" } },
      { status: 404, body: "plain text answer", headers: { "content-type": "text/plain" } },
    ]);
    expect((await failure(client.send("POST", "/a", { json: {} }))).message).toBe(
      "Pocket ID: POST /a answered 400 (validation_failed: Callback URLs is required)",
    );
    expect((await failure(client.send("POST", "/b", { json: {} }))).message).toBe("Pocket ID: POST /b answered 400 (invalid_request: missing code)");
    expect((await failure(client.send("POST", "/c", { json: {} }))).message).toBe("Pocket ID: POST /c answered 404 (plain text answer)");
  });

  test("a Harbor 5xx points to Harbor core's log", async () => {
    server = await serve([{ status: 500, body: { errors: [{ code: "UNKNOWN", message: "internal server error" }] } }]);
    transport = createTransport({ timeoutMs: 2000, deadline: Date.now() + 60_000, retry: FAST });
    const harbor = new HttpClient({ server: "Harbor", baseUrl: server.url, authHeaders: { authorization: `Basic ${PASSWORD}` }, transport, scrub });
    const err = await failure(harbor.send("PUT", "/api/v2.0/configurations", { json: {} }));
    expect(err.message).toBe(
      "Harbor: PUT /api/v2.0/configurations answered 500 (UNKNOWN: internal server error). Harbor answers every server error this way; the cause is in Harbor core's log",
    );
  });

  test("never carry a header value, and scrub every known secret from the server's code and message", async () => {
    const { server: s, client } = await setup([
      { status: 400, body: { errors: [{ code: `bad-${PASSWORD}`, message: `key ${API_KEY} is not valid here` }] } },
      { status: 401, body: { error: `X-API-Key: ${API_KEY}` } },
    ]);
    for (const path of ["/one", "/two"]) {
      const err = await failure(client.send("GET", path, { headers: { "x-extra": "header-value-4711" } }));
      const everything = `${err.message}\n${inspect(err)}\n${JSON.stringify(err)}\n${err.stack}`;
      expect(everything).not.toContain(API_KEY);
      expect(everything).not.toContain(PASSWORD);
      expect(everything).not.toContain("header-value-4711");
      expect(everything).not.toContain("x-api-key");
    }
    // The headers did reach the server: the client sent them, the errors just never carry them.
    expect(s.seen.every((q) => q.headers["x-api-key"] === API_KEY && q.headers["x-extra"] === "header-value-4711")).toBe(true);
    const again = await failure(client.send("GET", "/three"));
    expect(again.message).toBe("Pocket ID: GET /three answered 401 (X-API-Key: ***)");
  });

  test("auth: false leaves the auth headers out", async () => {
    const { server: s, client } = await setup([{ status: 200, body: { issuer: "x" } }]);
    await client.send("GET", "/.well-known/openid-configuration", { auth: false });
    expect(s.seen[0]?.headers["x-api-key"]).toBeUndefined();
  });

  test("a refused connection is a network failure that says what to check", async () => {
    const { server: s, client } = await setup([{ status: 200 }], { retry: { maxRetries: 1, baseDelayMs: 10, maxDelayMs: 10 } });
    await s.close();
    server = undefined;
    const err = await failure(client.send("GET", "/api/x"));
    expect(err.kind).toBe("network");
    expect(err.message).toMatch(
      /^Pocket ID: GET \/api\/x got no answer: .*\[ECONNREFUSED\]\. Check that Pocket ID is reachable from the runner \(URL, DNS, proxy settings, TLS: see ca-certificate\)$/,
    );
  });
});
