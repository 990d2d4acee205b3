// Harbor's API in its own words (../shared/reference/harbor-api.md): the current user,
// systeminfo, configurations ({value, editable} on GET, partial PUT) and the OIDC ping.
import type { HttpClient } from "./http.js";

export interface HarborUser {
  user_id: number;
  username: string;
  sysadmin_flag: boolean;
}

export interface SystemInfo {
  auth_mode?: string;
  harbor_version?: string;
  external_url?: string;
  read_only?: boolean;
  [key: string]: unknown;
}

export type ConfigItem = { value: unknown; editable: boolean };
export type Configurations = Record<string, ConfigItem>;

export class HarborApi {
  readonly #http: HttpClient;

  constructor(http: HttpClient) {
    this.#http = http;
  }

  get baseUrl(): string {
    return this.#http.baseUrl;
  }

  /** 401 here means wrong credentials (systeminfo answers 200 to anyone, so it proves nothing). */
  async currentUser(): Promise<HarborUser> {
    return (await this.#http.send<HarborUser>("GET", "/api/v2.0/users/current")).body;
  }

  async systemInfo(): Promise<SystemInfo> {
    return (await this.#http.send<SystemInfo>("GET", "/api/v2.0/systeminfo")).body;
  }

  async configurations(): Promise<Configurations> {
    return (await this.#http.send<Configurations>("GET", "/api/v2.0/configurations")).body;
  }

  /** Partial update: only the keys given change. Harbor drops unknown keys silently (read back!). */
  async updateConfigurations(values: Record<string, unknown>): Promise<void> {
    await this.#http.send("PUT", "/api/v2.0/configurations", { json: values });
  }

  /** Users other than the built-in admin (they lock auth_mode); counts the first 100 at most. */
  async countUsers(): Promise<number> {
    const res = await this.#http.send<{ user_id: number }[]>("GET", "/api/v2.0/users", { query: { page: 1, page_size: 100 } });
    return (res.body ?? []).filter((u) => u.user_id !== 1).length;
  }

  /** "Test OIDC server": Harbor fetches `url`'s discovery from its own network. */
  async pingOidc(url: string, verifyCert: boolean): Promise<{ ok: true } | { ok: false; status: number; message: string }> {
    const res = await this.#http.send<{ errors?: { message?: string }[] }>("POST", "/api/v2.0/system/oidc/ping", {
      json: { url, verify_cert: verifyCert },
      retry: true,
      accept: [400],
    });
    if (res.status === 400) return { ok: false, status: 400, message: res.body?.errors?.[0]?.message ?? "failed to verify connection" };
    return { ok: true };
  }
}
