// drift-issue (verify only): one issue in the repository follows the verdict. A failing run opens
// it, or comments on it; a clean run comments and closes it. The GitHub API client is loaded here,
// on demand, so an ordinary run never loads Octokit. This never throws: a failure of the GitHub
// API is a warning, and the verify verdict (the exit code) stays what verify found.
import { createHash } from "node:crypto";
import type { getOctokit } from "@actions/github";

export const ISSUE_TITLE = "Pocket ID ↔ Harbor OIDC: drift or failed check";
/** GitHub refuses an issue body or comment longer than this. */
const MAX_TEXT = 65_536;
/** The findings are cut well below it, leaving room for the text around them. */
const MAX_FINDINGS = 60_000;
/** The part of the issue body the action rewrites; text outside it (a human's notes) is kept. */
const SECTION = /<!-- pocket-id-harbor-oidc findings sha256=([0-9a-f]{64}) -->[\s\S]*?<!-- \/pocket-id-harbor-oidc findings -->/;

/** ok: verify passed. Otherwise the failure message (already scrubbed), shown verbatim. */
export type Verdict = { ok: true } | { ok: false; findings: string };

export interface DriftIssueOptions {
  token: string;
  label: string;
  timeoutMs: number;
  /** GITHUB_REPOSITORY, GITHUB_SERVER_URL, GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT (GITHUB_API_URL is read by @actions/github). */
  env: Record<string, string | undefined>;
  scrub: (text: string) => string;
  log: (message: string) => void;
  warn: (message: string) => void;
  debug: (message: string) => void;
}

export interface DriftIssueResult {
  /** The issue this run opened, commented on or closed; undefined when it touched none. */
  url?: string;
  /** commented: a comment was posted, but the call after it (close, body update) failed. */
  action: "opened" | "updated" | "still failing" | "closed" | "commented" | "none";
}

type Octokit = ReturnType<typeof getOctokit>;

interface Issue {
  number: number;
  html_url: string;
  body?: string | null;
  labels: (string | { name?: string })[];
  pull_request?: unknown;
}

/** A failed GitHub API call: which call, what GitHub said, and what to do. */
class GitHubCallError extends Error {
  constructor(call: string, what: string, err: unknown, repo: string) {
    const status = (err as { status?: number }).status;
    const data = (err as { response?: { data?: unknown } }).response?.data;
    const said =
      typeof data === "object" && data !== null && typeof (data as { message?: unknown }).message === "string"
        ? (data as { message: string }).message
        : err instanceof Error
          ? err.message
          : String(err);
    // Octokit turns a network failure into status 500 without a response: say it got no answer.
    const answered = status !== undefined && data !== undefined;
    super(
      `GitHub API ${call} (${what}) ${answered ? `answered ${status}: ${said}` : `got no answer: ${said}`}. ${hint(answered ? status : undefined, said, repo)}`,
    );
    this.name = "GitHubCallError";
  }
}

function hint(status: number | undefined, said: string, repo: string): string {
  if (status === 401) return `github-token was rejected (wrong or expired): pass \${{ github.token }} or a valid token.`;
  if (status === 403 && /rate limit/i.test(said)) return "The token hit GitHub's rate limit; a later run tries again.";
  if (status === 403)
    return "The token may not write issues: grant `permissions: issues: write` to the job (a fine-grained token needs Issues: read and write).";
  if (status === 404) return `Repository ${repo} is not visible to this token: use the token of this repository (\${{ github.token }}).`;
  if (status === 410) return `Issues are disabled in ${repo}: enable them, or set drift-issue: false.`;
  if (status === undefined) return "Check that the runner reaches GITHUB_API_URL; a later run tries again.";
  return "A later run tries again.";
}

function labelName(l: string | { name?: string }): string {
  return (typeof l === "string" ? l : (l.name ?? "")).toLowerCase();
}

function digest(findings: string): string {
  return createHash("sha256").update(findings).digest("hex");
}

/** The findings verbatim, in a fence longer than any backtick run in them (no markdown, no @mentions). */
function codeBlock(findings: string): string {
  const text = findings.length > MAX_FINDINGS ? `${findings.slice(0, MAX_FINDINGS)}\n… (cut: the run's log has the rest)` : findings;
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}text\n${text}\n${fence}`;
}

function section(findings: string, run: string): string {
  return [
    `<!-- pocket-id-harbor-oidc findings sha256=${digest(findings)} -->`,
    `Latest findings, from ${run}:`,
    "",
    codeBlock(findings),
    "<!-- /pocket-id-harbor-oidc findings -->",
  ].join("\n");
}

function issueBody(findings: string, run: string): string {
  return [
    "A verification of Pocket ID and Harbor (`mode: verify`) found drift or a failed check.",
    "",
    section(findings, run),
    "",
    "To resolve: run the action with `mode: apply` to restore what the workflow's inputs say (or change the inputs if the new state is wanted), and fix what a failed check names.",
    "Each failing `verify` run with `drift-issue: true` comments here; the first clean one closes this issue.",
  ].join("\n");
}

/** The run's page, when the run is on GitHub Actions. */
export function runLink(env: Record<string, string | undefined>): string | undefined {
  const { GITHUB_SERVER_URL: server = "https://github.com", GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: id, GITHUB_RUN_ATTEMPT: attempt } = env;
  if (!repo || !id) return undefined;
  return `${server.replace(/\/+$/, "")}/${repo}/actions/runs/${id}${attempt && attempt !== "1" ? `/attempts/${attempt}` : ""}`;
}

export async function syncDriftIssue(verdict: Verdict, opts: DriftIssueOptions): Promise<DriftIssueResult> {
  const warn = (m: string) => opts.warn(opts.scrub(m));
  const repoName = opts.env.GITHUB_REPOSITORY ?? "";
  const [owner, repo] = repoName.split("/");
  if (!owner || !repo || repoName.split("/").length !== 2) {
    warn(`drift-issue: GITHUB_REPOSITORY is "${repoName}", not owner/repo (is this a GitHub Actions runner?); no issue was opened or updated.`);
    return { action: "none" };
  }
  const link = runLink(opts.env);
  const run = link ? `[run ${opts.env.GITHUB_RUN_ID}](${link})` : "a run outside GitHub Actions";
  let octokit: Octokit;
  try {
    // Loaded here only: Octokit is a separate chunk of the bundle that ordinary runs never read.
    const github = await import(/* webpackChunkName: "github" */ "@actions/github");
    octokit = github.getOctokit(opts.token, {
      userAgent: "pocket-id-harbor-oidc",
      log: {
        debug: (m: string) => opts.debug(opts.scrub(m)),
        info: (m: string) => opts.debug(opts.scrub(m)),
        warn: (m: string) => opts.debug(opts.scrub(m)),
        error: (m: string) => opts.debug(opts.scrub(m)),
      },
    });
  } catch (err) {
    warn(`drift-issue: the GitHub API client could not be loaded (${err instanceof Error ? err.message : String(err)}); no issue was opened or updated.`);
    return { action: "none" };
  }

  // Every call: bounded by request-timeout, named in the warning when it fails. Never retried:
  // a write retried after a lost answer would duplicate the issue or the comment.
  const call = async <T>(route: string, what: string, send: (request: { signal: AbortSignal }) => Promise<{ data: T }>): Promise<T> => {
    opts.debug(`GitHub API: ${route}`);
    try {
      return (await send({ signal: AbortSignal.timeout(opts.timeoutMs) })).data;
    } catch (err) {
      throw new GitHubCallError(route, what, err, repoName);
    }
  };
  const text = (t: string) => opts.scrub(t).slice(0, MAX_TEXT);

  let touched: Issue | undefined;
  try {
    const listed = await call(`GET /repos/${repoName}/issues`, `find the open issue labelled "${opts.label}"`, (request) =>
      octokit.rest.issues.listForRepo({ owner, repo, state: "open", labels: opts.label, sort: "created", direction: "asc", per_page: 100, request }),
    );
    // The issues API lists pull requests too; a pull request carrying the label is not our issue.
    const open = (listed as Issue[]).filter((i) => !i.pull_request);
    const issue = open[0];
    if (issue && open.length > 1) {
      warn(
        `drift-issue: ${open.length} open issues carry the label "${opts.label}" (${open.map((i) => `#${i.number}`).join(", ")}); this run uses the oldest, #${issue.number}. Close the others.`,
      );
    }

    if (verdict.ok) {
      if (!issue) {
        opts.log(`No open issue labelled "${opts.label}": nothing to close.`);
        return { action: "none" };
      }
      const route = `/repos/${repoName}/issues/${issue.number}`;
      await call(`POST ${route}/comments`, `comment on #${issue.number}`, (request) =>
        octokit.rest.issues.createComment({
          owner,
          repo,
          issue_number: issue.number,
          body: text(`Resolved: ${run} found Pocket ID and Harbor in sync, and every check passed. Closing.`),
          request,
        }),
      );
      touched = issue;
      await call(`PATCH ${route}`, `close #${issue.number}`, (request) =>
        octokit.rest.issues.update({ owner, repo, issue_number: issue.number, state: "closed", state_reason: "completed", request }),
      );
      opts.log(`Closed ${issue.html_url}: verify passed.`);
      return { url: issue.html_url, action: "closed" };
    }

    const findings = verdict.findings;
    if (!issue) {
      // GitHub may refuse (403) a label that does not exist yet to a token without push access.
      const what = `open an issue labelled "${opts.label}"; if the token has issues: write, create that label in the repository first`;
      const created = await call(`POST /repos/${repoName}/issues`, what, (request) =>
        octokit.rest.issues.create({ owner, repo, title: ISSUE_TITLE, body: text(issueBody(findings, run)), labels: [opts.label], request }),
      );
      opts.log(`Opened ${created.html_url}.`);
      // GitHub silently drops labels the token may not set; then later runs cannot find the issue.
      if (!(created as Issue).labels.some((l) => labelName(l) === opts.label.toLowerCase())) {
        warn(
          `drift-issue: GitHub opened ${created.html_url} without the label "${opts.label}" (the token may not set or create labels), so later runs will not find it and open another one. Create the label in the repository and add it to the issue.`,
        );
      }
      return { url: created.html_url, action: "opened" };
    }

    const route = `/repos/${repoName}/issues/${issue.number}`;
    const last = issue.body?.match(SECTION)?.[1];
    if (last === digest(findings)) {
      await call(`POST ${route}/comments`, `comment on #${issue.number}`, (request) =>
        octokit.rest.issues.createComment({ owner, repo, issue_number: issue.number, body: text(`Still failing in ${run}, with the same findings.`), request }),
      );
      opts.log(`Commented on ${issue.html_url}: still failing, same findings.`);
      return { url: issue.html_url, action: "still failing" };
    }
    await call(`POST ${route}/comments`, `comment on #${issue.number}`, (request) =>
      octokit.rest.issues.createComment({
        owner,
        repo,
        issue_number: issue.number,
        body: text(`New findings, from ${run}:\n\n${codeBlock(findings)}`),
        request,
      }),
    );
    touched = issue;
    // The body keeps the latest findings (and their digest, for the next comparison).
    const body = issue.body ?? "";
    const next = SECTION.test(body) ? body.replace(SECTION, () => section(findings, run)) : `${body}\n\n${section(findings, run)}`;
    await call(`PATCH ${route}`, `update the findings in #${issue.number}`, (request) =>
      octokit.rest.issues.update({ owner, repo, issue_number: issue.number, body: text(next), request }),
    );
    opts.log(`Commented on ${issue.html_url} with the new findings.`);
    return { url: issue.html_url, action: "updated" };
  } catch (err) {
    const done = touched ? ` The comment on ${touched.html_url} was posted.` : "";
    warn(`drift-issue: ${err instanceof Error ? err.message : String(err)}${done} The verify result stands.`);
    return touched ? { url: touched.html_url, action: "commented" } : { action: "none" };
  }
}
