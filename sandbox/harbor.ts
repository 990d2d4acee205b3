// A simulator of Harbor's HTTP API, limited to what configuring OIDC touches: configurations,
// systeminfo, users, the OIDC ping, basic auth with the failed-login lock, sessions and CSRF.
// It follows /work/shared/reference/harbor-api.md (taken from Harbor's source) and shares no code
// with src/, because it stands for the real server.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";
import * as tls from "node:tls";
import type { Fault, RequestRecord, SimRequest, SimResponse, SimServer } from "./sim-kit.ts";
import { compareVersions, startServer } from "./sim-kit.ts";

export type { Fault, RequestRecord } from "./sim-kit.ts";

export interface HarborOptions {
  /** "2.15.2" by default. Decides which configuration keys exist. */
  version?: string;
  /** The local admin (user_id 1); "admin" by default. */
  adminUsername?: string;
  adminPassword: string;
  /** Extra users that exist in the database (user_id > 1, not deleted): they lock auth_mode. */
  users?: string[];
  /** Other DB accounts (sysadmins or not); they log in with basic auth only in db_auth mode. */
  otherAccounts?: { username: string; password: string; sysadmin: boolean }[];
  /** EXT_ENDPOINT; the server's own base URL by default. */
  externalUrl?: string;
  /** CONFIG_OVERWRITE_JSON is set: every key is read-only and PUT is refused. */
  configOverwriteJson?: boolean;
  /** Values already in the database (e.g. an existing OIDC setup). */
  initialConfig?: Record<string, unknown>;
  /** Keys Harbor answers 200 to but does not store (models "accepted but not applied"). */
  dropKeys?: string[];
  /** After each successful PUT, this many following GET /configurations return the values from before the PUT. */
  staleReads?: number;
  tls?: { key: string; cert: string };
  /** CA (PEM) Harbor trusts for its own outgoing requests (the ping), in addition to the system CAs. */
  ca?: string;
  /** Harbor's own network cannot reach anything (the ping's discovery fetch fails). */
  blockOutbound?: boolean;
}

export interface HarborSim {
  url: string;
  requests: RequestRecord[];
  fault(f: Fault): void;
  clearFaults(): void;
  /** Requests that change state: every non-GET/HEAD request except POST /api/v2.0/system/oidc/ping. */
  writes(): RequestRecord[];
  /** Current stored configuration values (plain values, including oidc_client_secret) for assertions. */
  config(): Record<string, unknown>;
  /** The stored oidc_client_secret (undefined when never set). */
  secret(): string | undefined;
  addUser(username: string): void;
  /** Every ping Harbor ran: the url, verify_cert and whether it passed (and why not, like Harbor core's log). */
  pings: { url: string; verifyCert: boolean; ok: boolean; reason?: string }[];
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Configuration metadata (src/lib/config/metadata/metadatalist.go and the swagger schemas).

type Kind = "string" | "bool" | "int" | "password" | "authmode" | "map";
type GoType = "string" | "bool" | "int64" | "[]string";

const ITEMS: Record<string, { kind: Kind; def: unknown; since: string }> = {
  auth_mode: { kind: "authmode", def: "db_auth", since: "2.0.0" },
  primary_auth_mode: { kind: "bool", def: false, since: "2.8.0" },
  self_registration: { kind: "bool", def: false, since: "2.0.0" },
  oidc_name: { kind: "string", def: "", since: "2.0.0" },
  oidc_endpoint: { kind: "string", def: "", since: "2.0.0" },
  oidc_client_id: { kind: "string", def: "", since: "2.0.0" },
  oidc_client_secret: { kind: "password", def: undefined, since: "2.0.0" },
  oidc_groups_claim: { kind: "string", def: "", since: "2.0.0" },
  oidc_admin_group: { kind: "string", def: "", since: "2.2.0" },
  oidc_group_filter: { kind: "string", def: "", since: "2.7.0" },
  oidc_scope: { kind: "string", def: "", since: "2.0.0" },
  oidc_user_claim: { kind: "string", def: "", since: "2.1.0" },
  oidc_verify_cert: { kind: "bool", def: true, since: "2.0.0" },
  oidc_auto_onboard: { kind: "bool", def: false, since: "2.1.0" },
  oidc_extra_redirect_parms: { kind: "map", def: "{}", since: "2.2.0" },
  oidc_logout: { kind: "bool", def: false, since: "2.13.0" },
  session_timeout: { kind: "int", def: 60, since: "2.0.0" },
  robot_name_prefix: { kind: "string", def: "robot$", since: "2.0.0" },
};

const GO_TYPE: Record<Kind, GoType> = { string: "string", password: "string", authmode: "string", map: "string", bool: "bool", int: "int64" };
const AUTH_MODES = ["db_auth", "ldap_auth", "uaa_auth", "http_auth", "oidc_auth"];
// 10 digits: the portal's input limit (common.UIMaxLengthLimitedOfNumber).
const MAX_NUMBER = 9_999_999_999;
/** `git rev-parse --short=8` of the release tags we know; other versions get a made-up commit. */
const RELEASE_COMMITS: Record<string, string> = {
  "2.15.2": "080b0220",
  "2.15.1": "335c05f2",
  "2.15.0": "e2b5ce92",
  "2.14.4": "79a297f7",
  "2.14.3": "dcdb8baf",
  "2.13.5": "ffae5421",
  "2.13.4": "63ae09e6",
};

const MSG_LOCKED = "the auth mode cannot be modified as new users have been inserted into database";
const MSG_READ_ONLY = "current config is init by env variable: CONFIG_OVERWRITE_JSON, it cannot be updated";
const MSG_BAD_AUTH_MODE = "invalid auth_mode, shoud be one of db_auth, ldap_auth, uaa_auth, http_auth, oidc_auth";
const API = "/api/v2.0";
const PING_PATH = `${API}/system/oidc/ping`;
const LOCK_MS = 1500;
const PING_TIMEOUT_MS = 10_000;
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);
const PROVIDER_FIELDS: Record<string, GoType> = {
  issuer: "string",
  authorization_endpoint: "string",
  token_endpoint: "string",
  device_authorization_endpoint: "string",
  jwks_uri: "string",
  userinfo_endpoint: "string",
  id_token_signing_alg_values_supported: "[]string",
};

// ---------------------------------------------------------------------------------------------
// Go encoding/json, as far as clients can observe it.

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (typeof v === "boolean") return "bool";
  return typeof v; // string, number, object
}

/** Why `v` does not decode into a Go value of type `t`: [what JSON had, what Go wanted], or undefined. */
function typeMismatch(v: unknown, t: GoType): [string, string] | undefined {
  switch (t) {
    case "string":
      return typeof v === "string" ? undefined : [jsonKind(v), "string"];
    case "bool":
      return typeof v === "boolean" ? undefined : [jsonKind(v), "bool"];
    case "int64":
      if (typeof v !== "number") return [jsonKind(v), "int64"];
      return Number.isSafeInteger(v) ? undefined : [`number ${v}`, "int64"];
    case "[]string":
      if (!Array.isArray(v)) return [jsonKind(v), "[]string"];
      return v.map((e) => (e === null ? undefined : typeMismatch(e, "string"))).find(Boolean);
  }
}

/**
 * Decodes like json.Unmarshal into a struct of pointer fields: unknown keys are ignored, keys match
 * field names case-insensitively (exact match first), null leaves a field unset, wrong types fail.
 */
function decodeStruct(raw: unknown, fields: Record<string, GoType>, typeName: string): { values: Record<string, unknown> } | { error: string } {
  if (raw === null) return { values: {} };
  if (typeof raw !== "object" || Array.isArray(raw)) return { error: `json: cannot unmarshal ${jsonKind(raw)} into Go value of type ${typeName}` };
  const names = Object.keys(fields);
  const values: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(raw)) {
    const field = Object.hasOwn(fields, key) ? key : names.find((f) => f.toLowerCase() === key.toLowerCase());
    if (!field) continue;
    if (v === null) {
      delete values[field];
      continue;
    }
    const bad = typeMismatch(v, fields[field] as GoType);
    if (bad) return { error: `json: cannot unmarshal ${bad[0]} into Go struct field ${typeName}.${field} of type ${bad[1]}` };
    values[field] = v;
  }
  return { values };
}

/** Go's text for a syntax error (approximated from V8's: only the position is reliable). */
function goSyntaxError(text: string, err: unknown): string {
  const msg = err instanceof Error ? err.message : "";
  if (text.trim() === "" || /end of JSON input/i.test(msg)) return "unexpected end of JSON input";
  const at = Number(/position (\d+)/.exec(msg)?.[1] ?? text.search(/\S/));
  if (at >= text.length) return "unexpected end of JSON input";
  return `invalid character '${text.charAt(at)}' looking for beginning of value`;
}

/** Go's json.Marshal of a string: HTML characters escaped, \u00XX for other control characters. */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || "<>&\u2028\u2029".includes(ch)) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** StringToStringMapType: parse as map[string]string, answer the re-marshalled (canonical) string or Go's error. */
function parseStringMap(text: string): { canonical: string } | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return { error: goSyntaxError(text, err) };
  }
  if (v === null) return { canonical: "null" };
  if (typeof v !== "object" || Array.isArray(v)) return { error: `json: cannot unmarshal ${jsonKind(v)} into Go value of type map[string]string` };
  const entries = Object.entries(v as Record<string, unknown>);
  const bad = entries.find(([, e]) => e !== null && typeof e !== "string");
  if (bad) return { error: `json: cannot unmarshal ${jsonKind(bad[1])} into Go value of type string` };
  // Go sorts map keys by their bytes; null decodes to "".
  entries.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return { canonical: `{${entries.map(([k, e]) => `${goQuote(k)}:${goQuote(typeof e === "string" ? e : "")}`).join(",")}}` };
}

/** The ItemType's validate() for one key, as Harbor's ValidateCfg runs it. */
function itemProblem(key: string, value: unknown): string | undefined {
  const kind = ITEMS[key]?.kind;
  if (kind === "authmode" && !AUTH_MODES.includes(value as string)) return MSG_BAD_AUTH_MODE;
  if (kind === "map") {
    const parsed = parseStringMap(value as string);
    if ("error" in parsed) return parsed.error;
  }
  return undefined;
}

function normalize(key: string, value: unknown): unknown {
  if (ITEMS[key]?.kind !== "map") return value;
  const parsed = parseStringMap(value as string);
  return "canonical" in parsed ? parsed.canonical : value;
}

// ---------------------------------------------------------------------------------------------
// Responses (src/lib/http/error.go; go-openapi producers write a trailing newline).

function json(status: number, body: unknown, headers: Record<string, string> = {}): SimResponse {
  return { status, body: `${JSON.stringify(body)}\n`, headers: { "content-type": "application/json", ...headers } };
}

function apiError(status: number, code: string, message: string): SimResponse {
  if (status >= 500) [code, message] = ["UNKNOWN", "internal server error"];
  return { status, body: `${JSON.stringify({ errors: [{ code, message }] })}\n`, headers: { "content-type": "application/json; charset=utf-8" } };
}

/** go-openapi's CompositeValidationError, which Harbor turns into a 422. */
function unprocessable(message: string): SimResponse {
  return apiError(422, "UNPROCESSABLE_ENTITY", `validation failure list:\n${message}`);
}

/** go-openapi body binding: Content-Type check, required body, json decoding into the model. */
function bindBody(
  req: SimRequest,
  param: string,
  typeName: string,
  fields: Record<string, GoType>,
): { values: Record<string, unknown> } | { error: SimResponse } {
  const required = { error: unprocessable(`${param} in body is required`) };
  if (req.body.length === 0) return required;
  const contentType = req.headers["content-type"] ?? "application/octet-stream";
  if ((contentType.split(";")[0] ?? "").trim().toLowerCase() !== "application/json") {
    return { error: unprocessable(`unsupported media type ${JSON.stringify(contentType)}, only [application/json] are allowed`) };
  }
  if (req.body.trim() === "") return required; // the decoder reports io.EOF
  const parseError = (why: string) => ({ error: unprocessable(`parsing ${param} body from "" failed, because ${why}`) });
  let raw: unknown;
  try {
    raw = JSON.parse(req.body);
  } catch (err) {
    return parseError(goSyntaxError(req.body, err));
  }
  const decoded = decodeStruct(raw, fields, typeName);
  return "error" in decoded ? parseError(decoded.error) : decoded;
}

/** go-openapi content negotiation: no Accept header takes the first offer. */
function accepts(accept: string | undefined, offer: string): boolean {
  if (!accept) return true;
  const family = `${offer.split("/")[0]}/*`;
  return accept.split(",").some((part) => {
    const range = (part.split(";")[0] ?? "").trim().toLowerCase();
    return range === "*/*" || range === family || range === offer;
  });
}

// ---------------------------------------------------------------------------------------------
// Outgoing discovery fetch of the ping (go-oidc NewProvider over Go's http.Client).

interface Outbound {
  verifyCert: boolean;
  ca?: string;
  blocked: boolean;
  signal: AbortSignal;
}

const X509_UNKNOWN_AUTHORITY = "tls: failed to verify certificate: x509: certificate signed by unknown authority";
const NET_ERRORS: Record<string, string> = {
  ECONNREFUSED: "connect: connection refused",
  ECONNRESET: "EOF",
  EPROTO: "http: server gave HTTP response to HTTPS client",
  DEPTH_ZERO_SELF_SIGNED_CERT: X509_UNKNOWN_AUTHORITY,
  SELF_SIGNED_CERT_IN_CHAIN: X509_UNKNOWN_AUTHORITY,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: X509_UNKNOWN_AUTHORITY,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: X509_UNKNOWN_AUTHORITY,
  CERT_HAS_EXPIRED: "tls: failed to verify certificate: x509: certificate has expired or is not yet valid",
  ERR_TLS_CERT_ALTNAME_INVALID: "tls: failed to verify certificate: x509: certificate is not valid for this host",
};

function goGet(target: string, o: Outbound, hops = 0): Promise<{ status: number; body: string; contentType: string }> {
  const fail = (why: string) => Promise.reject(new Error(`Get ${JSON.stringify(target)}: ${why}`));
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return fail('unsupported protocol scheme ""');
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return fail(`unsupported protocol scheme "${url.protocol.slice(0, -1)}"`);
  if (o.blocked) return fail(`dial tcp ${url.host}: connect: network is unreachable`);
  const secure = url.protocol === "https:";
  const tlsOptions = !secure
    ? {}
    : o.verifyCert
      ? { ca: o.ca ? [...tls.rootCertificates, o.ca] : undefined }
      : { rejectUnauthorized: false, minVersion: "TLSv1.2" as const };
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(url, { method: "GET", agent: false, signal: o.signal, ...tlsOptions }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", (err) => reject(new Error(`Get ${JSON.stringify(target)}: ${err.message}`)));
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if ([301, 302, 303, 307, 308].includes(status) && location) {
          if (hops >= 10) reject(new Error(`Get ${JSON.stringify(target)}: stopped after 10 redirects`));
          else resolve(goGet(new URL(location, url).href, o, hops + 1));
          return;
        }
        resolve({ status, body: Buffer.concat(chunks).toString("utf8"), contentType: res.headers["content-type"] ?? "" });
      });
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      const why = o.signal.aborted
        ? "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        : err.code === "ENOTFOUND"
          ? `dial tcp: lookup ${url.hostname}: no such host`
          : err.code === "ECONNREFUSED"
            ? `dial tcp ${url.host}: ${NET_ERRORS.ECONNREFUSED}`
            : (NET_ERRORS[err.code ?? ""] ?? err.message);
      reject(new Error(`Get ${JSON.stringify(target)}: ${why}`));
    });
    req.end();
  });
}

/** go-oidc NewProvider: fetch discovery, require 200 and JSON, and an issuer equal to `issuer` byte for byte. */
async function discover(issuer: string, o: Outbound): Promise<string | undefined> {
  let res: Awaited<ReturnType<typeof goGet>>;
  try {
    res = await goGet(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`, o);
  } catch (err) {
    return (err as Error).message;
  }
  if (res.status !== 200) return `${res.status} ${http.STATUS_CODES[res.status] ?? ""}: ${res.body}`;
  const decodeFailure = (why: string) => {
    const isJson = (res.contentType.split(";")[0] ?? "").trim() === "application/json";
    const detail = isJson
      ? `got Content-Type = application/json, but could not unmarshal as JSON: ${why}`
      : `expected Content-Type = application/json, got ${JSON.stringify(res.contentType)}: ${why}`;
    return `oidc: failed to decode provider discovery object: ${detail}`;
  };
  let raw: unknown;
  try {
    raw = JSON.parse(res.body);
  } catch (err) {
    return decodeFailure(goSyntaxError(res.body, err));
  }
  const doc = decodeStruct(raw, PROVIDER_FIELDS, "providerJSON");
  if ("error" in doc) return decodeFailure(doc.error);
  const got = doc.values.issuer ?? "";
  if (got !== issuer) return `oidc: issuer did not match the issuer returned by provider, expected ${JSON.stringify(issuer)} got ${JSON.stringify(got)}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Users, sessions and CSRF.

interface Account {
  id: number;
  username: string;
  email: string;
  realname: string;
  comment: string;
  /** Undefined for users with no local password (onboarded from OIDC). */
  password?: string;
  sysadmin: boolean;
  deleted: boolean;
  created: string;
}

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

/** Go's Request.BasicAuth: case-insensitive scheme, strict standard base64, split at the first colon. */
function parseBasic(header: string | undefined): { principal: string; password: string } | undefined {
  if (header?.slice(0, 6).toLowerCase() !== "basic ") return undefined;
  const encoded = header.slice(6);
  if (encoded.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) return undefined;
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? undefined : { principal: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** gorilla/csrf masks the real token with a one-time pad: base64(otp || otp^token). */
function maskToken(real: Buffer): string {
  const otp = randomBytes(real.length);
  return Buffer.concat([otp, Buffer.from(otp.map((b, i) => b ^ (real[i] ?? 0)))]).toString("base64");
}

function unmaskToken(masked: string | undefined): Buffer | undefined {
  const raw = Buffer.from(masked ?? "", "base64");
  if (raw.length !== 64) return undefined;
  return Buffer.from(raw.subarray(32).map((b, i) => b ^ (raw[i] ?? 0)));
}

function userResp(a: Account): Record<string, unknown> {
  return {
    email: a.email,
    realname: a.realname,
    comment: a.comment,
    user_id: a.id,
    username: a.username,
    sysadmin_flag: a.sysadmin,
    admin_role_in_auth: false,
    creation_time: a.created,
    update_time: a.created,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// The server.

interface Ctx {
  req: SimRequest;
  who?: Account;
  param?: string;
}

interface Route {
  pattern: RegExp;
  produces: string;
  methods: Record<string, (ctx: Ctx) => SimResponse | Promise<SimResponse>>;
}

class Harbor {
  readonly version: string;
  readonly readOnly: boolean;
  readonly store: Record<string, unknown> = {};
  readonly accounts: Account[] = [];
  readonly pings: HarborSim["pings"] = [];
  externalUrl = "";
  private readonly opts: HarborOptions;
  private readonly dropKeys: Set<string>;
  private readonly lockedUntil = new Map<string, number>();
  private readonly sessions = new Set<string>();
  private readonly csrfTokens = new Set<string>();
  private stale = { values: {} as Record<string, unknown>, left: 0 };
  private readonly routes: Route[];

  constructor(opts: HarborOptions) {
    this.opts = opts;
    this.version = (opts.version ?? "2.15.2").replace(/^v/, "");
    this.readOnly = opts.configOverwriteJson === true;
    this.dropKeys = new Set(opts.dropKeys);
    for (const key of this.knownKeys()) if (ITEMS[key]?.kind !== "password") this.store[key] = ITEMS[key]?.def;
    this.seed(opts.initialConfig ?? {});
    this.addAccount({ username: opts.adminUsername ?? "admin", password: opts.adminPassword, sysadmin: true, realname: "system admin", comment: "admin user" });
    // The built-in anonymous row (user_id 2) is created deleted and never counts.
    this.addAccount({ username: "anonymous", sysadmin: false, realname: "anonymous user", comment: "anonymous user", deleted: true });
    for (const a of opts.otherAccounts ?? []) this.addAccount(a);
    for (const username of opts.users ?? []) this.addAccount({ username, sysadmin: false });
    this.routes = [
      {
        pattern: /^\/api\/v2\.0\/ping$/,
        produces: "text/plain",
        methods: { GET: () => ({ status: 200, body: "Pong", headers: { "content-type": "text/plain" } }) },
      },
      { pattern: /^\/api\/v2\.0\/systeminfo$/, produces: "application/json", methods: { GET: (c) => this.systemInfo(c) } },
      {
        pattern: /^\/api\/v2\.0\/configurations$/,
        produces: "application/json",
        methods: { GET: (c) => this.getConfigurations(c), PUT: (c) => this.putConfigurations(c) },
      },
      { pattern: /^\/api\/v2\.0\/system\/oidc\/ping$/, produces: "application/json", methods: { POST: (c) => this.pingOidc(c) } },
      { pattern: /^\/api\/v2\.0\/users\/current$/, produces: "application/json", methods: { GET: (c) => this.currentUser(c) } },
      { pattern: /^\/api\/v2\.0\/users$/, produces: "application/json", methods: { GET: (c) => this.listUsers(c) } },
      { pattern: /^\/api\/v2\.0\/users\/([^/]+)$/, produces: "application/json", methods: { GET: (c) => this.getUser(c), DELETE: (c) => this.deleteUser(c) } },
    ];
  }

  knownKeys(): string[] {
    return Object.keys(ITEMS).filter((k) => compareVersions(this.version, ITEMS[k]?.since ?? "") >= 0);
  }

  private knows(key: string): boolean {
    return this.knownKeys().includes(key);
  }

  /** initialConfig is what the database already holds; a typo or a wrong type is a test bug. */
  private seed(initial: Record<string, unknown>): void {
    for (const [key, value] of Object.entries(initial)) {
      const item = ITEMS[key];
      if (!item) throw new Error(`harbor sim: initialConfig has unknown key ${key}`);
      if (!this.knows(key)) continue; // an older Harbor has no such row
      const bad = typeMismatch(value, GO_TYPE[item.kind]);
      const problem = bad ? `a ${bad[0]} where ${bad[1]} is stored` : itemProblem(key, value);
      if (problem) throw new Error(`harbor sim: initialConfig ${key}: ${problem}`);
      this.store[key] = normalize(key, value);
    }
  }

  addAccount(a: { username: string; password?: string; sysadmin: boolean; realname?: string; comment?: string; deleted?: boolean }): void {
    if (!a.deleted && this.live().some((x) => x.username === a.username)) throw new Error(`harbor sim: user ${a.username} already exists`);
    const id = this.accounts.length + 1;
    this.accounts.push({
      id,
      username: a.username,
      email: `${a.username}@example.com`,
      realname: a.realname ?? a.username,
      comment: a.comment ?? "",
      password: a.password,
      sysadmin: a.sysadmin,
      deleted: a.deleted ?? false,
      created: new Date().toISOString(),
    });
  }

  private live(): Account[] {
    return this.accounts.filter((a) => !a.deleted);
  }

  /** userManager.Count: non-deleted users with user_id > 1. */
  private authModeCanBeModified(): boolean {
    return !this.live().some((a) => a.id > 1);
  }

  async handle(req: SimRequest): Promise<SimResponse> {
    const headers: Record<string, string | string[]> = { "x-request-id": (req.headers["x-request-id"] as string | undefined) || randomUUID() };
    const setCookies: string[] = [];
    let res: SimResponse;
    try {
      res = await this.pipeline(req, headers, setCookies);
    } catch (err) {
      console.error("harbor sim: internal error", err); // Harbor logs the detail and hides it from the client
      res = apiError(500, "UNKNOWN", String(err));
    }
    if (setCookies.length > 0) headers["set-cookie"] = setCookies;
    return { ...res, headers: { ...headers, ...res.headers } };
  }

  /** Middleware order of Harbor core: session, csrf, security, then the API router. */
  private async pipeline(req: SimRequest, headers: Record<string, string | string[]>, setCookies: string[]): Promise<SimResponse> {
    const cookies = parseCookies(req.headers.cookie);
    const sid = cookies.get("sid");
    if (!sid || !this.sessions.has(sid)) {
      const fresh = randomBytes(16).toString("hex");
      this.sessions.add(fresh);
      setCookies.push(`sid=${fresh}; Path=/; HttpOnly`);
    }
    const csrfFailure = this.checkCsrf(req, cookies, headers, setCookies);
    if (csrfFailure) return csrfFailure;
    const who = await this.authenticate(req);
    return this.route({ req, who });
  }

  /** gorilla/csrf, skipped for /api/, /v2/ and /service/ requests that carry no sid cookie. */
  private checkCsrf(req: SimRequest, cookies: Map<string, string>, headers: Record<string, string | string[]>, setCookies: string[]): SimResponse | undefined {
    if (/^\/(api|v2|service)\//.test(req.path) && !cookies.get("sid")) return undefined;
    let real = cookies.get("_gorilla_csrf");
    if (!real || !this.csrfTokens.has(real)) {
      real = randomBytes(32).toString("base64url");
      this.csrfTokens.add(real);
      setCookies.push(`_gorilla_csrf=${real}; Path=/; HttpOnly; SameSite=Strict`);
    }
    const realBytes = Buffer.from(real, "base64url");
    headers["x-harbor-csrf-token"] = maskToken(realBytes);
    if (SAFE_METHODS.has(req.method)) return undefined;
    const sent = unmaskToken(req.headers["x-harbor-csrf-token"] as string | undefined);
    if (sent && sent.length === realBytes.length && timingSafeEqual(sent, realBytes)) return undefined;
    return apiError(403, "FORBIDDEN", "CSRF token invalid");
  }

  /** Basic auth (src/core/auth/authenticator.go Login), with the 1.5 s lock after a wrong password. */
  private async authenticate(req: SimRequest): Promise<Account | undefined> {
    const creds = parseBasic(req.headers.authorization);
    if (!creds) return undefined;
    const { principal, password } = creds;
    // IsSuperUser looks the principal up by username only: the admin's email goes the configured way.
    const superUser = this.live().some((a) => a.id === 1 && a.username === principal);
    const mode = superUser ? "db_auth" : this.store.auth_mode;
    if ((this.lockedUntil.get(principal) ?? 0) > Date.now()) return undefined;
    // The OIDC authenticator does not support passwords; LDAP/UAA/authproxy have no server here. No lock either way.
    if (mode !== "db_auth") return undefined;
    const account = this.live().find((a) => a.username === principal || a.email === principal);
    if (account?.password !== undefined && account.password === password) return account;
    this.lockedUntil.set(principal, Date.now() + LOCK_MS);
    await sleep(LOCK_MS);
    return undefined;
  }

  private route(ctx: Ctx): SimResponse | Promise<SimResponse> {
    const { req } = ctx;
    for (const r of this.routes) {
      const m = r.pattern.exec(req.path);
      if (!m) continue;
      const op = r.methods[req.method];
      if (!op) return apiError(405, "METHOD_NOT_ALLOWED", `method ${req.method} is not allowed, but [${Object.keys(r.methods).join(",")}] are`);
      if (!accepts(req.headers.accept, r.produces)) return unprocessable(`unsupported media type requested, only [${r.produces}] are available`);
      return op({ ...ctx, param: m[1] });
    }
    return apiError(404, "NOT_FOUND", `path ${req.path} was not found`);
  }

  /** BaseAPI.RequireSystemAccess: 401 when anonymous, 403 (message: the username) when not a system admin. */
  private requireSysAdmin(who: Account | undefined): SimResponse | undefined {
    if (!who) return apiError(401, "UNAUTHORIZED", "unauthorized");
    return who.sysadmin ? undefined : apiError(403, "FORBIDDEN", who.username);
  }

  private systemInfo({ who }: Ctx): SimResponse {
    const atLeast = (v: string) => compareVersions(this.version, v) >= 0;
    const oidc = this.store.auth_mode === "oidc_auth";
    const info: Record<string, unknown> = { auth_mode: this.store.auth_mode };
    if (atLeast("2.8.0")) info.primary_auth_mode = this.store.primary_auth_mode;
    info.self_registration = this.store.self_registration;
    info.banner_message = "";
    if (atLeast("2.10.0")) info.oidc_provider_name = oidc ? this.store.oidc_name : "";
    if (!who) return json(200, info);
    const commit = RELEASE_COMMITS[this.version] ?? createHash("sha1").update(this.version).digest("hex").slice(0, 8);
    return json(200, {
      ...info,
      harbor_version: `v${this.version}-${commit}`,
      external_url: this.externalUrl,
      registry_url: this.externalUrl.replace(/^[a-z]+:\/\//i, ""),
      current_time: new Date().toISOString(),
      has_ca_root: false,
      project_creation_restriction: "everyone",
      read_only: false,
      registry_storage_provider_name: "filesystem",
      notification_enable: true,
    });
  }

  private getConfigurations({ who }: Ctx): SimResponse {
    const denied = this.requireSysAdmin(who);
    if (denied) return denied;
    const values = this.stale.left > 0 ? this.stale.values : this.store;
    if (this.stale.left > 0) this.stale.left--;
    const out: Record<string, { value: unknown; editable: boolean }> = {};
    for (const key of this.knownKeys()) {
      if (ITEMS[key]?.kind !== "password") out[key] = { value: values[key], editable: !this.readOnly };
    }
    out.auth_mode = { value: values.auth_mode, editable: this.authModeCanBeModified() && !this.readOnly };
    return json(200, out);
  }

  private putConfigurations({ req, who }: Ctx): SimResponse {
    const fields = Object.fromEntries(this.knownKeys().map((k) => [k, GO_TYPE[ITEMS[k]?.kind ?? "string"]]));
    const bound = bindBody(req, "configurations", "Configurations", fields);
    if ("error" in bound) return bound.error;
    const denied = this.requireSysAdmin(who);
    if (denied) return denied;
    if (this.readOnly) return apiError(403, "FORBIDDEN", MSG_READ_ONLY);
    const changes = bound.values;
    const invalid = this.validate(changes);
    if (invalid) return invalid;
    this.stale = { values: { ...this.store }, left: this.opts.staleReads ?? 0 };
    for (const [key, value] of Object.entries(changes)) {
      if (!this.dropKeys.has(key)) this.store[key] = normalize(key, value);
    }
    return { status: 200 };
  }

  /** controller.validateCfg: the auth-mode lock first, then each item's type, then number limits. */
  private validate(changes: Record<string, unknown>): SimResponse | undefined {
    if ("auth_mode" in changes && changes.auth_mode !== this.store.auth_mode && !this.authModeCanBeModified()) {
      return apiError(400, "BAD_REQUEST", MSG_LOCKED);
    }
    for (const key of this.knownKeys().filter((k) => k in changes)) {
      const problem = itemProblem(key, changes[key]);
      if (problem) return apiError(400, "BAD_REQUEST", `bad request: item name ${key}: ${problem}`);
    }
    const timeout = changes.session_timeout;
    if (typeof timeout === "number" && timeout <= 0) return apiError(400, "BAD_REQUEST", "the session_timeout value must be positive");
    if (typeof timeout === "number" && timeout > MAX_NUMBER) {
      return apiError(400, "BAD_REQUEST", `the session_timeout value is over the limit value: ${MAX_NUMBER}`);
    }
    return undefined;
  }

  private async pingOidc({ req, who }: Ctx): Promise<SimResponse> {
    const bound = bindBody(req, "endpoint", "PingOIDCBody", { url: "string", verify_cert: "bool" });
    if ("error" in bound) return bound.error;
    const denied = this.requireSysAdmin(who);
    if (denied) return denied;
    const url = (bound.values.url as string | undefined) ?? "";
    const verifyCert = bound.values.verify_cert === true; // a plain Go bool: omitted means false
    const signal = AbortSignal.timeout(PING_TIMEOUT_MS);
    const reason = await discover(url, { verifyCert, ca: this.opts.ca, blocked: this.opts.blockOutbound === true, signal });
    this.pings.push(reason === undefined ? { url, verifyCert, ok: true } : { url, verifyCert, ok: false, reason });
    return reason === undefined ? { status: 200 } : apiError(400, "BAD_REQUEST", "failed to verify connection");
  }

  private currentUser({ who }: Ctx): SimResponse {
    return who ? json(200, userResp(who)) : apiError(401, "UNAUTHORIZED", "unauthorized");
  }

  private listUsers({ req, who }: Ctx): SimResponse {
    const page = req.query.get("page") ?? "1";
    const size = req.query.get("page_size") ?? "10";
    for (const [name, v] of Object.entries({ page, page_size: size })) {
      if (!/^\d+$/.test(v)) return unprocessable(`${name} in query must be of type int64: ${JSON.stringify(v)}`);
    }
    if (Number(size) > 100) return unprocessable("page_size in query should be less than or equal to 100");
    const denied = this.requireSysAdmin(who);
    if (denied) return denied;
    const [p, s] = [Math.max(1, Number(page)), Math.max(1, Number(size))];
    const filter = req.query.get("username") ?? "";
    const all = this.live().filter((a) => a.username.includes(filter));
    const links: string[] = [];
    const link = (n: number, rel: string) => `<${req.path}?page=${n}&page_size=${s}>; rel="${rel}"`;
    if (p > 1) links.push(link(p - 1, "prev"));
    if (p * s < all.length) links.push(link(p + 1, "next"));
    const headers: Record<string, string> = { "x-total-count": String(all.length) };
    if (links.length > 0) headers.link = links.join(" , ");
    return json(200, all.slice((p - 1) * s, p * s).map(userResp), headers);
  }

  private userParam(param: string | undefined): number | SimResponse {
    return /^\d+$/.test(param ?? "") ? Number(param) : unprocessable(`user_id in path must be of type int64: ${JSON.stringify(param)}`);
  }

  private getUser({ who, param }: Ctx): SimResponse {
    const id = this.userParam(param);
    if (typeof id !== "number") return id;
    if (!who) return apiError(401, "UNAUTHORIZED", "unauthorized");
    if (who.id !== id && !who.sysadmin) return apiError(403, "FORBIDDEN", `Not authorized to read user: ${id}`);
    const user = this.live().find((a) => a.id === id);
    return user ? json(200, userResp(user)) : apiError(404, "NOT_FOUND", `user ${id} not found`);
  }

  /** A soft delete (deleted=true, name and email suffixed with #id), which no longer counts for the lock. */
  private deleteUser({ who, param }: Ctx): SimResponse {
    const id = this.userParam(param);
    if (typeof id !== "number") return id;
    if (!who) return apiError(401, "UNAUTHORIZED", "unauthorized");
    if (!who.sysadmin) return apiError(403, "FORBIDDEN", "Not authorized to delete users");
    if (id === 1 || id === who.id) return apiError(403, "FORBIDDEN", `User with ID ${id} cannot be deleted`);
    const user = this.live().find((a) => a.id === id);
    if (!user) return apiError(404, "NOT_FOUND", `user ${id} not found`);
    user.deleted = true;
    user.username = `${user.username}#${id}`;
    user.email = `${user.email}#${id}`;
    return { status: 200 };
  }
}

export async function startHarbor(opts: HarborOptions): Promise<HarborSim> {
  const harbor = new Harbor(opts);
  const server: SimServer = await startServer((req) => harbor.handle(req), opts.tls ? { tls: opts.tls } : {});
  harbor.externalUrl = opts.externalUrl ?? server.url;
  return {
    url: server.url,
    requests: server.requests,
    fault: (f) => server.fault(f),
    clearFaults: () => server.clearFaults(),
    writes: () => server.requests.filter((r) => r.method !== "GET" && r.method !== "HEAD" && !(r.method === "POST" && r.path === PING_PATH)),
    config: () => ({ ...harbor.store }),
    secret: () => harbor.store.oidc_client_secret as string | undefined,
    addUser: (username) => harbor.addAccount({ username, sysadmin: false }),
    pings: harbor.pings,
    close: () => server.close(),
  };
}
