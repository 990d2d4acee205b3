// Everything the user sees besides error messages: step outputs, the plan in the log, and the
// job summary. Secrets never appear: changes carry "***" for them, and all text is scrubbed.
import * as core from "@actions/core";
import type { Mode } from "./inputs.js";
import type { Change, PlannedChange } from "./plan.js";

export interface Check {
  name: string;
  result: "passed" | "failed" | "skipped";
  detail?: string;
}

export interface RunReport {
  mode: Mode;
  outcome: "succeeded" | "failed";
  headline: string;
  clientId?: string;
  issuer?: string;
  clientSecret?: string;
  clientCreated: boolean;
  secretRotated: boolean;
  harborChanged: boolean;
  drift: boolean;
  changes: PlannedChange[];
  checks: Check[];
  warnings: string[];
  versions: { pocketId?: string; harbor?: string };
  /** verify with drift-issue: the issue this run opened, commented on or closed. */
  driftIssue?: { url: string; action: string };
}

export function publicChanges(changes: PlannedChange[]): Change[] {
  return changes.map(({ target, setting, from, to }) => ({ target, setting, from, to }));
}

const show = (v: unknown): string => (v === null || v === undefined || v === "" ? "(empty)" : typeof v === "string" ? v : JSON.stringify(v));

export function changeLine(c: Change): string {
  return `${c.target} ${c.setting}: ${show(c.from)} → ${show(c.to)}`;
}

/** Sets every output of the contract. The secret is masked by the caller when it became known. */
export function setOutputs(r: RunReport): void {
  core.setOutput("client-id", r.clientId ?? "");
  core.setOutput("client-secret", r.clientSecret ?? "");
  core.setOutput("issuer", r.issuer ?? "");
  core.setOutput("client-created", String(r.clientCreated));
  core.setOutput("secret-rotated", String(r.secretRotated));
  core.setOutput("harbor-changed", String(r.harborChanged));
  core.setOutput("drift", String(r.drift));
  core.setOutput("login-test", "skipped");
  core.setOutput("changes", JSON.stringify(publicChanges(r.changes)));
  core.setOutput("drift-issue", r.driftIssue?.url ?? "");
}

/** The plan as a table in the log: target, setting, from → to. */
export function logChanges(title: string, changes: Change[]): void {
  if (changes.length === 0) {
    core.info(`${title}: no changes.`);
    return;
  }
  const targetWidth = Math.max(6, ...changes.map((c) => c.target.length));
  const settingWidth = Math.max(7, ...changes.map((c) => c.setting.length));
  core.info(`${title}:`);
  core.info(`  ${"target".padEnd(targetWidth)}  ${"setting".padEnd(settingWidth)}  from → to`);
  for (const c of changes) core.info(`  ${c.target.padEnd(targetWidth)}  ${c.setting.padEnd(settingWidth)}  ${show(c.from)} → ${show(c.to)}`);
}

const cell = (v: string): string => v.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The job summary, where the runner provides one (skipped quietly elsewhere: act, old GHES). */
export async function writeSummary(r: RunReport, scrub: (s: string) => string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  const lines: string[] = [];
  lines.push(`### pocket-id-harbor-oidc (${r.mode}): ${r.outcome === "succeeded" ? "✅" : "❌"} ${r.headline}`, "");
  if (r.changes.length === 0) {
    lines.push("No changes: Pocket ID and Harbor match the inputs.", "");
  } else {
    lines.push(`| target | setting | from | to |`, `|---|---|---|---|`);
    for (const c of r.changes) lines.push(`| ${c.target} | ${cell(c.setting)} | ${cell(show(c.from))} | ${cell(show(c.to))} |`);
    lines.push("");
  }
  if (r.checks.length > 0) {
    lines.push("| check | result | detail |", "|---|---|---|");
    const icon = { passed: "✅ passed", failed: "❌ failed", skipped: "➖ skipped" };
    for (const c of r.checks) lines.push(`| ${cell(c.name)} | ${icon[c.result]} | ${cell(c.detail ?? "")} |`);
    lines.push("");
  }
  lines.push(
    `- Client ID: \`${r.clientId ?? "(none)"}\``,
    `- Issuer: \`${r.issuer ?? "(unknown)"}\``,
    `- Pocket ID: ${r.versions.pocketId ?? "unknown (before 2.3)"}; Harbor: ${r.versions.harbor ?? "unknown"}`,
  );
  if (r.driftIssue) lines.push(`- Drift issue: ${r.driftIssue.url} (${r.driftIssue.action})`);
  for (const w of r.warnings) lines.push(`- ⚠️ ${cell(w)}`);
  await core.summary.addRaw(scrub(`${lines.join("\n")}\n`)).write();
}

/** The summary of a run that failed before anything was known (inputs, credentials, reachability). */
export async function writeFailureSummary(mode: Mode | undefined, message: string, extra: string[] = []): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  const [first = "failed", ...rest] = message.split("\n");
  const lines = [`### pocket-id-harbor-oidc${mode ? ` (${mode})` : ""}: ❌ ${first}`, "", ...rest, ...(extra.length ? ["", ...extra] : [])];
  await core.summary.addRaw(`${lines.join("\n")}\n`).write();
}
