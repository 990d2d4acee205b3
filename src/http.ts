// The only code that touches the network. One undici dispatcher per run (extra CA, proxy from
// the environment, timeouts), a retry policy for requests that are safe to repeat, JSON in and
// out, and HttpError: status, server code and message, never a header or a secret.
import * as tls from "node:tls";
import { type Dispatcher, EnvHttpProxyAgent, interceptors, request } from "undici";

/** Statuses worth another try: overload and gateways. A 500 is a real failure, not retried. */
const RETRY_STATUSES = [429, 502, 503, 504];
/** Connection-level failures worth another try (undici error codes and socket errors). */
const RETRY_ERRORS = [
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
];

export interface RetryPolicy {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 4, baseDelayMs: 300, maxDelayMs: 10_000 };

export interface TransportOptions {
  /** Extra trusted CA (PEM), added to the default store (which includes NODE_EXTRA_CA_CERTS). */
  ca?: string;
  timeoutMs: number;
  /** Absolute time (ms since epoch) after which no request is started or retried. */
  deadline: number;
  retry?: RetryPolicy;
  debug?: (message: string) => void;
  /** Randomness for jitter; injectable so unit tests are deterministic. */
  random?: () => number;
}

export interface Transport {
  plain: Dispatcher;
  retrying: Dispatcher;
  timeoutMs: number;
  deadline: number;
  close(): Promise<void>;
}

/**
 * Delay before retry number `attempt` (1-based): exponential backoff with jitter, or Retry-After.
 * A Retry-After beyond 3 × maxDelayMs gives Infinity (no retry): trying earlier than the server
 * asked would not honour it, and waiting longer would not be bounded.
 */
export function retryDelay(attempt: number, policy: RetryPolicy, random: () => number, retryAfter?: string): number {
  if (retryAfter) {
    const seconds = Number(retryAfter);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - Date.now();
    if (ms >= 0) return ms <= policy.maxDelayMs * 3 ? ms : Number.POSITIVE_INFINITY;
  }
  const ceiling = Math.min(policy.baseDelayMs * 2 ** (attempt - 1), policy.maxDelayMs);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function createTransport(opts: TransportOptions): Transport {
  const tlsOptions = opts.ca ? { ca: [...tls.getCACertificates("default"), opts.ca] } : {};
  const policy = opts.retry ?? DEFAULT_RETRY;
  const random = opts.random ?? Math.random;
  // EnvHttpProxyAgent honours HTTP(S)_PROXY / NO_PROXY (and their lower-case forms); without
  // them it is a plain Agent. The CA applies to direct connections and to tunnels alike.
  const plain = new EnvHttpProxyAgent({
    connect: { ...tlsOptions, timeout: opts.timeoutMs },
    requestTls: tlsOptions,
    proxyTls: tlsOptions,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
  });
  const retrying = plain.compose(
    interceptors.retry({
      throwOnError: false,
      maxRetries: policy.maxRetries,
      retry(err, { state, opts: reqOpts }, callback) {
        const { statusCode, code, headers } = err as Error & {
          statusCode?: number;
          code?: string;
          headers?: Record<string, string | string[] | undefined>;
        };
        const retryable = statusCode ? RETRY_STATUSES.includes(statusCode) : RETRY_ERRORS.includes(code ?? "");
        if (!retryable || state.counter > policy.maxRetries) return callback(err);
        const retryAfter = headers?.["retry-after"];
        const delay = retryDelay(state.counter, policy, random, Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
        if (Date.now() + delay + opts.timeoutMs > opts.deadline) return callback(err);
        opts.debug?.(`retrying ${reqOpts.method} ${String(reqOpts.path).split("?")[0]} in ${delay} ms after ${statusCode ?? code}`);
        setTimeout(() => callback(null), delay);
      },
    }),
  );
  return { plain, retrying, timeoutMs: opts.timeoutMs, deadline: opts.deadline, close: () => plain.close() };
}

export type FailureKind = "status" | "network" | "timeout";

/** A failed call. The message names server, call, status, the server's own code and message. */
export class HttpError extends Error {
  readonly server: string;
  readonly method: string;
  readonly path: string;
  readonly kind: FailureKind;
  readonly status?: number;
  readonly code?: string;
  readonly serverMessage?: string;

  constructor(init: {
    server: string;
    method: string;
    path: string;
    kind: FailureKind;
    status?: number;
    code?: string;
    serverMessage?: string;
    detail?: string;
  }) {
    const what = `${init.server}: ${init.method} ${init.path}`;
    let text: string;
    if (init.kind === "status") {
      const own = [init.code, init.serverMessage].filter(Boolean).join(": ");
      text = `${what} answered ${init.status}${own ? ` (${own})` : ""}`;
    } else {
      text = `${what} got no answer: ${init.detail ?? init.kind}`;
    }
    const hint = whatToDo(init.server, init.kind, init.status);
    super(hint ? `${text}. ${hint}` : text);
    this.name = "HttpError";
    this.server = init.server;
    this.method = init.method;
    this.path = init.path;
    this.kind = init.kind;
    this.status = init.status;
    this.code = init.code;
    this.serverMessage = init.serverMessage;
  }

  /** True when the request may have reached the server and been carried out (no answer came back). */
  get ambiguous(): boolean {
    return this.kind !== "status";
  }
}

/** The next step for the user, by kind of failure; callers add more where they know more. */
function whatToDo(server: string, kind: FailureKind, status?: number): string | undefined {
  if (kind === "timeout") return `Check that ${server} is up and reachable from the runner, or raise request-timeout`;
  if (kind === "network") return `Check that ${server} is reachable from the runner (URL, DNS, proxy settings, TLS: see ca-certificate)`;
  if (status === undefined) return undefined;
  if (status >= 500)
    return server === "Harbor" ? "Harbor answers every server error this way; the cause is in Harbor core's log" : `The cause is in ${server}'s log`;
  if (status === 429) return `${server} is rate limiting; run again later`;
  return undefined;
}

export interface HttpResponse<T> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

export interface RequestOptions {
  query?: Record<string, string | number>;
  json?: unknown;
  form?: Record<string, string>;
  /** A body sent as is (a file upload); a Buffer, so a retry can send it again. */
  raw?: { body: Buffer; contentType: string };
  /** Return the answer's bytes as a Buffer instead of parsing them (images). */
  binary?: boolean;
  headers?: Record<string, string>;
  /** Send the client's auth headers (default true). */
  auth?: boolean;
  /** Safe to repeat. Defaults to true for GET, PUT and DELETE; POSTs opt in explicitly. */
  retry?: boolean;
  /** Statuses that are answers, not failures (default: 2xx only). */
  accept?: number[];
}

export interface ClientOptions {
  server: string;
  baseUrl: string;
  authHeaders: Record<string, string>;
  transport: Transport;
  scrub: (text: string) => string;
  debug?: (message: string) => void;
}

/** Pulls the server's own error code and message out of Pocket ID's or Harbor's error body. */
export function serverError(body: unknown): { code?: string; message?: string } {
  if (!body || typeof body !== "object") return typeof body === "string" && body ? { message: body.slice(0, 300) } : {};
  const b = body as Record<string, unknown>;
  if (Array.isArray(b.errors) && b.errors[0] && typeof b.errors[0] === "object") {
    const e = b.errors[0] as Record<string, unknown>;
    return { code: str(e.code), message: str(e.message) };
  }
  const message = [str(b.error), str(b.error_description)].filter(Boolean).join(": ") || str(b.message);
  return { code: str(b.code), message };
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v ? v : undefined;
}

export class HttpClient {
  readonly server: string;
  readonly baseUrl: string;
  readonly #opts: ClientOptions;

  constructor(opts: ClientOptions) {
    this.server = opts.server;
    this.baseUrl = opts.baseUrl;
    this.#opts = opts;
  }

  async send<T = unknown>(method: string, path: string, ro: RequestOptions = {}): Promise<HttpResponse<T>> {
    const { transport, scrub } = this.#opts;
    const headers: Record<string, string> = { accept: "application/json", ...ro.headers };
    if (ro.auth !== false) Object.assign(headers, this.#opts.authHeaders);
    let body: string | Buffer | undefined;
    if (ro.raw) {
      body = ro.raw.body;
      headers["content-type"] = ro.raw.contentType;
    } else if (ro.json !== undefined) {
      body = JSON.stringify(ro.json);
      headers["content-type"] = "application/json";
    } else if (ro.form) {
      body = new URLSearchParams(ro.form).toString();
      headers["content-type"] = "application/x-www-form-urlencoded";
    }
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(ro.query ?? {})) url.searchParams.set(k, String(v));
    const retry = ro.retry ?? ["GET", "PUT", "DELETE"].includes(method);
    // The server's own words may echo what it was sent (a key, a password): scrubbed here, and the
    // body itself is not kept, so no error object holds an unscrubbed server text.
    const fail = (init: Omit<ConstructorParameters<typeof HttpError>[0], "server" | "method" | "path">) =>
      new HttpError({
        server: this.server,
        method,
        path,
        ...init,
        code: init.code && scrub(init.code),
        serverMessage: init.serverMessage && scrub(init.serverMessage),
      });

    const remaining = transport.deadline - Date.now();
    if (remaining <= 0) throw fail({ kind: "timeout", detail: "the action's overall deadline has passed" });
    this.#opts.debug?.(`${this.server}: ${method} ${path}`);
    const deadline = AbortSignal.timeout(remaining);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method: method as Dispatcher.HttpMethod,
        headers,
        body,
        dispatcher: retry ? transport.retrying : transport.plain,
        signal: deadline,
      });
    } catch (err) {
      const code = (err as { code?: string }).code ?? (err as Error).name;
      // The signal is the run's overall deadline (undici reports it as an abort); undici's own
      // timeouts are request-timeout.
      const deadlinePassed = deadline.aborted;
      const timedOut = deadlinePassed || /TIMEOUT/i.test(code);
      const detail = deadlinePassed
        ? "the action's overall deadline passed (10 × request-timeout + 60 s)"
        : timedOut
          ? `no answer within ${transport.timeoutMs / 1000} s (input request-timeout)`
          : `${scrub((err as Error).message)}${code ? ` [${code}]` : ""}`;
      throw fail({ kind: timedOut ? "timeout" : "network", detail });
    }
    const bytes = await res.body.arrayBuffer().then(
      (b) => Buffer.from(b),
      () => Buffer.alloc(0),
    );
    const text = new TextDecoder().decode(bytes);
    const contentType = String(res.headers["content-type"] ?? "");
    let parsed: unknown = text;
    if (text && (contentType.includes("json") || /^\s*[[{]/.test(text))) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!text) parsed = undefined;
    const ok = (res.statusCode >= 200 && res.statusCode < 300) || ro.accept?.includes(res.statusCode);
    if (!ok) {
      const { code, message } = serverError(parsed);
      throw fail({ kind: "status", status: res.statusCode, code, serverMessage: message });
    }
    return { status: res.statusCode, headers: res.headers, body: (ro.binary ? bytes : parsed) as T };
  }
}
