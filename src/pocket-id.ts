// Pocket ID's API in its own words (../shared/reference/pocket-id-api.md): version, discovery,
// OIDC clients (full-replace PUT), client secrets in both generations, the token-endpoint probe.
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
  credentials?: { federatedIdentities?: unknown[]; secrets?: SecretInfo[] | null } | null;
  [key: string]: unknown;
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
    const found: OidcClient[] = [];
    for (let page = 1; ; page++) {
      const res = await this.#http.send<{ data: OidcClient[]; pagination: { totalPages: number; currentPage: number } }>("GET", "/api/oidc/clients", {
        query: { search: name, "pagination[page]": page, "pagination[limit]": 100 },
      });
      found.push(...(res.body.data ?? []).filter((c) => c.name === name));
      // Pages past the last are clamped to the last one, so stop on totalPages, not on emptiness.
      if (res.body.pagination.currentPage >= res.body.pagination.totalPages) break;
    }
    return found;
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
