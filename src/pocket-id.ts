// Pocket ID's API in its own words (../shared/reference/pocket-id-api.md): version, discovery,
// OIDC clients (full-replace PUT), client secrets in both generations, the token-endpoint probe,
// user groups and the client logo.
import { randomBytes } from "node:crypto";
import { type HttpClient, HttpError } from "./http.js";
import { atLeast } from "./version.js";

export interface Discovery {
  issuer: string;
  token_endpoint?: string;
  end_session_endpoint?: string;
  [key: string]: unknown;
}

export interface SecretInfo {
  id: string;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  isActive: boolean;
}

/** A client as GET returns it. Unknown fields are kept so a PUT can send them back unchanged. */
export interface OidcClient {
  id: string;
  name: string;
  callbackURLs?: string[] | null;
  logoutCallbackURLs?: string[] | null;
  launchURL?: string | null;
  isPublic?: boolean;
  pkceEnabled?: boolean;
  isGroupRestricted?: boolean;
  /** Only in GET/PUT answers for one client (list items carry allowedUserGroupsCount instead). */
  allowedUserGroups?: UserGroup[] | null;
  allowedUserGroupsCount?: number;
  hasLogo?: boolean;
  credentials?: { federatedIdentities?: unknown[]; secrets?: SecretInfo[] | null } | null;
  [key: string]: unknown;
}

/** A user group (§3). `name` is the technical name, unique, and what the groups claim carries. */
export interface UserGroup {
  id: string;
  name: string;
  friendlyName?: string;
  [key: string]: unknown;
}

/** The logo types the action uploads, by extension; Pocket ID decides the type by the extension (§2.9). */
export const LOGO_TYPES: Record<string, string> = {
  png: "image/png",
  svg: "image/svg+xml",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  ico: "image/x-icon",
};

/** Pocket ID's limit on the whole upload request, multipart envelope included (§2.9). */
export const MAX_UPLOAD_BYTES = 2 << 20;

/** The limit of a group's friendlyName (§3: 2–50 characters, counted as Go counts runes). */
const FRIENDLY_NAME_MAX = 50;

/**
 * The multipart/form-data body of a logo upload: field `file`, file name `logo.<ext>` (the server
 * reads the type from the extension only, and a fixed name needs no escaping). A Buffer, so a
 * retry sends it again as is.
 */
export function logoUpload(ext: string, bytes: Buffer): { body: Buffer; contentType: string } {
  let boundary: string;
  do boundary = `pocket-id-harbor-oidc-${randomBytes(12).toString("hex")}`;
  while (bytes.includes(boundary));
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="logo.${ext}"\r\nContent-Type: ${LOGO_TYPES[ext] ?? "application/octet-stream"}\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head), bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The fields of a client this action manages; everything else is left as found. */
export interface ManagedClientFields {
  name: string;
  callbackURLs: string[];
  logoutCallbackURLs: string[];
  launchURL: string;
  isPublic: false;
  pkceEnabled: boolean;
  isGroupRestricted: boolean;
}

export type ProbeResult = "accepted" | "rejected" | "unknown";

/** Fields of GET's answer that are read-only (PUT ignores or rejects them). */
const READ_ONLY_FIELDS = ["allowedUserGroups", "allowedUserGroupsCount", "pkceSupported"];

interface Page<T> {
  data: T[];
  pagination: { totalPages: number; currentPage: number };
}

export class PocketIdApi {
  readonly #http: HttpClient;
  /** The server's version, once known ("2.14.0"); undefined on versions before 2.3 (no endpoint). */
  version: string | undefined;

  constructor(http: HttpClient) {
    this.#http = http;
  }

  get baseUrl(): string {
    return this.#http.baseUrl;
  }

  /** GET /api/version/current (since 2.3.0; a 404 means older). Also proves the API key. */
  async currentVersion(): Promise<string | undefined> {
    const res = await this.#http.send<{ currentVersion?: string }>("GET", "/api/version/current", { accept: [404] });
    this.version = res.status === 404 ? undefined : res.body?.currentVersion;
    return this.version;
  }

  /** Proves the key belongs to an admin: the clients list is an admin route. */
  async checkAdmin(): Promise<void> {
    await this.#http.send("GET", "/api/oidc/clients", { query: { "pagination[limit]": 1 } });
  }

  async discovery(): Promise<Discovery> {
    const res = await this.#http.send<Discovery>("GET", "/.well-known/openid-configuration", { auth: false });
    if (!res.body || typeof res.body !== "object" || typeof res.body.issuer !== "string") {
      throw new Error("Pocket ID's discovery document has no issuer");
    }
    return res.body;
  }

  async getClient(id: string): Promise<OidcClient | undefined> {
    const res = await this.#http.send<OidcClient>("GET", `/api/oidc/clients/${encodeURIComponent(id)}`, { accept: [404] });
    return res.status === 404 ? undefined : res.body;
  }

  /** Every client whose name is exactly `name` (the server's search is a substring match). */
  async findClientsByName(name: string): Promise<OidcClient[]> {
    return this.#searchByName<OidcClient>("/api/oidc/clients", name);
  }

  /**
   * Every item of a paginated list whose `name` is exactly `name`: the server's search is a
   * substring LIKE (case-insensitive on SQLite, `%` and `_` wildcards), so it is filtered here.
   */
  async #searchByName<T extends { name: string }>(path: string, name: string): Promise<T[]> {
    const found: T[] = [];
    for (let page = 1; ; page++) {
      const res = await this.#http.send<Page<T>>("GET", path, {
        query: { search: name, "pagination[page]": page, "pagination[limit]": 100 },
      });
      found.push(...(res.body.data ?? []).filter((c) => c.name === name));
      // Pages past the last are clamped to the last one, so stop on totalPages, not on emptiness.
      if (res.body.pagination.currentPage >= res.body.pagination.totalPages) break;
    }
    return found;
  }

  /** The group with exactly this technical name (unique in Pocket ID), if any. */
  async findGroup(name: string): Promise<UserGroup | undefined> {
    return (await this.#searchByName<UserGroup>("/api/user-groups", name))[0];
  }

  /**
   * Creates a group named `name`, with the name as friendly name (cut to the 50 characters that
   * field allows). Retrying is safe: the name is unique, so a repeat cannot make a second group.
   */
  async createGroup(name: string): Promise<UserGroup> {
    const friendlyName = [...name].slice(0, FRIENDLY_NAME_MAX).join("");
    const res = await this.#http.send<UserGroup>("POST", "/api/user-groups", { json: { name, friendlyName }, retry: true });
    return res.body;
  }

  /** Replaces the client's allowed user groups; it does not change isGroupRestricted (§2.8). */
  async setAllowedGroups(clientId: string, groupIds: string[]): Promise<void> {
    await this.#http.send("PUT", `/api/oidc/clients/${encodeURIComponent(clientId)}/allowed-user-groups`, { json: { userGroupIds: groupIds } });
  }

  /** The client's (light) logo as stored, or undefined when it has none. A public route. */
  async getLogo(clientId: string): Promise<Buffer | undefined> {
    const res = await this.#http.send<Buffer>("GET", `/api/oidc/clients/${encodeURIComponent(clientId)}/logo`, {
      query: { light: "true" },
      auth: false,
      binary: true,
      accept: [404],
      headers: { accept: "image/*" },
    });
    return res.status === 404 ? undefined : res.body;
  }

  /** Uploads the client's (light) logo. Repeating it stores the same image again, so it is retried. */
  async uploadLogo(clientId: string, ext: string, bytes: Buffer): Promise<void> {
    await this.#http.send("POST", `/api/oidc/clients/${encodeURIComponent(clientId)}/logo`, {
      query: { light: "true" },
      raw: logoUpload(ext, bytes),
      retry: true,
    });
  }

  /** Creates a client. Never retried: a lost answer is resolved by the caller reading back. */
  async createClient(fields: ManagedClientFields, id?: string): Promise<OidcClient> {
    const body = {
      ...(id ? { id } : {}),
      ...fields,
      requiresReauthentication: false,
      requiresPushedAuthorizationRequests: false,
      skipConsent: false,
      credentials: { federatedIdentities: [] },
    };
    const res = await this.#http.send<OidcClient>("POST", "/api/oidc/clients", { json: body, retry: false });
    return res.body;
  }

  /** PUT replaces the whole client, so the body is what GET returned with our fields merged in. */
  async updateClient(current: OidcClient, fields: ManagedClientFields): Promise<OidcClient> {
    const body: Record<string, unknown> = { ...current, ...fields };
    for (const key of READ_ONLY_FIELDS) delete body[key];
    delete body.id;
    body.credentials = { federatedIdentities: current.credentials?.federatedIdentities ?? [] };
    const res = await this.#http.send<OidcClient>("PUT", `/api/oidc/clients/${encodeURIComponent(current.id)}`, { json: body });
    return res.body;
  }

  /** True when this server keeps several secrets per client (2.14+). */
  get multipleSecrets(): boolean {
    return atLeast(this.version, "2.14");
  }

  /** True when a chosen secret value can be set (2.12+). */
  get settableSecrets(): boolean {
    return atLeast(this.version, "2.12");
  }

  async listSecrets(clientId: string): Promise<SecretInfo[]> {
    const res = await this.#http.send<SecretInfo[]>("GET", `/api/oidc/clients/${encodeURIComponent(clientId)}/secrets`);
    return res.body ?? [];
  }

  /**
   * Issues a secret: added beside the others on 2.14+, replacing the old one before. With `value`
   * (2.12+) Pocket ID stores that value. Never retried: the caller reads back after a lost answer.
   */
  async createSecret(clientId: string, value?: string): Promise<{ secret: string; id?: string }> {
    const path = `/api/oidc/clients/${encodeURIComponent(clientId)}/${this.multipleSecrets ? "secrets" : "secret"}`;
    const body = value && this.settableSecrets ? { secret: value } : undefined;
    const res = await this.#http.send<{ secret: string; id?: string }>("POST", path, { json: body ?? {}, retry: false });
    if (!res.body?.secret) throw new Error(`Pocket ID: POST ${path} answered without a secret`);
    return { secret: res.body.secret, id: res.body.id };
  }

  async deleteSecret(clientId: string, secretId: string): Promise<void> {
    await this.#http.send("DELETE", `/api/oidc/clients/${encodeURIComponent(clientId)}/secrets/${encodeURIComponent(secretId)}`, { accept: [404] });
  }

  /**
   * Proves a (client ID, secret) pair without a user: a made-up authorization code is refused with
   * invalid_grant (right credentials) or invalid_client (wrong ones). No state is written.
   * `unclear` learns why an answer was "unknown" (the failed call), for the caller's message.
   */
  async probeSecret(clientId: string, secret: string, redirectUri: string, unclear?: (why: string) => void): Promise<ProbeResult> {
    try {
      const res = await this.#http.send<{ error?: string }>("POST", "/api/oidc/token", {
        auth: false,
        retry: true,
        accept: [400, 401, 404],
        // client_secret_post: no derived Authorization value to mask, and every version accepts it.
        form: {
          grant_type: "authorization_code",
          code: "pocket-id-harbor-oidc-probe",
          redirect_uri: redirectUri,
          client_id: clientId,
          client_secret: secret,
        },
      });
      const error = typeof res.body?.error === "string" ? res.body.error : "";
      if (res.status === 400 && (error === "invalid_grant" || error === "Invalid authorization code")) return "accepted";
      if (res.status === 401) return "rejected";
      unclear?.(`Pocket ID: POST /api/oidc/token answered ${res.status}${error ? ` (${error})` : ""}`);
      return "unknown";
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      unclear?.(err.message);
      return "unknown";
    }
  }
}
