import { describe, expect, it } from "vitest";
import { DEFAULT_SCOPE, INPUT_NAMES, InputError, type InputName, readSettings, splitList } from "../src/inputs.ts";

const base: Partial<Record<InputName, string>> = {
  "pocket-id-url": "https://id.example.com/",
  "pocket-id-api-key": "k".repeat(32),
  "harbor-url": "https://harbor.example.com",
  "harbor-password": "Harbor12345",
};

function read(extra: Partial<Record<InputName, string>> = {}) {
  const inputs = { ...base, ...extra };
  return readSettings((name) => inputs[name] ?? "");
}

function problems(extra: Partial<Record<InputName, string>>): string[] {
  try {
    read(extra);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as InputError).problems;
  }
  throw new Error("expected an input error");
}

describe("readSettings", () => {
  it("applies the contract's defaults and normalises URLs", () => {
    const s = read();
    expect(s).toMatchObject({
      pocketIdUrl: "https://id.example.com",
      harborUsername: "admin",
      clientName: "Harbor",
      pkce: true,
      providerName: "Pocket ID",
      primaryAuthMode: false,
      groupsClaim: "groups",
      scope: DEFAULT_SCOPE,
      verifyCert: true,
      autoOnboard: true,
      sessionLogout: true,
      usernameClaim: "email",
      mode: "apply",
      testOidc: true,
      requestTimeoutMs: 30_000,
      rotateSecret: false,
    });
    expect(s.clientId).toBeUndefined();
    expect(s.callbackUrls).toBeUndefined();
  });

  it("accepts only YAML 1.2 core booleans", () => {
    expect(read({ pkce: "False" }).pkce).toBe(false);
    expect(read({ "verify-cert": "TRUE" }).verifyCert).toBe(true);
    expect(problems({ pkce: "yes" })).toEqual([expect.stringContaining("Input `pkce` must be true or false")]);
  });

  it("splits lists on newlines and commas", () => {
    expect(splitList("a, b\nc,,\n d ")).toEqual(["a", "b", "c", "d"]);
    expect(read({ "callback-urls": "https://h/c/oidc/callback\nhttps://h2/c/oidc/callback" }).callbackUrls).toHaveLength(2);
  });

  it("names the input and the expectation for each bad value", () => {
    const cases: [InputName, string, RegExp][] = [
      ["pocket-id-url", "id.example.com", /pocket-id-url.*absolute URL/],
      ["pocket-id-url", "https://id.example.com/.well-known/openid-configuration", /pocket-id-url.*well-known/],
      ["harbor-url", "https://user:pw@harbor.example.com", /harbor-url.*user name or password/],
      ["harbor-url", "https://harbor.example.com/?x=1", /harbor-url.*query/],
      ["harbor-url", "https://harbor.example.com/#top", /harbor-url.*fragment/],
      ["harbor-url", "http://harbor.example.com", /harbor-url.*allow-insecure-http/],
      ["client-id", "h", /client-id.*2–128/],
      ["client-id", "har bor", /client-id.*2–128/],
      ["client-name", "x".repeat(51), /client-name.*at most 50/],
      ["callback-urls", "not a url", /callback-urls.*http\(s\)/],
      ["scope", "profile,email", /scope.*openid/],
      ["group-filter", "([", /group-filter.*regular expression/],
      ["mode", "destroy", /mode.*apply, plan or verify/],
      ["request-timeout", "0", /request-timeout/],
      ["request-timeout", "soon", /request-timeout/],
      ["ca-certificate", "/no/such/file.pem", /ca-certificate.*cannot read/],
      ["allowed-groups", "admins,x", /allowed-groups.*"x" is not a possible Pocket ID group name/],
      ["logo", "/no/such/logo.png", /logo.*cannot read/],
      ["logo", "/etc/hostname", /logo.*must be an image file ending in/],
      ["login-test-user", "alice", /login-test-user.*not supported/],
      ["drift-issue-label", "a,b", /drift-issue-label.*without a comma/],
      ["drift-issue-label", "x".repeat(51), /drift-issue-label.*at most 50 characters/],
    ];
    for (const [input, value, expected] of cases) {
      expect(problems({ [input]: value }).join("\n"), `${input}=${value}`).toMatch(expected);
    }
  });

  it("drift-issue: off by default; in verify with github-token it is on; otherwise refused", () => {
    expect(read()).toMatchObject({ driftIssue: false, driftIssueLabel: "pocket-id-harbor-oidc" });
    expect(read({ mode: "verify", "drift-issue": "true", "github-token": "ghs_token", "drift-issue-label": "oidc drift" })).toMatchObject({
      driftIssue: true,
      githubToken: "ghs_token",
      driftIssueLabel: "oidc drift",
    });
    expect(problems({ mode: "verify", "drift-issue": "true" })).toEqual([expect.stringMatching(/^Input `github-token` is required with drift-issue: true/)]);
    expect(problems({ "drift-issue": "true", "github-token": "ghs_token" })).toEqual([
      expect.stringMatching(/^Input `drift-issue` works only with mode: verify \(got mode: apply\)/),
    ]);
    // Both at once: both named, so one rerun fixes them.
    expect(problems({ mode: "plan", "drift-issue": "true" })).toHaveLength(2);
    // A token without drift-issue is harmless: github-token is used only by drift-issue.
    expect(read({ "github-token": "ghs_token" }).driftIssue).toBe(false);
  });

  it("never echoes a secret input's value", () => {
    const secret = "short\u0001secret";
    const msgs = problems({ "client-secret": secret }).join("\n");
    expect(msgs).toMatch(/client-secret.*16 printable ASCII/);
    expect(msgs).not.toContain(secret);
  });

  it("requires the credentials", () => {
    const msgs = problems({ "pocket-id-api-key": "", "harbor-password": "" }).join("\n");
    expect(msgs).toMatch(/pocket-id-api-key` is required/);
    expect(msgs).toMatch(/harbor-password` is required/);
  });

  it("allows plain http to loopback, and elsewhere only when asked", () => {
    expect(read({ "harbor-url": "http://127.0.0.1:8080" }).harborUrl).toBe("http://127.0.0.1:8080");
    expect(read({ "harbor-url": "http://harbor.lan", "allow-insecure-http": "true" }).harborUrl).toBe("http://harbor.lan");
  });

  it("reads every input of the contract", () => {
    expect(new Set(INPUT_NAMES).size).toBe(34);
  });
});
