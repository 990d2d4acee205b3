// Carries out a Plan: the Pocket ID client, the secret lifecycle, Harbor's settings, the
// read-back and the final proof that Pocket ID accepts the secret Harbor holds.
// Creates are never retried blindly: after a lost answer the applier reads back and goes on
// from what is there, so a retry never makes a second client or an unexplained secret.
import { randomInt } from "node:crypto";
import { ActionError } from "./errors.js";
import type { HarborApi } from "./harbor.js";
import { HttpError } from "./http.js";
import type { Settings } from "./inputs.js";
import type { Observed } from "./observe.js";
import type { Plan } from "./plan.js";
import type { OidcClient, PocketIdApi, ProbeResult, UserGroup } from "./pocket-id.js";
import type { SecretRegistry } from "./secrets.js";

export interface ApplyResult {
  clientId: string;
  clientCreated: boolean;
  /** The secret this run issued or was given: Harbor holds it (or must be given it, see error). */
  secret?: string;
  secretIssued: boolean;
  harborChanged: boolean;
  /** Secrets revoked after the new one was proven (rotation, or unknown ones on a new client). */
  revoked: number;
}

export interface ApplyDeps {
  pocketId: PocketIdApi;
  harbor: HarborApi;
  settings: Settings;
  secrets: SecretRegistry;
  log: (message: string) => void;
  warn: (message: string) => void;
  sleep?: (ms: number) => Promise<void>;
  /** How long Harbor may serve old values after a PUT (its config cache) before read-back fails. */
  readBackWindowMs: number;
}

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** 32 random alphanumerics, as Pocket ID makes them; chosen here so a lost answer can be probed. */
export function generateSecret(): string {
  let out = "";
  for (let i = 0; i < 32; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

/** A failure after Harbor and Pocket ID diverged; `secret` must still reach the step output. */
export class RecoveryError extends ActionError {
  readonly result: ApplyResult;
  constructor(message: string, result: ApplyResult) {
    super("Apply failed part-way", message);
    this.result = result;
  }
}

export async function apply(p: Plan, o: Observed, d: ApplyDeps): Promise<ApplyResult> {
  const progress: Progress = { changes: [] };
  try {
    return await applySteps(p, o, d, progress);
  } catch (err) {
    throw explainFailure(err, progress);
  }
}

/** What a run has changed so far, so that any failure can say where it left both servers. */
interface Progress {
  changes: string[];
  result?: ApplyResult;
  /** A secret POST's answer was lost and not settled (`value`: the secret, when chosen here). */
  lostSecret?: { value?: string };
}

async function applySteps(p: Plan, o: Observed, d: ApplyDeps, progress: Progress): Promise<ApplyResult> {
  const { pocketId, harbor, settings: s, secrets, log } = d;
  const sleep = d.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));

  for (const id of p.secret.revokeFirst) {
    await pocketId.deleteSecret(requireId(p.client.id), id);
    log(`Revoked expired secret ${id} to make room under Pocket ID's cap of 20.`);
    progress.changes.push(`revoked expired secret ${id}`);
  }

  // --- Groups (before the client: its allowed groups need their IDs) ----------------------
  const groupIds = new Map<string, string>();
  for (const [name, group] of Object.entries(o.groups)) if (group) groupIds.set(name, group.id);
  for (const name of p.groups.create) {
    const group = await createGroup(pocketId, name, log);
    groupIds.set(name, group.id);
    progress.changes.push(`created Pocket ID group ${name}`);
  }

  // --- Client and its allowed groups ------------------------------------------------------
  // Order decides who can sign in meanwhile. On a client in use the groups go in first (Pocket
  // ID ignores them while isGroupRestricted is off), then the client PUT turns the flag on; a
  // new client is not in use yet, so its groups follow its creation.
  const setGroups = async (clientId: string) => {
    const ids = p.groups.allowed.map((name) => {
      const id = groupIds.get(name);
      if (!id) throw new Error(`no ID for group ${name} after the group step`);
      return id;
    });
    await pocketId.setAllowedGroups(clientId, ids);
    log(`Pocket ID client ${clientId}: allowed user groups set to ${p.groups.allowed.length ? p.groups.allowed.join(", ") : "none"}.`);
    progress.changes.push(`set the allowed user groups of client ${clientId}`);
  };
  let client: OidcClient | undefined = p.client.current;
  const groupsFirst = p.groups.setAllowed && client !== undefined;
  if (groupsFirst && client) await setGroups(client.id);
  let clientCreated = false;
  if (p.client.action === "create") {
    client = await createClient(pocketId, s, p, log);
    clientCreated = true;
    log(`Created Pocket ID client "${client.name}" (${client.id}).`);
    progress.changes.push(`created Pocket ID client ${client.id}`);
  } else if (p.client.action === "update" && client) {
    client = await pocketId.updateClient(client, p.client.fields);
    log(`Updated Pocket ID client ${client.id}.`);
    progress.changes.push(`updated Pocket ID client ${client.id}`);
  }
  if (!client) throw new Error("no client after the client step");
  const clientId = client.id;
  const result: ApplyResult = { clientId, clientCreated, secretIssued: false, harborChanged: false, revoked: 0 };
  progress.result = result;
  if (p.groups.setAllowed && !groupsFirst) await setGroups(clientId);

  // --- Logo ---------------------------------------------------------------------------------
  if (p.uploadLogo && s.logo) {
    await pocketId.uploadLogo(clientId, s.logo.ext, s.logo.bytes);
    log(`Pocket ID client ${clientId}: uploaded the logo ${s.logo.fileName}.`);
    progress.changes.push(`uploaded the logo of client ${clientId}`);
  }

  // --- Secret -----------------------------------------------------------------------------
  let issuedId: string | undefined;
  const needsPocketSecret = p.secret.kind === "issue" || (p.secret.kind === "given" && p.secret.setInPocketId);
  if (p.secret.kind === "given") result.secret = s.clientSecret;
  if (needsPocketSecret) {
    const wanted = p.secret.kind === "given" ? s.clientSecret : pocketId.settableSecrets ? generateSecret() : undefined;
    secrets.add(wanted);
    const issued = await issueSecret(pocketId, clientId, wanted, p, log, progress);
    secrets.add(issued.secret);
    issuedId = issued.id;
    result.secret = issued.secret;
    result.secretIssued = true;
    progress.changes.push("issued a client secret");
    log(`Issued a client secret in Pocket ID${pocketId.multipleSecrets ? " (added beside the existing ones)" : " (it replaces the previous one)"}.`);
  }

  // --- Harbor -----------------------------------------------------------------------------
  const values: Record<string, unknown> = { ...p.harborValues };
  if (values.oidc_client_id === undefined && o.harborConfig.oidc_client_id?.value !== clientId) values.oidc_client_id = clientId;
  const visibleKeys = Object.keys(values);
  if (result.secret && p.secret.kind !== "keep") values.oidc_client_secret = result.secret;
  if (Object.keys(values).length > 0) {
    try {
      await harbor.updateConfigurations(values);
    } catch (err) {
      const wentThrough = await putWentThrough(err, harbor, values, visibleKeys).catch((unknown: Error) => unknown);
      if (wentThrough !== true) {
        const cause = wentThrough instanceof Error ? wentThrough : err;
        throw await harborWriteFailed(cause, { pocketId, clientId, issuedId, result, s, log });
      }
      log("Harbor's answer to the PUT was lost, but its configuration shows the new values: it went through.");
    }
    result.harborChanged = visibleKeys.length > 0;
    progress.changes.push("updated Harbor's configuration");
    log(`Harbor: updated ${[...visibleKeys, ...(values.oidc_client_secret ? ["oidc_client_secret"] : [])].join(", ")}.`);
  }

  // --- Read-back, proof and the list of what to revoke (independent: in parallel) ---------
  const [, probe, revocable] = await Promise.all([
    visibleKeys.length > 0 ? readBack(harbor, values, visibleKeys, d.readBackWindowMs, sleep, result) : undefined,
    result.secret ? proveSecret(pocketId, clientId, result.secret, p) : undefined,
    issuedId
      ? revocableSecrets(pocketId, p, o, clientId, clientCreated).catch((err: Error) => {
          d.warn(`Could not list the secrets of client ${clientId} to revoke old ones: ${err.message}. Check them in Pocket ID.`);
          return [];
        })
      : [],
  ]);
  if (result.secret) {
    if (probe && probe.result !== "accepted") {
      throw new RecoveryError(
        `Pocket ID ${probe.result === "rejected" ? "rejects" : "gave no clear answer about"} the client secret Harbor now holds (token-endpoint probe of client ${clientId}${probe.why}). Run the action again with rotate-secret: true to issue and hand over a new one.`,
        result,
      );
    }
    log("Pocket ID accepts the secret Harbor holds (token-endpoint probe).");
    // Only now, with ours proven, do older secrets go.
    for (const id of revocable.filter((x) => x !== issuedId)) {
      try {
        await pocketId.deleteSecret(clientId, id);
        result.revoked++;
      } catch (err) {
        d.warn(`Could not revoke old secret ${id} of client ${clientId}: ${(err as Error).message}. Delete it in Pocket ID.`);
      }
    }
    if (result.revoked) log(`Revoked ${result.revoked} older secret(s) of client ${clientId}.`);
  }
  return result;
}

/**
 * A failure the steps did not explain themselves (a server error, a lost answer): say what this run
 * had changed. A rerun reads both servers afresh and goes on from there; only a secret that Harbor
 * may hold and nobody else knows must reach the user, so then it goes out in the masked output.
 */
function explainFailure(err: unknown, { changes, result, lostSecret }: Progress): unknown {
  if (err instanceof ActionError || !(err instanceof Error)) return err;
  const maybe = err instanceof HttpError && err.ambiguous && err.method !== "GET" ? " (the failed request itself may have been carried out)" : "";
  const state =
    changes.length > 0 ? `Before the failure this run had ${changes.join(", ")}${maybe}.` : `Before the failure this run had changed nothing${maybe}.`;
  const recovery = `Recovery: run the action again with client-secret set to that output (\${{ steps.<this step's id>.outputs.client-secret }}).`;
  if (result?.secretIssued) {
    return new RecoveryError(`${err.message}\n${state} The new client secret is in this step's masked output client-secret. ${recovery}`, result);
  }
  // The secret POST may have gone through: the old secret may be gone (before 2.14), and Harbor
  // does not have the new one. A chosen value can still be handed out; a random one is lost.
  if (lostSecret?.value && result) {
    return new RecoveryError(
      `${err.message}\nWhether Pocket ID stored the new client secret is unknown (its answer was lost), and Harbor was not given it. The secret is in this step's masked output client-secret. ${recovery}`,
      { ...result, secret: lostSecret.value },
    );
  }
  if (lostSecret) {
    return new ActionError(
      "Apply failed",
      `${err.message}\nPocket ID may have replaced the client secret with one nobody knows (its answer was lost), so the secret Harbor holds may no longer work. Recovery: run the action again with rotate-secret: true.`,
    );
  }
  return new ActionError(
    "Apply failed",
    `${err.message}\n${state} Run the action again once the cause is fixed: it reads both servers afresh and goes on from what it finds.`,
  );
}

/**
 * Secrets to revoke once ours is proven: the older ones after a rotation (as found in
 * preflight, less those already revoked for room); on a client created in this run, any secret
 * we did not issue (newer Pocket IDs make one with the client, and nobody knows it).
 */
async function revocableSecrets(pocketId: PocketIdApi, p: Plan, o: Observed, clientId: string, clientCreated: boolean): Promise<string[]> {
  if (!pocketId.multipleSecrets) return [];
  if (clientCreated) return (await pocketId.listSecrets(clientId)).map((x) => x.id);
  if (p.secret.kind === "issue" && p.secret.revokeOlder) return (o.secrets ?? []).map((x) => x.id).filter((id) => !p.secret.revokeFirst.includes(id));
  return [];
}

/** The final proof: Pocket ID accepts the secret Harbor was given (why not, when it is unclear). */
async function proveSecret(pocketId: PocketIdApi, clientId: string, secret: string, p: Plan): Promise<{ result: ProbeResult; why: string }> {
  let why = "";
  const result = await pocketId.probeSecret(clientId, secret, p.client.fields.callbackURLs[0] ?? "", (w) => {
    why = `: ${w}`;
  });
  return { result, why };
}

function requireId(id: string | undefined): string {
  if (!id) throw new Error("client ID unknown");
  return id;
}

/** POST the client; after a lost answer, look for it before deciding anything. */
async function createClient(pocketId: PocketIdApi, s: Settings, p: Plan, log: (m: string) => void, attempt = 1): Promise<OidcClient> {
  const find = async () =>
    s.clientId ? [await pocketId.getClient(s.clientId)].filter((c) => c !== undefined) : await pocketId.findClientsByName(s.clientName);
  let created: OidcClient;
  try {
    created = await pocketId.createClient(p.client.fields, s.clientId);
  } catch (err) {
    const conflict = err instanceof HttpError && (err.status === 409 || (err.status === 400 && /already in use/i.test(err.serverMessage ?? "")));
    if (!(err instanceof HttpError) || !(err.ambiguous || conflict)) throw err;
    // The create may have gone through (lost answer) or someone made it meanwhile: read back.
    const found = await find();
    if (found.length !== 1 || !found[0]) {
      if (found.length > 1)
        throw new ActionError(
          "Client create",
          `After a lost answer Pocket ID has ${found.length} clients named "${s.clientName}"; set client-id to the one to keep and delete the others.`,
        );
      // Read back and not there: the create did not go through. With a fixed ID one more POST
      // cannot make a duplicate (Pocket ID refuses a taken ID); by name it could, so stop there.
      if (s.clientId && err.ambiguous && attempt === 1) {
        log("The create's answer was lost and the client is not there; creating it once more (a fixed ID cannot be taken twice).");
        return createClient(pocketId, s, p, log, 2);
      }
      throw new ActionError(
        "Client create",
        `${err.message}\nPocket ID has no such client, so nothing was changed. Run the action again once the cause is fixed.`,
      );
    }
    log(`The create's answer was lost, but the client exists (${found[0].id}); going on with it.`);
    created = found[0];
  }
  if (s.clientId && created.id !== s.clientId) {
    throw new ActionError(
      "Client create",
      `Pocket ID created the client with ID ${created.id} instead of client-id ${s.clientId}: this Pocket ID is too old for fixed client IDs (needs 1.8 or later).`,
    );
  }
  return created;
}

/**
 * Creates a group. "Already in use" (409; 400 before Pocket ID 2.13) or a lost answer means it
 * may exist now (made meanwhile, or by our own request): the name is unique, so read it back.
 */
async function createGroup(pocketId: PocketIdApi, name: string, log: (m: string) => void): Promise<UserGroup> {
  try {
    const group = await pocketId.createGroup(name);
    log(`Created Pocket ID group "${name}".`);
    return group;
  } catch (err) {
    const inUse = err instanceof HttpError && (err.status === 409 || (err.status === 400 && /already in use/i.test(err.serverMessage ?? "")));
    if (!(err instanceof HttpError) || !(inUse || err.ambiguous)) throw err;
    const found = await pocketId.findGroup(name);
    if (!found) throw err;
    log(`Pocket ID group "${name}" exists now (${inUse ? "the create answered that the name is in use" : "the create's answer was lost"}); going on with it.`);
    return found;
  }
}

/**
 * Issues a secret. With a chosen value a lost answer is settled by probing that value: accepted
 * means the POST went through; rejected means it did not, and one more POST is safe. Without one
 * (Pocket ID < 2.12) the POST replaces the only secret, so repeating it leaves exactly one, ours.
 */
async function issueSecret(
  pocketId: PocketIdApi,
  clientId: string,
  wanted: string | undefined,
  p: Plan,
  log: (m: string) => void,
  progress: Progress,
): Promise<{ secret: string; id?: string }> {
  try {
    return await pocketId.createSecret(clientId, wanted);
  } catch (err) {
    if (!(err instanceof HttpError) || !err.ambiguous) throw err;
    progress.lostSecret = { value: wanted };
    if (wanted) {
      const probe = await pocketId.probeSecret(clientId, wanted, p.client.fields.callbackURLs[0] ?? "");
      if (probe === "accepted") {
        log("The secret POST's answer was lost, but Pocket ID accepts the secret: it was stored.");
        const id = pocketId.multipleSecrets ? (await pocketId.listSecrets(clientId)).filter((x) => x.prefix === wanted.slice(0, 4)).at(-1)?.id : undefined;
        return { secret: wanted, id };
      }
      if (probe === "unknown") throw err;
      progress.lostSecret = undefined; // settled: not stored
    }
    log(`The secret POST's answer was lost${wanted ? " and the secret was not stored" : ""}; issuing it once more.`);
    return await pocketId.createSecret(clientId, wanted).catch((again: unknown) => {
      if (again instanceof HttpError && again.ambiguous) progress.lostSecret = { value: wanted };
      throw again;
    });
  }
}

/**
 * After a lost answer the PUT may have been applied (Harbor applies it whole or not at all).
 * Visible keys tell; with only the secret in the body nothing can, and the answer is "unknown",
 * which is not "no": the caller must then not revoke the secret Harbor may hold.
 */
async function putWentThrough(err: unknown, harbor: HarborApi, sent: Record<string, unknown>, keys: string[]): Promise<boolean> {
  if (!(err instanceof HttpError) || !err.ambiguous) return false;
  if (keys.length === 0) throw new AmbiguousHarborWrite(err.message);
  const config = await harbor.configurations().catch(() => undefined);
  if (!config) throw new AmbiguousHarborWrite(err.message);
  return keys.every((k) => config[k]?.value === sent[k]);
}

/** Harbor's answer was lost and nothing visible tells whether it took the secret. */
class AmbiguousHarborWrite extends Error {
  constructor(why: string) {
    super(`${why}\nWhether Harbor stored the new secret cannot be seen (Harbor never shows it).`);
  }
}

/** Harbor refused the write after a secret was issued: undo it, or hand it out with the way back. */
async function harborWriteFailed(
  err: unknown,
  c: { pocketId: PocketIdApi; clientId: string; issuedId?: string; result: ApplyResult; s: Settings; log: (m: string) => void },
): Promise<Error> {
  const why = err instanceof Error ? err.message : String(err);
  if (!c.result.secretIssued) return err instanceof Error ? err : new Error(why);
  if (c.issuedId && c.pocketId.multipleSecrets && !(err instanceof AmbiguousHarborWrite)) {
    try {
      await c.pocketId.deleteSecret(c.clientId, c.issuedId);
      c.log("Revoked the secret issued in this run, since Harbor did not take it: Pocket ID is as before.");
      c.result.secret = c.s.clientSecret;
      c.result.secretIssued = false;
      return new ActionError(
        "Harbor update failed",
        `${why}\nThe secret issued for Harbor was revoked again, so Pocket ID's secrets are as before; run again once Harbor accepts changes.`,
      );
    } catch {
      // Fall through: the new secret stays valid and must be handed out.
    }
  }
  return new RecoveryError(
    `${why}\nHarbor did not take the new client secret, and Pocket ID ${c.pocketId.multipleSecrets ? "still holds it" : `now accepts only it${c.result.clientCreated ? "" : " (the old one was replaced)"}`}. The secret is in this step's masked output client-secret. Recovery: run the action again with client-secret set to that output (\${{ steps.<this step's id>.outputs.client-secret }}), or with rotate-secret: true.`,
    c.result,
  );
}

/** Harbor answers 200 to keys it drops, and its cache may serve old values for a moment. */
async function readBack(
  harbor: HarborApi,
  sent: Record<string, unknown>,
  keys: string[],
  windowMs: number,
  sleep: (ms: number) => Promise<void>,
  result: ApplyResult,
): Promise<void> {
  const until = Date.now() + windowMs;
  let delay = 250;
  for (;;) {
    const config = await harbor.configurations();
    const wrong = keys.filter((k) => config[k]?.value !== sent[k]);
    if (wrong.length === 0) return;
    if (Date.now() + delay > until) {
      const detail = wrong
        .map((k) => `${k} (sent ${JSON.stringify(sent[k])}, Harbor has ${config[k] ? JSON.stringify(config[k].value) : "no such key"})`)
        .join("; ");
      throw new RecoveryError(
        `Harbor answered 200 but did not keep: ${detail}. Harbor drops keys it does not know (an older version) and CONFIG_OVERWRITE_JSON re-applies its own values; check Harbor's version and core's environment.`,
        result,
      );
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 4000);
  }
}
