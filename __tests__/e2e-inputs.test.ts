// The bad-input matrix (issue 5): every input of the contract with wrong values. Each run must
// fail with a message that names the input and says what is expected, never echo a secret
// input's value, and send not one request to either server.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { type HarborSim, startHarbor } from "../sandbox/harbor.ts";
import { type PocketIdSim, startPocketId } from "../sandbox/pocket-id.ts";
import { connection, runAction } from "./helpers/action.ts";

const apiKey = randomBytes(16).toString("hex");
const password = `Harbor-${randomBytes(8).toString("hex")}`;
let pocketId: PocketIdSim;
let harbor: HarborSim;

beforeAll(async () => {
  pocketId = await startPocketId({ apiKey });
  harbor = await startHarbor({ adminPassword: password });
});
afterAll(async () => {
  await Promise.all([pocketId?.close(), harbor?.close()]);
});
beforeEach(() => {
  pocketId.requests.length = 0;
  harbor.requests.length = 0;
});

/** Valid inputs: with them alone the run would go ahead and configure both servers. */
function valid(): Record<string, string> {
  return { ...connection(pocketId, harbor, apiKey, password), "client-id": "harbor", "request-timeout": "2" };
}

const BOOLEANS = [
  "allow-insecure-http",
  "pkce",
  "rotate-secret",
  "primary-auth-mode",
  "verify-cert",
  "auto-onboard",
  "session-logout",
  "test-oidc",
  "create-groups",
  "drift-issue",
];

type Case = [input: string, value: string, says: RegExp];

const URL_CASES: Case[] = ["pocket-id-url", "harbor-url", "launch-url"].flatMap((input): Case[] => [
  [input, "id.example.com", /must be an absolute URL such as https:\/\/example\.com/],
  [input, "ftp://id.example.com", /must start with https:\/\/ \(or http:\/\/\)/],
  [
    input,
    "https://admin:hunter2-pw@id.example.com",
    /must not contain a user name or password; use the credential inputs \(got "https:\/\/\*\*\*@id\.example\.com"\)/,
  ],
  [input, "https://id.example.com/?tenant=1", /must not contain a query string/],
  [input, "https://id.example.com/#top", /must not contain a fragment/],
  [input, "http://id.example.com", /uses http:\/\/ for a host that is not loopback.*use https:\/\/ or set allow-insecure-http: true/],
]);

const BOOLEAN_CASES: Case[] = BOOLEANS.flatMap((input): Case[] => [
  [input, "yes", /must be true or false \(YAML 1\.2 core booleans\), got "yes"/],
  [input, "1", /must be true or false \(YAML 1\.2 core booleans\), got "1"/],
]);

const OTHER_CASES: Case[] = [
  ["client-id", "h", /must be 2–128 characters of A–Z, a–z, 0–9, "\.", "_" and "-" \(got "h"\)/],
  ["client-id", "har bor", /must be 2–128 characters .* \(got "har bor"\)/],
  ["client-id", "harbor/../admin", /must be 2–128 characters/],
  ["client-id", "x".repeat(129), /must be 2–128 characters/],
  ["client-name", "N".repeat(51), /must be at most 50 characters/],
  ["callback-urls", "https://harbor.example.com/c/oidc/callback,ftp://x/cb", /must list absolute http\(s\) URLs; "ftp:\/\/x\/cb" is not one/],
  ["client-secret", "short-secret", /must be at least 16 printable ASCII characters \(the value is not shown\)/],
  ["client-secret", "ünïcödé-sëcrët-välüé", /must be at least 16 printable ASCII characters \(the value is not shown\)/],
  ["scope", "email,profile,groups", /must contain "openid"/],
  ["group-filter", "([", /must be a valid regular expression/],
  ["mode", "destroy", /must be apply, plan or verify, got "destroy"/],
  ["request-timeout", "0", /must be a number of seconds greater than 0 and at most 600, got "0"/],
  ["request-timeout", "abc", /must be a number of seconds greater than 0 and at most 600, got "abc"/],
  ["request-timeout", "-5", /greater than 0/],
  ["request-timeout", "601", /at most 600/],
  ["ca-certificate", "/no/such/dir/ca.pem", /must be PEM text or the path of a readable PEM file; cannot read "\/no\/such\/dir\/ca\.pem"/],
  ["ca-certificate", "/etc/hostname", /must contain a PEM certificate/],
  ["ca-certificate", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----", /not a valid certificate/],
  ["logo", "./no-such-logo.png", /must be the path of a readable image file; cannot read "\.\/no-such-logo\.png"/],
  ["logo", "/etc/hostname", /must be an image file ending in \.png, \.svg, \.jpg, \.jpeg, \.gif, \.webp, \.ico \(got "\/etc\/hostname"\)/],
  ["logo", "/tmp", /must be an image file ending in/],
  ["allowed-groups", "admins,x", /must list Pocket ID group names \(their technical name\); "x" is not a possible Pocket ID group name \(2–255 characters\)/],
  ["drift-issue-label", "drift,oidc", /must be one label name, without a comma, got "drift,oidc"/],
  ["drift-issue-label", "l".repeat(51), /must be at most 50 characters \(GitHub's limit for a label name\)/],
  // Inputs of the contract this version does not implement yet: refused, never silently ignored.
  ["login-test-user", "alice", /is not supported by this version of the action yet/],
];

const REQUIRED_CASES: Case[] = [
  ["pocket-id-url", "", /is required: the base URL/],
  ["pocket-id-api-key", "", /is required: a Pocket ID admin API key/],
  ["harbor-url", "", /is required: the base URL/],
  ["harbor-password", "", /is required: the password of the Harbor local administrator/],
  ["harbor-password", "   ", /is required: the password of the Harbor local administrator/],
];

async function expectRefused(inputs: Record<string, string>, input: string, says: RegExp): Promise<string> {
  const r = await runAction(inputs, { pocketId, harbor });
  expect(r.code).not.toBe(0);
  expect(r.errors).toHaveLength(1);
  const message = r.errors[0] as string;
  expect(message).toContain(`Input \`${input}\``);
  expect(message).toMatch(says);
  expect(r.stdout).toContain("::error title=Invalid input::");
  // Inputs are checked before anything else: not one request to either server.
  expect(pocketId.requests.length, "requests to Pocket ID").toBe(0);
  expect(harbor.requests.length, "requests to Harbor").toBe(0);
  expect(r.outputs).toEqual({});
  return message;
}

describe("bad inputs are refused before any request", () => {
  describe.each([
    ["URLs", URL_CASES],
    ["booleans", BOOLEAN_CASES],
    ["other inputs", OTHER_CASES],
    ["required inputs", REQUIRED_CASES],
  ] as const)("%s", (_group, cases) => {
    test.each(cases)("%s: %j", async (input, value, says) => {
      const message = await expectRefused({ ...valid(), [input]: value }, input, says);
      // A secret input's value is never echoed (the harness also searches the whole output).
      if (["pocket-id-api-key", "harbor-password", "client-secret", "github-token"].includes(input) && value.trim()) expect(message).not.toContain(value);
      // Nor the password in a URL's user info.
      expect(message).not.toContain("hunter2-pw");
    });
  });

  test("rotate-secret with client-secret: refused, naming rotate-secret, without the secret", async () => {
    const secret = "given-secret-0123456789";
    const message = await expectRefused(
      { ...valid(), "rotate-secret": "true", "client-secret": secret },
      "rotate-secret",
      /cannot be combined with client-secret/,
    );
    expect(message).not.toContain(secret);
  });

  test("drift-issue without github-token: refused, naming github-token", async () => {
    await expectRefused(
      { ...valid(), mode: "verify", "drift-issue": "true" },
      "github-token",
      /is required with drift-issue: true: a token for the GitHub API with issues: write/,
    );
  });

  test.each(["apply", "plan"])("drift-issue with mode: %s: refused, naming drift-issue and the mode, without the token", async (mode) => {
    const token = "ghs_secret-token-0123456789";
    const message = await expectRefused(
      { ...valid(), mode, "drift-issue": "true", "github-token": token },
      "drift-issue",
      new RegExp(`works only with mode: verify \\(got mode: ${mode}\\)`),
    );
    expect(message).not.toContain(token);
  });

  test("pocket-id-url pointing at the discovery document: refused", async () => {
    await expectRefused({ ...valid(), "pocket-id-url": `${pocketId.url}/.well-known/openid-configuration` }, "pocket-id-url", /must be Pocket ID's base URL/);
  });

  test("every required input missing: one message that lists each of them", async () => {
    const r = await runAction({}, {});
    expect(r.code).not.toBe(0);
    expect(r.errors).toHaveLength(1);
    for (const input of ["pocket-id-url", "pocket-id-api-key", "harbor-url", "harbor-password"])
      expect(r.errors[0]).toContain(`Input \`${input}\` is required`);
    expect(pocketId.requests.length + harbor.requests.length).toBe(0);
  });

  test("several bad inputs at once: every one is named, so one rerun can fix them all", async () => {
    const r = await runAction({ ...valid(), mode: "destroy", pkce: "yes", "client-secret": "short" }, { pocketId, harbor });
    expect(r.code).not.toBe(0);
    expect(r.errors[0]).toMatch(/^Invalid inputs:\n- /);
    for (const input of ["mode", "pkce", "client-secret"]) expect(r.errors[0]).toContain(`Input \`${input}\``);
    expect(pocketId.requests.length + harbor.requests.length).toBe(0);
  });

  test("the YAML 1.2 core booleans are accepted in every spelling", async () => {
    // Not a refusal, but the other side of the boolean cases: plan mode, so nothing is changed.
    const r = await runAction(
      { ...valid(), mode: "plan", pkce: "True", "session-logout": "TRUE", "verify-cert": "true", "primary-auth-mode": "FALSE" },
      { pocketId, harbor },
    );
    expect(r.errors).toEqual([]);
    expect(r.code).toBe(0);
    expect(pocketId.writes()).toEqual([]);
    expect(harbor.writes()).toEqual([]);
  });
});

describe("allow-insecure-http", () => {
  test("true lets http:// to a host that is not loopback through input checks, with a warning", async () => {
    // harbor.invalid never resolves, so the run fails later, on the network, naming Harbor.
    const r = await runAction({ ...valid(), "harbor-url": "http://harbor.invalid", "allow-insecure-http": "true" }, { pocketId, harbor });
    expect(r.code).not.toBe(0);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).not.toContain("Input `");
    expect(r.errors[0]).toMatch(/Harbor: GET \/api\/v2\.0\/\S+ got no answer: .*(ENOTFOUND|EAI_AGAIN)/);
    expect(r.stdout).toContain(
      "::warning title=Insecure connection::http://harbor.invalid uses plain http (allow-insecure-http: true): credentials travel unencrypted.",
    );
    // It got past the inputs: the reads began (Pocket ID's in parallel with Harbor's).
    expect(pocketId.requests.length).toBeGreaterThan(0);
    expect(harbor.requests).toHaveLength(0);
    expect(pocketId.writes()).toEqual([]);
  });

  test("loopback hosts may use http:// without it, and without a warning", async () => {
    const r = await runAction({ ...valid(), mode: "plan" }, { pocketId, harbor });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("Insecure connection");
    expect(harbor.requests.length).toBeGreaterThan(0);
  });
});
