import { execFile, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startImdsEmulator, type ImdsEmulator } from "../emulator/imds/index.js";
import { tempDir } from "./helpers.js";

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, "../..");
const BUNDLE = join(REPO, "dist", "nixboot.mjs");

interface ChildOutcome {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the copied bundle as a real process with this Node (24) and a bare
 * environment: no NODE_PATH, no node_modules anywhere above its directory.
 * Asynchronous on purpose: the IMDS emulator answering it lives in this process.
 */
async function bundle(dir: string, args: string[]): Promise<ChildOutcome> {
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", NIXBOOT_SETTINGS_FILE: join(dir, "settings.json") };
  try {
    const { stdout, stderr } = await run(process.execPath, [join(dir, "nixboot.mjs"), ...args], { cwd: dir, env, timeout: 60_000 });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== "number") throw error;
    return { status: failed.code, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

function hasNodeModulesAbove(dir: string): boolean {
  for (let current = dir; ; current = dirname(current)) {
    if (existsSync(join(current, "node_modules"))) return true;
    if (dirname(current) === current) return false;
  }
}

describe("the built bundle dist/nixboot.mjs", () => {
  let dir = "";
  let imds: ImdsEmulator | undefined;

  beforeAll(() => {
    if (existsSync(BUNDLE)) return;
    // CI builds first (`npm test` runs `npm run build`); build here when run on its own.
    const built = spawnSync(process.execPath, ["test/tools/build.mjs"], { cwd: REPO, encoding: "utf8" });
    if (!existsSync(BUNDLE)) throw new Error(`node test/tools/build.mjs did not produce dist/nixboot.mjs:\n${built.stdout}\n${built.stderr}`);
  });

  afterAll(async () => {
    await imds?.close();
  });

  it("starts from a directory without node_modules: --help, classify, fetch", async () => {
    dir = await tempDir();
    expect(hasNodeModulesAbove(dir), `${dir} must not see a node_modules`).toBe(false);
    await copyFile(BUNDLE, join(dir, "nixboot.mjs"));
    await writeFile(join(dir, "settings.json"), "{}\n");
    expect(process.versions.node.split(".")[0]).toBe("24");

    const help = await bundle(dir, ["--help"]);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain("Usage: nixboot COMMAND [options]");

    await writeFile(join(dir, "configuration.nix"), "{ config, pkgs, ... }:\n{\n  services.openssh.enable = true;\n}\n");
    const classify = await bundle(dir, ["classify", "--json", "configuration.nix"]);
    expect(classify.status, classify.stderr).toBe(0);
    expect(JSON.parse(classify.stdout)).toMatchObject({ ok: true, class: "nix", file: "configuration.nix" });

    // fetch pulls in got (the HTTP client) and pino: proves the dependencies are inside the bundle.
    imds = await startImdsEmulator({ state: { userdata: Buffer.from("#!/bin/sh\ntrue\n") } });
    const fetched = await bundle(dir, ["fetch", "--json", "--imds-endpoint", imds.url, "--imds-budget", "5"]);
    expect(fetched.status, fetched.stderr).toBe(0);
    expect(JSON.parse(fetched.stdout)).toMatchObject({ ok: true, instanceId: "i-0123456789abcdef0", class: "script" });

    const unknown = await bundle(dir, ["frobnicate"]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });
});
