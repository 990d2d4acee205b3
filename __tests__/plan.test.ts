import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Configurations } from "../src/harbor.ts";
import { type InputName, readSettings } from "../src/inputs.ts";
import type { Observed } from "../src/observe.ts";
import { plan } from "../src/plan.ts";
import type { OidcClient, SecretInfo, UserGroup } from "../src/pocket-id.ts";

const ISSUER = "https://id.example.com";
const EXT = "https://harbor.example.com";

function settings(extra: Partial<Record<InputName, string>> = {}) {
  const inputs: Partial<Record<InputName, string>> = {
    "pocket-id-url": ISSUER,
    "pocket-id-api-key": "k".repeat(32),
    "harbor-url": EXT,
    "harbor-password": "Harbor12345",
    ...extra,
  };
  return readSettings((n) => inputs[n] ?? "");
}

function freshHarbor(overrides: Record<string, unknown> = {}, editable = true): Configurations {
  const values: Record<string, unknown> = {
    auth_mode: "db_auth",
    primary_auth_mode: false,
    oidc_name: "",
    oidc_endpoint: "",
    oidc_client_id: "",
    oidc_groups_claim: "",
    oidc_admin_group: "",
    oidc_group_filter: "",
    oidc_scope: "",
    oidc_user_claim: "",
    oidc_verify_cert: true,
    oidc_auto_onboard: false,
    oidc_extra_redirect_parms: "{}",
    oidc_logout: false,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v, editable }]));
}

const configured = {
  auth_mode: "oidc_auth",
  oidc_name: "Pocket ID",
  oidc_endpoint: ISSUER,
  oidc_client_id: "harbor",
  oidc_groups_claim: "groups",
  oidc_scope: "openid,offline_access,email,profile,groups",
  oidc_user_claim: "email",
  oidc_auto_onboard: true,
  oidc_logout: true,
};

const goodClient: OidcClient = {
  id: "harbor",
  name: "Harbor",
  callbackURLs: [`${EXT}/c/oidc/callback`],
  logoutCallbackURLs: [`${EXT}/account/sign-in`],
  launchURL: EXT,
  isPublic: false,
  pkceEnabled: true,
  isGroupRestricted: false,
  description: "kept as is",
};

function observed(o: Partial<Observed> = {}): Observed {
  return {
    pocketIdVersion: "2.14.0",
    discovery: { issuer: ISSUER },
    sameName: [],
    groups: {},
    harborUser: { user_id: 1, username: "admin", sysadmin_flag: true },
    harborInfo: { harbor_version: "v2.15.2-080b0220", external_url: EXT },
    harborConfig: freshHarbor(),
    ping: { url: ISSUER, ok: true },
    ...o,
  };
}

describe("plan", () => {
  it("on fresh servers creates the client, issues a secret and configures Harbor", () => {
    const p = plan(settings({ "client-id": "harbor" }), observed());
    expect(p.problems).toEqual([]);
    expect(p.client.action).toBe("create");
    expect(p.client.fields).toEqual({
      name: "Harbor",
      callbackURLs: [`${EXT}/c/oidc/callback`],
      logoutCallbackURLs: [`${EXT}/account/sign-in`],
      launchURL: EXT,
      isPublic: false,
      pkceEnabled: true,
      isGroupRestricted: false,
    });
    expect(p.secret).toMatchObject({ kind: "issue", reason: "new-client" });
    expect(p.harborValues).toEqual({
      auth_mode: "oidc_auth",
      oidc_name: "Pocket ID",
      oidc_endpoint: ISSUER,
      oidc_client_id: "harbor",
      oidc_groups_claim: "groups",
      oidc_scope: "openid,offline_access,email,profile,groups",
      oidc_auto_onboard: true,
      oidc_user_claim: "email",
      oidc_logout: true,
    });
    expect(p.drift).toBe(true);
  });

  it("in sync: nothing to do, no drift", () => {
    const p = plan(settings({ "client-id": "harbor" }), observed({ client: goodClient, harborConfig: freshHarbor(configured) }));
    expect(p.problems).toEqual([]);
    expect(p.changes).toEqual([]);
    expect(p.client.action).toBe("none");
    expect(p.secret.kind).toBe("keep");
    expect(p.drift).toBe(false);
  });

  it("adopts a hand-made client found by name, fixing only managed fields", () => {
    const handMade = { ...goodClient, id: "3f0c-uuid", callbackURLs: [], pkceEnabled: false };
    const p = plan(settings(), observed({ client: handMade, sameName: [handMade] }));
    expect(p.client.action).toBe("update");
    expect(p.client.id).toBe("3f0c-uuid");
    expect(p.changes.filter((c) => c.target === "pocket-id").map((c) => c.setting)).toEqual(["callbackURLs", "pkceEnabled", "client secret"]);
    expect(p.secret).toMatchObject({ kind: "issue", reason: "harbor-not-configured" });
  });

  it("refuses two clients with the same name", () => {
    const p = plan(settings(), observed({ sameName: [goodClient, { ...goodClient, id: "other" }] }));
    expect(p.problems.join()).toMatch(/2 Pocket ID clients are named "Harbor".*client-id/);
  });

  it("explains the auth-mode lock with the user count", () => {
    const config = freshHarbor();
    config.auth_mode = { value: "db_auth", editable: false };
    const p = plan(settings(), observed({ harborConfig: config, lockingUsers: 3 }));
    expect(p.problems.join()).toMatch(/refuses to switch auth_mode.*3 user\(s\) besides admin.*delete those users/);
  });

  it("recognises CONFIG_OVERWRITE_JSON, but only when Harbor must change", () => {
    const p = plan(settings(), observed({ harborConfig: freshHarbor({}, false) }));
    expect(p.problems.join()).toMatch(/CONFIG_OVERWRITE_JSON/);
    const inSync = plan(settings({ "client-id": "harbor" }), observed({ client: goodClient, harborConfig: freshHarbor(configured, false) }));
    expect(inSync.problems).toEqual([]);
  });

  it("gates settings on the Harbor version instead of letting Harbor drop them", () => {
    const old = freshHarbor();
    delete old.oidc_logout;
    const p = plan(settings(), observed({ harborConfig: old, harborInfo: { harbor_version: "v2.12.0-abc", external_url: EXT } }));
    expect(p.problems.join("\n")).toMatch(/session-logout: true needs Harbor 2.13/);
    expect(p.problems.join("\n")).toMatch(/pkce: true needs Harbor 2.13/);
    const ok = plan(settings({ pkce: "false", "session-logout": "false" }), observed({ harborConfig: old, harborInfo: { harbor_version: "v2.12.0-abc" } }));
    expect(ok.problems).toEqual([]);
    expect(ok.harborValues).not.toHaveProperty("oidc_logout");
  });

  it("uses the issuer from discovery as oidc_endpoint, byte for byte", () => {
    const p = plan(settings({ "pocket-id-url": "https://internal:1411" }), observed({ discovery: { issuer: "https://id.example.com" } }));
    expect(p.harborValues.oidc_endpoint).toBe("https://id.example.com");
  });

  it("reports a failed Harbor OIDC test as a preflight problem", () => {
    const p = plan(settings(), observed({ ping: { url: ISSUER, ok: false, message: "failed to verify connection" } }));
    expect(p.problems.join()).toMatch(/Test OIDC server.*failed.*cannot reach Pocket ID/);
  });

  describe("secrets", () => {
    const inSync = () => observed({ client: goodClient, harborConfig: freshHarbor(configured) });

    it("rotation is an action, not drift", () => {
      const p = plan(settings({ "client-id": "harbor", "rotate-secret": "true" }), inSync());
      expect(p.secret).toMatchObject({ kind: "issue", reason: "rotate", revokeOlder: true });
      expect(p.drift).toBe(false);
      expect(p.changes).toHaveLength(2);
    });

    it("a given secret Pocket ID accepts is not set again", () => {
      const p = plan(settings({ "client-id": "harbor", "client-secret": "s".repeat(20) }), { ...inSync(), givenSecretProbe: "accepted" });
      expect(p.secret).toMatchObject({ kind: "given", setInPocketId: false });
      expect(p.changes).toEqual([]);
    });

    it("a given secret Pocket ID rejects is set, and refused before 2.12", () => {
      const p = plan(settings({ "client-id": "harbor", "client-secret": "s".repeat(20) }), { ...inSync(), givenSecretProbe: "rejected" });
      expect(p.secret).toMatchObject({ kind: "given", setInPocketId: true });
      const old = plan(settings({ "client-id": "harbor", "client-secret": "s".repeat(20) }), {
        ...inSync(),
        pocketIdVersion: "2.9.0",
        givenSecretProbe: "rejected",
      });
      expect(old.problems.join()).toMatch(/client-secret cannot be set on Pocket ID 2.9.0.*2.12/);
    });

    it("warns that older Pocket IDs replace the secret", () => {
      const p = plan(settings({ "client-id": "harbor" }), observed({ pocketIdVersion: "2.13.0", client: goodClient }));
      expect(p.warnings.join()).toMatch(/keeps one secret per client/);
    });

    const secret = (i: number, isActive: boolean): SecretInfo => ({
      id: `s${i}`,
      prefix: "abcd",
      createdAt: `2026-01-${String(i + 1).padStart(2, "0")}T00:00:00Z`,
      expiresAt: null,
      isActive,
    });

    it("at the cap of 20 revokes expired secrets first, or fails before any change", () => {
      const full = Array.from({ length: 20 }, (_, i) => secret(i, i > 2));
      const p = plan(settings({ "client-id": "harbor", "rotate-secret": "true" }), { ...inSync(), secrets: full });
      expect(p.secret.revokeFirst).toEqual(["s0"]);
      const allActive = Array.from({ length: 20 }, (_, i) => secret(i, true));
      const q = plan(settings({ "client-id": "harbor", "rotate-secret": "true" }), { ...inSync(), secrets: allActive });
      expect(q.problems.join()).toMatch(/has 20 secrets/);
    });
  });
  describe("allowed groups", () => {
    const group = (name: string): UserGroup => ({ id: `id-${name}`, name, friendlyName: name });
    const inSync = (o: Partial<Observed> = {}) => observed({ client: goodClient, harborConfig: freshHarbor(configured), ...o });
    const restricted = (...names: string[]): OidcClient => ({ ...goodClient, isGroupRestricted: true, allowedUserGroups: names.map(group) });

    it("restricts an unrestricted client: the flag in the client PUT, then the groups", () => {
      const p = plan(settings({ "client-id": "harbor", "allowed-groups": "devs\nops, devs" }), inSync({ groups: { devs: group("devs"), ops: group("ops") } }));
      expect(p.problems).toEqual([]);
      expect(p.client.action).toBe("update");
      expect(p.client.fields.isGroupRestricted).toBe(true);
      expect(p.groups).toEqual({ create: [], allowed: ["devs", "ops"], setAllowed: true });
      expect(p.changes).toEqual([
        { target: "pocket-id", setting: "isGroupRestricted", from: false, to: true, drift: true },
        { target: "pocket-id", setting: "allowedUserGroups", from: [], to: ["devs", "ops"], drift: true },
      ]);
      expect(p.drift).toBe(true);
    });

    it("unchanged: the same set in another order is no change", () => {
      const p = plan(
        settings({ "client-id": "harbor", "allowed-groups": "devs,ops" }),
        inSync({ client: restricted("ops", "devs"), groups: { devs: group("devs"), ops: group("ops") } }),
      );
      expect(p.changes).toEqual([]);
      expect(p.client.action).toBe("none");
      expect(p.groups.setAllowed).toBe(false);
      expect(p.drift).toBe(false);
    });

    it("a different set is set again, named from and to", () => {
      const p = plan(
        settings({ "client-id": "harbor", "allowed-groups": "devs" }),
        inSync({ client: restricted("devs", "ops"), groups: { devs: group("devs") } }),
      );
      expect(p.client.action).toBe("none");
      expect(p.groups.setAllowed).toBe(true);
      expect(p.changes).toEqual([{ target: "pocket-id", setting: "allowedUserGroups", from: ["devs", "ops"], to: ["devs"], drift: true }]);
    });

    it("a missing group without create-groups is a problem naming the group and create-groups", () => {
      const p = plan(settings({ "client-id": "harbor", "allowed-groups": "devs,ghosts" }), inSync({ groups: { devs: group("devs"), ghosts: null } }));
      expect(p.problems).toHaveLength(1);
      expect(p.problems[0]).toMatch(/allowed-groups names "ghosts", but Pocket ID has no group with that name.*create-groups: true/);
      expect(p.groups.create).toEqual([]);
    });

    it("with create-groups the missing groups (allowed and admin) are planned creates", () => {
      const p = plan(
        settings({ "client-id": "harbor", "allowed-groups": "devs,ghosts", "admin-group": "harbor-admins", "create-groups": "true" }),
        inSync({ groups: { devs: group("devs"), ghosts: null, "harbor-admins": null } }),
      );
      expect(p.problems).toEqual([]);
      expect(p.groups).toEqual({ create: ["ghosts", "harbor-admins"], allowed: ["devs", "ghosts"], setAllowed: true });
      expect(p.changes.filter((c) => c.setting.startsWith("group "))).toEqual([
        { target: "pocket-id", setting: "group ghosts", from: null, to: "created", drift: true },
        { target: "pocket-id", setting: "group harbor-admins", from: null, to: "created", drift: true },
      ]);
      expect(p.harborValues.oidc_admin_group).toBe("harbor-admins");
    });

    it("a missing admin-group without create-groups is a problem, as the contract says", () => {
      const p = plan(settings({ "client-id": "harbor", "admin-group": "harbor-admins" }), inSync({ groups: { "harbor-admins": null } }));
      expect(p.problems.join()).toMatch(/admin-group names "harbor-admins", but Pocket ID has no group with that name.*create-groups: true/);
    });

    it("a new client is created restricted, then given its groups", () => {
      const p = plan(settings({ "client-id": "harbor", "allowed-groups": "devs" }), observed({ groups: { devs: group("devs") } }));
      expect(p.client.action).toBe("create");
      expect(p.client.fields.isGroupRestricted).toBe(true);
      expect(p.groups.setAllowed).toBe(true);
      expect(p.changes).toContainEqual({ target: "pocket-id", setting: "allowedUserGroups", from: [], to: ["devs"], drift: true });
    });

    it("empty allowed-groups lifts a restriction through the client PUT (which clears the list)", () => {
      const p = plan(settings({ "client-id": "harbor" }), inSync({ client: restricted("devs") }));
      expect(p.client.action).toBe("update");
      expect(p.client.fields.isGroupRestricted).toBe(false);
      expect(p.groups.setAllowed).toBe(false);
      expect(p.changes).toEqual([
        { target: "pocket-id", setting: "isGroupRestricted", from: true, to: false, drift: true },
        { target: "pocket-id", setting: "allowedUserGroups", from: ["devs"], to: [], drift: true },
      ]);
    });

    it("before Pocket ID 2.0 (no flag) the list alone restricts: compared and set, or emptied", () => {
      const { isGroupRestricted: _, ...old } = goodClient;
      const withGroups = { ...old, allowedUserGroups: [group("devs")] };
      const keep = plan(
        settings({ "client-id": "harbor", "allowed-groups": "devs" }),
        inSync({ pocketIdVersion: undefined, client: withGroups, groups: { devs: group("devs") } }),
      );
      expect(keep.changes).toEqual([]);
      expect(keep.client.action).toBe("none");
      const set = plan(
        settings({ "client-id": "harbor", "allowed-groups": "devs" }),
        inSync({ pocketIdVersion: undefined, client: old, groups: { devs: group("devs") } }),
      );
      expect(set.client.action).toBe("none");
      expect(set.groups.setAllowed).toBe(true);
      expect(set.changes).toEqual([{ target: "pocket-id", setting: "allowedUserGroups", from: [], to: ["devs"], drift: true }]);
      const lift = plan(settings({ "client-id": "harbor" }), inSync({ pocketIdVersion: undefined, client: withGroups }));
      expect(lift.groups).toEqual({ create: [], allowed: [], setAllowed: true });
      expect(lift.changes).toEqual([{ target: "pocket-id", setting: "allowedUserGroups", from: ["devs"], to: [], drift: true }]);
    });
  });

  describe("logo", () => {
    const file = () => join(mkdtempSync(join(tmpdir(), "plan-logo-")), "harbor.svg");
    const svg = "<svg xmlns='http://www.w3.org/2000/svg'/>";
    const sha = createHash("sha256").update(svg).digest("hex");
    const withLogo = () => {
      const path = file();
      writeFileSync(path, svg);
      return settings({ "client-id": "harbor", logo: path });
    };
    const inSync = (o: Partial<Observed> = {}) => observed({ client: goodClient, harborConfig: freshHarbor(configured), ...o });

    it("uploads when the client has no logo or another one, not when the bytes are the same", () => {
      expect(plan(withLogo(), inSync({ logoSha256: null })).changes).toEqual([
        { target: "pocket-id", setting: "logo", from: "none", to: "harbor.svg", drift: true },
      ]);
      expect(plan(withLogo(), inSync({ logoSha256: "0".repeat(64) })).changes).toEqual([
        { target: "pocket-id", setting: "logo", from: "other image", to: "harbor.svg", drift: true },
      ]);
      const same = plan(withLogo(), inSync({ logoSha256: sha }));
      expect(same.uploadLogo).toBe(false);
      expect(same.changes).toEqual([]);
    });

    it("a new client gets the logo; no logo input leaves the logo alone", () => {
      expect(plan(withLogo(), observed()).uploadLogo).toBe(true);
      expect(plan(settings({ "client-id": "harbor" }), inSync({ logoSha256: "0".repeat(64) })).uploadLogo).toBe(false);
    });
  });
});
