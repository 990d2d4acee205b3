// The end-to-end harness: runs dist/index.js as the runner does (sandbox/run-action.ts) and
// checks every run for leaks: no known secret may appear in stdout, stderr or the summary,
// except in the runner's own ::add-mask:: commands.
import { expect } from "vitest";
import type { HarborSim } from "../../sandbox/harbor.ts";
import type { PocketIdSim } from "../../sandbox/pocket-id.ts";
import { type ActionRun, runAction as run } from "../../sandbox/run-action.ts";

export type { ActionRun };

export interface RunOptions {
  env?: Record<string, string>;
  /** More secrets to look for in the output. */
  secrets?: string[];
  /** Servers whose secrets (stored client secrets, Harbor's secret) are looked for too. */
  pocketId?: PocketIdSim;
  harbor?: HarborSim;
  timeoutMs?: number;
}

/** Every secret in play, from the inputs, the outputs and both servers' state. */
export function knownSecrets(r: ActionRun, inputs: Record<string, string>, opts: RunOptions): Set<string> {
  const secrets = new Set<string>(opts.secrets ?? []);
  for (const name of ["pocket-id-api-key", "harbor-password", "client-secret", "github-token"]) if (inputs[name]) secrets.add(inputs[name]);
  if (inputs["harbor-password"]) secrets.add(Buffer.from(`${inputs["harbor-username"] || "admin"}:${inputs["harbor-password"]}`).toString("base64"));
  if (r.outputs["client-secret"]) secrets.add(r.outputs["client-secret"]);
  for (const c of opts.pocketId?.clients() ?? []) for (const s of c.secrets) secrets.add(s.value);
  const harborSecret = opts.harbor?.secret();
  if (harborSecret) secrets.add(harborSecret);
  return secrets;
}

export function assertNoLeak(r: ActionRun, inputs: Record<string, string>, opts: RunOptions): void {
  const visible = r.stdout
    .split("\n")
    .filter((l) => !l.startsWith("::add-mask::"))
    .join("\n");
  for (const secret of knownSecrets(r, inputs, opts)) {
    if (secret.length < 6) continue;
    expect(visible.includes(secret), "a secret appeared in stdout").toBe(false);
    expect(r.stderr.includes(secret), "a secret appeared in stderr").toBe(false);
    expect(r.summary.includes(secret), "a secret appeared in the job summary").toBe(false);
  }
  const secretOut = r.outputs["client-secret"];
  if (secretOut) expect(r.masked, "the client-secret output is masked").toContain(secretOut);
}

/** The four required inputs pointing at the two simulators (client-id and the rest are the caller's). */
export function connection(pocketId: { url: string }, harbor: { url: string }, apiKey: string, password: string): Record<string, string> {
  return { "pocket-id-url": pocketId.url, "pocket-id-api-key": apiKey, "harbor-url": harbor.url, "harbor-password": password };
}

export async function runAction(inputs: Record<string, string>, opts: RunOptions = {}): Promise<ActionRun> {
  const r = await run(inputs, opts);
  assertNoLeak(r, inputs, opts);
  return r;
}
