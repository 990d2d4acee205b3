// A simulator of the part of GitHub's REST API that drift-issue uses: list, create, comment on
// and update a repository's issues (docs.github.com/rest/issues, API version 2022-11-28). It
// stands for the real server, so it shares no code with src/; like the real API it wants a token
// (`Authorization: token|Bearer …`) and a User-Agent, lists pull requests among issues (with a
// `pull_request` key), and answers errors as `{"message": …, "documentation_url": …}`.
import type { RequestRecord, SimRequest, SimResponse, SimServer } from "./sim-kit.ts";
import { startServer } from "./sim-kit.ts";

export type { Fault, RequestRecord } from "./sim-kit.ts";

export interface GitHubOptions {
  /** A token with `issues: write` on the repository. */
  token: string;
  /** A token that may read the repository but not write issues: writes answer 403, as a job without `issues: write`. */
  readOnlyToken?: string;
  /** The one repository that exists ("owner/repo"); "acme/infra" by default. Others answer 404. */
  repository?: string;
  /** The web server in html_url links; "https://github.com" by default. */
  serverUrl?: string;
  /** Labels that exist already. An unknown label on a new issue is created, as for a token with push access. */
  labels?: string[];
  /** Labels on a new issue are silently dropped, as GitHub documents for a token without push access. */
  dropLabels?: boolean;
  /** Issues are turned off in the repository's settings: 410 on every issues route. */
  issuesDisabled?: boolean;
}

export interface GitHubComment {
  id: number;
  body: string;
  created_at: string;
}

/** A stored issue (live object). */
export interface GitHubIssue {
  number: number;
  title: string;
  body: string | null;
  state: "open" | "closed";
  state_reason: "completed" | "not_planned" | "reopened" | null;
  labels: string[];
  /** A pull request: listed by the issues API, with a `pull_request` key. */
  pullRequest: boolean;
  comments: GitHubComment[];
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

export interface GitHubSim extends SimServer {
  /** Requests that change state: every non-GET/HEAD request. */
  writes(): RequestRecord[];
  issues(): GitHubIssue[];
  issue(number: number): GitHubIssue | undefined;
  /** Seed an issue (or a pull request) as a person would have made it. */
  addIssue(partial: Partial<Omit<GitHubIssue, "number" | "comments">> & { title: string }): GitHubIssue;
  /** The labels that exist in the repository. */
  labels(): string[];
}

const DOCS = "https://docs.github.com/rest/issues/issues";
const MAX_TEXT = 65_536;
const MAX_LABEL = 50;

function error(status: number, message: string, extra: Record<string, unknown> = {}): SimResponse {
  return { status, body: { message, documentation_url: DOCS, status: String(status), ...extra } };
}

function validation(resource: string, field: string, code: string, message?: string): SimResponse {
  return error(422, "Validation Failed", { errors: [{ resource, field, code, ...(message ? { message } : {}) }] });
}

export async function startGitHub(opts: GitHubOptions): Promise<GitHubSim> {
  const repository = opts.repository ?? "acme/infra";
  const serverUrl = (opts.serverUrl ?? "https://github.com").replace(/\/+$/, "");
  const issues: GitHubIssue[] = [];
  const labels = new Map<string, string>((opts.labels ?? []).map((l) => [l.toLowerCase(), l]));
  let nextComment = 1;
  // A clock that moves one second per event, so created_at orders issues the way they were made.
  let tick = Date.UTC(2025, 0, 1);
  const now = () => {
    tick += 1000;
    return new Date(tick).toISOString().replace(/\.\d{3}Z$/, "Z");
  };
  let apiUrl = "";

  const labelJson = (name: string) => ({ id: [...labels.keys()].indexOf(name.toLowerCase()) + 1, name, color: "ededed", default: false, description: null });
  const issueJson = (i: GitHubIssue) => ({
    id: 1000 + i.number,
    number: i.number,
    title: i.title,
    body: i.body,
    state: i.state,
    state_reason: i.state_reason,
    labels: i.labels.map(labelJson),
    comments: i.comments.length,
    created_at: i.created_at,
    updated_at: i.updated_at,
    closed_at: i.closed_at,
    user: { login: "github-actions[bot]", type: "Bot" },
    url: `${apiUrl}/repos/${repository}/issues/${i.number}`,
    html_url: `${serverUrl}/${repository}/${i.pullRequest ? "pull" : "issues"}/${i.number}`,
    ...(i.pullRequest
      ? { pull_request: { url: `${apiUrl}/repos/${repository}/pulls/${i.number}`, html_url: `${serverUrl}/${repository}/pull/${i.number}` } }
      : {}),
  });
  const commentJson = (issue: GitHubIssue, c: GitHubComment) => ({
    id: c.id,
    body: c.body,
    created_at: c.created_at,
    updated_at: c.created_at,
    user: { login: "github-actions[bot]", type: "Bot" },
    html_url: `${serverUrl}/${repository}/issues/${issue.number}#issuecomment-${c.id}`,
    issue_url: `${apiUrl}/repos/${repository}/issues/${issue.number}`,
  });

  /** A label as the API takes it: a name, or an object with a name. */
  const labelName = (l: unknown): string | undefined =>
    typeof l === "string"
      ? l
      : typeof l === "object" && l !== null && typeof (l as { name?: unknown }).name === "string"
        ? (l as { name: string }).name
        : undefined;

  function addIssue(partial: Partial<Omit<GitHubIssue, "number" | "comments">> & { title: string }): GitHubIssue {
    const created = partial.created_at ?? now();
    for (const l of partial.labels ?? []) if (!labels.has(l.toLowerCase())) labels.set(l.toLowerCase(), l);
    const issue: GitHubIssue = {
      number: issues.length + 1,
      body: null,
      state: "open",
      state_reason: null,
      pullRequest: false,
      created_at: created,
      updated_at: created,
      closed_at: null,
      ...partial,
      labels: (partial.labels ?? []).map((l) => labels.get(l.toLowerCase()) ?? l),
      comments: [],
    };
    issues.push(issue);
    return issue;
  }

  function parse(req: SimRequest): { ok: true; value: Record<string, unknown> } | { ok: false; response: SimResponse } {
    try {
      const value = JSON.parse(req.body || "{}") as unknown;
      if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, response: error(400, "Problems parsing JSON") };
      return { ok: true, value: value as Record<string, unknown> };
    } catch {
      return { ok: false, response: error(400, "Problems parsing JSON") };
    }
  }

  function list(req: SimRequest): SimResponse {
    const q = req.query;
    const state = q.get("state") ?? "open";
    if (!["open", "closed", "all"].includes(state)) return validation("Issue", "state", "invalid");
    const sort = q.get("sort") ?? "created";
    if (!["created", "updated", "comments"].includes(sort)) return validation("Issue", "sort", "invalid");
    const direction = q.get("direction") ?? "desc";
    if (!["asc", "desc"].includes(direction)) return validation("Issue", "direction", "invalid");
    const perPage = Math.min(100, Math.max(1, Number(q.get("per_page") ?? 30) || 30));
    const page = Math.max(1, Number(q.get("page") ?? 1) || 1);
    // labels: a comma-separated list; an issue must carry every one of them (case-insensitive).
    const wanted = (q.get("labels") ?? "")
      .split(",")
      .map((l) => l.trim().toLowerCase())
      .filter(Boolean);
    const key = (i: GitHubIssue): string | number => (sort === "comments" ? i.comments.length : sort === "updated" ? i.updated_at : i.created_at);
    const found = issues
      .filter((i) => state === "all" || i.state === state)
      .filter((i) => wanted.every((w) => i.labels.some((l) => l.toLowerCase() === w)))
      .sort((a, b) => {
        const [ka, kb] = [key(a), key(b)];
        const d = ka < kb ? -1 : ka > kb ? 1 : a.number - b.number;
        return direction === "asc" ? d : -d;
      });
    const last = Math.max(1, Math.ceil(found.length / perPage));
    const headers: Record<string, string> = {};
    if (page < last) {
      const link = (p: number) => {
        const u = new URL(`${apiUrl}/repos/${repository}/issues`);
        for (const [k, v] of q) u.searchParams.set(k, v);
        u.searchParams.set("page", String(p));
        return u.toString();
      };
      headers.link = `<${link(page + 1)}>; rel="next", <${link(last)}>; rel="last"`;
    }
    return { status: 200, headers, body: found.slice((page - 1) * perPage, page * perPage).map(issueJson) };
  }

  function checkText(resource: string, field: string, v: unknown, required: boolean): SimResponse | undefined {
    if (v === undefined || v === null) return required ? validation(resource, field, "missing_field") : undefined;
    if (typeof v !== "string") return validation(resource, field, "invalid");
    if (required && v.trim() === "") return validation(resource, field, "missing_field");
    if (v.length > MAX_TEXT) return validation(resource, field, "custom", `${field} is too long (maximum is ${MAX_TEXT} characters)`);
    return undefined;
  }

  function create(req: SimRequest): SimResponse {
    const parsed = parse(req);
    if (!parsed.ok) return parsed.response;
    const b = parsed.value;
    const bad = checkText("Issue", "title", b.title, true) ?? checkText("Issue", "body", b.body, false);
    if (bad) return bad;
    if (b.labels !== undefined && !Array.isArray(b.labels)) return validation("Issue", "labels", "invalid");
    const names: string[] = [];
    for (const l of (b.labels as unknown[] | undefined) ?? []) {
      const name = labelName(l);
      if (name === undefined || name.trim() === "") return validation("Label", "name", "invalid");
      if (name.length > MAX_LABEL) return validation("Label", "name", "custom", `name is too long (maximum is ${MAX_LABEL} characters)`);
      names.push(name);
    }
    const issue = addIssue({ title: b.title as string, body: (b.body as string | undefined) ?? null, labels: opts.dropLabels ? [] : names });
    return { status: 201, headers: { location: `${apiUrl}/repos/${repository}/issues/${issue.number}` }, body: issueJson(issue) };
  }

  function comment(issue: GitHubIssue, req: SimRequest): SimResponse {
    const parsed = parse(req);
    if (!parsed.ok) return parsed.response;
    const bad = checkText("IssueComment", "body", parsed.value.body, true);
    if (bad) return bad;
    const c: GitHubComment = { id: nextComment++, body: parsed.value.body as string, created_at: now() };
    issue.comments.push(c);
    issue.updated_at = c.created_at;
    return { status: 201, body: commentJson(issue, c) };
  }

  function update(issue: GitHubIssue, req: SimRequest): SimResponse {
    const parsed = parse(req);
    if (!parsed.ok) return parsed.response;
    const b = parsed.value;
    const bad = (b.title !== undefined ? checkText("Issue", "title", b.title, true) : undefined) ?? checkText("Issue", "body", b.body, false);
    if (bad) return bad;
    if (b.state !== undefined && b.state !== "open" && b.state !== "closed") return validation("Issue", "state", "invalid");
    if (b.state_reason !== undefined && b.state_reason !== null && !["completed", "not_planned", "reopened"].includes(b.state_reason as string))
      return validation("Issue", "state_reason", "invalid");
    if (b.labels !== undefined) {
      if (!Array.isArray(b.labels)) return validation("Issue", "labels", "invalid");
      const names = (b.labels as unknown[]).map(labelName);
      if (names.some((n) => n === undefined)) return validation("Label", "name", "invalid");
      for (const n of names as string[]) if (!labels.has(n.toLowerCase())) labels.set(n.toLowerCase(), n);
      issue.labels = (names as string[]).map((n) => labels.get(n.toLowerCase()) ?? n);
    }
    if (typeof b.title === "string") issue.title = b.title;
    if (b.body !== undefined) issue.body = b.body as string | null;
    const at = now();
    if (b.state === "closed" && issue.state === "open") {
      issue.state = "closed";
      issue.closed_at = at;
      issue.state_reason = (b.state_reason as GitHubIssue["state_reason"] | undefined) ?? "completed";
    } else if (b.state === "open" && issue.state === "closed") {
      issue.state = "open";
      issue.closed_at = null;
      issue.state_reason = "reopened";
    }
    issue.updated_at = at;
    return { status: 200, body: issueJson(issue) };
  }

  const handler = (req: SimRequest): SimResponse => {
    if (!req.headers["user-agent"]) {
      return error(403, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header");
    }
    const auth = /^(?:token|bearer)\s+(\S+)$/i.exec(req.headers.authorization ?? "");
    if (!req.headers.authorization) return error(401, "Requires authentication");
    const token = auth?.[1];
    if (token !== opts.token && (token === undefined || token !== opts.readOnlyToken)) return error(401, "Bad credentials");
    const mayWrite = token === opts.token;

    const m = /^\/repos\/([^/]+)\/([^/]+)\/issues(?:\/(\d+)(\/comments)?)?$/.exec(req.path);
    if (!m || `${m[1]}/${m[2]}`.toLowerCase() !== repository.toLowerCase()) return error(404, "Not Found");
    if (opts.issuesDisabled) return error(410, "Issues are disabled for this repo");
    const [, , , number, comments] = m;
    const write = req.method !== "GET" && req.method !== "HEAD";
    const denied = () => error(403, "Resource not accessible by integration");

    if (number === undefined) {
      if (req.method === "GET") return list(req);
      if (req.method === "POST") return mayWrite ? create(req) : denied();
      return error(404, "Not Found");
    }
    const issue = issues.find((i) => i.number === Number(number));
    if (!issue) return error(404, "Not Found");
    if (write && !mayWrite) return denied();
    if (comments) {
      if (req.method === "GET") return { status: 200, body: issue.comments.map((c) => commentJson(issue, c)) };
      if (req.method === "POST") return comment(issue, req);
      return error(404, "Not Found");
    }
    if (req.method === "GET") return { status: 200, body: issueJson(issue) };
    if (req.method === "PATCH") return update(issue, req);
    return error(404, "Not Found");
  };

  const server = await startServer(handler);
  apiUrl = server.url;
  return {
    ...server,
    writes: () => server.requests.filter((r) => r.method !== "GET" && r.method !== "HEAD"),
    issues: () => issues,
    issue: (n) => issues.find((i) => i.number === n),
    addIssue,
    labels: () => [...labels.values()],
  };
}
