import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { glob, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../agent/clock.js";
import { ImdsClient } from "../../agent/intake/imds-client.js";
import { silentLogger } from "../../agent/log/logger.js";
import { REPO, run, tempDir } from "./helpers.js";

async function nixFiles(): Promise<string[]> {
  const files: string[] = [];
  for await (const file of glob(["systemd/**/*.nix", "test/systemd/**/*.nix"], { cwd: REPO })) files.push(file);
  return files.sort();
}

describe("every .nix file of systemd/ and its fixtures", () => {
  it("parses with nix-instantiate --parse", async () => {
    const files = await nixFiles();
    // The files this change delivers must be among them (a broken glob would find none).
    expect(files).toEqual(expect.arrayContaining(["systemd/module.nix", "systemd/package.nix", "systemd/image.nix", "systemd/tests/vm-test.nix", "test/systemd/fixture/eval-module.nix"]));
    const failures: string[] = [];
    for (const file of files) {
      const outcome = await run("nix-instantiate", ["--parse", file]);
      if (outcome.status !== 0) failures.push(`${file}: ${outcome.stderr}`);
    }
    expect(failures).toEqual([]);
  });
});

describe("systemd/source.nix, the repository part an image bakes", () => {
  it("keeps systemd/, the bundle and package.json, nothing else", async () => {
    const samples = [
      { path: "systemd", type: "directory", wanted: true },
      { path: "systemd/image/base.nix", type: "regular", wanted: true },
      { path: "dist", type: "directory", wanted: true },
      { path: "dist/nixboot.mjs", type: "regular", wanted: true },
      { path: "dist/emulator.mjs", type: "regular", wanted: false },
      { path: "package.json", type: "regular", wanted: true },
      { path: "agent", type: "directory", wanted: false },
      { path: "node_modules", type: "directory", wanted: false },
      { path: "test", type: "directory", wanted: false },
      { path: "systemdx", type: "directory", wanted: false },
    ];
    const outcome = await run("nix-instantiate", [
      "--eval", "--strict", "--json",
      "--expr", "{ samples }: map (sample: (import ./systemd/source.nix).wanted sample.path sample.type) (builtins.fromJSON samples)",
      "--argstr", "samples", JSON.stringify(samples),
    ]);
    expect(outcome.stderr).toBe("");
    expect(JSON.parse(outcome.stdout)).toEqual(samples.map((sample) => sample.wanted));
  });

  it("is one content-addressed store path: evaluated again from that copy, it names the same path", async () => {
    const fromRepo = await run("nix-instantiate", ["--eval", "--json", "--read-write-mode", "--expr", "(import ./systemd/source.nix).source"]);
    expect(fromRepo.stderr).toBe("");
    const storePath = JSON.parse(fromRepo.stdout) as string;
    expect(storePath).toMatch(/^\/nix\/store\/[0-9a-z]{32}-nixboot-source$/);
    const copied: string[] = [];
    for (const entry of await readdir(storePath, { recursive: true })) copied.push(String(entry));
    expect(copied).toEqual(expect.arrayContaining(["package.json", "systemd/module.nix", "systemd/package.nix", "systemd/image/agent.nix", "systemd/tests/vm-common.nix"]));
    expect(copied.filter((entry) => /^(agent|test|node_modules|infra)(\/|$)/.test(entry))).toEqual([]);
    expect(copied.includes("dist/nixboot.mjs")).toBe(existsSync(join(REPO, "dist", "nixboot.mjs")));
    const fromCopy = await run("nix-instantiate", ["--eval", "--json", "--read-write-mode", "--expr", `(import ${storePath}/systemd/source.nix).source`]);
    expect(JSON.parse(fromCopy.stdout)).toBe(storePath);
  });
});

/** The VM test runs the fake IMDS with nixpkgs' python3; here, the machine's (.ci/setup-host.sh does not install one). */
const HAS_PYTHON3 = spawnSync("python3", ["--version"]).status === 0;

describe.runIf(HAS_PYTHON3)("systemd/tests/fake-imds.py, the VM test's IMDS", () => {
  let server: ChildProcess | undefined;
  let dir = "";
  let endpoint = "";

  beforeAll(async () => {
    dir = await tempDir();
    server = spawn("python3", [join(REPO, "systemd/tests/fake-imds.py"), "--address", "127.0.0.1", "--port", "0", "--data", dir], { stdio: ["ignore", "pipe", "inherit"] });
    const lines = createInterface({ input: server.stdout! });
    for await (const line of lines) {
      const listening = /listening on 127\.0\.0\.1:(\d+)/.exec(line);
      if (listening) {
        endpoint = `http://127.0.0.1:${listening[1]}`;
        break;
      }
    }
    // Keep draining its request log, so a full pipe never blocks it.
    server.stdout?.resume();
  });
  afterAll(async () => {
    server?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers the agent's own IMDS client: identity, then userdata once it exists", async () => {
    expect(endpoint).not.toBe("");
    const client = new ImdsClient({ endpoint, requestTimeoutMs: 2_000, budgetMs: 10_000, clock: systemClock, logger: silentLogger() });
    expect(await client.getIdentity()).toEqual({ instanceId: "i-0123456789abcdef0", region: "eu-west-1", groupName: null, targetLifecycleState: null });
    expect(await client.getUserdata()).toBeNull();
    await writeFile(join(dir, "user-data"), "{ imports = [ ]; }\n");
    expect((await client.getUserdata())?.toString("utf8")).toBe("{ imports = [ ]; }\n");
    expect(client.stats().tokenRequests).toBe(1);
  });

  it("refuses IMDSv1: a GET without the session token gets 401", async () => {
    const response = await fetch(`${endpoint}/latest/meta-data/instance-id`);
    expect(response.status).toBe(401);
  });
});
