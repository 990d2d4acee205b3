// Pocket ID simulator: the HTTP API of pocket-id/pocket-id, version by version, as described in
// /work/shared/reference/pocket-id-api.md (the § numbers below point there). It stands for the real
// server, so it shares no code with src/. Only what an admin API key can do is modelled: no users
// sign in, so authorization codes are always bogus.
import { createHash, generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { extname } from "node:path";
import type { Fault, RequestRecord, SimRequest, SimResponse } from "./sim-kit.ts";
import { compareVersions, startServer } from "./sim-kit.ts";

export type { Fault, RequestRecord } from "./sim-kit.ts";

export interface PocketIdOptions {
  /** Simulated release, "2.14.0" by default. Behaviour is modelled from 2.0.0 on. */
  version?: string;
  /** Admin API key (X-API-Key). */
  apiKey: string;
  /** A valid key whose owner is not an admin: 403 on admin routes. */
  nonAdminApiKey?: string;
  /** APP_URL; defaults to the server's own base URL. */
  issuer?: string;
  tls?: { key: string; cert: string };
  /** Newer Pocket ID (>= 2.17, unconfirmed): a confidential client gets a random secret on create. */
  secretOnCreate?: boolean;
}

export interface FederatedIdentity {
  issuer: string;
  subject: string;
  audience: string;
  jwks: string;
  replayProtection: boolean;
}

export interface SimSecret {
  id: string;
  /** First 4 characters; "" for secrets of 4 characters or fewer. */
  prefix: string;
  /** Plain value: the real server keeps only a hash; kept here so tests can check. */
  value: string;
  createdAt: string;
  expiresAt: string | null;
}

export interface SimLogo {
  mimeType: string;
  bytes: Buffer;
  sha256: string;
}

/** The stored client (live object: changes made through the API show up here). */
export interface SimClient {
  id: string;
  name: string;
  description: string;
  callbackURLs: string[] | null;
  logoutCallbackURLs: string[] | null;
  isPublic: boolean;
  pkceEnabled: boolean;
  requiresReauthentication: boolean;
  requiresPushedAuthorizationRequests: boolean;
  skipConsent: boolean;
  launchURL: string | null;
  isGroupRestricted: boolean;
  accessTokenDurationMinutes: number;
  refreshTokenDurationMinutes: number;
  federatedIdentities: FederatedIdentity[];
  allowedUserGroupIds: string[];
  hasLogo: boolean;
  hasDarkLogo: boolean;
  logo: SimLogo | null;
  darkLogo: SimLogo | null;
  /** Before 2.14 a client has at most one secret. */
  secrets: SimSecret[];
  createdAt: string;
}

export interface SimGroup {
  id: string;
  name: string;
  friendlyName: string;
  createdAt: string;
}

interface SimUser {
  id: string;
  username: string;
  email: string | null;
  isAdmin: boolean;
  groupIds: string[];
}

export interface PocketIdSim {
  url: string;
  issuer: string;
  requests: RequestRecord[];
  fault(f: Fault): void;
  clearFaults(): void;
  /** Requests that change state: every non-GET/HEAD request except POST /api/oidc/token. */
  writes(): RequestRecord[];
  clients(): SimClient[];
  client(id: string): SimClient | undefined;
  /** Seed a client as a person would in the UI (returns it; id defaults to a random UUID). */
  addClient(partial: Partial<SimClient> & { name: string }): SimClient;
  /** Seed a secret (returns its plain value); for <2.14 replaces the single secret. */
  addSecret(clientId: string, opts?: { value?: string; expiresAt?: string | null }): string;
  /** True when the token endpoint would accept this (client id, secret) pair right now. */
  acceptsSecret(clientId: string, secret: string): boolean;
  addGroup(name: string, friendlyName?: string): SimGroup;
  groups(): SimGroup[];
  addUser(u: { username: string; email?: string; isAdmin?: boolean; groups?: string[] }): { id: string };
  close(): Promise<void>;
}

const DEFAULT_ACCESS_MINUTES = 60;
const DEFAULT_REFRESH_MINUTES = 43200;
const MAX_TOKEN_MINUTES = 525600;
const MAX_SECRETS = 20;
const MAX_UPLOAD_BYTES = 2 << 20;
const CLIENT_ID = /^[a-zA-Z0-9._-]+$/;
const IMAGE_TYPES: Record<string, string> = {
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".avif": "image/avif",
  ".heic": "image/heic",
};
/** 1×1 PNG standing in for a logo seeded with `hasLogo: true` but no bytes. */
const PLACEHOLDER_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

/** First release with each versioned client field (§2.4, §2.10); older releases ignore it on input and omit it. */
const SINCE: Record<string, string> = {
  launchURL: "1.7.0",
  id: "1.8.0",
  requiresReauthentication: "1.8.0",
  hasLogo: "1.12.0",
  logoUrl: "1.12.0",
  hasDarkLogo: "1.14.0",
  darkLogoUrl: "1.14.0",
  isGroupRestricted: "2.0.0",
  requiresPushedAuthorizationRequests: "2.9.0",
  description: "2.10.0",
  skipConsent: "2.10.0",
  replayProtection: "2.10.0",
  clientType: "2.13.0",
  accessTokenDurationMinutes: "2.13.0",
  refreshTokenDurationMinutes: "2.13.0",
  secrets: "2.14.0",
};

const OAUTH_DESCRIPTIONS: Record<string, string> = {
  invalid_request:
    "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.",
  invalid_client: "Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method).",
  invalid_grant:
    "The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
  unauthorized_client: "The client is not authorized to request a token using this method.",
};

// ---------- small helpers ----------

class HttpError extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;
  constructor(status: number, body: Record<string, unknown>) {
    super(String(body.error));
    this.status = status;
    this.body = body;
  }
}

/** Go's time.Time JSON form: RFC 3339 in UTC with trailing fractional zeros trimmed. */
function goTime(d: Date = new Date()): string {
  return d.toISOString().replace(/\.?0+Z$/, "Z");
}

function randomAlphanumeric(n: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let out = "";
  while (out.length < n) {
    for (const b of randomBytes(n)) if (b < 248 && out.length < n) out += alphabet[b % 62];
  }
  return out;
}

const runes = (s: string): number => [...s].length;
const asciiLower = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

/** SQL `LIKE '%term%'` as SQLite runs it: `%` and `_` stay wildcards, ASCII-only case folding. */
function like(value: string, term: string): boolean {
  const pattern = [...asciiLower(term)].map((ch) => (ch === "%" ? "[^]*" : ch === "_" ? "[^]" : ch.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&"))).join("");
  return new RegExp(pattern, "u").test(asciiLower(value));
}

/** Go's strconv.Atoi as used by form binding: anything unparsable is 0. */
function goInt(s: string | null): number {
  return s !== null && /^[+-]?\d{1,18}$/.test(s) ? Number.parseInt(s, 10) : 0;
}

function header(req: SimRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/** `application/json` or `application/<x>+json`, as httpserver/binding.go accepts. */
function isJsonMediaType(contentType: string | undefined): boolean {
  const [top, sub] = mediaType(contentType).split("/");
  return top === "application" && sub !== undefined && (sub === "json" || /^.+\+json$/.test(sub));
}

/** Go's url.QueryUnescape; null on a malformed escape. */
function goQueryUnescape(s: string): string | null {
  if (/%(?![0-9a-fA-F]{2})/.test(s)) return null;
  const parts = s.replace(/\+/g, " ").split(/(%[0-9a-fA-F]{2})/);
  return Buffer.concat(parts.map((p) => (/^%[0-9a-fA-F]{2}$/.test(p) ? Buffer.from([Number.parseInt(p.slice(1), 16)]) : Buffer.from(p)))).toString();
}

/** Go's http.Request.BasicAuth. */
function basicAuth(value: string | undefined): { user: string; pass: string } | null {
  if (!value || !/^basic /i.test(value)) return null;
  const b64 = value.slice(6);
  if (b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return null;
  const decoded = Buffer.from(b64, "base64").toString();
  const colon = decoded.indexOf(":");
  return colon < 0 ? null : { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}

/** What makes Go's url.Parse fail outright: a malformed %-escape or an ASCII control character. */
const hasBadEscapeOrControl = (s: string): boolean => /%(?![0-9a-fA-F]{2})/.test(s) || [...s].some((ch) => ch < " " || ch === "\x7f");

/** `callback_url_pattern` (v2.6.0+, utils/callback_url.go): `*`, or scheme://host[:port][/path] with glob wildcards. */
function validCallbackPattern(raw: string): boolean {
  if (raw === "*") return true;
  const [withoutFragment = ""] = raw.split("#");
  const [base = "", query] = withoutFragment.split(/\?(.*)/s);
  if (query !== undefined && (query.includes(";") || hasBadEscapeOrControl(query))) return false;
  const sep = base.indexOf("://");
  if (sep <= 0 || hasBadEscapeOrControl(base)) return false;
  const scheme = base.slice(0, sep).replace(/\*/g, "x");
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*$/.test(scheme) || /^(javascript|data)$/i.test(scheme)) return false;
  const authority = base.slice(sep + 3).split("/")[0] ?? "";
  const hostPort = authority.slice(authority.lastIndexOf("@") + 1);
  if (hostPort.startsWith("[")) return /^\[[^\]]+\](:[0-9*]+)?$/.test(hostPort);
  return /^[^\s:]+(:[0-9*]+)?$/.test(hostPort);
}

/** `callback_url` (before v2.6.0): anything Go's url.Parse accepts, except javascript:/data:. */
function validCallbackURL(raw: string): boolean {
  return !hasBadEscapeOrControl(raw) && !raw.startsWith(":") && !/^(javascript|data):/i.test(raw);
}

/** go-playground/validator `url`: a scheme plus a host, fragment or opaque part. */
function validatorURL(raw: string): boolean {
  const s = raw.toLowerCase();
  if (s.startsWith("file:/")) return true;
  const m = /^([a-z][a-z0-9+.-]*):(.*)$/s.exec(s);
  if (!m || hasBadEscapeOrControl(s)) return false;
  const rest = m[2] ?? "";
  const fragment = rest.split("#")[1] ?? "";
  if (!rest.startsWith("//")) return (rest.split(/[?#]/)[0] ?? "") !== "" || fragment !== "";
  const authority = rest.slice(2).split(/[/?#]/)[0] ?? "";
  return authority.slice(authority.lastIndexOf("@") + 1) !== "" || fragment !== "";
}

/** Minimal multipart/form-data reader; null when Go's ParseMultipartForm would fail. */
function parseMultipart(raw: Buffer, contentType: string | undefined): { name: string; filename: string; data: Buffer }[] | null {
  const boundary = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? "");
  if (mediaType(contentType) !== "multipart/form-data" || !boundary) return null;
  const delimiter = `--${boundary[1] ?? boundary[2]}`;
  const text = raw.toString("latin1"); // one char per byte, so indexes are byte offsets
  let pos = text.indexOf(delimiter);
  if (pos < 0) return null;
  const parts: { name: string; filename: string; data: Buffer }[] = [];
  for (;;) {
    pos += delimiter.length;
    if (text.startsWith("--", pos)) return parts;
    const headerEnd = text.indexOf("\r\n\r\n", pos);
    const next = text.indexOf(`\r\n${delimiter}`, headerEnd);
    if (headerEnd < 0 || next < 0) return null;
    const disposition = /content-disposition:([^\r\n]*)/i.exec(text.slice(pos, headerEnd))?.[1] ?? "";
    const param = (key: string) => {
      const m = new RegExp(`;\\s*${key}=(?:"([^"]*)"|([^;\\s]*))`, "i").exec(disposition);
      return m ? (m[1] ?? m[2]) : undefined;
    };
    parts.push({ name: param("name") ?? "", filename: param("filename") ?? "", data: raw.subarray(headerEnd + 4, next) });
    pos = next + 2;
  }
}

let jwksCache: unknown;
/** A plausible JWKS: one RSA signing key, made once per process. */
function jwks(): unknown {
  if (!jwksCache) {
    const jwk = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "jwk" });
    jwksCache = { keys: [{ ...jwk, kid: sha256(Buffer.from(String(jwk.n))).slice(0, 16), use: "sig", alg: "RS256" }] };
  }
  return jwksCache;
}

// ---------- JSON binding with encoding/json semantics ----------

/** Field kinds of a Go DTO: `ptr` is *string, `time` is *time.Time, `[shape]` a slice of structs. */
type Kind = "string" | "bool" | "int" | "strings" | "ptr" | "time" | Shape | [Shape];
interface Shape {
  [field: string]: Kind;
}
type Decoded = Record<string, unknown>;

class BadBody extends Error {}

function zeroOf(shape: Shape): Decoded {
  const out: Decoded = {};
  for (const [field, kind] of Object.entries(shape)) {
    out[field] = kind === "string" ? "" : kind === "bool" ? false : kind === "int" ? 0 : typeof kind === "object" && !Array.isArray(kind) ? zeroOf(kind) : null;
  }
  return out;
}

/** Unknown keys are ignored and known keys match case-insensitively, as in encoding/json. */
function decodeStruct(raw: unknown, shape: Shape, into: Decoded = zeroOf(shape)): Decoded {
  if (raw === null) return into;
  if (typeof raw !== "object" || Array.isArray(raw)) throw new BadBody();
  const fields = Object.keys(shape);
  for (const [key, value] of Object.entries(raw)) {
    const field = fields.find((f) => f === key) ?? fields.find((f) => f.toLowerCase() === key.toLowerCase());
    if (field !== undefined) into[field] = decodeValue(value, shape[field] as Kind, into[field]);
  }
  return into;
}

function decodeValue(v: unknown, kind: Kind, current: unknown): unknown {
  // JSON null resets pointers and slices and leaves everything else alone.
  if (v === null) return kind === "ptr" || kind === "time" || kind === "strings" || Array.isArray(kind) ? null : current;
  if (Array.isArray(kind)) {
    if (!Array.isArray(v)) throw new BadBody();
    return v.map((item) => decodeStruct(item, kind[0]));
  }
  if (typeof kind === "object") return decodeStruct(v, kind, current as Decoded);
  const ok =
    kind === "bool"
      ? typeof v === "boolean"
      : kind === "int"
        ? typeof v === "number" && Number.isInteger(v) && Math.abs(v) < 2 ** 63
        : kind === "strings"
          ? Array.isArray(v) && v.every((s) => typeof s === "string" || s === null)
          : typeof v === "string";
  if (!ok) throw new BadBody();
  if (kind === "strings") return (v as (string | null)[]).map((s) => s ?? "");
  if (kind === "time" && (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v as string) || Number.isNaN(Date.parse(v as string)))) {
    throw new BadBody();
  }
  return v;
}

// ---------- validation (go-playground/validator, rendered per version) ----------

interface FieldError {
  field: string;
  goField: string;
  tag: string;
  param?: string;
}

/** A field's rules run in order and stop at the first failure. */
function rules(field: string, goField: string, ...checks: [tag: string, ok: boolean, param?: string][]): FieldError[] {
  const failed = checks.find(([, ok]) => !ok);
  return failed ? [{ field, goField, tag: failed[0], ...(failed[2] ? { param: failed[2] } : {}) }] : [];
}

function describe(e: FieldError): { code: string; message: string } {
  switch (e.tag) {
    case "required":
      return { code: "required", message: "is required" };
    case "min":
      return { code: "too_short", message: `must be at least ${e.param} characters long` };
    case "max":
      return { code: "too_long", message: `must be at most ${e.param} characters long` };
    case "url":
      return { code: "invalid_format", message: "must be a valid URL" };
    default:
      return { code: e.tag, message: "is invalid" };
  }
}

// ---------- the server ----------

type Auth = "none" | "key" | "admin";
interface Req extends SimRequest {
  params: Record<string, string>;
  raw: Buffer;
}
interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  auth: Auth;
  handle: (req: Req) => SimResponse;
}

class PocketId {
  readonly clients = new Map<string, SimClient>();
  readonly groups = new Map<string, SimGroup>();
  readonly users = new Map<string, SimUser>();
  readonly version: string;
  issuer = "";
  private readonly opts: PocketIdOptions;
  private readonly routes: Route[] = [];

  constructor(opts: PocketIdOptions) {
    this.opts = opts;
    this.version = (opts.version ?? "2.14.0").replace(/^v/, "");
    this.registerRoutes();
  }

  private at(min: string): boolean {
    return compareVersions(this.version, min) >= 0;
  }

  private has(field: string): boolean {
    const since = SINCE[field];
    return since === undefined || this.at(since);
  }

  private get structured(): boolean {
    return this.at("2.13.0");
  }

  private registerRoutes(): void {
    const add = (method: string, path: string, auth: Auth, handle: (req: Req) => SimResponse) => {
      const keys: string[] = [];
      const source = path.replace(/:(\w+)/g, (_, k: string) => {
        keys.push(k);
        return "([^/]+)";
      });
      this.routes.push({ method, pattern: new RegExp(`^${source}$`), keys, auth, handle });
    };
    const c = "/api/oidc/clients";
    add("GET", "/healthz", "none", () => ({ status: 204 }));
    add("GET", "/.well-known/openid-configuration", "none", () => ({ status: 200, body: this.discovery() }));
    if (this.at("2.14.0")) add("GET", "/.well-known/oauth-authorization-server", "none", () => ({ status: 200, body: this.discovery() }));
    add("GET", "/.well-known/jwks.json", "none", () => ({ status: 200, body: jwks() }));
    if (this.at("2.3.0")) add("GET", "/api/version/current", "key", () => ({ status: 200, body: { currentVersion: this.version } }));
    add("GET", c, "admin", (r) => this.listClients(r));
    add("POST", c, "admin", (r) => this.createClient(r));
    add("GET", `${c}/:id`, "admin", (r) => ({ status: 200, body: this.clientDto(this.mustClient(r), "groups") }));
    add("PUT", `${c}/:id`, "admin", (r) => this.updateClient(r));
    add("DELETE", `${c}/:id`, "admin", (r) => this.deleteClient(r));
    add("GET", `${c}/:id/meta`, "none", (r) => ({ status: 200, body: this.clientMeta(this.mustClient(r)) }));
    add("PUT", `${c}/:id/allowed-user-groups`, "admin", (r) => this.setAllowedGroups(r));
    if (this.at("2.14.0")) {
      add("GET", `${c}/:id/secrets`, "admin", (r) => ({ status: 200, body: this.mustClient(r).secrets.map(secretMeta) }));
      add("POST", `${c}/:id/secrets`, "admin", (r) => this.createSecret(r));
      add("DELETE", `${c}/:id/secrets/:secretId`, "admin", (r) => this.deleteSecret(r));
    } else {
      add("POST", `${c}/:id/secret`, "admin", (r) => this.replaceSecret(r));
    }
    add("GET", `${c}/:id/logo`, "none", (r) => this.getLogo(r));
    add("POST", `${c}/:id/logo`, "admin", (r) => this.uploadLogo(r));
    add("DELETE", `${c}/:id/logo`, this.at("2.3.0") ? "admin" : "none", (r) => this.deleteLogo(r));
    add("POST", "/api/oidc/token", "none", (r) => this.token(r));
    add("GET", "/api/user-groups", "admin", (r) => this.listGroups(r));
    add("POST", "/api/user-groups", "admin", (r) => this.createGroup(r));
    add("GET", "/api/user-groups/:id", "admin", (r) => ({ status: 200, body: this.groupDto(this.mustGroup(r), false) }));
    add("DELETE", "/api/user-groups/:id", "admin", (r) => this.deleteGroup(r));
    add("GET", "/api/users", "admin", (r) => this.listUsers(r));
  }

  handle(req: SimRequest): SimResponse {
    const requestId = randomUUID();
    let res: SimResponse;
    try {
      res = this.dispatch(req);
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      const withId = this.structured && "code" in e.body;
      res = { status: e.status, body: withId ? { ...e.body, request_id: requestId } : e.body };
    }
    if (this.structured) res.headers = { ...res.headers, "x-request-id": requestId };
    return res;
  }

  private dispatch(req: SimRequest): SimResponse {
    let path: string;
    try {
      path = decodeURIComponent(req.path); // gin routes on the decoded path
    } catch {
      return { status: 400, body: "400 Bad Request" };
    }
    const method = req.method === "HEAD" ? "GET" : req.method;
    for (const route of this.routes) {
      const m = route.method === method ? route.pattern.exec(path) : null;
      if (!m) continue;
      this.authenticate(req, route.auth);
      const params = Object.fromEntries(route.keys.map((k, i) => [k, m[i + 1] ?? ""]));
      // Client ids starting with "~" are base64url (middleware/client_id_param.go).
      if (params.id?.startsWith("~")) params.id = Buffer.from(params.id.slice(1), "base64url").toString();
      // sim-kit hands bodies over as UTF-8 text; a `rawBody` Buffer is used when it provides one.
      const raw = (req as SimRequest & { rawBody?: Buffer }).rawBody ?? Buffer.from(req.body);
      return route.handle({ ...req, params, raw });
    }
    // No route: gin's NoRoute. Trailing slashes land here too (gin would redirect instead).
    if (path === "/api" || path.startsWith("/api/")) return { status: 404, body: { error: "API endpoint not found" } };
    if (method === "GET") return { status: 200, headers: { "content-type": "text/html; charset=utf-8" }, body: "<!doctype html><title>Pocket ID</title>" };
    return { status: 404, headers: { "content-type": "text/plain" }, body: "404 page not found" };
  }

  private authenticate(req: SimRequest, auth: Auth): void {
    if (auth === "none") return;
    const key = header(req, "x-api-key");
    if (key && key === this.opts.apiKey) return;
    if (key && key === this.opts.nonAdminApiKey) {
      if (auth === "admin") throw this.fail(403, "forbidden", "You don't have permission to perform this action");
      return;
    }
    throw this.fail(401, "not_signed_in", "You are not signed in");
  }

  // ----- errors per version (§5) -----

  /** An app error: structured from 2.13 on, `{"error"}` (optionally another status/message) before. */
  private fail(
    status: number,
    code: string,
    message: string,
    o: { details?: Record<string, unknown>; oldStatus?: number; oldMessage?: string } = {},
  ): HttpError {
    if (!this.structured) return new HttpError(o.oldStatus ?? status, { error: o.oldMessage ?? message });
    return new HttpError(status, { error: message, code, ...(o.details ? { details: o.details } : {}) });
  }

  private badBody(): HttpError {
    return this.fail(400, "invalid_request_body", "Request body is invalid", { oldStatus: 500, oldMessage: "Something went wrong" });
  }

  private notFound(resource: string): HttpError {
    return this.fail(404, "not_found", `${resource} not found`, { details: { resource }, oldMessage: "Record not found" });
  }

  private validate(errors: FieldError[]): void {
    const first = errors[0];
    if (!first) return;
    if (!this.structured) {
      throw new HttpError(400, { error: errors.map((e) => `${e.goField} ${describe(e).message}`).join(", ") });
    }
    const fields = errors.map((e) => ({ field: e.field, ...describe(e) }));
    throw new HttpError(400, { error: `${capitalize(first.field)} ${describe(first).message}`, code: "validation_failed", details: { fields } });
  }

  /** BindJSON / BindOptionalJSON: Content-Type checked from 2.13 on; undefined for an allowed empty body. */
  private bind(req: Req, shape: Shape, optional = false): Decoded | undefined {
    if (optional && req.body.length === 0) return undefined;
    if (this.structured && !isJsonMediaType(header(req, "content-type"))) throw this.badBody();
    try {
      return decodeStruct(JSON.parse(req.body), shape);
    } catch {
      throw this.badBody();
    }
  }

  // ----- lookups and DTOs -----

  private mustClient(req: Req): SimClient {
    const c = this.clients.get(req.params.id ?? "");
    if (!c) throw this.notFound("OIDC client");
    return c;
  }

  private mustGroup(req: Req): SimGroup {
    const g = this.groups.get(req.params.id ?? "");
    if (!g) throw this.notFound("User group");
    return g;
  }

  private pick(entries: [string, unknown][]): Record<string, unknown> {
    return Object.fromEntries(entries.filter(([k]) => this.has(k)));
  }

  /** §2.10. `fresh`: the create response, where unloaded associations are null. */
  private clientDto(c: SimClient, extra: "groups" | "fresh" | "count" | "none"): Record<string, unknown> {
    const fresh = extra === "fresh";
    const credentials: Record<string, unknown> = {};
    if (c.federatedIdentities.length > 0) {
      credentials.federatedIdentities = c.federatedIdentities.map((f) => this.pick(Object.entries(f)));
    }
    if (this.has("secrets")) credentials.secrets = fresh && c.secrets.length === 0 ? null : c.secrets.map(secretMeta);
    const dto = this.pick([
      ["id", c.id],
      ["name", c.name],
      ["description", c.description],
      ["hasLogo", c.hasLogo],
      ["hasDarkLogo", c.hasDarkLogo],
      ["launchURL", c.launchURL],
      ["requiresReauthentication", c.requiresReauthentication],
      ["clientType", "standard"],
      ["callbackURLs", c.callbackURLs],
      ["logoutCallbackURLs", c.logoutCallbackURLs],
      ["isPublic", c.isPublic],
      ["pkceEnabled", c.pkceEnabled],
      ["requiresPushedAuthorizationRequests", c.requiresPushedAuthorizationRequests],
      ["skipConsent", c.skipConsent],
      ["credentials", credentials],
      ["isGroupRestricted", c.isGroupRestricted],
      ["accessTokenDurationMinutes", c.accessTokenDurationMinutes],
      ["refreshTokenDurationMinutes", c.refreshTokenDurationMinutes],
    ]);
    if (extra === "count") dto.allowedUserGroupsCount = c.allowedUserGroupIds.length;
    if (extra === "fresh") dto.allowedUserGroups = null;
    if (extra === "groups") {
      // userCount is not computed in this DTO (always 0, §2.10).
      dto.allowedUserGroups = c.allowedUserGroupIds.flatMap((id) => {
        const g = this.groups.get(id);
        return g ? [{ ...this.groupMinimal(g), userCount: 0 }] : [];
      });
    }
    return dto;
  }

  private clientMeta(c: SimClient): Record<string, unknown> {
    const dto = this.clientDto(c, "none");
    const keys = ["id", "name", "description", "hasLogo", "hasDarkLogo", "launchURL", "requiresReauthentication", "clientType"];
    return Object.fromEntries(keys.filter((k) => k in dto).map((k) => [k, dto[k]]));
  }

  private groupMinimal(g: SimGroup): Record<string, unknown> {
    const userCount = [...this.users.values()].filter((u) => u.groupIds.includes(g.id)).length;
    return { id: g.id, friendlyName: g.friendlyName, name: g.name, customClaims: [], userCount, ldapId: null, createdAt: g.createdAt };
  }

  /** UserGroupDto; on create the associations are not loaded and come back null. */
  private groupDto(g: SimGroup, fresh: boolean): Record<string, unknown> {
    const users = [...this.users.values()].filter((u) => u.groupIds.includes(g.id)).map((u) => this.userDto(u));
    const allowed = [...this.clients.values()].filter((c) => c.allowedUserGroupIds.includes(g.id)).map((c) => this.clientMeta(c));
    return {
      id: g.id,
      friendlyName: g.friendlyName,
      name: g.name,
      customClaims: fresh ? null : [],
      ldapId: null,
      createdAt: g.createdAt,
      users: fresh ? null : users,
      allowedOidcClients: fresh ? null : allowed,
    };
  }

  private userDto(u: SimUser): Record<string, unknown> {
    return {
      id: u.id,
      username: u.username,
      email: u.email,
      firstName: u.username,
      lastName: "",
      displayName: u.username,
      isAdmin: u.isAdmin,
      locale: null,
      customClaims: [],
      userGroups: u.groupIds.flatMap((id) => {
        const g = this.groups.get(id);
        return g ? [this.groupMinimal(g)] : [];
      }),
      ldapId: null,
      disabled: false,
    };
  }

  /** utils.Paginate (§2.2): limit <1 → 20, >100 → 100, page clamped to [1, last]. */
  private page<T>(items: T[], q: URLSearchParams, map: (item: T) => unknown): SimResponse {
    let limit = goInt(q.get("pagination[limit]"));
    limit = limit < 1 ? 20 : Math.min(limit, 100);
    const totalPages = Math.max(1, Math.ceil(items.length / limit));
    const page = Math.min(Math.max(goInt(q.get("pagination[page]")), 1), totalPages);
    const data = items.slice((page - 1) * limit, page * limit).map(map);
    return { status: 200, body: { data, pagination: { totalPages, totalItems: items.length, currentPage: page, itemsPerPage: limit } } };
  }

  // ----- OIDC clients (§2) -----

  private listClients(r: Req): SimResponse {
    const term = r.query.get("search") ?? "";
    const items = [...this.clients.values()].filter((c) => term === "" || like(c.name, term));
    return this.page(items, r.query, (c) => this.clientDto(c, "count"));
  }

  private clientShape(create: boolean): Shape {
    const federated: Shape = Object.fromEntries(
      Object.entries({ issuer: "string", subject: "string", audience: "string", jwks: "string", replayProtection: "bool" } as Shape).filter(([k]) =>
        this.has(k),
      ),
    );
    const shape: Shape = {
      name: "string",
      description: "string",
      callbackURLs: "strings",
      logoutCallbackURLs: "strings",
      isPublic: "bool",
      pkceEnabled: "bool",
      requiresReauthentication: "bool",
      requiresPushedAuthorizationRequests: "bool",
      skipConsent: "bool",
      credentials: { federatedIdentities: [federated] },
      launchURL: "ptr",
      hasLogo: "bool",
      hasDarkLogo: "bool",
      logoUrl: "ptr",
      darkLogoUrl: "ptr",
      isGroupRestricted: "bool",
      accessTokenDurationMinutes: "int",
      refreshTokenDurationMinutes: "int",
      ...(create ? { id: "string" } : {}),
    };
    return Object.fromEntries(Object.entries(shape).filter(([k]) => this.has(k)));
  }

  /** Binding tags of OidcClientCreateDto / OidcClientUpdateDto, in struct order (id last). */
  private clientErrors(b: Decoded): FieldError[] {
    const name = b.name as string;
    const errors = rules("name", "Name", ["required", name !== ""], ["max", runes(name) <= 50, "50"]);
    const description = (b.description as string | undefined) ?? "";
    if (description !== "") errors.push(...rules("description", "Description", ["max", runes(description) <= 150, "150"]));
    const patterns = this.at("2.6.0");
    for (const [field, goField] of [
      ["callbackURLs", "CallbackURLs"],
      ["logoutCallbackURLs", "LogoutCallbackURLs"],
    ] as const) {
      ((b[field] as string[] | null) ?? []).forEach((u, i) => {
        const ok = patterns ? validCallbackPattern(u) : validCallbackURL(u);
        errors.push(...rules(`${field}[${i}]`, `${goField}[${i}]`, [patterns ? "callback_url_pattern" : "callback_url", ok]));
      });
    }
    if (typeof b.launchURL === "string") errors.push(...rules("launchURL", "LaunchURL", ["url", validatorURL(b.launchURL)]));
    for (const [field, goField] of [
      ["accessTokenDurationMinutes", "AccessTokenDurationMinutes"],
      ["refreshTokenDurationMinutes", "RefreshTokenDurationMinutes"],
    ] as const) {
      const minutes = (b[field] as number | undefined) ?? 0;
      if (minutes !== 0) errors.push(...rules(field, goField, ["token_duration", minutes >= 1 && minutes <= MAX_TOKEN_MINUTES]));
    }
    const id = (b.id as string | undefined) ?? "";
    if (id !== "") {
      errors.push(...rules("id", "ID", ["client_id", CLIENT_ID.test(id)], ["min", runes(id) >= 2, "2"], ["max", runes(id) <= 128, "128"]));
    }
    return errors;
  }

  private newClient(id: string): SimClient {
    return {
      id,
      name: "",
      description: "",
      callbackURLs: null,
      logoutCallbackURLs: null,
      isPublic: false,
      pkceEnabled: false,
      requiresReauthentication: false,
      requiresPushedAuthorizationRequests: false,
      skipConsent: false,
      launchURL: null,
      isGroupRestricted: false,
      accessTokenDurationMinutes: DEFAULT_ACCESS_MINUTES,
      refreshTokenDurationMinutes: DEFAULT_REFRESH_MINUTES,
      federatedIdentities: [],
      allowedUserGroupIds: [],
      hasLogo: false,
      hasDarkLogo: false,
      logo: null,
      darkLogo: null,
      secrets: [],
      createdAt: goTime(),
    };
  }

  /** updateOIDCClientModelFromDto (§2.5): every field of the version is overwritten from the body. */
  private applyClientBody(c: SimClient, b: Decoded): void {
    const set = <K extends keyof SimClient>(field: K, value: SimClient[K]) => {
      if (this.has(field)) c[field] = value;
    };
    set("name", (b.name as string).normalize("NFC"));
    set("description", ((b.description as string | undefined) ?? "").normalize("NFC"));
    set("callbackURLs", b.callbackURLs as string[] | null);
    set("logoutCallbackURLs", b.logoutCallbackURLs as string[] | null);
    set("isPublic", b.isPublic as boolean);
    set("pkceEnabled", (b.isPublic as boolean) || (b.pkceEnabled as boolean));
    set("requiresReauthentication", (b.requiresReauthentication as boolean | undefined) ?? false);
    set("requiresPushedAuthorizationRequests", (b.requiresPushedAuthorizationRequests as boolean | undefined) ?? false);
    set("skipConsent", (b.skipConsent as boolean | undefined) ?? false);
    set("launchURL", (b.launchURL as string | null | undefined) ?? null);
    set("isGroupRestricted", (b.isGroupRestricted as boolean | undefined) ?? false);
    if (this.has("isGroupRestricted") && !c.isGroupRestricted) c.allowedUserGroupIds = [];
    set("accessTokenDurationMinutes", (b.accessTokenDurationMinutes as number | undefined) || DEFAULT_ACCESS_MINUTES);
    set("refreshTokenDurationMinutes", (b.refreshTokenDurationMinutes as number | undefined) || DEFAULT_REFRESH_MINUTES);
    const identities = ((b.credentials as Decoded).federatedIdentities as Decoded[] | null) ?? [];
    c.federatedIdentities = identities.map((f) => ({
      issuer: f.issuer as string,
      subject: f.subject as string,
      audience: f.audience as string,
      jwks: f.jwks as string,
      replayProtection: (f.replayProtection as boolean | undefined) ?? false,
    }));
  }

  /** logoUrl/darkLogoUrl are downloaded after the row is saved, so their failure leaves the change in place (§2.9). */
  private downloadLogos(b: Decoded): void {
    for (const field of ["logoUrl", "darkLogoUrl"]) {
      const url = b[field];
      if (typeof url !== "string") continue;
      if (!/^https?:\/\/[^/]/i.test(url) || /^https?:\/\/(localhost|127\.|\[::1\])/i.test(url)) {
        throw this.fail(400, "validation_failed", "Logo URL is not allowed", {
          details: { fields: [{ field, code: "invalid_value", message: "must be a public HTTP or HTTPS URL" }] },
        });
      }
      // The simulator has no network, so a public URL always fails to download.
      throw this.fail(422, "logo_download_failed", "Logo could not be downloaded");
    }
  }

  private createClient(r: Req): SimResponse {
    const b = this.bind(r, this.clientShape(true)) as Decoded;
    this.validate(this.clientErrors(b));
    const id = (b.id as string | undefined) || randomUUID();
    if (this.clients.has(id)) {
      throw this.fail(409, "client_id_already_exists", "Client ID is already in use", { oldStatus: 400, oldMessage: "Client ID already in use" });
    }
    const c = this.newClient(id);
    this.applyClientBody(c, b);
    this.clients.set(id, c);
    if (this.opts.secretOnCreate && this.at("2.14.0") && !c.isPublic) c.secrets.push(newSecret(randomAlphanumeric(32), null));
    this.downloadLogos(b);
    return { status: 201, body: this.clientDto(c, "fresh") };
  }

  private updateClient(r: Req): SimResponse {
    const b = this.bind(r, this.clientShape(false)) as Decoded;
    this.validate(this.clientErrors(b));
    const c = this.mustClient(r);
    this.applyClientBody(c, b);
    this.downloadLogos(b);
    return { status: 200, body: this.clientDto(c, "groups") };
  }

  private deleteClient(r: Req): SimResponse {
    const id = r.params.id ?? "";
    if (!this.clients.delete(id) && this.structured) throw this.notFound("OIDC client");
    return { status: 204 };
  }

  private setAllowedGroups(r: Req): SimResponse {
    const b = this.bind(r, { userGroupIds: "strings" }) as Decoded;
    const ids = b.userGroupIds as string[] | null;
    this.validate(ids === null ? rules("userGroupIds", "UserGroupIDs", ["required", false]) : []);
    const c = this.mustClient(r);
    // `WHERE id IN (…)`: unknown ids drop out silently.
    c.allowedUserGroupIds = [...this.groups.keys()].filter((g) => ids?.includes(g));
    return { status: 200, body: this.clientDto(c, "none") };
  }

  // ----- secrets (§2.7) -----

  private secretErrors(secret: string): FieldError[] {
    if (secret === "") return [];
    return rules("secret", "Secret", ["min", runes(secret) >= 16, "16"], ["printascii", /^[\x20-\x7e]*$/.test(secret)]);
  }

  private refusePublic(c: SimClient): void {
    if (c.isPublic) throw this.fail(400, "validation_failed", "Cannot create a secret for a public client");
  }

  private createSecret(r: Req): SimResponse {
    const b = this.bind(r, { secret: "string", expiresAt: "time" }, true) ?? { secret: "", expiresAt: null };
    this.validate(this.secretErrors(b.secret as string));
    const c = this.mustClient(r);
    this.refusePublic(c);
    const expiresAt = b.expiresAt as string | null;
    if (expiresAt !== null && Date.parse(expiresAt) <= Date.now()) {
      throw this.fail(400, "validation_failed", "The expiration date of a client secret must be in the future");
    }
    if (c.secrets.length >= MAX_SECRETS) throw this.fail(400, "validation_failed", "A client cannot have more than 20 secrets");
    const s = newSecret((b.secret as string) || randomAlphanumeric(32), expiresAt);
    c.secrets.push(s);
    return { status: 201, body: { ...secretMeta(s), secret: s.value } };
  }

  private deleteSecret(r: Req): SimResponse {
    const c = this.mustClient(r);
    const index = c.secrets.findIndex((s) => s.id === r.params.secretId);
    if (index < 0) throw this.notFound("Client secret");
    c.secrets.splice(index, 1);
    return { status: 204 };
  }

  /** POST …/secret (before 2.14): replaces the single secret; own value from 2.12 on. */
  private replaceSecret(r: Req): SimResponse {
    let custom = "";
    if (this.at("2.12.0")) {
      custom = (this.bind(r, { secret: "string" }, true)?.secret as string | undefined) ?? "";
      this.validate(this.secretErrors(custom));
    }
    const c = this.mustClient(r);
    if (this.structured) this.refusePublic(c);
    // bcrypt.GenerateFromPassword refuses more than 72 bytes.
    if (Buffer.byteLength(custom) > 72) throw this.fail(500, "internal_error", "Something went wrong");
    const s = newSecret(custom || randomAlphanumeric(32), null);
    c.secrets = [s];
    return { status: 200, body: { secret: s.value } };
  }

  secretMatches(c: SimClient, presented: string): boolean {
    if (this.at("2.14.0")) return c.secrets.some((s) => isActive(s) && s.value === presented);
    const stored = c.secrets[0];
    // bcrypt only looks at the first 72 bytes.
    return stored !== undefined && Buffer.from(stored.value).subarray(0, 72).equals(Buffer.from(presented).subarray(0, 72));
  }

  // ----- logos (§2.9) -----

  private getLogo(r: Req): SimResponse {
    const c = this.mustClient(r);
    const logo = (r.query.get("light") ?? "true") === "true" ? c.logo : c.darkLogo;
    if (!logo) throw this.fail(404, "image_not_found", "Image not found");
    return { status: 200, headers: { "content-type": logo.mimeType }, body: logo.bytes };
  }

  private uploadLogo(r: Req): SimResponse {
    // fileSizeLimitMiddleware runs first; before 2.13 it reported every parse failure as "too large".
    const tooLarge = "File must not exceed 2.00 MB";
    const oldTooLarge = { oldMessage: "The file can't be larger than 2.00 MB" };
    if (r.raw.length > MAX_UPLOAD_BYTES) throw this.fail(413, "file_too_large", tooLarge, { details: { max_size: "2.00 MB" }, ...oldTooLarge });
    const parts = parseMultipart(r.raw, header(r, "content-type"));
    if (!parts) throw this.fail(400, "invalid_request_body", "Request body is invalid", { oldStatus: 413, ...oldTooLarge });
    const file = parts.find((p) => p.name === "file" && p.filename !== "");
    if (!file) {
      const fields = [{ field: "file", code: "required", message: "is required" }];
      throw this.fail(400, "validation_failed", "file is required", { details: { fields }, oldStatus: 500, oldMessage: "Something went wrong" });
    }
    const mimeType = IMAGE_TYPES[extname(file.filename).toLowerCase()];
    if (!mimeType) throw this.fail(415, "file_type_not_supported", "File type is not supported", { oldStatus: 400, oldMessage: "File type not supported" });
    const c = this.mustClient(r);
    const logo = { mimeType, bytes: Buffer.from(file.data), sha256: sha256(file.data) };
    if ((r.query.get("light") ?? "true") === "true") {
      c.logo = logo;
      c.hasLogo = true;
    } else {
      c.darkLogo = logo;
      c.hasDarkLogo = true;
    }
    return { status: 204 };
  }

  private deleteLogo(r: Req): SimResponse {
    const c = this.mustClient(r);
    const light = (r.query.get("light") ?? "true") === "true";
    if (!(light ? c.logo : c.darkLogo)) throw this.fail(404, "image_not_found", "Image not found");
    if (light) {
      c.logo = null;
      c.hasLogo = false;
    } else {
      c.darkLogo = null;
      c.hasDarkLogo = false;
    }
    return { status: 204 };
  }

  // ----- token endpoint (§4.2, §4.3) -----

  private token(r: Req): SimResponse {
    const isForm = mediaType(header(r, "content-type")) === "application/x-www-form-urlencoded";
    const form = new URLSearchParams(isForm ? r.body : "");
    return this.at("2.10.0") ? this.fositeToken(r, form) : this.legacyToken(r, form);
  }

  private fositeToken(r: Req, form: URLSearchParams): SimResponse {
    const reply = (status: number, body: unknown): SimResponse => ({
      status,
      headers: { "content-type": "application/json;charset=UTF-8", "cache-control": "no-store", pragma: "no-cache" },
      body: JSON.stringify(body),
    });
    const oauthError = (status: number, error: string, hint?: string) =>
      reply(status, { error, error_description: hint ? `${OAUTH_DESCRIPTIONS[error]} ${hint}` : OAUTH_DESCRIPTIONS[error] });

    if ([...form.keys()].length === 0) return oauthError(400, "invalid_request", "The POST body can not be empty.");
    const grants = (form.get("grant_type") ?? "").split(" ").filter(Boolean);
    if (grants.length === 0) return oauthError(400, "invalid_request", "Request parameter 'grant_type' is missing");

    // fosite authenticates the client first but reports the failure only once a grant handler claims the request.
    let auth: { client: SimClient } | { status: number; error: string; hint?: string };
    const basic = basicAuth(header(r, "authorization"));
    const id = basic ? goQueryUnescape(basic.user) : (form.get("client_id") ?? "");
    const secret = basic ? goQueryUnescape(basic.pass) : (form.get("client_secret") ?? "");
    const client = this.clients.get(id ?? "");
    if (id === null || secret === null) {
      const what = id === null ? "id" : "secret";
      auth = {
        status: 400,
        error: "invalid_request",
        hint: `The client ${what} in the HTTP authorization header could not be decoded from 'application/x-www-form-urlencoded'.`,
      };
    } else if (!basic && id === "") {
      auth = { status: 400, error: "invalid_request", hint: "Client credentials missing or malformed in both HTTP Authorization header and HTTP POST body." };
    } else if (!client || (!client.isPublic && !this.secretMatches(client, secret))) {
      auth = { status: 401, error: "invalid_client" };
    } else {
      auth = { client };
    }

    const grant = grants.length === 1 ? grants[0] : "";
    if (grant !== "authorization_code" && grant !== "refresh_token" && grant !== "client_credentials") return oauthError(400, "invalid_request");
    if (!("client" in auth)) return oauthError(auth.status, auth.error, auth.hint);
    if (grant !== "client_credentials") return oauthError(400, "invalid_grant"); // no code or refresh token ever exists here
    if (auth.client.isPublic) {
      return oauthError(400, "unauthorized_client", `The OAuth 2.0 Client is not allowed to use authorization grant "client_credentials".`);
    }
    return reply(200, { access_token: randomAlphanumeric(43), expires_in: 3599, scope: "", token_type: "bearer" });
  }

  /** Before 2.10 (controller createTokensHandler); only authorization_code is modelled. */
  private legacyToken(r: Req, body: URLSearchParams): SimResponse {
    const error = (status: number, message: string): SimResponse => ({ status, body: { error: message } });
    const form = new URLSearchParams([...body, ...r.query]); // gin form binding reads body and query
    const grant = form.get("grant_type") ?? "";
    if (grant === "") return error(400, "GrantType is required");
    if (grant === "authorization_code" && !form.get("code")) return error(400, "Authorization code is required");
    let id = form.get("client_id") ?? "";
    let secret = form.get("client_secret") ?? "";
    const basic = basicAuth(header(r, "authorization"));
    if (basic && (this.at("2.7.0") ? secret === "" : id === "" && secret === "")) {
      const decode = (s: string) => (this.at("2.3.0") ? (goQueryUnescape(s) ?? s) : s);
      id = decode(basic.user);
      secret = decode(basic.pass);
    }
    if (grant !== "authorization_code") return error(400, "Grant type not supported");
    if (id === "") return error(400, "Client id or secret not provided");
    const client = this.clients.get(id);
    if (!client) return error(404, this.at("2.4.0") ? "Client not found" : "Record not found");
    if (!client.isPublic && secret === "") return error(400, "Client id or secret not provided");
    if (!client.isPublic && !this.secretMatches(client, secret)) return error(401, "Invalid client secret");
    return error(400, "Invalid authorization code");
  }

  // ----- discovery (§4.1) -----

  private discovery(): Record<string, unknown> {
    const i = this.issuer;
    const fosite = this.at("2.10.0");
    const doc: Record<string, unknown> = {
      issuer: i,
      authorization_endpoint: `${i}/authorize`,
      token_endpoint: `${i}/api/oidc/token`,
      userinfo_endpoint: `${i}/api/oidc/userinfo`,
      end_session_endpoint: `${i}/api/oidc/end-session`,
      introspection_endpoint: `${i}/api/oidc/introspect`,
      introspection_endpoint_auth_methods_supported: ["client_secret_basic", "Bearer"],
      device_authorization_endpoint: `${i}/api/oidc/device/authorize`,
      jwks_uri: `${i}/.well-known/jwks.json`,
      grant_types_supported: ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code", "client_credentials"],
      scopes_supported: ["openid", "profile", "email", "groups", ...(fosite ? ["offline_access"] : [])],
      claims_supported: fosite
        ? ["sub", "given_name", "family_name", "name", "display_name", "email", "email_verified", "preferred_username", "picture", "groups", "auth_time", "amr"]
        : ["sub", "given_name", "family_name", "name", "email", "email_verified", "preferred_username", "picture", "groups"],
      response_types_supported: ["code"],
      response_modes_supported: ["query", "fragment", "form_post"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
      authorization_response_iss_parameter_supported: true,
      code_challenge_methods_supported: ["plain", "S256"],
      request_parameter_supported: true,
      request_uri_parameter_supported: false,
      request_object_signing_alg_values_supported: ["none"],
      prompt_values_supported: ["none", "login", "consent", "select_account"],
      pushed_authorization_request_endpoint: `${i}/api/oidc/par`,
      require_pushed_authorization_requests: false,
      client_id_metadata_document_supported: false,
      service_documentation: "https://pocket-id.org/docs",
    };
    if (this.at("2.5.0")) {
      const methods = ["client_secret_basic", "client_secret_post", "none"];
      doc.token_endpoint_auth_methods_supported = this.at("2.9.0") && !fosite ? [...methods, "private_key_jwt"] : methods;
    }
    // encoding/json marshals the map with sorted keys.
    return Object.fromEntries(Object.entries(doc).sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  // ----- user groups and users (§3) -----

  private listGroups(r: Req): SimResponse {
    const term = r.query.get("search") ?? "";
    const items = [...this.groups.values()].filter((g) => term === "" || like(g.name, term));
    return this.page(items, r.query, (g) => this.groupMinimal(g));
  }

  private createGroup(r: Req): SimResponse {
    const b = this.bind(r, { friendlyName: "string", name: "string" }) as { friendlyName: string; name: string };
    const check = (field: string, goField: string, v: string, max: number) =>
      rules(field, goField, ["required", v !== ""], ["min", runes(v) >= 2, "2"], ["max", runes(v) <= max, String(max)]);
    this.validate([...check("friendlyName", "FriendlyName", b.friendlyName, 50), ...check("name", "Name", b.name, 255)]);
    const name = b.name.normalize("NFC");
    // user_groups.name is UNIQUE (binary collation: case matters).
    if ([...this.groups.values()].some((g) => g.name === name)) {
      throw this.fail(409, "already_in_use", "Name is already in use", { details: { property: "name" }, oldStatus: 400 });
    }
    const g: SimGroup = { id: randomUUID(), name, friendlyName: b.friendlyName.normalize("NFC"), createdAt: goTime() };
    this.groups.set(g.id, g);
    return { status: 201, body: this.groupDto(g, true) };
  }

  private deleteGroup(r: Req): SimResponse {
    const g = this.mustGroup(r);
    this.groups.delete(g.id);
    for (const c of this.clients.values()) c.allowedUserGroupIds = c.allowedUserGroupIds.filter((id) => id !== g.id);
    for (const u of this.users.values()) u.groupIds = u.groupIds.filter((id) => id !== g.id);
    return { status: 204 };
  }

  private listUsers(r: Req): SimResponse {
    const term = r.query.get("search") ?? "";
    const items = [...this.users.values()].filter((u) => term === "" || like(u.username, term) || like(u.email ?? "", term));
    return this.page(items, r.query, (u) => this.userDto(u));
  }

  // ----- seeding -----

  seedClient(partial: Partial<SimClient> & { name: string }): SimClient {
    const c: SimClient = { ...this.newClient(partial.id ?? randomUUID()), ...partial };
    if (this.clients.has(c.id)) throw new Error(`client ${c.id} already exists`);
    c.pkceEnabled = c.isPublic || c.pkceEnabled;
    const placeholder = (): SimLogo => {
      const bytes = Buffer.from(PLACEHOLDER_PNG, "base64");
      return { mimeType: "image/png", bytes, sha256: sha256(bytes) };
    };
    if (c.hasLogo && !c.logo) c.logo = placeholder();
    if (c.hasDarkLogo && !c.darkLogo) c.darkLogo = placeholder();
    c.hasLogo = c.logo !== null;
    c.hasDarkLogo = c.darkLogo !== null;
    this.clients.set(c.id, c);
    return c;
  }

  seedSecret(clientId: string, o: { value?: string; expiresAt?: string | null } = {}): string {
    const c = this.clients.get(clientId);
    if (!c) throw new Error(`no client ${clientId}`);
    const s = newSecret(o.value ?? randomAlphanumeric(32), o.expiresAt ?? null);
    if (this.at("2.14.0")) c.secrets.push(s);
    else c.secrets = [s];
    return s.value;
  }

  seedGroup(name: string, friendlyName = name): SimGroup {
    if ([...this.groups.values()].some((g) => g.name === name)) throw new Error(`group ${name} already exists`);
    const g: SimGroup = { id: randomUUID(), name, friendlyName, createdAt: goTime() };
    this.groups.set(g.id, g);
    return g;
  }

  seedUser(u: { username: string; email?: string; isAdmin?: boolean; groups?: string[] }): { id: string } {
    const groupIds = (u.groups ?? []).map((ref) => {
      const g = this.groups.get(ref) ?? [...this.groups.values()].find((x) => x.name === ref);
      if (!g) throw new Error(`no group ${ref}`);
      return g.id;
    });
    const user: SimUser = { id: randomUUID(), username: u.username, email: u.email ?? null, isAdmin: u.isAdmin ?? false, groupIds };
    this.users.set(user.id, user);
    return { id: user.id };
  }
}

function newSecret(value: string, expiresAt: string | null): SimSecret {
  return { id: randomUUID(), prefix: value.length > 4 ? value.slice(0, 4) : "", value, createdAt: goTime(), expiresAt };
}

function isActive(s: SimSecret): boolean {
  return s.expiresAt === null || Date.parse(s.expiresAt) > Date.now();
}

function secretMeta(s: SimSecret): Record<string, unknown> {
  return { id: s.id, prefix: s.prefix, createdAt: s.createdAt, expiresAt: s.expiresAt, isActive: isActive(s) };
}

export async function startPocketId(opts: PocketIdOptions): Promise<PocketIdSim> {
  const sim = new PocketId(opts);
  const server = await startServer((req) => sim.handle(req), { tls: opts.tls });
  // APP_URL is lower-cased and loses its trailing slash (common/env_config.go).
  sim.issuer = (opts.issuer ?? server.url).toLowerCase().replace(/\/+$/, "");
  return {
    url: server.url,
    issuer: sim.issuer,
    requests: server.requests,
    fault: server.fault,
    clearFaults: server.clearFaults,
    writes: () => server.requests.filter((r) => r.method !== "GET" && r.method !== "HEAD" && !(r.method === "POST" && r.path === "/api/oidc/token")),
    clients: () => [...sim.clients.values()],
    client: (id) => sim.clients.get(id),
    addClient: (partial) => sim.seedClient(partial),
    addSecret: (clientId, o) => sim.seedSecret(clientId, o),
    acceptsSecret: (clientId, secret) => {
      const c = sim.clients.get(clientId);
      return c !== undefined && (c.isPublic || sim.secretMatches(c, secret));
    },
    addGroup: (name, friendlyName) => sim.seedGroup(name, friendlyName),
    groups: () => [...sim.groups.values()],
    addUser: (u) => sim.seedUser(u),
    close: server.close,
  };
}
