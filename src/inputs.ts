// Every input of the contract (../action.yml), read through one zod schema into a typed,
// normalised Settings object before any request is sent. Messages name the input and what is
// expected, and never echo the value of a secret input.
import { createHash, X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { basename, extname } from "node:path";
import * as z from "zod";
import { LOGO_TYPES, logoUpload, MAX_UPLOAD_BYTES } from "./pocket-id.js";

export const MODES = ["apply", "plan", "verify"] as const;
export type Mode = (typeof MODES)[number];

/** Inputs whose values are secrets: masked at once, never echoed in a message. */
export const SECRET_INPUTS = ["pocket-id-api-key", "harbor-password", "client-secret", "github-token"] as const;

/** Every input the action reads, in the order of the contract. */
export const INPUT_NAMES = [
  "pocket-id-url",
  "pocket-id-api-key",
  "harbor-url",
  "harbor-username",
  "harbor-password",
  "ca-certificate",
  "allow-insecure-http",
  "client-id",
  "client-name",
  "callback-urls",
  "launch-url",
  "pkce",
  "logo",
  "allowed-groups",
  "create-groups",
  "client-secret",
  "rotate-secret",
  "provider-name",
  "primary-auth-mode",
  "group-filter",
  "groups-claim",
  "admin-group",
  "scope",
  "verify-cert",
  "auto-onboard",
  "session-logout",
  "username-claim",
  "mode",
  "test-oidc",
  "request-timeout",
  "login-test-user",
  "github-token",
  "drift-issue",
  "drift-issue-label",
] as const;
export type InputName = (typeof INPUT_NAMES)[number];
export type RawInputs = Record<InputName, string>;

export const DEFAULT_SCOPE = "openid,offline_access,email,profile,groups";

const TRUE = ["true", "True", "TRUE"];
const FALSE = ["false", "False", "FALSE"];
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

type Ctx = z.core.$RefinementCtx;

function issue(ctx: Ctx, input: string, message: string): typeof z.NEVER {
  ctx.addIssue({ code: "custom", message: `Input \`${input}\` ${message}` });
  return z.NEVER;
}

/** YAML 1.2 core booleans only, as core.getBooleanInput; empty means the default. */
function bool(input: InputName, fallback: boolean) {
  return z.string().transform((v, ctx) => {
    if (v === "") return fallback;
    if (TRUE.includes(v)) return true;
    if (FALSE.includes(v)) return false;
    return issue(ctx, input, `must be true or false (YAML 1.2 core booleans), got "${v}".`);
  });
}

function text(input: InputName, fallback: string, max?: number) {
  return z.string().transform((v, ctx) => {
    const value = v === "" ? fallback : v;
    if (max !== undefined && value.length > max) return issue(ctx, input, `must be at most ${max} characters.`);
    return value;
  });
}

/** A required input (checked with the other fields, so every missing one is named at once). */
function requiredText(input: InputName, what: string) {
  return z.string().transform((v, ctx) => (v === "" ? issue(ctx, input, `is required: ${what}.`) : v));
}

/** Newlines and/or commas separate items; blanks are dropped. */
export function splitList(v: string): string[] {
  return v
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A base URL: http(s), no user info, query or fragment; trailing slashes removed. */
function baseUrl(input: InputName, { required }: { required: boolean }) {
  return z.string().transform((v, ctx): string | undefined => {
    if (v === "") return required ? issue(ctx, input, "is required: the base URL, e.g. https://example.com.") : undefined;
    const problem = urlProblem(v);
    // User info may hold a password: never echoed.
    if (problem) return issue(ctx, input, `${problem} (got "${v.replace(/\/\/[^/?#]*@/, "//***@")}").`);
    return v.replace(/\/+$/, "");
  });
}

function urlProblem(v: string): string | undefined {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return "must be an absolute URL such as https://example.com";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "must start with https:// (or http://)";
  if (url.username || url.password) return "must not contain a user name or password; use the credential inputs";
  if (url.search || v.includes("?")) return "must not contain a query string";
  if (url.hash || v.includes("#")) return "must not contain a fragment";
  return undefined;
}

export function isLoopback(url: string): boolean {
  return LOOPBACK.test(new URL(url).hostname);
}

/** A certificate given as PEM text or as a path to a PEM file. */
function pem() {
  return z.string().transform((v, ctx): string | undefined => {
    if (v === "") return undefined;
    let content = v;
    if (!v.includes("-----BEGIN")) {
      try {
        content = readFileSync(v, "utf8");
      } catch {
        return issue(ctx, "ca-certificate", `must be PEM text or the path of a readable PEM file; cannot read "${v}".`);
      }
    }
    const certs = content.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (certs.length === 0) {
      return issue(ctx, "ca-certificate", "must contain a PEM certificate (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----).");
    }
    // A damaged certificate would otherwise fail every TLS connection with an obscure error.
    for (const [i, cert] of certs.entries()) {
      try {
        new X509Certificate(cert);
      } catch {
        return issue(ctx, "ca-certificate", `holds a PEM block that is not a valid certificate (certificate ${i + 1} of ${certs.length}).`);
      }
    }
    return content;
  });
}

/** The logo file, read and checked here so a bad path fails before any request. */
export interface LogoFile {
  path: string;
  /** The file's own name, for the report. */
  fileName: string;
  /** Lower-case extension without the dot: one of LOGO_TYPES. */
  ext: string;
  bytes: Buffer;
  sha256: string;
}

function logo() {
  return z.string().transform((v, ctx): LogoFile | undefined => {
    if (v === "") return undefined;
    const ext = extname(v).slice(1).toLowerCase();
    if (!(ext in LOGO_TYPES)) {
      return issue(
        ctx,
        "logo",
        `must be an image file ending in ${Object.keys(LOGO_TYPES)
          .map((e) => `.${e}`)
          .join(", ")} (got "${v}").`,
      );
    }
    let bytes: Buffer;
    try {
      if (!statSync(v).isFile()) return issue(ctx, "logo", `must be the path of an image file; "${v}" is not a file.`);
      bytes = readFileSync(v);
    } catch {
      return issue(ctx, "logo", `must be the path of a readable image file; cannot read "${v}".`);
    }
    if (bytes.length === 0) return issue(ctx, "logo", `must be an image file; "${v}" is empty.`);
    // Pocket ID refuses a request body over 2 MiB, and the form's envelope counts too.
    const max = MAX_UPLOAD_BYTES - logoUpload(ext, Buffer.alloc(0)).body.length;
    if (bytes.length > max) {
      return issue(ctx, "logo", `must be at most ${max} bytes (Pocket ID's upload limit of 2 MiB, form envelope included); "${v}" has ${bytes.length}.`);
    }
    return { path: v, fileName: basename(v), ext, bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
  });
}

/** A Pocket ID group's technical name: 2–255 characters (§3), in NFC as Pocket ID stores it. */
function groupNameProblem(name: string): string | undefined {
  const length = [...name].length;
  if (length < 2 || length > 255) return `"${name}" is not a possible Pocket ID group name (2–255 characters)`;
  return undefined;
}

const schema = z
  .object({
    "pocket-id-url": baseUrl("pocket-id-url", { required: true }),
    "pocket-id-api-key": requiredText("pocket-id-api-key", "a Pocket ID admin API key (or STATIC_API_KEY)"),
    "harbor-url": baseUrl("harbor-url", { required: true }),
    "harbor-username": text("harbor-username", "admin"),
    "harbor-password": requiredText("harbor-password", "the password of the Harbor local administrator"),
    "ca-certificate": pem(),
    "allow-insecure-http": bool("allow-insecure-http", false),
    "client-id": z.string().transform((v, ctx) => {
      if (v === "") return undefined;
      if (!/^[A-Za-z0-9._-]{2,128}$/.test(v)) {
        return issue(ctx, "client-id", `must be 2–128 characters of A–Z, a–z, 0–9, ".", "_" and "-" (got "${v}").`);
      }
      return v;
    }),
    "client-name": text("client-name", "Harbor", 50),
    "callback-urls": z.string().transform((v, ctx) => {
      const urls = splitList(v);
      for (const u of urls) {
        // Pocket ID allows wildcards in callback URLs; Harbor's callback is always http(s).
        if (!/^https?:\/\/[^/\s]+/.test(u)) return issue(ctx, "callback-urls", `must list absolute http(s) URLs; "${u}" is not one.`);
      }
      return urls.length ? urls : undefined;
    }),
    "launch-url": baseUrl("launch-url", { required: false }),
    pkce: bool("pkce", true),
    logo: logo(),
    "allowed-groups": z.string().transform((v, ctx) => {
      const names = [...new Set(splitList(v).map((n) => n.normalize("NFC")))];
      for (const name of names) {
        const problem = groupNameProblem(name);
        if (problem) return issue(ctx, "allowed-groups", `must list Pocket ID group names (their technical name); ${problem}.`);
      }
      return names;
    }),
    "create-groups": bool("create-groups", false),
    "client-secret": z.string().transform((v, ctx) => {
      if (v === "") return undefined;
      if (v.length < 16 || !/^[\x20-\x7e]+$/.test(v)) {
        return issue(ctx, "client-secret", "must be at least 16 printable ASCII characters (the value is not shown).");
      }
      return v;
    }),
    "rotate-secret": bool("rotate-secret", false),
    "provider-name": text("provider-name", "Pocket ID"),
    "primary-auth-mode": bool("primary-auth-mode", false),
    "group-filter": z.string().transform((v, ctx) => {
      try {
        new RegExp(v);
      } catch (err) {
        return issue(ctx, "group-filter", `must be a valid regular expression: ${(err as Error).message}.`);
      }
      return v;
    }),
    "groups-claim": text("groups-claim", "groups"),
    "admin-group": z.string(),
    scope: z.string().transform((v, ctx) => {
      const scopes = splitList(v === "" ? DEFAULT_SCOPE : v.replace(/\s+/g, ","));
      if (!scopes.includes("openid")) {
        return issue(ctx, "scope", `must contain "openid" (Harbor needs the ID token it brings), got "${v}".`);
      }
      return scopes.join(",");
    }),
    "verify-cert": bool("verify-cert", true),
    "auto-onboard": bool("auto-onboard", true),
    "session-logout": bool("session-logout", true),
    "username-claim": text("username-claim", "email"),
    mode: z.string().transform((v, ctx) => {
      const mode = (v || "apply").toLowerCase();
      if (!(MODES as readonly string[]).includes(mode)) return issue(ctx, "mode", `must be apply, plan or verify, got "${v}".`);
      return mode as Mode;
    }),
    "test-oidc": bool("test-oidc", true),
    "request-timeout": z.string().transform((v, ctx) => {
      const seconds = v === "" ? 30 : Number(v);
      if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600) {
        return issue(ctx, "request-timeout", `must be a number of seconds greater than 0 and at most 600, got "${v}".`);
      }
      return seconds;
    }),
    "login-test-user": z.string(),
    "github-token": z.string(),
    "drift-issue": bool("drift-issue", false),
    "drift-issue-label": z.string().transform((v, ctx) => {
      const label = v === "" ? "pocket-id-harbor-oidc" : v;
      // GitHub's limit for a label name; a comma would split it into two labels in the issue search.
      if ([...label].length > 50) return issue(ctx, "drift-issue-label", `must be at most 50 characters (GitHub's limit for a label name), got "${label}".`);
      if (label.includes(",")) return issue(ctx, "drift-issue-label", `must be one label name, without a comma, got "${label}".`);
      return label;
    }),
  })
  .superRefine((s, ctx) => {
    for (const input of ["pocket-id-url", "harbor-url", "launch-url"] as const) {
      const url = s[input];
      if (url?.startsWith("http://") && !isLoopback(url) && !s["allow-insecure-http"]) {
        issue(
          ctx,
          input,
          `uses http:// for a host that is not loopback, so credentials would travel in clear text; use https:// or set allow-insecure-http: true.`,
        );
      }
    }
    if (s["pocket-id-url"]?.includes("/.well-known/")) {
      issue(ctx, "pocket-id-url", "must be Pocket ID's base URL (its APP_URL), not a /.well-known/ document; Harbor and the action find discovery themselves.");
    }
    if (s["rotate-secret"] && s["client-secret"]) {
      issue(ctx, "rotate-secret", "cannot be combined with client-secret: a given secret is set as is; to rotate, change client-secret or clear it.");
    }
    if (s["create-groups"] && s["admin-group"] !== "") {
      const problem = groupNameProblem(s["admin-group"].normalize("NFC"));
      if (problem) issue(ctx, "admin-group", `cannot be created as a Pocket ID group (create-groups: true): ${problem}.`);
    }
    if (s["drift-issue"] && s.mode !== "verify") {
      issue(
        ctx,
        "drift-issue",
        `works only with mode: verify (got mode: ${s.mode}): the issue tracks what verify finds; set mode: verify or remove drift-issue.`,
      );
    }
    if (s["drift-issue"] && s["github-token"] === "") {
      issue(
        ctx,
        "github-token",
        `is required with drift-issue: true: a token for the GitHub API with issues: write, e.g. \${{ github.token }} (and permissions: issues: write in the job).`,
      );
    }
    // Inputs of the contract that later versions implement: refuse them rather than ignore them.
    const notYet: [InputName, boolean][] = [["login-test-user", s["login-test-user"] !== ""]];
    for (const [input, used] of notYet) {
      if (used) issue(ctx, input, "is not supported by this version of the action yet; remove it (it would otherwise be ignored).");
    }
  });

export interface Settings {
  pocketIdUrl: string;
  pocketIdApiKey: string;
  harborUrl: string;
  harborUsername: string;
  harborPassword: string;
  caCertificate?: string;
  allowInsecureHttp: boolean;
  clientId?: string;
  clientName: string;
  callbackUrls?: string[];
  launchUrl?: string;
  pkce: boolean;
  logo?: LogoFile;
  /** Pocket ID group names (NFC, no duplicates); empty: no restriction. */
  allowedGroups: string[];
  createGroups: boolean;
  clientSecret?: string;
  rotateSecret: boolean;
  providerName: string;
  primaryAuthMode: boolean;
  groupFilter: string;
  groupsClaim: string;
  adminGroup: string;
  scope: string;
  verifyCert: boolean;
  autoOnboard: boolean;
  sessionLogout: boolean;
  usernameClaim: string;
  mode: Mode;
  testOidc: boolean;
  requestTimeoutMs: number;
  githubToken?: string;
  /** verify only (checked): keep one issue in the repository in step with the verdict. */
  driftIssue: boolean;
  driftIssueLabel: string;
}

export class InputError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.length === 1 ? (problems[0] as string) : `Invalid inputs:\n${problems.map((p) => `- ${p}`).join("\n")}`);
    this.name = "InputError";
    this.problems = problems;
  }
}

/** Reads every input with `get` (core.getInput), validates and normalises. Throws InputError. */
export function readSettings(get: (name: InputName) => string): Settings {
  const raw = Object.fromEntries(INPUT_NAMES.map((n) => [n, get(n)])) as RawInputs;
  const result = schema.safeParse(raw);
  if (!result.success) throw new InputError(result.error.issues.map((i) => i.message));
  const s = result.data;
  return {
    pocketIdUrl: s["pocket-id-url"] as string,
    pocketIdApiKey: s["pocket-id-api-key"],
    harborUrl: s["harbor-url"] as string,
    harborUsername: s["harbor-username"],
    harborPassword: s["harbor-password"],
    caCertificate: s["ca-certificate"],
    allowInsecureHttp: s["allow-insecure-http"],
    clientId: s["client-id"],
    clientName: s["client-name"],
    callbackUrls: s["callback-urls"],
    launchUrl: s["launch-url"],
    pkce: s.pkce,
    logo: s.logo,
    allowedGroups: s["allowed-groups"],
    createGroups: s["create-groups"],
    clientSecret: s["client-secret"],
    rotateSecret: s["rotate-secret"],
    providerName: s["provider-name"],
    primaryAuthMode: s["primary-auth-mode"],
    groupFilter: s["group-filter"],
    groupsClaim: s["groups-claim"],
    adminGroup: s["admin-group"],
    scope: s.scope,
    verifyCert: s["verify-cert"],
    autoOnboard: s["auto-onboard"],
    sessionLogout: s["session-logout"],
    usernameClaim: s["username-claim"],
    mode: s.mode,
    testOidc: s["test-oidc"],
    requestTimeoutMs: s["request-timeout"] * 1000,
    githubToken: s["github-token"] || undefined,
    driftIssue: s["drift-issue"],
    driftIssueLabel: s["drift-issue-label"],
  };
}
