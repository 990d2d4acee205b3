// Shared plumbing of the simulators: an HTTP(S) server on loopback, a log of every request,
// and fault injection. Simulators stand for real servers, so nothing here is shared with src/.
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";

export interface RequestRecord {
  method: string;
  /** Path without the query string. */
  path: string;
  query: string;
  status: number;
  /** Request headers as received (lower-case names). */
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A fault answers a matching request instead of the simulator:
 * - status: reply with this status (and body/headers) without touching state;
 * - reset: destroy the connection before the request is processed;
 * - reset-after: process the request (state changes are committed), then destroy the connection
 *   without a response, as when a reply is lost on the way back;
 * - hang: never answer (the connection stays open until the server closes);
 * - delay: wait `ms`, then process normally.
 */
export type Fault = {
  method?: string;
  path: string | RegExp;
  /** How many matching requests this fault takes; default 1. */
  times?: number;
} & (
  | { kind: "status"; status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: "reset" }
  | { kind: "reset-after" }
  | { kind: "hang" }
  | { kind: "delay"; ms: number }
);

export interface SimRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The body's bytes, for binary uploads. */
  rawBody: Buffer;
}

export interface SimResponse {
  status: number;
  headers?: Record<string, string | string[]>;
  /** A string or Buffer is sent as is; anything else as JSON. undefined: empty body. */
  body?: unknown;
}

export type Handler = (req: SimRequest) => SimResponse | Promise<SimResponse>;

export interface TlsOptions {
  key: string;
  cert: string;
}

export interface SimServer {
  url: string;
  requests: RequestRecord[];
  fault(f: Fault): void;
  clearFaults(): void;
  close(): Promise<void>;
}

function matches(f: Fault & { left: number }, method: string, path: string): boolean {
  if (f.left <= 0) return false;
  if (f.method && f.method.toUpperCase() !== method) return false;
  return typeof f.path === "string" ? f.path === path : f.path.test(path);
}

export async function startServer(handler: Handler, opts: { tls?: TlsOptions; port?: number } = {}): Promise<SimServer> {
  const faults: (Fault & { left: number })[] = [];
  const requests: RequestRecord[] = [];

  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const url = new URL(req.url ?? "/", "http://sim");
        const method = (req.method ?? "GET").toUpperCase();
        const rawBody = Buffer.concat(chunks);
        const body = rawBody.toString("utf8");
        const record: RequestRecord = { method, path: url.pathname, query: url.search, status: 0, headers: req.headers, body };
        requests.push(record);
        const fault = faults.find((f) => matches(f, method, url.pathname));
        if (fault) fault.left--;
        if (fault?.kind === "reset") {
          record.status = -1;
          req.socket.destroy();
          return;
        }
        if (fault?.kind === "hang") {
          record.status = -2;
          return;
        }
        if (fault?.kind === "status") {
          record.status = fault.status;
          const payload = fault.body === undefined ? "" : typeof fault.body === "string" ? fault.body : JSON.stringify(fault.body);
          res.writeHead(fault.status, { "content-type": "application/json; charset=utf-8", ...fault.headers });
          res.end(payload);
          return;
        }
        if (fault?.kind === "delay") await new Promise((r) => setTimeout(r, fault.ms));
        let out: SimResponse;
        try {
          out = await handler({ method, path: url.pathname, query: url.searchParams, headers: req.headers, body, rawBody });
        } catch (err) {
          out = { status: 500, body: { error: `simulator bug: ${String(err)}` } };
        }
        if (fault?.kind === "reset-after") {
          record.status = -1;
          req.socket.destroy();
          return;
        }
        record.status = out.status;
        let payload: string | Buffer = "";
        const headers: Record<string, string | string[]> = { ...out.headers };
        if (out.body !== undefined) {
          if (typeof out.body === "string" || Buffer.isBuffer(out.body)) payload = out.body;
          else {
            payload = JSON.stringify(out.body);
            headers["content-type"] ??= "application/json; charset=utf-8";
          }
        }
        res.writeHead(out.status, headers);
        res.end(payload);
      })();
    });
  };

  const server = opts.tls ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, listener) : http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${opts.tls ? "https" : "http"}://127.0.0.1:${port}`,
    requests,
    fault: (f) => faults.push({ ...f, left: f.times ?? 1 }),
    clearFaults: () => {
      faults.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Compares dotted versions ("2.14.0", "v2.15.2"): negative, zero or positive. */
export function compareVersions(a: string, b: string): number {
  const pa = a
    .replace(/^v/, "")
    .split(/[.-]/)
    .map((n) => Number.parseInt(n, 10) || 0);
  const pb = b
    .replace(/^v/, "")
    .split(/[.-]/)
    .map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
