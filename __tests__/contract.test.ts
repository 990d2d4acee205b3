// action.yml is what the runner reads: it must declare exactly the inputs the action reads and
// the outputs it sets, with the contract's defaults, and run on node24 from dist/.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { INPUT_NAMES } from "../src/inputs.ts";

const yml = readFileSync(resolve(import.meta.dirname, "../action.yml"), "utf8");

/** The two-space-indented keys of a top-level section, with their default when given. */
function section(name: string): Map<string, string | undefined> {
  const body = yml.split(new RegExp(`^${name}:\\n`, "m"))[1]?.split(/^\S/m)[0] ?? "";
  const entries = new Map<string, string | undefined>();
  for (const block of body.split(/^ {2}(?=[a-z])/m).slice(1)) {
    const key = block.split(":")[0] as string;
    const def = block.match(/^ {4}default: (.*)$/m)?.[1]?.replace(/^"(.*)"$/, "$1");
    entries.set(key, def);
  }
  return entries;
}

describe("action.yml", () => {
  const inputs = section("inputs");

  it("declares exactly the inputs the action reads", () => {
    expect([...inputs.keys()].sort()).toEqual([...INPUT_NAMES].sort());
  });

  it("keeps the contract's defaults", () => {
    expect(Object.fromEntries(inputs)).toMatchObject({
      "harbor-username": "admin",
      "allow-insecure-http": "false",
      "client-name": "Harbor",
      pkce: "true",
      "create-groups": "false",
      "rotate-secret": "false",
      "provider-name": "Pocket ID",
      "primary-auth-mode": "false",
      "groups-claim": "groups",
      scope: "openid,offline_access,email,profile,groups",
      "verify-cert": "true",
      "auto-onboard": "true",
      "session-logout": "true",
      "username-claim": "email",
      mode: "apply",
      "test-oidc": "true",
      "request-timeout": "30",
      "drift-issue": "false",
      "drift-issue-label": "pocket-id-harbor-oidc",
    });
  });

  it("declares every output of the contract, and drift-issue", () => {
    expect([...section("outputs").keys()].sort()).toEqual(
      ["changes", "client-created", "client-id", "client-secret", "drift", "drift-issue", "harbor-changed", "issuer", "login-test", "secret-rotated"].sort(),
    );
  });

  it("runs the bundle on node24", () => {
    expect(yml).toMatch(/^runs:\n {2}using: node24\n {2}main: dist\/index\.js$/m);
  });
});
