// Pure: (Settings, Observed) → Plan. No I/O, so every rule here is a fast unit test.
// The plan holds the preflight problems (any one stops the run before a change), the warnings,
// and the changes to make on each server, including what happens to the client secret.
import type { Settings } from "./inputs.js";
import { externalUrl, namedGroups, type Observed } from "./observe.js";
import type { ManagedClientFields, OidcClient } from "./pocket-id.js";
import { atLeast } from "./version.js";

export interface Change {
  target: "pocket-id" | "harbor";
  setting: string;
  from: unknown;
  to: unknown;
}

/** A change, and whether it is drift (found state differs) or only an action (a rotation). */
export interface PlannedChange extends Change {
  drift: boolean;
}

export type SecretPlan =
  /** Harbor already holds a secret for this client: keep it. */
  | { kind: "keep" }
  /** Issue a new secret and hand it to Harbor. */
  | { kind: "issue"; reason: "new-client" | "harbor-not-configured" | "rotate"; revokeOlder: boolean }
  /** The client-secret input: set it in Pocket ID when it does not accept it yet; Harbor always gets it. */
  | { kind: "given"; setInPocketId: boolean };

export interface Plan {
  problems: string[];
  warnings: string[];
  notices: string[];
  issuer: string;
  externalUrl: string;
  client: {
    action: "create" | "update" | "none";
    /** Known unless the client is created without client-id (the server makes the ID). */
    id?: string;
    current?: OidcClient;
    fields: ManagedClientFields;
  };
  secret: SecretPlan & {
    /** Expired secrets to revoke first, to make room under Pocket ID's cap of 20. */
    revokeFirst: string[];
  };
  groups: {
    /** Groups to create first (create-groups), by name. */
    create: string[];
    /** allowed-groups, by name: the client's allowed user groups once `setAllowed` is done. */
    allowed: string[];
    /** PUT the allowed user groups after the client step (the set of IDs differs). */
    setAllowed: boolean;
  };
  /** Upload the logo input after the client step. */
  uploadLogo: boolean;
  /** The Harbor keys to PUT (the secret is added by the applier when it hands one over). */
  harborValues: Record<string, unknown>;
  changes: PlannedChange[];
  drift: boolean;
}

export const MAX_SECRETS = 20;
const SECRET = "***";

/** Harbor keys that older versions lack, with the release that added them. */
const HARBOR_KEY_SINCE: Record<string, string> = {
  oidc_group_filter: "2.7",
  primary_auth_mode: "2.8",
  oidc_logout: "2.13",
};

function sameList(a: unknown, b: unknown): boolean {
  const norm = (v: unknown) => (Array.isArray(v) ? [...v].map(String).sort() : []);
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

function sameScope(a: unknown, b: unknown): boolean {
  const norm = (v: unknown) =>
    String(v ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)
      .join(",");
  return norm(a) === norm(b);
}

/** The Harbor version: systeminfo's harbor_version ("v2.15.2-080b0220") without the commit. */
export function harborVersion(o: Observed): string | undefined {
  return o.harborInfo.harbor_version?.replace(/-[0-9a-f]+$/, "");
}

export function plan(s: Settings, o: Observed): Plan {
  const problems: string[] = [];
  const warnings: string[] = [];
  const notices: string[] = [];
  const changes: PlannedChange[] = [];
  const ext = externalUrl(o, s);
  const issuer = o.discovery.issuer;
  const hVersion = harborVersion(o);
  const config = o.harborConfig;

  // --- Pocket ID client -------------------------------------------------------------------
  const fields: ManagedClientFields = {
    name: s.clientName,
    callbackURLs: s.callbackUrls ?? [`${ext}/c/oidc/callback`],
    logoutCallbackURLs: s.sessionLogout ? [`${ext}/account/sign-in`] : [],
    launchURL: s.launchUrl ?? ext,
    isPublic: false,
    pkceEnabled: s.pkce,
    isGroupRestricted: s.allowedGroups.length > 0,
  };
  let action: Plan["client"]["action"] = "none";
  const current = o.client;
  if (!s.clientId && o.sameName.length > 1) {
    problems.push(
      `${o.sameName.length} Pocket ID clients are named "${s.clientName}" (IDs: ${o.sameName.map((c) => c.id).join(", ")}); set client-id to the one Harbor should use.`,
    );
  } else if (!current) {
    action = "create";
    changes.push({ target: "pocket-id", setting: "client", from: null, to: s.clientId ?? s.clientName, drift: true });
  } else {
    for (const [key, want] of Object.entries(fields)) {
      const have = current[key];
      // A field an older Pocket ID does not return is one it cannot hold (isGroupRestricted < 2.0).
      if (!(key in current) && key === "isGroupRestricted") continue;
      const same = Array.isArray(want) ? sameList(have, want) : (have ?? null) === want;
      if (!same) changes.push({ target: "pocket-id", setting: key, from: have ?? null, to: want, drift: true });
    }
    if (changes.length > 0) action = "update";
  }
  const clientId = s.clientId ?? current?.id;

  // --- Groups -------------------------------------------------------------------------------
  const groups = o.groups;
  const missing = namedGroups(s).filter((name) => !groups[name]);
  const create: string[] = [];
  for (const name of missing) {
    if (s.createGroups) {
      create.push(name);
      changes.push({ target: "pocket-id", setting: `group ${name}`, from: null, to: "created", drift: true });
    } else {
      const input = s.allowedGroups.includes(name) ? "allowed-groups" : "admin-group";
      problems.push(
        `${input} names "${name}", but Pocket ID has no group with that name (the group's technical name, not its display name); create it in Pocket ID (Settings → Admin → User Groups), or set create-groups: true to let the action create it.`,
      );
    }
  }
  // Restriction: the flag (Pocket ID 2.0+) and the set of allowed groups. Before 2.0 there is no
  // flag and the list alone restricts (non-empty). A client PUT with the flag off clears the list.
  const restrict = s.allowedGroups.length > 0;
  const hasFlag = current !== undefined && "isGroupRestricted" in current;
  const currentGroups = current?.allowedUserGroups ?? [];
  const restrictedNow = current ? (hasFlag ? current.isGroupRestricted === true : (current.allowedUserGroupsCount ?? currentGroups.length) > 0) : false;
  const wantedIds = s.allowedGroups.map((name) => groups[name]?.id);
  const haveIds = currentGroups.map((g) => g.id);
  const sameGroups = wantedIds.every((id) => id !== undefined && haveIds.includes(id)) && haveIds.every((id) => wantedIds.includes(id));
  let setAllowed = false;
  if (restrict && (action === "create" || (current && !sameGroups))) {
    setAllowed = true;
    changes.push({ target: "pocket-id", setting: "allowedUserGroups", from: currentGroups.map((g) => g.name), to: s.allowedGroups, drift: true });
  } else if (!restrict && restrictedNow) {
    // 2.0+: the client PUT with isGroupRestricted false clears the list; before, it must be emptied.
    setAllowed = !hasFlag;
    if (currentGroups.length > 0 || !hasFlag) {
      changes.push({ target: "pocket-id", setting: "allowedUserGroups", from: currentGroups.map((g) => g.name), to: [], drift: true });
    }
  }

  // --- Logo ---------------------------------------------------------------------------------
  // Compared by sha256 of the stored bytes. Pocket ID strips EXIF/XMP metadata from jpg, png and
  // webp on upload (§2.9): a file that carries some is stored with other bytes, so it reads back
  // as different and is uploaded again on every run. A known limit: only the file can fix it
  // (strip its metadata). svg, gif and ico are stored as sent.
  let uploadLogo = false;
  if (s.logo && (action === "create" || (current && o.logoSha256 !== s.logo.sha256))) {
    uploadLogo = true;
    const from = action === "create" || !o.logoSha256 ? "none" : "other image";
    changes.push({ target: "pocket-id", setting: "logo", from, to: s.logo.fileName, drift: true });
  }

  // --- Secret -------------------------------------------------------------------------------
  const multiple = atLeast(o.pocketIdVersion, "2.14");
  const settable = atLeast(o.pocketIdVersion, "2.12");
  const harborHasClient = clientId !== undefined && config.oidc_client_id?.value === clientId;
  let secret: SecretPlan;
  if (s.clientSecret) {
    const setInPocketId = action === "create" || o.givenSecretProbe !== "accepted";
    if (setInPocketId && !settable) {
      problems.push(
        `client-secret cannot be set on Pocket ID ${o.pocketIdVersion ?? "< 2.3"}: choosing a secret's value needs Pocket ID 2.12 or later. Remove client-secret to let the action issue one, or upgrade Pocket ID.`,
      );
    }
    secret = { kind: "given", setInPocketId };
    if (setInPocketId) changes.push({ target: "pocket-id", setting: "client secret", from: SECRET, to: SECRET, drift: true });
    if (setInPocketId || !harborHasClient) changes.push({ target: "harbor", setting: "oidc_client_secret", from: SECRET, to: SECRET, drift: true });
  } else if (action === "create" || !harborHasClient || (s.rotateSecret && s.mode !== "verify")) {
    const reason = action === "create" ? "new-client" : !harborHasClient ? "harbor-not-configured" : "rotate";
    secret = { kind: "issue", reason, revokeOlder: reason === "rotate" && multiple };
    const drift = reason !== "rotate";
    changes.push({ target: "pocket-id", setting: "client secret", from: action === "create" ? null : SECRET, to: SECRET, drift });
    changes.push({ target: "harbor", setting: "oidc_client_secret", from: SECRET, to: SECRET, drift });
    if (!multiple && action !== "create") {
      warnings.push(
        `Pocket ID ${o.pocketIdVersion ?? "< 2.3"} keeps one secret per client: issuing a new one ends the old one at once, so anything else using client "${clientId}" stops working until it gets the new secret (Pocket ID 2.14 keeps several).`,
      );
    }
  } else {
    secret = { kind: "keep" };
  }
  const revokeFirst: string[] = [];
  const addsSecret = secret.kind === "issue" || (secret.kind === "given" && secret.setInPocketId);
  if (addsSecret && multiple && o.secrets && o.secrets.length >= MAX_SECRETS) {
    const needed = o.secrets.length - MAX_SECRETS + 1;
    const expired = o.secrets.filter((x) => !x.isActive).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    if (expired.length < needed) {
      problems.push(
        `Pocket ID client "${clientId}" has ${o.secrets.length} secrets, the most Pocket ID keeps, and only ${expired.length} expired; delete unused secrets in Pocket ID (OIDC clients → ${clientId} → secrets) and run again.`,
      );
    } else {
      revokeFirst.push(...expired.slice(0, needed).map((x) => x.id));
    }
  }

  // --- Harbor -------------------------------------------------------------------------------
  const desired: [key: string, value: unknown, needed: boolean, input: string][] = [
    ["auth_mode", "oidc_auth", true, "(always)"],
    ["oidc_name", s.providerName, true, "provider-name"],
    ["oidc_endpoint", issuer, true, "(the issuer)"],
    ["oidc_client_id", clientId, true, "client-id"],
    ["oidc_groups_claim", s.groupsClaim, true, "groups-claim"],
    ["oidc_admin_group", s.adminGroup, true, "admin-group"],
    ["oidc_scope", s.scope, true, "scope"],
    ["oidc_verify_cert", s.verifyCert, true, "verify-cert"],
    ["oidc_auto_onboard", s.autoOnboard, true, "auto-onboard"],
    ["oidc_user_claim", s.usernameClaim, true, "username-claim"],
    ["oidc_group_filter", s.groupFilter, s.groupFilter !== "", "group-filter"],
    ["primary_auth_mode", s.primaryAuthMode, s.primaryAuthMode, "primary-auth-mode"],
    ["oidc_logout", s.sessionLogout, s.sessionLogout, "session-logout"],
  ];
  const harborValues: Record<string, unknown> = {};
  for (const [key, want, needed, input] of desired) {
    const item = config[key];
    if (!item) {
      // Harbor answers 200 to keys it does not know and drops them: refuse, never a silent no-op.
      if (needed) {
        const since = HARBOR_KEY_SINCE[key];
        problems.push(
          since
            ? `${input}: ${JSON.stringify(want)} needs Harbor ${since} or later (this Harbor is ${hVersion ?? "older"}); upgrade Harbor or leave ${input} at its default.`
            : `Harbor has no configuration key ${key}; it is too old for OIDC (Harbor ${hVersion ?? "unknown"}).`,
        );
      }
      continue;
    }
    const same = key === "oidc_scope" ? sameScope(item.value, want) : item.value === want;
    if (want === undefined) {
      // The client is created in this run without client-id: its ID is known only then.
      changes.push({ target: "harbor", setting: key, from: item.value, to: "(ID of the new client)", drift: true });
      continue;
    }
    if (!same) {
      harborValues[key] = want;
      changes.push({ target: "harbor", setting: key, from: item.value, to: want, drift: true });
    }
  }
  // PKCE is not a Harbor key: Harbor sends it from 2.13 on, and a client that requires it would
  // refuse every login from an older Harbor.
  const pkceCapable = hVersion ? atLeast(hVersion, "2.13") : "oidc_logout" in config;
  if (s.pkce && !pkceCapable) {
    problems.push(`pkce: true needs Harbor 2.13 or later, which sends PKCE (this Harbor is ${hVersion ?? "older"}); set pkce: false or upgrade Harbor.`);
  }

  const writesHarbor = Object.keys(harborValues).length > 0 || changes.some((c) => c.target === "harbor");
  const editable = Object.values(config).some((i) => i.editable);
  if (!editable && writesHarbor && s.mode !== "verify") {
    problems.push(
      "Harbor's configuration is read-only: every key reports editable: false, which means CONFIG_OVERWRITE_JSON is set on Harbor core (Helm: core.configureUserSettings). Put the OIDC settings there, or remove the variable and restart Harbor core, then run again.",
    );
  } else if (config.auth_mode && config.auth_mode.value !== "oidc_auth" && !config.auth_mode.editable && s.mode !== "verify") {
    const who =
      o.lockingUsers !== undefined ? `${o.lockingUsers}${o.lockingUsers >= 100 ? " or more" : ""} user(s) besides admin exist` : "users besides admin exist";
    problems.push(
      `Harbor refuses to switch auth_mode from ${String(config.auth_mode.value)} to oidc_auth: ${who} in its database, and Harbor allows changing the auth mode only while admin is the only user. Ways out: delete those users in Harbor (Administration → Users; deleted users no longer count), or use a fresh Harbor; then run again.`,
    );
  }

  // In verify the failed test is reported as a failed check, with the same explanation.
  if (s.testOidc && o.ping && !o.ping.ok && s.mode !== "verify") {
    problems.push(
      `Harbor's "Test OIDC server" failed for ${issuer} (${o.ping.message ?? "no reason given"}). The runner fetched Pocket ID's discovery document, so Harbor cannot reach Pocket ID from its own network or does not trust its certificate (verify-cert: ${s.verifyCert}). Harbor core's log has the cause.`,
    );
  }

  if (o.harborUser.user_id !== 1 && s.mode !== "verify" && config.auth_mode?.value !== "oidc_auth") {
    warnings.push(
      `harbor-username "${o.harborUser.username}" is not Harbor's built-in admin: once Harbor is in OIDC mode only the built-in admin (user ID 1) still signs in with a password, so later runs need harbor-username set to it.`,
    );
  }
  if (!s.verifyCert)
    warnings.push("verify-cert: false: Harbor will not verify Pocket ID's TLS certificate, so anyone on the path can impersonate the identity provider.");
  if (s.primaryAuthMode) notices.push(`primary-auth-mode is on: Harbor sends everyone to Pocket ID; the local admin signs in at ${ext}/account/sign-in.`);

  return {
    problems,
    warnings,
    notices,
    issuer,
    externalUrl: ext,
    client: { action, id: clientId, current, fields },
    secret: { ...secret, revokeFirst },
    groups: { create, allowed: s.allowedGroups, setAllowed },
    uploadLogo,
    harborValues,
    changes,
    drift: changes.some((c) => c.drift),
  };
}
