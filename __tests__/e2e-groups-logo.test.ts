// End to end: allowed-groups, create-groups and logo. dist/index.js run as the Actions runner
// runs it, against the simulators; assertions on Pocket ID's groups, the client's restriction
// and stored logo (bytes compared by sha256), Harbor's configuration, and every write.
import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { crc32, deflateSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { type HarborSim, startHarbor } from "../sandbox/harbor.ts";
import { type PocketIdOptions, type PocketIdSim, startPocketId } from "../sandbox/pocket-id.ts";
import { type ActionRun, runAction } from "./helpers/action.ts";

const API_KEY = `pid-${randomBytes(12).toString("hex")}`;
const PASSWORD = `Harbor-${randomBytes(8).toString("hex")}`;
const SVG = resolve(import.meta.dirname, "fixtures/harbor-logo.svg");

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function servers(p: Partial<PocketIdOptions> = {}): Promise<{ pocketId: PocketIdSim; harbor: HarborSim }> {
  const pocketId = await startPocketId({ apiKey: API_KEY, ...p });
  closers.push(() => pocketId.close());
  const harbor = await startHarbor({ adminPassword: PASSWORD });
  closers.push(() => harbor.close());
  return { pocketId, harbor };
}

function run(pocketId: PocketIdSim, harbor: HarborSim, extra: Record<string, string> = {}): Promise<ActionRun> {
  const inputs = { "pocket-id-url": pocketId.url, "pocket-id-api-key": API_KEY, "harbor-url": harbor.url, "harbor-password": PASSWORD, ...extra };
  return runAction(inputs, { pocketId, harbor });
}

function why(r: ActionRun): string {
  return `exit ${r.code}\n${r.errors.join("\n")}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-1000)}`;
}

function changesOf(r: ActionRun): { target: string; setting: string; from: unknown; to: unknown }[] {
  return JSON.parse(r.outputs.changes ?? "null");
}

const calls = (sim: { writes(): { method: string; path: string }[] }) => sim.writes().map((w) => `${w.method} ${w.path}`);
const writeCount = (pocketId: PocketIdSim, harbor: HarborSim) => pocketId.writes().length + harbor.writes().length;
const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** The names of the client's allowed groups, sorted. */
function allowedNames(pocketId: PocketIdSim, clientId: string): string[] {
  const ids = pocketId.client(clientId)?.allowedUserGroupIds ?? [];
  return ids.map((id) => pocketId.groups().find((g) => g.id === id)?.name ?? `?${id}`).sort();
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "phoidc-logo-"));
}

/** A valid PNG of w×h pixels in one colour (RGBA), made here so the test needs no binary fixture. */
function png(w: number, h: number, rgba: [number, number, number, number]): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type), data])));
    return Buffer.concat([len, Buffer.from(type), data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: w }, () => rgba).flat())]);
  const raw = Buffer.concat(Array.from({ length: h }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

describe("allowed-groups and create-groups", () => {
  it("fresh setup: creates the one missing group once, restricts the client to exactly both; a rerun writes nothing", async () => {
    const { pocketId, harbor } = await servers();
    const devs = pocketId.addGroup("harbor-devs", "Harbor developers");
    // Substring matches of the server's search must not be taken for the group.
    pocketId.addGroup("harbor-ops-old");
    pocketId.addGroup("HARBOR-OPS");
    const inputs = { "client-id": "harbor", "allowed-groups": "harbor-devs\nharbor-ops", "create-groups": "true" };

    const r = await run(pocketId, harbor, inputs);
    expect(r.code, why(r)).toBe(0);
    const created = pocketId.groups().filter((g) => g.name === "harbor-ops");
    expect(created).toHaveLength(1);
    expect(created[0]?.friendlyName).toBe("harbor-ops");
    expect(pocketId.groups().find((g) => g.id === devs.id)?.friendlyName).toBe("Harbor developers");
    expect(pocketId.groups()).toHaveLength(4);

    const client = pocketId.client("harbor");
    expect(client?.isGroupRestricted).toBe(true);
    expect([...(client?.allowedUserGroupIds ?? [])].sort()).toEqual([devs.id, created[0]?.id].sort());
    // Groups first, then the client (created restricted), then its groups, then the secret.
    expect(calls(pocketId)).toEqual([
      "POST /api/user-groups",
      "POST /api/oidc/clients",
      "PUT /api/oidc/clients/harbor/allowed-user-groups",
      "POST /api/oidc/clients/harbor/secrets",
    ]);
    const create = JSON.parse(pocketId.writes()[0]?.body ?? "{}");
    expect(create).toEqual({ name: "harbor-ops", friendlyName: "harbor-ops" });
    expect(JSON.parse(pocketId.writes()[1]?.body ?? "{}").isGroupRestricted).toBe(true);
    const changes = changesOf(r);
    expect(changes).toContainEqual({ target: "pocket-id", setting: "group harbor-ops", from: null, to: "created" });
    expect(changes).toContainEqual({ target: "pocket-id", setting: "allowedUserGroups", from: [], to: ["harbor-devs", "harbor-ops"] });
    expect(changes.filter((c) => c.setting.startsWith("group "))).toHaveLength(1);
    expect(pocketId.acceptsSecret("harbor", harbor.secret() ?? "")).toBe(true);
    expect(harbor.config().auth_mode).toBe("oidc_auth");

    const before = writeCount(pocketId, harbor);
    const again = await run(pocketId, harbor, inputs);
    expect(again.code, why(again)).toBe(0);
    expect(again.outputs).toMatchObject({ changes: "[]", drift: "false", "harbor-changed": "false", "client-created": "false" });
    expect(writeCount(pocketId, harbor)).toBe(before);
    expect(pocketId.groups()).toHaveLength(4);

    // verify agrees: in sync.
    const verify = await run(pocketId, harbor, { ...inputs, mode: "verify" });
    expect(verify.code, why(verify)).toBe(0);
    expect(verify.outputs.drift).toBe("false");
  });

  it("a group that does not exist, without create-groups: a clear error naming it and create-groups, zero writes", async () => {
    const { pocketId, harbor } = await servers();
    pocketId.addGroup("harbor-devs");
    const r = await run(pocketId, harbor, { "client-id": "harbor", "allowed-groups": "harbor-devs, harbor-ghosts" });
    expect(r.code).not.toBe(0);
    expect(r.errors).toHaveLength(1);
    const message = r.errors[0] as string;
    expect(message).toMatch(/allowed-groups names "harbor-ghosts", but Pocket ID has no group with that name/);
    expect(message).toContain("create-groups: true");
    expect(message).not.toContain('"harbor-devs"');
    expect(message).toContain("Nothing was changed on either server.");
    expect(pocketId.writes()).toEqual([]);
    expect(harbor.writes()).toEqual([]);
    expect(pocketId.clients()).toEqual([]);
    expect(pocketId.groups().map((g) => g.name)).toEqual(["harbor-devs"]);

    // plan mode reports the same without failing.
    const plan = await run(pocketId, harbor, { "client-id": "harbor", "allowed-groups": "harbor-devs, harbor-ghosts", mode: "plan" });
    expect(plan.code, why(plan)).toBe(0);
    expect(plan.stdout).toMatch(/^::warning title=apply would stop here::allowed-groups names "harbor-ghosts"/m);
    expect(pocketId.writes()).toEqual([]);
  });

  it("allowed-groups removed on a later run: the restriction is lifted with one client PUT", async () => {
    const { pocketId, harbor } = await servers();
    pocketId.addGroup("harbor-devs");
    const first = await run(pocketId, harbor, { "client-id": "harbor", "allowed-groups": "harbor-devs" });
    expect(first.code, why(first)).toBe(0);
    expect(pocketId.client("harbor")?.isGroupRestricted).toBe(true);
    expect(allowedNames(pocketId, "harbor")).toEqual(["harbor-devs"]);

    const before = pocketId.writes().length;
    const r = await run(pocketId, harbor, { "client-id": "harbor" });
    expect(r.code, why(r)).toBe(0);
    expect(pocketId.client("harbor")?.isGroupRestricted).toBe(false);
    expect(pocketId.client("harbor")?.allowedUserGroupIds).toEqual([]);
    expect(calls(pocketId).slice(before)).toEqual(["PUT /api/oidc/clients/harbor"]);
    expect(JSON.parse(pocketId.writes().at(-1)?.body ?? "{}").isGroupRestricted).toBe(false);
    expect(changesOf(r)).toEqual([
      { target: "pocket-id", setting: "isGroupRestricted", from: true, to: false },
      { target: "pocket-id", setting: "allowedUserGroups", from: ["harbor-devs"], to: [] },
    ]);
    expect(harbor.writes()).toHaveLength(1); // only the first run's PUT
    // The group itself stays: the action never deletes groups.
    expect(pocketId.groups().map((g) => g.name)).toEqual(["harbor-devs"]);
  });

  it("client found by name (no client-id): restricted once, a rerun reads its groups and writes nothing", async () => {
    const { pocketId, harbor } = await servers();
    pocketId.addGroup("harbor-devs");
    pocketId.addGroup("harbor-ops");
    const inputs = { "allowed-groups": "harbor-ops,harbor-devs" };
    const r = await run(pocketId, harbor, inputs);
    expect(r.code, why(r)).toBe(0);
    const id = r.outputs["client-id"] ?? "";
    expect(allowedNames(pocketId, id)).toEqual(["harbor-devs", "harbor-ops"]);
    const before = writeCount(pocketId, harbor);
    const again = await run(pocketId, harbor, inputs);
    expect(again.code, why(again)).toBe(0);
    expect(again.outputs.changes).toBe("[]");
    expect(writeCount(pocketId, harbor)).toBe(before);
    // The list items of a search carry no groups: the client itself was read.
    expect(pocketId.requests.filter((q) => q.method === "GET" && q.path === `/api/oidc/clients/${id}`).length).toBeGreaterThan(0);
  });

  it("a changed set of groups (drift) fails verify, and apply sets exactly the wanted set with one PUT", async () => {
    const { pocketId, harbor } = await servers();
    const devs = pocketId.addGroup("harbor-devs");
    const ops = pocketId.addGroup("harbor-ops");
    const inputs = { "client-id": "harbor", "allowed-groups": "harbor-devs,harbor-ops" };
    expect((await run(pocketId, harbor, inputs)).code).toBe(0);
    // Someone edits the client in the UI: ops removed, an unrelated group added.
    const other = pocketId.addGroup("contractors");
    const client = pocketId.client("harbor");
    if (!client) throw new Error("no client");
    client.allowedUserGroupIds = [devs.id, other.id];

    const verify = await run(pocketId, harbor, { ...inputs, mode: "verify" });
    expect(verify.code).not.toBe(0);
    expect(verify.errors[0]).toContain('drift: pocket-id allowedUserGroups: ["harbor-devs","contractors"] → ["harbor-devs","harbor-ops"]');

    const before = pocketId.writes().length;
    const r = await run(pocketId, harbor, inputs);
    expect(r.code, why(r)).toBe(0);
    expect(calls(pocketId).slice(before)).toEqual(["PUT /api/oidc/clients/harbor/allowed-user-groups"]);
    expect(JSON.parse(pocketId.writes().at(-1)?.body ?? "{}").userGroupIds.sort()).toEqual([devs.id, ops.id].sort());
    expect(allowedNames(pocketId, "harbor")).toEqual(["harbor-devs", "harbor-ops"]);
    expect(pocketId.client("harbor")?.isGroupRestricted).toBe(true);
  });

  it("admin-group with create-groups: the group is created in Pocket ID and Harbor's oidc_admin_group is set", async () => {
    const { pocketId, harbor } = await servers();
    const inputs = { "client-id": "harbor", "admin-group": "harbor-admins", "create-groups": "true" };
    const r = await run(pocketId, harbor, inputs);
    expect(r.code, why(r)).toBe(0);
    expect(pocketId.groups().map((g) => [g.name, g.friendlyName])).toEqual([["harbor-admins", "harbor-admins"]]);
    expect(harbor.config().oidc_admin_group).toBe("harbor-admins");
    // An admin group is not an allowed group: the client stays open to everyone.
    expect(pocketId.client("harbor")?.isGroupRestricted).toBe(false);
    expect(calls(pocketId)).not.toContain("PUT /api/oidc/clients/harbor/allowed-user-groups");
    expect(changesOf(r)).toContainEqual({ target: "pocket-id", setting: "group harbor-admins", from: null, to: "created" });
    const before = writeCount(pocketId, harbor);
    const again = await run(pocketId, harbor, inputs);
    expect(again.code, why(again)).toBe(0);
    expect(writeCount(pocketId, harbor)).toBe(before);
    expect(pocketId.groups()).toHaveLength(1);
  });

  it("admin-group missing without create-groups: a clear error before any change, no group is made", async () => {
    const { pocketId, harbor } = await servers();
    const r = await run(pocketId, harbor, { "client-id": "harbor", "admin-group": "harbor-admins" });
    expect(r.code).not.toBe(0);
    expect(r.errors[0]).toMatch(/admin-group names "harbor-admins", but Pocket ID has no group with that name.*create-groups: true/);
    expect(pocketId.writes()).toEqual([]);
    expect(harbor.writes()).toEqual([]);
  });

  it("a name longer than 50 characters: created with the full name and a friendly name cut to 50", async () => {
    const { pocketId, harbor } = await servers();
    const long = `harbor-${"x".repeat(60)}`;
    const r = await run(pocketId, harbor, { "client-id": "harbor", "allowed-groups": long, "create-groups": "true" });
    expect(r.code, why(r)).toBe(0);
    expect(pocketId.groups().map((g) => [g.name, g.friendlyName])).toEqual([[long, long.slice(0, 50)]]);
    expect(allowedNames(pocketId, "harbor")).toEqual([long]);
  });

  it("admin-group of one character with create-groups: an input error, zero requests", async () => {
    const { pocketId, harbor } = await servers();
    const r = await run(pocketId, harbor, { "client-id": "harbor", "admin-group": "x", "create-groups": "true" });
    expect(r.code).not.toBe(0);
    expect(r.errors[0]).toMatch(
      /Input `admin-group` cannot be created as a Pocket ID group \(create-groups: true\): "x" is not a possible Pocket ID group name/,
    );
    expect(pocketId.requests.length + harbor.requests.length).toBe(0);
  });

  it.each(["2.14.0", "2.12.0"])("Pocket ID %s: a group create whose answer is lost is read back, never made twice", async (version) => {
    const { pocketId, harbor } = await servers({ version });
    // Processed, then the connection drops: the retried POST hears "already in use" (409, or 400 before 2.13).
    pocketId.fault({ method: "POST", path: "/api/user-groups", kind: "reset-after" });
    const r = await run(pocketId, harbor, { "client-id": "harbor", "allowed-groups": "harbor-devs", "create-groups": "true", "request-timeout": "5" });
    expect(r.code, why(r)).toBe(0);
    const posts = pocketId.requests.filter((q) => q.method === "POST" && q.path === "/api/user-groups");
    expect(posts.map((q) => q.status)).toEqual([-1, version === "2.14.0" ? 409 : 400]);
    expect(pocketId.groups().map((g) => g.name)).toEqual(["harbor-devs"]);
    expect(allowedNames(pocketId, "harbor")).toEqual(["harbor-devs"]);
    expect(r.stdout).toContain('Pocket ID group "harbor-devs" exists now');
  });

  it("restricting a client in use: the groups go in before the flag, so a failure locks nobody out", async () => {
    const { pocketId, harbor } = await servers();
    const first = await run(pocketId, harbor, { "client-id": "harbor" });
    expect(first.code, why(first)).toBe(0);
    pocketId.addGroup("harbor-devs");
    pocketId.fault({
      method: "PUT",
      path: "/api/oidc/clients/harbor/allowed-user-groups",
      kind: "status",
      status: 500,
      body: { error: "Something went wrong" },
    });
    const writes = pocketId.writes().length;
    const r = await run(pocketId, harbor, { "client-id": "harbor", "allowed-groups": "harbor-devs" });
    expect(r.code).not.toBe(0);
    expect(r.errors[0]).toMatch(/PUT \/api\/oidc\/clients\/harbor\/allowed-user-groups answered 500/);
    expect(r.errors[0]).toMatch(/Before the failure this run had changed nothing/);
    // The failed groups PUT was the only write: the client is still open to everyone.
    expect(
      pocketId
        .writes()
        .slice(writes)
        .map((q) => `${q.method} ${q.path}`),
    ).toEqual(["PUT /api/oidc/clients/harbor/allowed-user-groups"]);
    expect(pocketId.client("harbor")?.isGroupRestricted).toBe(false);
    // The rerun finishes the job: groups first, then the flag.
    const again = await run(pocketId, harbor, { "client-id": "harbor", "allowed-groups": "harbor-devs" });
    expect(again.code, why(again)).toBe(0);
    expect(
      pocketId
        .writes()
        .slice(writes + 1)
        .map((q) => `${q.method} ${q.path}`),
    ).toEqual(["PUT /api/oidc/clients/harbor/allowed-user-groups", "PUT /api/oidc/clients/harbor"]);
    expect(pocketId.client("harbor")?.isGroupRestricted).toBe(true);
    expect(allowedNames(pocketId, "harbor")).toEqual(["harbor-devs"]);
  });
});

describe("logo", () => {
  it("SVG: uploaded as multipart (field file), stored bytes equal the file; a rerun uploads nothing", async () => {
    const { pocketId, harbor } = await servers();
    const r = await run(pocketId, harbor, { "client-id": "harbor", logo: SVG });
    expect(r.code, why(r)).toBe(0);
    const logo = pocketId.client("harbor")?.logo;
    expect(logo?.sha256).toBe(sha256(readFileSync(SVG)));
    expect(logo?.mimeType).toBe("image/svg+xml");
    expect(pocketId.client("harbor")?.hasLogo).toBe(true);
    const upload = pocketId.writes().find((w) => w.path === "/api/oidc/clients/harbor/logo");
    expect(upload?.query).toBe("?light=true");
    expect(String(upload?.headers["content-type"])).toMatch(/^multipart\/form-data; boundary=/);
    expect(upload?.body).toMatch(/Content-Disposition: form-data; name="file"; filename="logo\.svg"/);
    expect(upload?.headers["x-api-key"]).toBe(API_KEY);
    expect(changesOf(r)).toContainEqual({ target: "pocket-id", setting: "logo", from: "none", to: "harbor-logo.svg" });

    const before = writeCount(pocketId, harbor);
    const again = await run(pocketId, harbor, { "client-id": "harbor", logo: SVG });
    expect(again.code, why(again)).toBe(0);
    expect(again.outputs.changes).toBe("[]");
    expect(writeCount(pocketId, harbor)).toBe(before);
    // It compared by reading the stored logo, without the API key (a public route).
    const read = pocketId.requests.filter((q) => q.method === "GET" && q.path === "/api/oidc/clients/harbor/logo");
    expect(read).toHaveLength(1);
    expect(read[0]?.headers["x-api-key"]).toBeUndefined();
  });

  it("PNG: stored bytes equal the file; a rerun uploads nothing; a changed file is uploaded again", async () => {
    const { pocketId, harbor } = await servers();
    const dir = tempDir();
    const file = join(dir, "Harbor.PNG");
    const first = png(4, 4, [0x60, 0xb9, 0x32, 0xff]);
    writeFileSync(file, first);
    const r = await run(pocketId, harbor, { "client-id": "harbor", logo: file });
    expect(r.code, why(r)).toBe(0);
    expect(pocketId.client("harbor")?.logo?.sha256).toBe(sha256(first));
    expect(pocketId.client("harbor")?.logo?.mimeType).toBe("image/png");
    expect(pocketId.client("harbor")?.logo?.bytes.equals(first)).toBe(true);

    let before = writeCount(pocketId, harbor);
    const again = await run(pocketId, harbor, { "client-id": "harbor", logo: file });
    expect(again.code, why(again)).toBe(0);
    expect(writeCount(pocketId, harbor)).toBe(before);

    const second = png(4, 4, [0x00, 0x5f, 0xa3, 0xff]);
    writeFileSync(file, second);
    before = pocketId.writes().length;
    const changed = await run(pocketId, harbor, { "client-id": "harbor", logo: file });
    expect(changed.code, why(changed)).toBe(0);
    expect(calls(pocketId).slice(before)).toEqual(["POST /api/oidc/clients/harbor/logo"]);
    expect(pocketId.client("harbor")?.logo?.sha256).toBe(sha256(second));
    expect(changesOf(changed)).toEqual([{ target: "pocket-id", setting: "logo", from: "other image", to: "Harbor.PNG" }]);
    expect(harbor.writes()).toHaveLength(1);
  });

  it("a client made by hand with another logo gets ours; with no logo input the logo is left alone", async () => {
    const { pocketId, harbor } = await servers();
    const handMade = pocketId.addClient({ id: "harbor", name: "Harbor", hasLogo: true });
    const theirs = handMade.logo?.sha256;
    expect(theirs).toBeDefined();
    const plain = await run(pocketId, harbor, { "client-id": "harbor" });
    expect(plain.code, why(plain)).toBe(0);
    expect(pocketId.client("harbor")?.logo?.sha256).toBe(theirs);
    expect(calls(pocketId)).not.toContain("POST /api/oidc/clients/harbor/logo");

    const r = await run(pocketId, harbor, { "client-id": "harbor", logo: SVG });
    expect(r.code, why(r)).toBe(0);
    expect(pocketId.client("harbor")?.logo?.sha256).toBe(sha256(readFileSync(SVG)));
    expect(changesOf(r)).toEqual([{ target: "pocket-id", setting: "logo", from: "other image", to: "harbor-logo.svg" }]);
  });

  it("a relative path is read from the working directory, as the runner's workspace", async () => {
    const { pocketId, harbor } = await servers();
    const dir = tempDir();
    mkdirSync(join(dir, "assets"));
    copyFileSync(SVG, join(dir, "assets", "logo.svg"));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const r = await run(pocketId, harbor, { "client-id": "harbor", logo: "assets/logo.svg" });
      expect(r.code, why(r)).toBe(0);
    } finally {
      process.chdir(cwd);
    }
    expect(pocketId.client("harbor")?.logo?.sha256).toBe(sha256(readFileSync(SVG)));
  });

  describe("bad logo inputs: an input error naming logo, zero requests", () => {
    const dir = tempDir();
    const files: Record<string, Buffer | null> = {
      "logo.bmp": Buffer.from("BM"),
      "logo.png.txt": Buffer.from("text"),
      "empty.png": Buffer.alloc(0),
      "huge.png": Buffer.alloc((2 << 20) - 10, 1),
      "dir.svg": null,
    };
    for (const [name, bytes] of Object.entries(files)) {
      if (bytes) writeFileSync(join(dir, name), bytes);
      else mkdirSync(join(dir, name));
    }
    it.each([
      ["missing file", join(dir, "nope.png"), /must be the path of a readable image file; cannot read/],
      ["unsupported extension", join(dir, "logo.bmp"), /must be an image file ending in \.png, \.svg, \.jpg, \.jpeg, \.gif, \.webp, \.ico/],
      ["extension not last", join(dir, "logo.png.txt"), /must be an image file ending in/],
      ["empty file", join(dir, "empty.png"), /is empty/],
      // Under 2 MiB itself, but not with the multipart envelope Pocket ID counts too.
      ["too large for the upload", join(dir, "huge.png"), /must be at most \d+ bytes \(Pocket ID's upload limit of 2 MiB, form envelope included\)/],
      ["a directory", join(dir, "dir.svg"), /is not a file/],
    ])("%s", async (_case, path, says) => {
      const { pocketId, harbor } = await servers();
      const r = await run(pocketId, harbor, { "client-id": "harbor", logo: path });
      expect(r.code).not.toBe(0);
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]).toContain("Input `logo`");
      expect(r.errors[0]).toMatch(says);
      expect(pocketId.requests.length + harbor.requests.length).toBe(0);
    });
  });
});
