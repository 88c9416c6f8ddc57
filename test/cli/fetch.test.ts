import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { startImdsEmulator, type ImdsEmulator, type ImdsEmulatorOptions } from "../emulator/imds/index.js";
import { cli, logLines, onlyJsonObject } from "./helpers.js";

/** A marker that appears only in the userdata body, so any leak of the body is visible. */
const MARKER = "body-marker-5f3c9a";
const CONFIGURATION = `{ config, pkgs, ... }:\n{\n  networking.hostName = "${MARKER}";\n}\n`;

const emulators: ImdsEmulator[] = [];
afterEach(async () => {
  await Promise.all(emulators.splice(0).map((e) => e.close()));
});

async function emulator(options: ImdsEmulatorOptions = {}): Promise<ImdsEmulator> {
  const started = await startImdsEmulator(options);
  emulators.push(started);
  return started;
}

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** Short budgets: the emulator answers at once, and the failure cases should end quickly. */
const FAST = ["--imds-budget", "2", "--imds-timeout", "0.5"];

describe("fetch", () => {
  it("--json reports identity and a summary of the userdata, never the body", async () => {
    const userdata = Buffer.from(CONFIGURATION);
    const imds = await emulator({ state: { userdata } });
    const out = await cli(["fetch", "--json", "--imds-endpoint", imds.url, ...FAST]);
    expect(out.status, out.stderr).toBe(0);
    const report = onlyJsonObject(out.stdout);
    expect(report).toMatchObject({
      ok: true,
      instanceId: "i-0123456789abcdef0",
      region: "eu-west-1",
      autoScalingGroup: "nixboot-fleet",
      targetLifecycleState: "InService",
      class: "nix",
      sizeBytes: userdata.length,
      sha256: sha256(userdata),
      hasScript: false,
    });
    expect(report).not.toHaveProperty("body");
    expect(out.stdout).not.toContain(MARKER);
    expect(out.stderr).not.toContain(MARKER);
    // It used IMDSv2: a token first, and every GET carried it (the emulator answers 401 otherwise).
    expect(imds.count({ method: "PUT", path: "/latest/api/token", status: 200 })).toBeGreaterThanOrEqual(1);
    expect(imds.count({ status: 401 })).toBe(0);
  });

  it("--show-body adds the decoded configuration", async () => {
    const imds = await emulator({ state: { userdata: Buffer.from(CONFIGURATION) } });
    const out = await cli(["fetch", "--json", "--show-body", "--imds-endpoint", imds.url, ...FAST]);
    expect(out.status, out.stderr).toBe(0);
    expect(onlyJsonObject(out.stdout).body).toBe(CONFIGURATION);
  });

  it("prints a human summary without the body", async () => {
    const imds = await emulator({ state: { userdata: Buffer.from(CONFIGURATION) } });
    const out = await cli(["fetch", "--imds-endpoint", imds.url, ...FAST]);
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^instance: +i-0123456789abcdef0 \(eu-west-1\)$/m);
    expect(out.stdout).toMatch(/^group: +nixboot-fleet$/m);
    expect(out.stdout).toMatch(/^class: +nix$/m);
    expect(out.stdout).not.toContain(MARKER);
  });

  it("takes the endpoint from NIXBOOT_IMDS_ENDPOINT", async () => {
    const imds = await emulator({ state: { userdata: Buffer.from(CONFIGURATION) } });
    const out = await cli(["fetch", "--json", ...FAST], { env: { NIXBOOT_IMDS_ENDPOINT: imds.url } });
    expect(out.status, out.stderr).toBe(0);
    expect(onlyJsonObject(out.stdout).instanceId).toBe("i-0123456789abcdef0");
  });

  it("decodes base64 of gzip userdata", async () => {
    const userdata = Buffer.from(gzipSync(CONFIGURATION).toString("base64"));
    const imds = await emulator({ state: { userdata } });
    const out = await cli(["fetch", "--json", "--imds-endpoint", imds.url, ...FAST]);
    expect(out.status, out.stderr).toBe(0);
    expect(onlyJsonObject(out.stdout)).toMatchObject({ class: "nix", encodings: ["base64", "gzip"], sizeBytes: userdata.length, sha256: sha256(userdata) });
  });

  it("no userdata and no group tag: class empty, autoScalingGroup null", async () => {
    const imds = await emulator({ state: { userdata: null, autoScalingGroupName: null } });
    const out = await cli(["fetch", "--json", "--imds-endpoint", imds.url, ...FAST]);
    expect(out.status, out.stderr).toBe(0);
    expect(onlyJsonObject(out.stdout)).toMatchObject({ class: "empty", sizeBytes: 0, autoScalingGroup: null });
  });

  it("IMDS disabled (403 on the token) exits 11 with a hint", async () => {
    const imds = await emulator({ state: { disabled: true } });
    const json = await cli(["fetch", "--json", "--imds-endpoint", imds.url, ...FAST]);
    expect(json.status).toBe(11);
    expect(onlyJsonObject(json.stdout)).toMatchObject({ ok: false, exitStatus: 11, error: { code: "IMDS_DISABLED" } });
    const human = await cli(["fetch", "--imds-endpoint", imds.url, ...FAST]);
    expect(human.status).toBe(11);
    expect(human.stderr).toContain("HttpEndpoint=disabled");
    expect(human.stderr).toContain("hint: enable it");
  });

  it("nothing listening, tiny budget: exits 10; logs go to stderr, one JSON object to stdout", async () => {
    // Take a free port, then close the listener: connections to it are refused.
    const gone = await startImdsEmulator();
    const url = gone.url;
    await gone.close();
    const out = await cli(["fetch", "--json", "--imds-endpoint", url, "--imds-budget", "0.3", "--imds-timeout", "0.1"]);
    expect(out.status).toBe(10);
    expect(onlyJsonObject(out.stdout)).toMatchObject({ ok: false, exitStatus: 10, error: { code: "IMDS_UNREACHABLE" } });
    const logs = logLines(out.stderr);
    expect(logs.some((line) => line.level === "warn" && line.msg === "IMDS not answering yet; retrying")).toBe(true);
  });

  it("userdata that cannot be decoded exits 20", async () => {
    const corrupt = gzipSync(CONFIGURATION).subarray(0, 20);
    const imds = await emulator({ state: { userdata: corrupt } });
    const out = await cli(["fetch", "--imds-endpoint", imds.url, ...FAST]);
    expect(out.status).toBe(20);
    expect(out.stderr).toContain("gzip userdata is corrupt or truncated");
  });

  it("an endpoint that is not a base URL exits 3", async () => {
    const out = await cli(["fetch", "--imds-endpoint", "http://127.0.0.1:1/latest", ...FAST]);
    expect(out.status).toBe(3);
    expect(out.stderr).toContain("imdsEndpoint must be a base URL");
  });
});
