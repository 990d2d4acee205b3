// End to end: drift-issue (verify only). dist/index.js runs as the runner runs it, against the
// Pocket ID and Harbor simulators and a GitHub API simulator (sandbox/github.ts) reached through
// GITHUB_API_URL. One issue per repository follows the verdict: a failing verify opens it or
// comments on it, a clean one closes it; a failure of the GitHub API is a warning that never
// changes the verdict; and an ordinary run never loads the GitHub client's chunk.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { type GitHubOptions, type GitHubSim, startGitHub } from "../sandbox/github.ts";
import { type HarborSim, startHarbor } from "../sandbox/harbor.ts";
import { type PocketIdSim, startPocketId } from "../sandbox/pocket-id.ts";
import { type ActionRun, knownSecrets, type RunOptions, runAction } from "./helpers/action.ts";

const API_KEY = `pid-${randomBytes(12).toString("hex")}`;
const PASSWORD = `Harbor-${randomBytes(8).toString("hex")}`;
const TOKEN = `ghs_${randomBytes(18).toString("hex")}`;
const READ_ONLY_TOKEN = `ghs_${randomBytes(18).toString("hex")}`;
const DEFAULT_SCOPE = "openid,offline_access,email,profile,groups";
const LABEL = "pocket-id-harbor-oidc";
const TITLE = "Pocket ID ↔ Harbor OIDC: drift or failed check";
const SERVER = "https://github.example.com";
const DIST = resolve(import.meta.dirname, "../dist");

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function startGh(o: Partial<GitHubOptions> = {}): Promise<GitHubSim> {
  const gh = await startGitHub({ token: TOKEN, readOnlyToken: READ_ONLY_TOKEN, serverUrl: SERVER, ...o });
  closers.push(() => gh.close());
  return gh;
}

interface Env {
  pocketId: PocketIdSim;
  harbor: HarborSim;
  gh: GitHubSim;
  /** A verify run with drift-issue on; run ids count up from 1001. */
  verify(extra?: Record<string, string>, env?: Record<string, string>): Promise<ActionRun>;
  run(inputs: Record<string, string>, opts?: RunOptions): Promise<ActionRun>;
  /** Someone edits Harbor's scope by hand: verify finds one difference. */
  drift(scope?: string): Promise<void>;
  /** Harbor set back to what the inputs say. */
  repair(): Promise<void>;
}

let runId = 1000;

/** Pocket ID and Harbor set up by the action (client-id harbor); the GitHub simulator beside them. */
async function setup(gh: Partial<GitHubOptions> = {}): Promise<Env> {
  const pocketId = await startPocketId({ apiKey: API_KEY });
  closers.push(() => pocketId.close());
  const harbor = await startHarbor({ adminPassword: PASSWORD });
  closers.push(() => harbor.close());
  const github = await startGh(gh);
  const base = { "pocket-id-url": pocketId.url, "pocket-id-api-key": API_KEY, "harbor-url": harbor.url, "harbor-password": PASSWORD, "client-id": "harbor" };
  const first = await runAction(base, { pocketId, harbor });
  expect(first.code, why(first)).toBe(0);
  const run = (inputs: Record<string, string>, opts: RunOptions = {}) =>
    runAction(
      { ...base, ...inputs },
      {
        pocketId,
        harbor,
        ...opts,
        env: {
          GITHUB_API_URL: github.url,
          GITHUB_REPOSITORY: "acme/infra",
          GITHUB_SERVER_URL: SERVER,
          GITHUB_RUN_ID: String(++runId),
          GITHUB_RUN_ATTEMPT: "1",
          ...opts.env,
        },
      },
    );
  const setScope = async (scope: string) => {
    const put = await fetch(`${harbor.url}/api/v2.0/configurations`, {
      method: "PUT",
      headers: { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString("base64")}`, "content-type": "application/json" },
      body: JSON.stringify({ oidc_scope: scope }),
    });
    expect(put.status).toBe(200);
  };
  return {
    pocketId,
    harbor,
    gh: github,
    run,
    verify: (extra = {}, env = {}) => run({ mode: "verify", "drift-issue": "true", "github-token": TOKEN, ...extra }, { env }),
    drift: (scope = "openid,email") => setScope(scope),
    repair: () => setScope(DEFAULT_SCOPE),
  };
}

function why(r: ActionRun): string {
  return `exit ${r.code}\n${r.errors.join("\n")}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-1000)}`;
}

const runUrl = (id: number) => `${SERVER}/acme/infra/actions/runs/${id}`;

/** The ::warning annotations of a run, unescaped. */
function warnings(r: ActionRun): string[] {
  return [...r.stdout.matchAll(/^::warning[^:]*::(.*)$/gm)].map((m) => (m[1] as string).replace(/%0A/g, "\n").replace(/%0D/g, "\r").replace(/%25/g, "%"));
}

/** Every text the action wrote to GitHub must be free of every secret in play. */
function expectNoSecretInGitHub(gh: GitHubSim, r: ActionRun, inputs: Record<string, string>, env: Env): void {
  const texts = gh.issues().flatMap((i) => [i.title, i.body ?? "", ...i.comments.map((c) => c.body)]);
  const sent = gh.writes().map((q) => q.body);
  for (const secret of knownSecrets(r, inputs, { pocketId: env.pocketId, harbor: env.harbor, secrets: [TOKEN, READ_ONLY_TOKEN, API_KEY, PASSWORD] })) {
    if (secret.length < 6) continue;
    for (const t of [...texts, ...sent]) expect(t.includes(secret), "a secret reached GitHub").toBe(false);
  }
}

const DRIFT_LINE = (scope: string) => `- drift: harbor oidc_scope: ${scope} → ${DEFAULT_SCOPE}`;

describe("drift-issue: the issue follows the verdict", () => {
  it("drift: one issue opened with the label, the drift lines and the run link; the verdict is still a failure", async () => {
    const e = await setup();
    await e.drift();
    const before = { pocketId: e.pocketId.writes().length, harbor: e.harbor.writes().length };
    const r = await e.verify();
    expect(r.code, why(r)).not.toBe(0);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toContain(DRIFT_LINE("openid,email"));
    expect(warnings(r)).toEqual([]);

    const issues = e.gh.issues();
    expect(issues).toHaveLength(1);
    const issue = issues[0];
    if (!issue) throw new Error("no issue");
    expect(issue).toMatchObject({ title: TITLE, state: "open", labels: [LABEL] });
    expect(issue.body).toContain(DRIFT_LINE("openid,email"));
    expect(issue.body).toContain(`[run ${runId}](${runUrl(runId)})`);
    expect(issue.body).toContain("mode: apply");
    // The findings are quoted verbatim in a code block, never as markdown.
    expect(issue.body).toMatch(/```text\nVerification failed:\n- drift: harbor oidc_scope/);
    expect(r.outputs["drift-issue"]).toBe(`${SERVER}/acme/infra/issues/${issue.number}`);
    expect(r.summary).toContain(`- Drift issue: ${SERVER}/acme/infra/issues/${issue.number} (opened)`);
    expect(r.stdout).toContain("::group::Drift issue");
    // What the action sent: one list, one create, with the token as Octokit sends it.
    expect(e.gh.requests.map((q) => `${q.method} ${q.path}`)).toEqual(["GET /repos/acme/infra/issues", "POST /repos/acme/infra/issues"]);
    const list = new URLSearchParams(e.gh.requests[0]?.query);
    expect(Object.fromEntries(list)).toMatchObject({ state: "open", labels: LABEL, sort: "created", direction: "asc" });
    expect(e.gh.requests.every((q) => q.headers.authorization === `token ${TOKEN}`)).toBe(true);
    expect(e.gh.requests[0]?.headers["user-agent"]).toMatch(/^pocket-id-harbor-oidc /);
    // verify changes nothing on either server.
    expect({ pocketId: e.pocketId.writes().length, harbor: e.harbor.writes().length }).toEqual(before);
  });

  it("a second drifted run comments instead of opening another issue; changed findings update the body", async () => {
    const e = await setup();
    await e.drift();
    const first = await e.verify();
    expect(first.code).not.toBe(0);
    const issue = e.gh.issues()[0];
    if (!issue) throw new Error("no issue");

    // Same findings: a short "still failing" comment with the new run's link, nothing else.
    const second = await e.verify();
    expect(second.code, why(second)).not.toBe(0);
    expect(second.errors).toHaveLength(1);
    expect(e.gh.issues()).toHaveLength(1);
    expect(issue.comments.map((c) => c.body)).toEqual([`Still failing in [run ${runId}](${runUrl(runId)}), with the same findings.`]);
    expect(second.outputs["drift-issue"]).toBe(`${SERVER}/acme/infra/issues/${issue.number}`);
    expect(second.summary).toContain("(still failing)");
    const bodyBefore = issue.body;

    // Other findings: a comment with them, and the body's findings replaced.
    await e.drift("openid,profile");
    const third = await e.verify();
    expect(third.code).not.toBe(0);
    expect(e.gh.issues()).toHaveLength(1);
    expect(issue.comments).toHaveLength(2);
    expect(issue.comments[1]?.body).toContain(`New findings, from [run ${runId}](${runUrl(runId)})`);
    expect(issue.comments[1]?.body).toContain(DRIFT_LINE("openid,profile"));
    expect(issue.body).not.toBe(bodyBefore);
    expect(issue.body).toContain(DRIFT_LINE("openid,profile"));
    expect(issue.body).not.toContain(DRIFT_LINE("openid,email"));
    expect(issue.body).toContain(`[run ${runId}](${runUrl(runId)})`);
    expect(issue.state).toBe("open");
    expect(third.summary).toContain("(updated)");
  });

  it("a clean run comments on the issue and closes it, and succeeds", async () => {
    const e = await setup();
    await e.drift();
    expect((await e.verify()).code).not.toBe(0);
    await e.repair();
    const r = await e.verify();
    expect(r.code, why(r)).toBe(0);
    expect(r.errors).toEqual([]);
    const issue = e.gh.issues()[0];
    if (!issue) throw new Error("no issue");
    expect(issue).toMatchObject({ state: "closed", state_reason: "completed" });
    expect(issue.comments.map((c) => c.body)).toEqual([
      `Resolved: [run ${runId}](${runUrl(runId)}) found Pocket ID and Harbor in sync, and every check passed. Closing.`,
    ]);
    expect(r.outputs).toMatchObject({ drift: "false", "drift-issue": `${SERVER}/acme/infra/issues/${issue.number}` });
    expect(r.summary).toMatch(/^### pocket-id-harbor-oidc \(verify\): ✅ in sync/m);
    expect(r.summary).toContain("(closed)");

    // A later drift opens a new issue: the closed one is not reused.
    await e.drift();
    expect((await e.verify()).code).not.toBe(0);
    expect(e.gh.issues().map((i) => i.state)).toEqual(["closed", "open"]);
  });

  it("a clean run with no open issue: one read, no write at all", async () => {
    const e = await setup();
    // A closed issue with the label and an open one without it are left alone.
    e.gh.addIssue({ title: "old", labels: [LABEL], state: "closed" });
    e.gh.addIssue({ title: "unrelated", labels: ["bug"] });
    const r = await e.verify();
    expect(r.code, why(r)).toBe(0);
    expect(e.gh.writes()).toEqual([]);
    expect(e.gh.requests.map((q) => `${q.method} ${q.path}`)).toEqual(["GET /repos/acme/infra/issues"]);
    expect(r.outputs["drift-issue"]).toBe("");
    expect(r.stdout).toContain(`No open issue labelled "${LABEL}": nothing to close.`);
    expect(r.summary).not.toContain("Drift issue");
  });

  it("pull requests carrying the label are ignored; of several open issues the oldest is used, with a warning", async () => {
    const e = await setup();
    const pr = e.gh.addIssue({ title: "a pull request", labels: [LABEL], pullRequest: true });
    const oldest = e.gh.addIssue({ title: "first", labels: [LABEL], body: "opened by hand" });
    const newer = e.gh.addIssue({ title: "second", labels: [LABEL] });
    await e.drift();
    const r = await e.verify();
    expect(r.code).not.toBe(0);
    expect(e.gh.issues()).toHaveLength(3);
    expect(pr.comments).toEqual([]);
    expect(newer.comments).toEqual([]);
    expect(oldest.comments).toHaveLength(1);
    expect(oldest.comments[0]?.body).toContain(DRIFT_LINE("openid,email"));
    // A body without the action's section keeps its text; the findings are added below it.
    expect(oldest.body).toMatch(/^opened by hand\n\n<!-- pocket-id-harbor-oidc findings/);
    expect(warnings(r)).toEqual([
      `drift-issue: 2 open issues carry the label "${LABEL}" (#${oldest.number}, #${newer.number}); this run uses the oldest, #${oldest.number}. Close the others.`,
    ]);
    expect(r.outputs["drift-issue"]).toBe(`${SERVER}/acme/infra/issues/${oldest.number}`);
  });

  it("drift-issue-label: another label marks the issue", async () => {
    const e = await setup();
    e.gh.addIssue({ title: "tracked elsewhere", labels: [LABEL] });
    await e.drift();
    const r = await e.verify({ "drift-issue-label": "oidc drift" });
    expect(r.code).not.toBe(0);
    const mine = e.gh.issues().filter((i) => i.labels.includes("oidc drift"));
    expect(mine).toHaveLength(1);
    expect(e.gh.issues()[0]?.comments).toEqual([]);
    expect(new URLSearchParams(e.gh.requests[0]?.query).get("labels")).toBe("oidc drift");
  });

  it("a verify that cannot even read Harbor is a failed check too: the issue says why", async () => {
    const e = await setup();
    const r = await e.verify({ "harbor-password": "not-the-password-123" });
    expect(r.code).not.toBe(0);
    expect(r.errors[0]).toMatch(/Harbor rejected the credentials/);
    const issue = e.gh.issues()[0];
    expect(issue?.body).toMatch(/Harbor rejected the credentials of harbor-username "admin"/);
    expect(r.outputs["drift-issue"]).toBe(`${SERVER}/acme/infra/issues/${issue?.number}`);
    expect(r.summary).toContain(`- Drift issue: ${SERVER}/acme/infra/issues/${issue?.number} (opened)`);
  });
});

describe("drift-issue: the GitHub API failing never changes the verdict", () => {
  it("a bad token: a warning naming the call and what to do; drift still fails, a clean run still passes", async () => {
    const e = await setup();
    const bad = `ghs_${randomBytes(18).toString("hex")}`;
    await e.drift();
    const failing = await e.verify({ "github-token": bad });
    expect(failing.code).not.toBe(0);
    expect(failing.errors).toHaveLength(1);
    expect(failing.errors[0]).toMatch(/^Verification failed:\n- drift: harbor oidc_scope/);
    const [w] = warnings(failing);
    expect(warnings(failing)).toHaveLength(1);
    expect(w).toContain("GitHub API GET /repos/acme/infra/issues");
    expect(w).toContain("answered 401: Bad credentials");
    expect(w).toContain("github-token was rejected");
    expect(w).toContain("The verify result stands.");
    expect(failing.stdout).toMatch(/^::warning title=Drift issue::drift-issue: GitHub API GET/m);
    expect(failing.summary).toContain("⚠️ drift-issue: GitHub API GET /repos/acme/infra/issues");
    expect(e.gh.issues()).toEqual([]);
    expect(failing.outputs["drift-issue"]).toBe("");

    await e.repair();
    const clean = await e.verify({ "github-token": bad });
    expect(clean.code, why(clean)).toBe(0);
    expect(clean.errors).toEqual([]);
    expect(warnings(clean)).toHaveLength(1);
    expect(warnings(clean)[0]).toContain("answered 401");
  });

  it("a token without issues: write: 403 on the create, the warning says to grant issues: write", async () => {
    const e = await setup();
    await e.drift();
    const r = await e.verify({ "github-token": READ_ONLY_TOKEN });
    expect(r.code).not.toBe(0);
    expect(r.errors).toHaveLength(1);
    expect(warnings(r)).toEqual([expect.stringContaining("GitHub API POST /repos/acme/infra/issues")]);
    expect(warnings(r)[0]).toContain("answered 403: Resource not accessible by integration");
    expect(warnings(r)[0]).toContain("grant `permissions: issues: write` to the job");
    expect(e.gh.issues()).toEqual([]);
    // The read went through, the write was refused.
    expect(e.gh.requests.map((q) => `${q.method} ${q.path} ${q.status}`)).toEqual(["GET /repos/acme/infra/issues 200", "POST /repos/acme/infra/issues 403"]);
  });

  it("verify passes but the close fails: the comment stays, a warning, exit 0", async () => {
    const e = await setup();
    const issue = e.gh.addIssue({ title: TITLE, labels: [LABEL] });
    e.gh.fault({ method: "PATCH", path: `/repos/acme/infra/issues/${issue.number}`, kind: "status", status: 502, body: { message: "Server Error" } });
    const r = await e.verify();
    expect(r.code, why(r)).toBe(0);
    expect(r.errors).toEqual([]);
    expect(issue.state).toBe("open");
    expect(issue.comments).toHaveLength(1);
    expect(warnings(r)).toHaveLength(1);
    expect(warnings(r)[0]).toContain(`GitHub API PATCH /repos/acme/infra/issues/${issue.number} (close #${issue.number}) answered 502: Server Error`);
    expect(warnings(r)[0]).toContain(`The comment on ${SERVER}/acme/infra/issues/${issue.number} was posted.`);
    expect(r.outputs["drift-issue"]).toBe(`${SERVER}/acme/infra/issues/${issue.number}`);
    // The next clean run closes it.
    const again = await e.verify();
    expect(again.code).toBe(0);
    expect(issue.state).toBe("closed");
  });

  it("a GitHub API that never answers: bounded by request-timeout, the verdict stands", async () => {
    const e = await setup();
    e.gh.fault({ method: "GET", path: "/repos/acme/infra/issues", kind: "hang" });
    await e.drift();
    const started = Date.now();
    const r = await e.verify({ "request-timeout": "2" });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.code).not.toBe(0);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(/^Verification failed:/);
    expect(warnings(r)).toEqual([expect.stringMatching(/GitHub API GET \/repos\/acme\/infra\/issues .* got no answer: .*timeout/i)]);
  });

  it("labels the token may not set are dropped by GitHub: a warning, since later runs could not find the issue", async () => {
    const e = await setup({ dropLabels: true });
    await e.drift();
    const r = await e.verify();
    expect(r.code).not.toBe(0);
    expect(e.gh.issues()).toHaveLength(1);
    expect(e.gh.issues()[0]?.labels).toEqual([]);
    expect(warnings(r)).toEqual([expect.stringContaining(`without the label "${LABEL}"`)]);
  });

  it("outside GitHub Actions (no GITHUB_REPOSITORY): a warning, no request, the verdict stands", async () => {
    const e = await setup();
    await e.drift();
    const r = await e.verify({}, { GITHUB_REPOSITORY: "" });
    expect(r.code).not.toBe(0);
    expect(r.errors).toHaveLength(1);
    expect(warnings(r)).toEqual([expect.stringContaining("GITHUB_REPOSITORY")]);
    expect(e.gh.requests).toEqual([]);
  });
});

describe("drift-issue: inputs", () => {
  it("without github-token, or with another mode than verify: an input error before any request", async () => {
    const e = await setup();
    const before = { pocketId: e.pocketId.requests.length, harbor: e.harbor.requests.length };
    const cases: [Record<string, string>, RegExp][] = [
      [{ mode: "verify", "drift-issue": "true" }, /Input `github-token` is required with drift-issue: true/],
      [{ mode: "apply", "drift-issue": "true", "github-token": TOKEN }, /Input `drift-issue` works only with mode: verify \(got mode: apply\)/],
      [{ mode: "plan", "drift-issue": "true", "github-token": TOKEN }, /Input `drift-issue` works only with mode: verify \(got mode: plan\)/],
      [
        { mode: "verify", "drift-issue": "true", "github-token": TOKEN, "drift-issue-label": "a,b" },
        /Input `drift-issue-label` must be one label name, without a comma/,
      ],
      [
        { mode: "verify", "drift-issue": "true", "github-token": TOKEN, "drift-issue-label": "x".repeat(51) },
        /Input `drift-issue-label` must be at most 50 characters/,
      ],
    ];
    for (const [inputs, says] of cases) {
      const r = await e.run(inputs);
      expect(r.code, JSON.stringify(inputs)).not.toBe(0);
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]).toMatch(says);
      expect(r.stdout).toContain("::error title=Invalid input::");
      expect(r.outputs).toEqual({});
    }
    expect({ pocketId: e.pocketId.requests.length, harbor: e.harbor.requests.length }).toEqual(before);
    expect(e.gh.requests).toEqual([]);
  });
});

describe("drift-issue: the GitHub client is loaded only when used", () => {
  /** Runs with a module-load hook that records every file the process loads through the ESM loader. */
  async function traced(e: Env, inputs: Record<string, string>): Promise<{ run: ActionRun; loaded: string[] }> {
    const dir = mkdtempSync(join(tmpdir(), "phoidc-load-"));
    try {
      const log = join(dir, "loaded.txt");
      const hook = join(dir, "hook.mjs");
      writeFileSync(log, "");
      writeFileSync(
        hook,
        `import { registerHooks } from "node:module";
import { appendFileSync } from "node:fs";
registerHooks({ load(url, context, next) { appendFileSync(${JSON.stringify(log)}, url + "\\n"); return next(url, context); } });
`,
      );
      const run = await e.run(inputs, { env: { NODE_OPTIONS: `--import=${pathToFileURL(hook).href}` } });
      return { run, loaded: readFileSync(log, "utf8").split("\n").filter(Boolean) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const chunks = () => readdirSync(DIST).filter((f) => f.endsWith(".js") && f !== "index.js");

  it("dist/index.js holds no Octokit code; the chunk beside it does", () => {
    expect(chunks()).toHaveLength(1);
    const main = readFileSync(join(DIST, "index.js"), "utf8");
    const chunk = readFileSync(join(DIST, chunks()[0] as string), "utf8");
    for (const marker of ["@octokit/", "octokit-core.js", "paginateRest", "before-after-hook"]) {
      expect(main.includes(marker), `dist/index.js contains ${marker}`).toBe(false);
      expect(chunk.includes(marker), `the chunk contains ${marker}`).toBe(true);
    }
  });

  it("an ordinary apply never loads the chunk nor calls GitHub; a drift-issue verify does", async () => {
    const e = await setup();
    const [chunk] = chunks();
    const apply = await traced(e, { "github-token": TOKEN });
    expect(apply.run.code, why(apply.run)).toBe(0);
    expect(
      apply.loaded.some((u) => u.endsWith("/dist/index.js")),
      "the hook saw the bundle",
    ).toBe(true);
    expect(apply.loaded.filter((u) => u.endsWith(`/dist/${chunk}`))).toEqual([]);
    expect(e.gh.requests).toEqual([]);
    expect(apply.run.outputs["drift-issue"]).toBe("");

    const verify = await traced(e, { mode: "verify" });
    expect(verify.run.code).toBe(0);
    expect(verify.loaded.filter((u) => u.endsWith(`/dist/${chunk}`))).toEqual([]);

    await e.drift();
    const tracked = await traced(e, { mode: "verify", "drift-issue": "true", "github-token": TOKEN });
    expect(tracked.run.code).not.toBe(0);
    expect(tracked.loaded.filter((u) => u.endsWith(`/dist/${chunk}`))).toHaveLength(1);
    expect(e.gh.issues()).toHaveLength(1);
  });
});

describe("drift-issue: secrets", () => {
  it("no secret in the issue, its comments or what was sent, even when a check on a given secret fails", async () => {
    const e = await setup();
    // A given client secret Pocket ID does not accept: a failed check, and drift on Harbor's secret.
    const given = `given-${randomBytes(12).toString("hex")}`;
    const inputs = { mode: "verify", "drift-issue": "true", "github-token": TOKEN, "client-secret": given };
    const first = await e.run(inputs);
    expect(first.code).not.toBe(0);
    expect(first.errors[0]).toMatch(/Pocket ID accepts client-secret/);
    await e.drift();
    const second = await e.run(inputs);
    expect(second.code).not.toBe(0);
    const issue = e.gh.issues()[0];
    expect(issue?.body).toContain("Pocket ID accepts client-secret");
    expect(issue?.comments).toHaveLength(1);
    for (const r of [first, second]) expectNoSecretInGitHub(e.gh, r, { ...inputs, "pocket-id-api-key": API_KEY, "harbor-password": PASSWORD }, e);
    expect(JSON.stringify(e.gh.issues())).not.toContain(given);
    expect(JSON.stringify(e.gh.issues())).not.toContain(TOKEN);
  });
});
