// Every read a run needs, in as few parallel waves as their dependencies allow. Failures that
// make planning impossible (credentials, unreachable servers) become preflight problems, all of
// them collected, so the user sees every one at once.
import { createHash } from "node:crypto";
import { PreflightError } from "./errors.js";
import type { Configurations, HarborApi, HarborUser, SystemInfo } from "./harbor.js";
import { HttpError } from "./http.js";
import type { Settings } from "./inputs.js";
import type { Discovery, OidcClient, PocketIdApi, ProbeResult, SecretInfo, UserGroup } from "./pocket-id.js";

export interface PingResult {
  url: string;
  ok: boolean;
  message?: string;
}

export interface Observed {
  pocketIdVersion?: string;
  discovery: Discovery;
  /** The client found (by client-id, or the one client with that exact name). */
  client?: OidcClient;
  /** Every client with the wanted name, when searched by name. */
  sameName: OidcClient[];
  /** Secret metadata of the found client (Pocket ID 2.14+). */
  secrets?: SecretInfo[];
  /** The probe of the given client-secret against the found client. */
  givenSecretProbe?: ProbeResult;
  /** The Pocket ID groups named in allowed-groups and admin-group, by name; null: no such group. */
  groups: Record<string, UserGroup | null>;
  /** sha256 of the client's current (light) logo: null when it has none; read only for the logo input. */
  logoSha256?: string | null;
  harborUser: HarborUser;
  harborInfo: SystemInfo;
  harborConfig: Configurations;
  /** Users that lock Harbor's auth mode, when the lock is on and they could be counted. */
  lockingUsers?: number;
  ping?: PingResult;
}

export interface ObserveDeps {
  pocketId: PocketIdApi;
  harbor: HarborApi;
  settings: Settings;
}

/** Turns a failed read into a sentence a user can act on. */
export function explainReadFailure(err: unknown, s: Settings): string {
  if (!(err instanceof HttpError)) return (err as Error).message;
  if (err.kind !== "status") return err.message;
  if (err.server === "Pocket ID") {
    if (err.status === 401)
      return `the Pocket ID API key was rejected (missing, wrong or expired): ${err.message}. Create an admin API key (Settings → Admin → API Keys) or set STATIC_API_KEY, and pass it as pocket-id-api-key.`;
    if (err.status === 403) return `the Pocket ID API key is not an administrator's: ${err.message}. Use a key created by an admin user (or STATIC_API_KEY).`;
  }
  if (err.server === "Harbor") {
    if (err.status === 401)
      return `Harbor rejected the credentials of harbor-username "${s.harborUsername}": ${err.message}. Use the local administrator and its password (the built-in admin keeps basic auth in OIDC mode).`;
    if (err.status === 403)
      return `Harbor user "${s.harborUsername}" is not allowed to read or change the configuration: ${err.message}. Use a Harbor system administrator (robot accounts cannot).`;
  }
  return err.message;
}

/** The Pocket ID groups the inputs name: allowed-groups, and admin-group (a group name too). */
export function namedGroups(s: Pick<Settings, "allowedGroups" | "adminGroup">): string[] {
  return [...new Set([...s.allowedGroups, ...(s.adminGroup ? [s.adminGroup.normalize("NFC")] : [])])];
}

export async function observe({ pocketId, harbor, settings: s }: ObserveDeps): Promise<Observed> {
  // Wave 1: everything that depends only on the inputs.
  const lookup = s.clientId ? pocketId.getClient(s.clientId).then((c) => (c ? [c] : [])) : pocketId.findClientsByName(s.clientName);
  const names = namedGroups(s);
  const [version, discovery, clients, user, info, config, groups] = await Promise.allSettled([
    pocketId.currentVersion(),
    pocketId.discovery(),
    lookup,
    harbor.currentUser(),
    harbor.systemInfo(),
    harbor.configurations(),
    Promise.all(names.map(async (name) => [name, (await pocketId.findGroup(name)) ?? null] as const)).then(Object.fromEntries),
  ]);
  // One line per cause: a rejected key or an unreachable server fails every call the same way.
  const problems = new Map<string, string>();
  const add = (err: unknown, text: string) => {
    const same = err instanceof HttpError && (err.kind !== "status" || err.status === 401 || err.status === 403);
    const cause = same ? `${err.server} ${err.kind} ${err.status}` : text;
    if (!problems.has(cause)) problems.set(cause, text);
  };
  if (user.status === "fulfilled" && !user.value.sysadmin_flag) {
    problems.set("Harbor status 403", `Harbor user "${user.value.username}" is not a system administrator; the OIDC settings need one (use the local admin).`);
  }
  for (const r of [version, clients, user, config, info, groups]) {
    if (r.status === "rejected") add(r.reason, explainReadFailure(r.reason, s));
  }
  if (discovery.status === "rejected") {
    add(
      discovery.reason,
      `the runner could not fetch Pocket ID's discovery document (${s.pocketIdUrl}/.well-known/openid-configuration): ${explainReadFailure(discovery.reason, s)}`,
    );
  }
  if (problems.size > 0) throw new PreflightError([...problems.values()]);
  const ok = <T>(r: PromiseSettledResult<T>): T => (r as PromiseFulfilledResult<T>).value;

  const found = ok(clients);
  const observed: Observed = {
    pocketIdVersion: ok(version),
    discovery: ok(discovery),
    client: found.length === 1 ? found[0] : undefined,
    sameName: s.clientId ? [] : found,
    groups: ok(groups) as Record<string, UserGroup | null>,
    harborUser: ok(user),
    harborInfo: ok(info),
    harborConfig: ok(config),
  };

  // Wave 2: reads that need wave 1's answers.
  const client = observed.client;
  const authMode = observed.harborConfig.auth_mode;
  const locked = authMode && authMode.value !== "oidc_auth" && !authMode.editable && Object.values(observed.harborConfig).some((i) => i.editable);
  const callback = `${externalUrl(observed, s)}/c/oidc/callback`;
  // A list item is a summary (allowedUserGroupsCount, not the groups): the full-replace PUT and
  // the group comparison start from the client itself.
  await Promise.all([
    client && !s.clientId
      ? pocketId.getClient(client.id).then((full) => {
          if (full) observed.client = full;
        })
      : undefined,
    // hasLogo is missing before Pocket ID 1.12: then the logo itself tells (404 when none).
    client && s.logo
      ? (client.hasLogo === false ? Promise.resolve(undefined) : pocketId.getLogo(client.id)).then((bytes) => {
          observed.logoSha256 = bytes ? createHash("sha256").update(bytes).digest("hex") : null;
        })
      : undefined,
    client && pocketId.multipleSecrets
      ? pocketId.listSecrets(client.id).then((list) => {
          observed.secrets = list;
        })
      : undefined,
    client && s.clientSecret
      ? pocketId.probeSecret(client.id, s.clientSecret, callback).then((r) => {
          observed.givenSecretProbe = r;
        })
      : undefined,
    s.testOidc
      ? ping(harbor, observed.discovery.issuer, s.verifyCert).then((p) => {
          observed.ping = p;
        })
      : undefined,
    locked
      ? harbor.countUsers().then(
          (n) => {
            observed.lockingUsers = n;
          },
          () => undefined, // the count only adds detail to the message
        )
      : undefined,
  ]).catch((err: unknown) => {
    throw new PreflightError([explainReadFailure(err, s)]);
  });
  return observed;
}

/** Harbor's "Test OIDC server": a failure to test is reported as a failed test, with the reason. */
async function ping(harbor: HarborApi, url: string, verifyCert: boolean): Promise<PingResult> {
  try {
    const r = await harbor.pingOidc(url, verifyCert);
    return r.ok ? { url, ok: true } : { url, ok: false, message: r.message };
  } catch (err) {
    return { url, ok: false, message: (err as Error).message };
  }
}

/** The URL Harbor builds its redirect URI from: systeminfo's external_url, else harbor-url. */
export function externalUrl(o: Pick<Observed, "harborInfo">, s: Pick<Settings, "harborUrl">): string {
  const ext = o.harborInfo.external_url;
  return (typeof ext === "string" && ext ? ext : s.harborUrl).replace(/\/+$/, "");
}
