/**
 * Shared by test/bench/pipeline.ts and test/bench/boot-run.ts: the fixture machine of test/fixture/machine.ts,
 * with the fixture's paths derived from the repository directory instead of `import.meta.url`
 * (test/bench/index.ts bundles bench modules into .tmp/bench/, where machine.ts's own paths would point
 * nowhere), plus small statistics and a child-process helper.
 */
import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import type { CommandRunner } from "../../agent/exec/runner.js";
import type { PipelineDeps } from "../../agent/pipeline/index.js";
import type { Settings } from "../../agent/settings/definitions.js";
import { AMI_CONFIG, createMachine, OFFLINE, type Machine } from "../fixture/machine.js";

const exec = promisify(execFile);

export interface FixturePaths {
  /** The fixture's NixOS-like entry point (test/fixture/nixos). */
  entry: string;
  /** Directory holding the fake `systemctl`. */
  binDir: string;
  systemctl: string;
}

export function fixturePaths(repo: string): FixturePaths {
  const binDir = join(repo, "test", "fixture", "bin");
  return { entry: join(repo, "test", "fixture", "nixos"), binDir, systemctl: join(binDir, "systemctl") };
}

export interface BenchMachine extends Machine {
  fixture: FixturePaths;
}

const amiByEntry = new Map<string, Promise<string>>();

/** Evaluates and builds a fixture configuration without nixboot code (as machine.ts does), rooted at `gcRoot`. */
export async function buildFixtureSystem(entry: string, configText: string, gcRoot: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "nixboot-bench-config-"));
  try {
    await writeFile(join(dir, "configuration.nix"), configText);
    await exec("nix-instantiate", [
      "-I", `fixture=${entry}`,
      "--arg", "configuration", join(dir, "configuration.nix"),
      "--expr", "{ configuration }: (import <fixture> { inherit configuration; }).system",
      "--add-root", `${gcRoot}.drv`,
    ]);
    await exec("nix-store", ["--realise", await readlink(`${gcRoot}.drv`), "--add-root", gcRoot, ...OFFLINE]);
    return await readlink(gcRoot);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function amiSystem(entry: string): Promise<string> {
  let ami = amiByEntry.get(entry);
  if (ami === undefined) {
    ami = (async () => {
      const roots = join(tmpdir(), "nixboot-bench-roots");
      await mkdir(roots, { recursive: true });
      return buildFixtureSystem(entry, AMI_CONFIG, join(roots, "ami"));
    })();
    amiByEntry.set(entry, ami);
  }
  return ami;
}

/**
 * A fresh fake machine running the fake AMI's system (profile generation 1, boot default,
 * /etc/nixos/configuration.nix), like `createMachine()`, with the fixture found under `repo`.
 */
export async function benchMachine(repo: string): Promise<BenchMachine> {
  const fixture = fixturePaths(repo);
  const machine = await createMachine({ bootstrap: false });
  const ami = await amiSystem(fixture.entry);
  await mkdir(dirname(machine.paths.profile), { recursive: true });
  await exec("nix-env", ["--profile", machine.paths.profile, "--set", ami]);
  await exec(join(ami, "bin", "switch-to-configuration"), ["switch"], { env: { ...process.env, NIXBOOT_FIXTURE_ROOT: machine.root } });
  await mkdir(dirname(machine.paths.config), { recursive: true });
  await writeFile(machine.paths.config, AMI_CONFIG);
  const settings: Settings = { ...machine.settings, nixosEntry: fixture.entry };
  return {
    ...machine,
    fixture,
    settings,
    amiSystem: ami,
    deps: (overrides: Omit<Partial<PipelineDeps>, "settings"> & { settings?: Partial<Settings> } = {}) =>
      machine.deps({ systemctlPath: fixture.systemctl, ...overrides, settings: { nixosEntry: fixture.entry, ...overrides.settings } }),
  };
}

/**
 * External time per program (argv[0]'s base name) around a real runner, and per bucket
 * (`bucket()` at the time the command starts, e.g. the pipeline step running).
 */
export function timingRunner(
  inner: CommandRunner,
  bucket: () => string = () => "",
): CommandRunner & { byProgram: Map<string, { count: number; ms: number }>; byBucket: Map<string, number>; reset(): void } {
  const byProgram = new Map<string, { count: number; ms: number }>();
  const byBucket = new Map<string, number>();
  return {
    byProgram,
    byBucket,
    reset: () => {
      byProgram.clear();
      byBucket.clear();
    },
    async run(argv, options) {
      const started = performance.now();
      const where = bucket();
      try {
        return await inner.run(argv, options);
      } finally {
        const ms = performance.now() - started;
        const name = argv[0]!.split("/").at(-1)!;
        const entry = byProgram.get(name) ?? { count: 0, ms: 0 };
        entry.count += 1;
        entry.ms += ms;
        byProgram.set(name, entry);
        byBucket.set(where, (byBucket.get(where) ?? 0) + ms);
      }
    },
  };
}

export const isNixProgram = (name: string): boolean => name.startsWith("nix-") || name === "nix";

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export interface ChildRun {
  code: number | null;
  /** performance.timeOrigin + performance.now() just before spawn: epoch ms, sub-millisecond. */
  spawnedAt: number;
  wallMs: number;
  stdout: string;
  stderr: string;
}

export const epochNow = (): number => performance.timeOrigin + performance.now();

/** Spawns and waits; wall time from just before spawn to the exit of the process and its stdio. */
export function runChild(argv: readonly string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<ChildRun> {
  const [file, ...args] = argv;
  return new Promise((resolvePromise, reject) => {
    const spawnedAt = epochNow();
    const started = performance.now();
    const child = spawn(file!, args, { env, stdio: ["ignore", "pipe", "pipe"], ...(cwd ? { cwd } : {}) });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      resolvePromise({ code, spawnedAt, wallMs: performance.now() - started, stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8") });
    });
  });
}

export const fmt = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toFixed(digits) : "-");
