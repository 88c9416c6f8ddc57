/**
 * Startup benchmark: how long the bundled agent takes to start and fetch its
 * userdata from IMDS, next to what NixOS does today (bash + curl, as the
 * ec2-metadata fetcher before amazon-init) and a bare `node -e 0`.
 * Prints figures; asserts nothing.
 *
 *   npm run build && node test/tools/run-ts.mjs test/bench/startup.ts [--runs N]
 */
import { spawn } from "node:child_process";
import { constants, existsSync } from "node:fs";
import { access, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { startImdsEmulator, type ImdsEmulator } from "../emulator/imds/index.js";

export interface StartupBenchOptions {
  /** Measured runs per scenario (after one unmeasured warm-up run). Default 15. */
  runs?: number;
  /** Extra runs per scenario under /usr/bin/time for peak RSS. Default 5. */
  rssRuns?: number;
  /** Repository root (holds dist/nixboot.mjs and test/bench/). Default: the working directory. */
  repoDir?: string;
  /** Progress lines; default: none. */
  log?: (line: string) => void;
}

export interface Summary {
  runs: number;
  median: number;
  p90: number;
  min: number;
  max: number;
}

export interface ScenarioFigures {
  name: string;
  /** The command line, for the record. */
  command: string;
  wallMs: Summary;
  /** Median peak RSS in KiB (GNU time `%M`: the largest process of the tree); null without /usr/bin/time. */
  peakRssKiB: number | null;
  /** IMDS requests one run made (token PUT included); null when the scenario does not talk to IMDS. */
  imdsRequests: number | null;
}

export interface StartupFigures {
  node: string;
  cpu: string;
  runs: number;
  /** Why RSS is missing, when it is. */
  rssNote: string | null;
  /** Whether the compile-cache scenario really found a populated cache. */
  compileCacheWritten: boolean;
  scenarios: {
    baseline: ScenarioFigures;
    bash: ScenarioFigures;
    agentLoad: ScenarioFigures;
    agent: ScenarioFigures;
    agentWarmCache: ScenarioFigures;
  };
  /** Median wall time of the agent's fetch over bash + curl's. */
  ratios: { agentOverBash: number; agentWarmCacheOverBash: number };
}

/** A configuration.nix as an operator would send it: a directive header and a small service. */
export const SAMPLE_CONFIGURATION = `# nixboot: policy=baked health=systemd health=http:http://127.0.0.1:8080/health
{ config, pkgs, lib, ... }:
{
  imports = [ <nixpkgs/nixos/modules/virtualisation/amazon-image.nix> ];
  networking.hostName = "web";
  services.nginx = {
    enable = true;
    virtualHosts."default".locations."/".return = "200 'ok'";
  };
  networking.firewall.allowedTCPPorts = [ 80 ];
  systemd.services.app = {
    wantedBy = [ "multi-user.target" ];
    serviceConfig.ExecStart = "\${pkgs.python3}/bin/python3 -m http.server 8080";
  };
  system.stateVersion = "25.05";
}
`;

const TIME = "/usr/bin/time";
const DEFAULT_RUNS = 15;
const DEFAULT_RSS_RUNS = 5;

interface Scenario {
  key: keyof StartupFigures["scenarios"];
  name: string;
  argv: string[];
  env: Record<string, string>;
  talksToImds: boolean;
  /** Throws when a run's output shows the command did not do its job (a failing run measures nothing). */
  check: (out: { stdout: string; stderr: string }) => void;
}

interface ChildRun {
  code: number | null;
  wallMs: number;
  stdout: string;
  stderr: string;
}

/** Spawns and waits; wall time from just before spawn to the exit of the process and its stdio. */
function runChild(argv: readonly string[], env: Record<string, string>): Promise<ChildRun> {
  const [file, ...args] = argv;
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(file!, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      resolvePromise({ code, wallMs: performance.now() - started, stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8") });
    });
  });
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) throw new Error("summarize: no values");
  // Nearest rank: p90 is a value that was really measured.
  const rank = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  const middle = sorted.length / 2;
  const median = sorted.length % 2 === 1 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { runs: sorted.length, median, p90: rank(90), min: sorted[0]!, max: sorted.at(-1)! };
}

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Peak RSS of one run in KiB, from GNU time's `%M` written to a file (stderr stays the command's). */
async function peakRss(scenario: Scenario, scratch: string, index: number): Promise<number> {
  const out = join(scratch, `rss-${scenario.key}-${index}.txt`);
  const run = await runChild([TIME, "-f", "%M", "-o", out, ...scenario.argv], scenario.env);
  if (run.code !== 0) throw new Error(`${scenario.name} failed under ${TIME} (exit ${run.code}): ${run.stderr.trim()}`);
  const lines = (await readFile(out, "utf8")).split("\n").filter((line) => line.trim() !== "");
  const value = Number(lines.at(-1));
  if (!Number.isFinite(value)) throw new Error(`${TIME} wrote no %M figure to ${out}`);
  return value;
}

/** Runs the startup benchmark against a local IMDS emulator and returns the figures (prints nothing). */
export async function runStartupBench(options: StartupBenchOptions = {}): Promise<StartupFigures> {
  const runs = options.runs ?? DEFAULT_RUNS;
  const rssRuns = options.rssRuns ?? DEFAULT_RSS_RUNS;
  const repo = resolve(options.repoDir ?? process.cwd());
  const log = options.log ?? (() => {});
  for (const [name, value] of [["runs", runs], ["rssRuns", rssRuns]] as const) {
    if (!Number.isInteger(value) || value < (name === "runs" ? 1 : 0)) throw new Error(`startup bench: ${name} must be a whole number${name === "runs" ? " >= 1" : " >= 0"}, got ${value}`);
  }
  const bundle = join(repo, "dist", "nixboot.mjs");
  const script = join(repo, "test", "bench", "amazon-init-fetch.sh");
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run \`npm run build\` first`);
  if (!(await executable("/usr/bin/curl")) && !(await executable("/bin/curl"))) throw new Error("curl is missing: the bash + curl scenario needs it (apt-get install curl)");

  const scratch = await mkdtemp(join(tmpdir(), "nixboot-bench-startup-"));
  let imds: ImdsEmulator | undefined;
  try {
    imds = await startImdsEmulator({ state: { userdata: Buffer.from(SAMPLE_CONFIGURATION) } });
    const settingsFile = join(scratch, "settings.json");
    await writeFile(settingsFile, "{}\n");
    const cacheDir = join(scratch, "compile-cache");
    const baseEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", NIXBOOT_SETTINGS_FILE: settingsFile };
    const node = process.execPath;
    const fetchArgs = ["fetch", "--json", "--imds-endpoint", imds.url, "--imds-budget", "10"];
    const isNixFetch = ({ stdout }: { stdout: string }): void => {
      const report = JSON.parse(stdout) as { class?: unknown };
      if (report.class !== "nix") throw new Error(`nixboot fetch classified the sample as ${String(report.class)}`);
    };
    const scenarios: Scenario[] = [
      { key: "baseline", name: "node -e 0 (baseline)", argv: [node, "-e", "0"], env: baseEnv, talksToImds: false, check: () => {} },
      {
        key: "bash",
        name: "bash + curl (amazon-init fetch)",
        argv: ["bash", script, imds.url],
        env: baseEnv,
        talksToImds: true,
        check: () => {},
      },
      {
        key: "agentLoad",
        name: "nixboot --version (load only)",
        argv: [node, bundle, "--version"],
        env: baseEnv,
        talksToImds: false,
        check: ({ stdout }) => {
          if (!stdout.startsWith("nixboot ")) throw new Error(`unexpected --version output: ${stdout}`);
        },
      },
      { key: "agent", name: "nixboot fetch --json", argv: [node, bundle, ...fetchArgs], env: baseEnv, talksToImds: true, check: isNixFetch },
      {
        key: "agentWarmCache",
        name: "nixboot fetch --json, compile cache warm",
        argv: [node, bundle, ...fetchArgs],
        env: { ...baseEnv, NODE_COMPILE_CACHE: cacheDir },
        talksToImds: true,
        check: isNixFetch,
      },
    ];

    // Warm-up: one unmeasured run each (page cache; fills the compile cache), checked, IMDS requests counted.
    const imdsRequests = new Map<string, number | null>();
    for (const scenario of scenarios) {
      const before = imds.state.requests.length;
      const run = await runChild(scenario.argv, scenario.env);
      if (run.code !== 0) throw new Error(`${scenario.name} failed (exit ${run.code}): ${run.stderr.trim()}`);
      scenario.check(run);
      imdsRequests.set(scenario.key, scenario.talksToImds ? imds.state.requests.length - before : null);
    }
    const compileCacheWritten = existsSync(cacheDir) && (await readdir(cacheDir)).length > 0;

    // Round-robin, so drift on the machine spreads over every scenario alike.
    const wall = new Map<string, number[]>(scenarios.map((scenario) => [scenario.key, []]));
    for (let round = 0; round < runs; round++) {
      log(`startup: round ${round + 1}/${runs}`);
      for (const scenario of scenarios) {
        const run = await runChild(scenario.argv, scenario.env);
        if (run.code !== 0) throw new Error(`${scenario.name} failed (exit ${run.code}): ${run.stderr.trim()}`);
        wall.get(scenario.key)!.push(run.wallMs);
      }
    }

    const haveTime = await executable(TIME);
    const rss = new Map<string, number[]>(scenarios.map((scenario) => [scenario.key, []]));
    if (haveTime) {
      for (let round = 0; round < rssRuns; round++) {
        for (const scenario of scenarios) rss.get(scenario.key)!.push(await peakRss(scenario, scratch, round));
      }
    }

    const figures = Object.fromEntries(
      scenarios.map((scenario): [string, ScenarioFigures] => {
        const rssValues = rss.get(scenario.key)!;
        return [
          scenario.key,
          {
            name: scenario.name,
            command: scenario.argv.map((arg) => (arg === node ? "node" : arg === bundle ? "dist/nixboot.mjs" : arg === script ? "test/bench/amazon-init-fetch.sh" : arg)).join(" "),
            wallMs: summarize(wall.get(scenario.key)!),
            peakRssKiB: rssValues.length > 0 ? summarize(rssValues).median : null,
            imdsRequests: imdsRequests.get(scenario.key) ?? null,
          },
        ];
      }),
    ) as StartupFigures["scenarios"];

    return {
      node: process.version,
      cpu: `${cpus()[0]?.model ?? "unknown CPU"} x${cpus().length}`,
      runs,
      rssNote: haveTime ? null : `${TIME} not found: install the Debian package \`time\` for peak RSS`,
      compileCacheWritten,
      scenarios: figures,
      ratios: {
        agentOverBash: figures.agent.wallMs.median / figures.bash.wallMs.median,
        agentWarmCacheOverBash: figures.agentWarmCache.wallMs.median / figures.bash.wallMs.median,
      },
    };
  } finally {
    await imds?.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The figures as a table. */
export function formatStartup(figures: StartupFigures): string {
  const rows = Object.values(figures.scenarios);
  const width = Math.max(...rows.map((row) => row.name.length));
  const ms = (value: number): string => value.toFixed(1).padStart(8);
  const mib = (kib: number | null): string => (kib === null ? "-" : (kib / 1024).toFixed(1)).padStart(9);
  const header = `${"".padEnd(width)}  ${"median".padStart(8)}  ${"p90".padStart(8)}  ${"min".padStart(8)}  ${"RSS MiB".padStart(9)}  IMDS req`;
  return [
    `startup: ${figures.runs} runs per scenario, wall ms (median, p90, min); peak RSS median; ${figures.node} on ${figures.cpu}`,
    header,
    ...rows.map((row) => `${row.name.padEnd(width)}  ${ms(row.wallMs.median)}  ${ms(row.wallMs.p90)}  ${ms(row.wallMs.min)}  ${mib(row.peakRssKiB)}  ${row.imdsRequests ?? "-"}`),
    `ratio nixboot fetch / bash + curl (median): ${figures.ratios.agentOverBash.toFixed(2)}x; with a warm compile cache: ${figures.ratios.agentWarmCacheOverBash.toFixed(2)}x`,
    ...(figures.compileCacheWritten ? [] : ["note: NODE_COMPILE_CACHE stayed empty, so the warm-cache row ran without a cache"]),
    ...(figures.rssNote ? [`note: ${figures.rssNote}`] : []),
  ].join("\n");
}

/** The bench-module entry `test/bench/index.ts` calls: measure, print, return the figures. */
export async function run(options: StartupBenchOptions = {}): Promise<StartupFigures> {
  const figures = await runStartupBench(options);
  console.log(formatStartup(figures));
  return figures;
}

// Run directly: node test/tools/run-ts.mjs test/bench/startup.ts [--runs N] (run-ts puts the entry in argv[1]).
if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve("test/bench/startup.ts")) {
  const { values } = parseArgs({ options: { runs: { type: "string" } } });
  await run({ ...(values.runs !== undefined ? { runs: Number(values.runs) } : {}), log: (line) => process.stderr.write(`${line}\n`) });
}
