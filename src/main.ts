// run(): inputs → observe → plan → apply (mode apply) → report. The one place that turns an
// error into a failed step.
import * as core from "@actions/core";
import { type ApplyResult, apply, RecoveryError } from "./apply.js";
import { type DriftIssueResult, syncDriftIssue, type Verdict } from "./drift-issue.js";
import { ActionError, PreflightError } from "./errors.js";
import { HarborApi } from "./harbor.js";
import { createTransport, HttpClient, type Transport } from "./http.js";
import { InputError, isLoopback, type Mode, readSettings, SECRET_INPUTS, type Settings } from "./inputs.js";
import { type Observed, observe } from "./observe.js";
import { harborVersion, type Plan, plan } from "./plan.js";
import { PocketIdApi } from "./pocket-id.js";
import { type Check, changeLine, logChanges, publicChanges, type RunReport, setOutputs, writeFailureSummary, writeSummary } from "./report.js";
import { SecretRegistry } from "./secrets.js";

export async function run(): Promise<void> {
  const secrets = new SecretRegistry((v) => core.setSecret(v));
  // Mask secret inputs before anything else can print them.
  for (const name of SECRET_INPUTS) secrets.add(core.getInput(name));
  let report: RunReport | undefined;
  let settings: Settings | undefined;
  let mode: Mode | undefined;
  let transport: Transport | undefined;
  try {
    const s = readSettings((name) => core.getInput(name));
    settings = s;
    mode = s.mode;
    const basic = Buffer.from(`${s.harborUsername}:${s.harborPassword}`).toString("base64");
    secrets.add(basic);
    maskProxyPasswords(secrets);
    for (const url of [s.pocketIdUrl, s.harborUrl]) {
      if (url.startsWith("http://") && !isLoopback(url))
        core.warning(`${url} uses plain http (allow-insecure-http: true): credentials travel unencrypted.`, { title: "Insecure connection" });
    }
    transport = createTransport({
      ca: s.caCertificate,
      timeoutMs: s.requestTimeoutMs,
      deadline: Date.now() + 10 * s.requestTimeoutMs + 60_000,
      debug: (m) => core.debug(secrets.scrub(m)),
    });
    const client = (server: string, baseUrl: string, authHeaders: Record<string, string>) =>
      new HttpClient({
        server,
        baseUrl,
        authHeaders,
        transport: transport as Transport,
        scrub: (t) => secrets.scrub(t),
        debug: (m) => core.debug(secrets.scrub(m)),
      });
    const pocketId = new PocketIdApi(client("Pocket ID", s.pocketIdUrl, { "x-api-key": s.pocketIdApiKey }));
    const harbor = new HarborApi(client("Harbor", s.harborUrl, { authorization: `Basic ${basic}` }));

    const observed = await core.group("Preflight: reading Pocket ID and Harbor", () => observe({ pocketId, harbor, settings: s }));
    const p = plan(s, observed);
    report = baseReport(s, observed, p);
    for (const w of p.warnings) core.warning(w, { title: "pocket-id-harbor-oidc" });
    for (const n of p.notices) core.notice(n, { title: "pocket-id-harbor-oidc" });
    core.startGroup(s.mode === "apply" ? "Plan" : "Differences found");
    logChanges(s.mode === "apply" ? "Plan" : "Differences found", publicChanges(p.changes));
    core.endGroup();
    if (s.mode === "apply") {
      if (p.problems.length > 0) throw new PreflightError(p.problems);
      const result = await core.group("Apply", () =>
        apply(p, observed, {
          pocketId,
          harbor,
          settings: s,
          secrets,
          log: (m) => core.info(secrets.scrub(m)),
          warn: (m) => core.warning(secrets.scrub(m)),
          readBackWindowMs: Math.min(30_000, 3 * s.requestTimeoutMs),
        }),
      );
      Object.assign(report, applied(report, result));
      report.headline = p.changes.length === 0 ? "nothing to change" : `${p.changes.length} change(s) applied`;
    } else if (s.mode === "plan") {
      // A plan succeeds: it reports what apply would do, and what would stop it.
      for (const problem of p.problems) core.warning(problem, { title: "apply would stop here" });
      report.warnings = [...p.problems.map((x) => `apply would stop: ${x}`), ...report.warnings];
      report.headline = `${p.changes.length === 0 ? "nothing to change" : `${p.changes.length} change(s) to make`}${p.problems.length ? `; apply would stop on ${p.problems.length} problem(s)` : ""}`;
    } else {
      // verify: every problem, difference and failed check, one line each.
      const failures = [...p.problems, ...verifyFailures(p, report.checks)];
      report.headline = p.changes.length === 0 ? "in sync" : `${p.changes.length} difference(s) found`;
      if (failures.length > 0) throw new ActionError("Verification failed", `Verification failed:\n${failures.map((f) => `- ${f}`).join("\n")}`);
      if (s.driftIssue) withIssue(report, await driftIssue(s, { ok: true }, secrets));
    }
    setOutputs(report);
    await writeSummary(report, (t) => secrets.scrub(t));
  } catch (err) {
    const message = secrets.scrub(errorMessage(err));
    if (err instanceof RecoveryError && report) Object.assign(report, applied(report, err.result, false));
    // Any failure of verify after the inputs were read (drift, a failed check, a server that
    // cannot be read) is what the issue is for.
    const issue = settings?.mode === "verify" && settings.driftIssue ? await driftIssue(settings, { ok: false, findings: message }, secrets) : undefined;
    if (report) {
      if (issue) withIssue(report, issue);
      report.outcome = "failed";
      report.headline = message.split("\n")[0] ?? "failed";
      setOutputs(report);
      await writeSummary(report, (t) => secrets.scrub(t)).catch(() => undefined);
    } else {
      if (issue?.driftIssue) core.setOutput("drift-issue", issue.driftIssue.url);
      await writeFailureSummary(mode, message, issue ? driftIssueLines(issue) : []).catch(() => undefined);
    }
    core.error(message, { title: err instanceof ActionError ? err.title : err instanceof InputError ? "Invalid input" : "pocket-id-harbor-oidc failed" });
    process.exitCode = core.ExitCode.Failure;
  } finally {
    await transport?.close().catch(() => undefined);
  }
}

/** verify with drift-issue: bring the repository's issue in line with the verdict. Never throws. */
async function driftIssue(s: Settings, verdict: Verdict, secrets: SecretRegistry): Promise<Pick<RunReport, "driftIssue" | "warnings">> {
  const warnings: string[] = [];
  const result: DriftIssueResult = await core.group("Drift issue", () =>
    syncDriftIssue(verdict, {
      token: s.githubToken ?? "",
      label: s.driftIssueLabel,
      timeoutMs: s.requestTimeoutMs,
      env: process.env,
      scrub: (t) => secrets.scrub(t),
      log: (m) => core.info(secrets.scrub(m)),
      warn: (m) => {
        warnings.push(m);
        core.warning(m, { title: "Drift issue" });
      },
      debug: (m) => core.debug(secrets.scrub(m)),
    }),
  );
  return { driftIssue: result.url ? { url: result.url, action: result.action } : undefined, warnings };
}

function withIssue(report: RunReport, issue: Pick<RunReport, "driftIssue" | "warnings">): void {
  report.driftIssue = issue.driftIssue;
  report.warnings = [...report.warnings, ...issue.warnings];
}

function driftIssueLines(r: Pick<RunReport, "driftIssue" | "warnings">): string[] {
  return [...(r.driftIssue ? [`- Drift issue: ${r.driftIssue.url} (${r.driftIssue.action})`] : []), ...r.warnings.map((w) => `- ⚠️ ${w}`)];
}

/** A proxy URL may carry a password (http://user:pass@proxy): mask it like any other secret. */
function maskProxyPasswords(secrets: SecretRegistry): void {
  for (const name of ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"]) {
    try {
      const password = new URL(process.env[name] ?? "").password;
      secrets.add(password);
      secrets.add(decodeURIComponent(password));
    } catch {
      // Not a URL: nothing to mask; undici reports the bad proxy setting itself.
    }
  }
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

function baseReport(s: Settings, o: Observed, p: Plan): RunReport {
  const checks: Check[] = [
    { name: "Pocket ID API key (admin)", result: "passed" },
    { name: `Harbor credentials (${s.harborUsername}, system admin)`, result: "passed" },
    { name: "Discovery from the runner", result: "passed", detail: p.issuer },
    s.testOidc && o.ping
      ? {
          name: "Harbor's Test OIDC server",
          result: o.ping.ok ? "passed" : "failed",
          detail: o.ping.ok
            ? p.issuer
            : `${o.ping.message ?? "failed"}; the runner could fetch discovery, so Harbor cannot reach Pocket ID or does not trust its certificate`,
        }
      : { name: "Harbor's Test OIDC server", result: "skipped", detail: "test-oidc: false" },
  ];
  if (s.clientSecret && o.givenSecretProbe) {
    checks.push({
      name: "Pocket ID accepts client-secret",
      result: o.givenSecretProbe === "accepted" ? "passed" : "failed",
      detail: o.givenSecretProbe === "unknown" ? "the token endpoint gave no clear answer" : undefined,
    });
  }
  return {
    mode: s.mode,
    outcome: "succeeded",
    headline: "",
    clientId: p.client.id,
    issuer: p.issuer,
    clientCreated: false,
    secretRotated: false,
    harborChanged: false,
    drift: p.drift,
    changes: p.changes,
    checks,
    warnings: p.warnings,
    versions: { pocketId: o.pocketIdVersion, harbor: harborVersion(o) },
  };
}

/** `proven`: false after a RecoveryError, where the final probe failed or never ran. */
function applied(r: RunReport, a: ApplyResult, proven = true): Partial<RunReport> {
  const checks = [...r.checks];
  if (a.secret)
    checks.push(
      proven
        ? { name: "Pocket ID accepts the secret Harbor holds", result: "passed" }
        : { name: "Pocket ID accepts the secret Harbor holds", result: "failed", detail: "not proven: see the error" },
    );
  return {
    clientId: a.clientId,
    clientSecret: a.secret,
    clientCreated: a.clientCreated,
    secretRotated: a.secretIssued,
    harborChanged: a.harborChanged,
    checks,
  };
}

/** In verify mode every difference and every failed check is a failure, one line each. */
function verifyFailures(p: Plan, checks: Check[]): string[] {
  return [
    ...p.changes.filter((c) => c.drift).map((c) => `drift: ${changeLine(c)}`),
    ...checks.filter((c) => c.result === "failed").map((c) => `check failed: ${c.name}${c.detail ? ` (${c.detail})` : ""}`),
  ];
}
