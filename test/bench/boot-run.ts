/**
 * Boot-run benchmark (issue 4): the BUNDLED agent `dist/nixboot.mjs run --json` as the boot unit
 * runs it, on a fresh fixture machine (real Nix, test/fixture) against the local IMDS and Auto
 * Scaling emulators (in-process, real HTTP), next to a boot "the amazon-init way"
 * (test/bench/amazon-init-boot.sh: bash + curl fetch, then nix-build, nix-env --set,
 * switch-to-configuration switch) against the same emulator. Each run is a new instance: a fresh
 * machine, a fresh configuration (nonce), a fresh emulator with a pending launch lifecycle action.
 *
 * Measured per run: wall time; time inside every child process and the first Nix command's start
 * (test/bench/spawn-timer.mjs, preloaded with --import; the `step parse` log line cross-checks it);
 * the agent's own peak RSS (getrusage, from the same preload) and the process tree's under
 * /usr/bin/time -f %M (separate runs, no preload); IMDS and AWS requests from the emulators' logs.
 * Also with a warm NODE_COMPILE_CACHE. Prints figures and the issue's targets; asserts nothing.
 *
 *   node test/tools/build.mjs && node test/tools/run-ts.mjs test/bench/boot-run.ts [--runs N] [--bundle FILE]
 */
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir, uptime } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { startLocalCloud, type LocalCloud } from "../emulator/index.js";
import { createMachine, FAKE_SYSTEMCTL, FIXTURE_ENTRY, freshConfig, type Machine } from "../fixture/machine.js";
import { fmt, isNixProgram, median, runChild } from "./measure.js";

export interface BootRunBenchOptions {
  /** Measured runs per scenario, after one unmeasured warm-up each. Default 5. */
  runs?: number;
  /** Extra runs per agent scenario under /usr/bin/time for the tree's peak RSS. Default 3. */
  rssRuns?: number;
  /** Repository root (holds dist/nixboot.mjs, test/bench/ and test/fixture/). Default: the working directory. */
  repoDir?: string;
  /** The agent bundle to run (to try a changed build); default REPO/dist/nixboot.mjs. */
  bundle?: string;
  /** Progress lines; default: none. */
  log?: (line: string) => void;
}

/** Medians over the runs, in ms from the process's spawn (or durations). */
export interface BootScenarioFigures {
  name: string;
  runs: number;
  wallMs: number;
  /** Spawn to the start of the first nix-* command (agent: preload hook; script: its fetch mark). */
  firstNixMs: number;
  /** Time inside nix-* commands. */
  nixMs: number;
  /** Time inside other child processes (switch-to-configuration, systemctl; curl counts as the script's own work). */
  otherCommandMs: number;
  /** wall − nix: the issue's "non-nix overhead". */
  nonNixMs: number;
  /** wall − every child process: the agent's (or bash's) own time. */
  ownMs: number;
  /** The report's `apply.nixCommandMs` (agent only). */
  reportNixMs: number | null;
  /** Peak RSS of the process tree (GNU time %M, MiB), median of the RSS runs; null without /usr/bin/time. */
  treeRssMiB: number | null;
  /** The agent process's own peak RSS (MiB), from the preload; null for the script. */
  selfRssMiB: number | null;
  /** Spawn to each milestone in the agent's log (ms), medians. */
  milestones: Record<string, number>;
  imdsRequests: string[];
  awsRequests: string[];
  outcome: string;
}

export interface BootRunFigures {
  node: string;
  cpu: string;
  runs: number;
  bundle: string;
  /** Median ms: `node -e 0`; `nixboot --version` (the bundle's load) without and with the timing preload. */
  baseline: { nodeMs: number; loadMs: number; loadWithHookMs: number };
  /** os.uptime() of the host: the agent dates the lifecycle wait from boot. */
  hostUptimeSeconds: number;
  /** 1-minute load average before and after (2 cores: above 2 the figures are noisy). */
  loadAverage: [number, number];
  compileCacheWritten: boolean;
  scenarios: { agent: BootScenarioFigures; agentWarmCache: BootScenarioFigures; bash: BootScenarioFigures };
  /** The bash script's fetch alone (spawn to user-data written), median ms. */
  bashFetchMs: number;
  ratios: { wall: number; firstNixOverBashFetch: number; firstNixWarmOverBashFetch: number; nonNix: number };
  rssNote: string | null;
}

const INSTANCE = "i-0b0075000000000b1";
const GROUP = "nixboot-bench";
const HOOK = "nixboot-launch";
const REGION = "eu-west-1";
const TIME = "/usr/bin/time";
const DEFAULT_RUNS = 5;
const DEFAULT_RSS_RUNS = 3;
/** Log messages marking how far the agent got, in order (the first matching line counts). */
const MILESTONES: Array<[string, (line: Record<string, unknown>) => boolean]> = [
  ["first log line", () => true],
  ["instance identity", (line) => line.msg === "instance identity"],
  ["userdata classified", (line) => line.msg === "userdata classified"],
  ["step parse (1st nix)", (line) => line.msg === "step parse"],
];

interface Sample {
  wallMs: number;
  firstNixMs: number;
  nixMs: number;
  otherCommandMs: number;
  reportNixMs: number | null;
  selfRssKiB: number | null;
  milestones: Record<string, number>;
  imdsRequests: string[];
  awsRequests: string[];
  outcome: string;
}

interface SpawnLog {
  loadedAt: number;
  exitAt: number;
  maxRssKiB: number;
  children: Array<{ file: string; start: number; end: number | null }>;
}

async function withInstance<T>(repo: string, work: (machine: Machine, cloud: LocalCloud) => Promise<T>): Promise<T> {
  const machine = await createMachine();
  const cloud = await startLocalCloud({
    imds: { state: { userdata: Buffer.from(freshConfig("", "web-1")), instanceId: INSTANCE, region: REGION, autoScalingGroupName: GROUP, targetLifecycleState: "InService" } },
    aws: { region: REGION, groups: [{ name: GROUP, instances: [INSTANCE], hooks: [{ name: HOOK, heartbeatTimeoutSeconds: 300, defaultResult: "ABANDON" }] }] },
  });
  try {
    cloud.aws.state.startLifecycleAction(INSTANCE, { hook: HOOK });
    return await work(machine, cloud);
  } finally {
    await cloud.close();
    await machine.cleanup();
  }
}

function requestsOf(cloud: LocalCloud): { imds: string[]; aws: string[] } {
  return {
    imds: cloud.imds.state.requests.map((request) => `${request.method} ${request.path}`),
    aws: cloud.aws.state.requests().map((request) => request.action),
  };
}

interface AgentRun {
  argv: string[];
  env: NodeJS.ProcessEnv;
}

function agentCommand(bundle: string, machine: Machine, cloud: LocalCloud, settingsFile: string, extraEnv: Record<string, string>, preload: string | null): AgentRun {
  const args = [
    bundle, "run", "--json",
    "--nixos-entry", machine.settings.nixosEntry,
    "--state-dir", machine.paths.stateDir,
    "--system-profile", machine.paths.profile,
    "--config-path", machine.paths.config,
    "--current-system", machine.paths.currentSystem,
    "--health-timeout", "20",
    "--imds-budget", "10",
  ];
  return {
    argv: [process.execPath, ...(preload ? ["--import", preload] : []), ...args],
    env: {
      ...process.env,
      ...cloud.env,
      NIXBOOT_FIXTURE_ROOT: machine.root,
      NIXBOOT_SETTINGS_FILE: settingsFile,
      // No systemd here: the fixture's fake systemctl answers from the machine root.
      PATH: `${dirname(FAKE_SYSTEMCTL)}${delimiter}${process.env.PATH ?? ""}`,
      ...extraEnv,
    },
  };
}

async function runAgent(repo: string, bundle: string, scratch: string, settingsFile: string, preload: string, extraEnv: Record<string, string>): Promise<Sample> {
  return withInstance(repo, async (machine, cloud) => {
    const spawnLog = join(scratch, `spawn-${Date.now()}-${Math.random().toString(16).slice(2)}.json`);
    const command = agentCommand(bundle, machine, cloud, settingsFile, { ...extraEnv, NIXBOOT_BENCH_SPAWN_LOG: spawnLog }, preload);
    const run = await runChild(command.argv, command.env);
    let report: { outcome?: string; lifecycle?: { result?: string; action?: string }; apply?: { nixCommandMs?: number; evaluations?: number }; error?: { message?: string } };
    try {
      report = JSON.parse(run.stdout) as typeof report;
    } catch {
      throw new Error(`nixboot run printed no JSON report (exit ${run.code}): ${run.stdout}\n${run.stderr}`);
    }
    if (run.code !== 0 || report.outcome !== "applied" || report.lifecycle?.result !== "completed") {
      throw new Error(`nixboot run did not apply and complete (exit ${run.code}, outcome ${report.outcome}, lifecycle ${report.lifecycle?.result}): ${report.error?.message ?? run.stderr.slice(-2000)}`);
    }
    const hook = JSON.parse(await readFile(spawnLog, "utf8")) as SpawnLog;
    let nixMs = 0;
    let otherCommandMs = 0;
    let firstNix = Number.POSITIVE_INFINITY;
    for (const child of hook.children) {
      const ms = (child.end ?? hook.exitAt) - child.start;
      const name = child.file.split("/").at(-1)!;
      if (isNixProgram(name)) {
        nixMs += ms;
        firstNix = Math.min(firstNix, child.start);
      } else otherCommandMs += ms;
    }
    const lines = run.stderr
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const milestones: Record<string, number> = { "node ready (preload)": hook.loadedAt - run.spawnedAt };
    for (const [name, match] of MILESTONES) {
      const line = lines.find(match);
      if (line && typeof line.time === "string") milestones[name] = Date.parse(line.time) - run.spawnedAt;
    }
    milestones["first nix spawn"] = firstNix - run.spawnedAt;
    const imds = cloud.imds.state.requests;
    if (imds.length > 0) milestones["first IMDS request"] = imds[0]!.at - run.spawnedAt;
    const userdata = imds.find((request) => request.path === "/latest/user-data");
    if (userdata) milestones["user-data served"] = userdata.at - run.spawnedAt;
    const requests = requestsOf(cloud);
    return {
      wallMs: run.wallMs,
      firstNixMs: firstNix - run.spawnedAt,
      nixMs,
      otherCommandMs,
      reportNixMs: report.apply?.nixCommandMs ?? null,
      selfRssKiB: hook.maxRssKiB,
      milestones,
      imdsRequests: requests.imds,
      awsRequests: requests.aws,
      outcome: `${report.outcome}, lifecycle ${report.lifecycle?.result} ${report.lifecycle?.action ?? ""}, ${report.apply?.evaluations ?? "?"} evaluation(s)`,
    };
  });
}

/** Peak RSS (KiB) of the agent's whole process tree under GNU time, without the preload. */
async function agentTreeRss(repo: string, bundle: string, scratch: string, settingsFile: string, extraEnv: Record<string, string>): Promise<number> {
  return withInstance(repo, async (machine, cloud) => {
    const out = join(scratch, `rss-${Date.now()}.txt`);
    const command = agentCommand(bundle, machine, cloud, settingsFile, extraEnv, null);
    const run = await runChild([TIME, "-f", "%M", "-o", out, ...command.argv], command.env);
    if (run.code !== 0) throw new Error(`nixboot run failed under ${TIME} (exit ${run.code}): ${run.stderr.slice(-2000)}`);
    return Number((await readFile(out, "utf8")).trim().split("\n").at(-1));
  });
}

async function runBash(repo: string, scratch: string, withTime: boolean): Promise<Sample & { fetchMs: number; treeRssKiB: number | null }> {
  return withInstance(repo, async (machine, cloud) => {
    const marksFile = join(scratch, `marks-${Date.now()}-${Math.random().toString(16).slice(2)}.txt`);
    const rssFile = join(scratch, `rss-bash-${Date.now()}.txt`);
    const script = ["bash", join(repo, "test", "bench", "amazon-init-boot.sh"), cloud.imds.url, FIXTURE_ENTRY, machine.root, machine.paths.profile];
    const before = await machine.resolve(machine.paths.currentSystem);
    const run = await runChild(withTime ? [TIME, "-f", "%M", "-o", rssFile, ...script] : script, { ...process.env, BENCH_MARKS: marksFile });
    if (run.code !== 0) throw new Error(`amazon-init-boot.sh failed (exit ${run.code}): ${run.stderr.trim()}`);
    const after = await machine.resolve(machine.paths.currentSystem);
    if (after === before) throw new Error("amazon-init-boot.sh did not switch the machine");
    let nixMs = 0;
    let otherCommandMs = 0;
    let fetchEnd = Number.NaN;
    for (const line of (await readFile(marksFile, "utf8")).split("\n").filter((l) => l.trim() !== "")) {
      const [name, start, end] = line.trim().split(/\s+/);
      const ms = (Number(end) - Number(start)) * 1000;
      if (name === "fetch") fetchEnd = Number(end) * 1000;
      else if (isNixProgram(name!)) nixMs += ms;
      else otherCommandMs += ms;
    }
    const requests = requestsOf(cloud);
    return {
      wallMs: run.wallMs,
      // The script starts its first Nix command right after the fetch (cp, mkdir and a bash in between).
      firstNixMs: fetchEnd - run.spawnedAt,
      fetchMs: fetchEnd - run.spawnedAt,
      nixMs,
      otherCommandMs,
      reportNixMs: null,
      selfRssKiB: null,
      treeRssKiB: withTime ? Number((await readFile(rssFile, "utf8")).trim().split("\n").at(-1)) : null,
      milestones: {},
      imdsRequests: requests.imds,
      awsRequests: requests.aws,
      outcome: after ? "switched" : "not switched",
    };
  });
}

function summarize(name: string, samples: readonly Sample[], treeRss: readonly number[]): BootScenarioFigures {
  const pick = (f: (s: Sample) => number): number => median(samples.map(f));
  const last = samples.at(-1)!;
  const milestoneNames = Object.keys(last.milestones);
  return {
    name,
    runs: samples.length,
    wallMs: pick((s) => s.wallMs),
    firstNixMs: pick((s) => s.firstNixMs),
    nixMs: pick((s) => s.nixMs),
    otherCommandMs: pick((s) => s.otherCommandMs),
    nonNixMs: pick((s) => s.wallMs - s.nixMs),
    ownMs: pick((s) => s.wallMs - s.nixMs - s.otherCommandMs),
    reportNixMs: last.reportNixMs === null ? null : pick((s) => s.reportNixMs!),
    treeRssMiB: treeRss.length > 0 ? median(treeRss) / 1024 : null,
    selfRssMiB: last.selfRssKiB === null ? null : pick((s) => s.selfRssKiB!) / 1024,
    milestones: Object.fromEntries(milestoneNames.map((key) => [key, pick((s) => s.milestones[key] ?? Number.NaN)])),
    imdsRequests: last.imdsRequests,
    awsRequests: last.awsRequests,
    outcome: last.outcome,
  };
}

/** `node -e 0`, and `nixboot --version` (load only) without and with the timing preload: the preload's own cost. */
async function nodeBaseline(bundle: string, preload: string, runs: number): Promise<BootRunFigures["baseline"]> {
  const hookLog = join(tmpdir(), `nixboot-bench-hook-${process.pid}.json`);
  const plain: number[] = [];
  const load: number[] = [];
  const loadHooked: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const a = await runChild([process.execPath, "-e", "0"], process.env);
    const b = await runChild([process.execPath, bundle, "--version"], process.env);
    const c = await runChild([process.execPath, "--import", preload, bundle, "--version"], { ...process.env, NIXBOOT_BENCH_SPAWN_LOG: hookLog });
    if (i === 0) continue; // warm-up
    plain.push(a.wallMs);
    load.push(b.wallMs);
    loadHooked.push(c.wallMs);
  }
  await rm(hookLog, { force: true });
  return { nodeMs: median(plain), loadMs: median(load), loadWithHookMs: median(loadHooked) };
}

/** Measures (prints nothing) and returns the figures. */
export async function runBootRunBench(options: BootRunBenchOptions = {}): Promise<BootRunFigures> {
  const runs = options.runs ?? DEFAULT_RUNS;
  const rssRuns = options.rssRuns ?? DEFAULT_RSS_RUNS;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`boot-run bench: runs must be a whole number >= 1, got ${runs}`);
  const repo = resolve(options.repoDir ?? process.cwd());
  const log = options.log ?? (() => {});
  const bundle = resolve(options.bundle ?? join(repo, "dist", "nixboot.mjs"));
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run \`node test/tools/build.mjs\` first`);
  if (!existsSync(join(repo, "test", "fixture", "nixos", "default.nix"))) throw new Error(`no fixture under ${repo}/test/fixture: run from the repository root`);
  const preload = pathToFileURL(join(repo, "test", "bench", "spawn-timer.mjs")).href;
  const haveTime = existsSync(TIME);

  const scratch = await mkdtemp(join(tmpdir(), "nixboot-bench-boot-"));
  try {
    const settingsFile = join(scratch, "settings.json");
    await writeFile(settingsFile, "{}\n");
    const cacheDir = join(scratch, "compile-cache");
    const warm = { NODE_COMPILE_CACHE: cacheDir };

    log("boot-run: node baseline");
    const loadBefore = loadavg()[0]!;
    const baseline = await nodeBaseline(bundle, preload, Math.max(3, runs));

    // Warm-up, unmeasured: the page cache, the AMI's system in the store, and the compile cache.
    log("boot-run: warm-up");
    await runAgent(repo, bundle, scratch, settingsFile, preload, {});
    await runAgent(repo, bundle, scratch, settingsFile, preload, warm);
    await runBash(repo, scratch, false);
    const compileCacheWritten = existsSync(cacheDir) && (await readdir(cacheDir)).length > 0;

    const agent: Sample[] = [];
    const agentWarm: Sample[] = [];
    const bash: Array<Sample & { fetchMs: number }> = [];
    // Round-robin, so drift on the machine spreads over every scenario alike.
    for (let round = 0; round < runs; round++) {
      log(`boot-run: round ${round + 1}/${runs}`);
      agent.push(await runAgent(repo, bundle, scratch, settingsFile, preload, {}));
      agentWarm.push(await runAgent(repo, bundle, scratch, settingsFile, preload, warm));
      bash.push(await runBash(repo, scratch, false));
    }
    const rss = { agent: [] as number[], agentWarm: [] as number[], bash: [] as number[] };
    if (haveTime) {
      for (let round = 0; round < rssRuns; round++) {
        log(`boot-run: RSS round ${round + 1}/${rssRuns}`);
        rss.agent.push(await agentTreeRss(repo, bundle, scratch, settingsFile, {}));
        rss.agentWarm.push(await agentTreeRss(repo, bundle, scratch, settingsFile, warm));
        rss.bash.push((await runBash(repo, scratch, true)).treeRssKiB!);
      }
    }

    const scenarios = {
      agent: summarize("nixboot run --json (bundle)", agent, rss.agent),
      agentWarmCache: summarize("nixboot run, warm NODE_COMPILE_CACHE", agentWarm, rss.agentWarm),
      bash: summarize("amazon-init boot (bash + curl)", bash, rss.bash),
    };
    const bashFetchMs = median(bash.map((s) => s.fetchMs));
    return {
      node: process.version,
      cpu: `${cpus()[0]?.model ?? "unknown CPU"} x${cpus().length}`,
      runs,
      bundle,
      baseline,
      loadAverage: [loadBefore, loadavg()[0]!],
      hostUptimeSeconds: uptime(),
      compileCacheWritten,
      scenarios,
      bashFetchMs,
      ratios: {
        wall: scenarios.agent.wallMs / scenarios.bash.wallMs,
        firstNixOverBashFetch: scenarios.agent.firstNixMs / bashFetchMs,
        firstNixWarmOverBashFetch: scenarios.agentWarmCache.firstNixMs / bashFetchMs,
        nonNix: scenarios.agent.nonNixMs / scenarios.bash.nonNixMs,
      },
      rssNote: haveTime ? null : `${TIME} not found: install the Debian package \`time\` for the process tree's peak RSS`,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Collapses repeated entries: `GET /a ×2`. */
function tally(items: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return [...counts].map(([item, count]) => (count > 1 ? `${item} ×${count}` : item)).join(", ");
}

/** IMDS requests the SDK's credential provider makes: the iam/ GETs, and its own token PUT when there are two. */
function sdkImds(requests: readonly string[]): number {
  const iam = requests.filter((request) => request.includes("/iam/security-credentials")).length;
  const tokens = requests.filter((request) => request.startsWith("PUT /latest/api/token")).length;
  return iam + (iam > 0 && tokens > 1 ? 1 : 0);
}

/** The figures as a table, with the issue's targets next to them. */
export function formatBootRun(figures: BootRunFigures): string {
  const { agent, agentWarmCache, bash } = figures.scenarios;
  const rows = [agent, agentWarmCache, bash];
  const width = Math.max(...rows.map((row) => row.name.length));
  const col = (value: string, w = 8): string => value.padStart(w);
  const mib = (value: number | null): string => (value === null ? "-" : value.toFixed(1));
  const verdict = (ok: boolean): string => (ok ? "met" : "MISSED");
  const firstNixTarget = 2 * figures.bashFetchMs;
  const agentRss = Math.max(agent.treeRssMiB ?? 0, agent.selfRssMiB ?? 0);
  const milestoneKeys = Object.keys(agent.milestones);
  return [
    `boot-run: ${figures.bundle}, ${figures.runs} runs per scenario, each a fresh instance (fixture machine, emulators, nonce configuration); medians in ms; ${figures.node} on ${figures.cpu}`,
    `${"".padEnd(width)}  ${col("wall")}  ${col("1st nix")}  ${col("in nix")}  ${col("stc+sysctl", 10)}  ${col("wall-nix")}  ${col("own")}  ${col("RSS tree", 9)}  ${col("RSS self", 9)}`,
    ...rows.map(
      (row) =>
        `${row.name.padEnd(width)}  ${col(fmt(row.wallMs))}  ${col(fmt(row.firstNixMs))}  ${col(fmt(row.nixMs))}  ${col(fmt(row.otherCommandMs), 10)}  ${col(fmt(row.nonNixMs))}  ${col(fmt(row.ownMs))}  ${col(mib(row.treeRssMiB), 9)}  ${col(mib(row.selfRssMiB), 9)}`,
    ),
    `  "1st nix": spawn to the first nix-* command (the script: to the end of its fetch); "own": wall minus every child process (curl is the script's own); RSS in MiB (tree: GNU time %M, no preload; self: the agent process alone).`,
    `  report's apply.nixCommandMs: ${fmt(agent.reportNixMs ?? Number.NaN)} (cold), ${fmt(agentWarmCache.reportNixMs ?? Number.NaN)} (warm cache); outcome: ${agent.outcome}`,
    `  node -e 0: ${fmt(figures.baseline.nodeMs)} ms; nixboot --version (load only): ${fmt(figures.baseline.loadMs)} ms, with the timing preload ${fmt(figures.baseline.loadWithHookMs)} ms (the preload's cost is inside the agent rows); load average ${figures.loadAverage.map((v) => v.toFixed(1)).join(" -> ")} on ${figures.cpu}`,
    `agent milestones from spawn (cold | warm cache): ${milestoneKeys.map((key) => `${key} ${fmt(agent.milestones[key]!)} | ${fmt(agentWarmCache.milestones[key] ?? Number.NaN)}`).join("; ")}`,
    `bash + curl fetch (spawn to user-data written): ${fmt(figures.bashFetchMs)} ms`,
    `ratios agent / amazon-init: wall ${figures.ratios.wall.toFixed(2)}x, wall-nix ${figures.ratios.nonNix.toFixed(2)}x; first nix / bash fetch ${figures.ratios.firstNixOverBashFetch.toFixed(2)}x (warm cache ${figures.ratios.firstNixWarmOverBashFetch.toFixed(2)}x)`,
    `targets (printed, not asserted):`,
    `  start to first nix <= 2x bash+curl fetch (${fmt(firstNixTarget)} ms): cold ${fmt(agent.firstNixMs)} ms ${verdict(agent.firstNixMs <= firstNixTarget)}; warm cache ${fmt(agentWarmCache.firstNixMs)} ms ${verdict(agentWarmCache.firstNixMs <= firstNixTarget)}`,
    `  non-nix overhead < 400 ms: wall-nix ${fmt(agent.nonNixMs)} ms ${verdict(agent.nonNixMs < 400)} (warm ${fmt(agentWarmCache.nonNixMs)} ms ${verdict(agentWarmCache.nonNixMs < 400)}); without switch-to-configuration/systemctl (own) ${fmt(agent.ownMs)} ms ${verdict(agent.ownMs < 400)} (warm ${fmt(agentWarmCache.ownMs)} ms ${verdict(agentWarmCache.ownMs < 400)})`,
    `  peak RSS < 100 MB: ${mib(agentRss)} MiB = ${(agentRss * 1.048576).toFixed(1)} MB: ${verdict(agentRss < 100)} in MiB, ${verdict(agentRss * 1.048576 < 100)} in MB (tree ${mib(agent.treeRssMiB)}, agent alone ${mib(agent.selfRssMiB)}; warm cache ${mib(agentWarmCache.treeRssMiB)} / ${mib(agentWarmCache.selfRssMiB)})`,
    `  AWS calls <= 2: ${agent.awsRequests.length} ${verdict(agent.awsRequests.length <= 2)} (${tally(agent.awsRequests) || "none"})${agent.awsRequests.includes("RecordLifecycleActionHeartbeat") ? `; the heartbeat is an artefact of this host: the agent dates the wait from boot (os.uptime() ${fmt(figures.hostUptimeSeconds / 60)} min > the 100 s interval of a 300 s hook), a fresh instance would not send it in a run this short` : ""}`,
    `  IMDS requests 2-3: ${agent.imdsRequests.length} ${verdict(agent.imdsRequests.length <= 3)} (${tally(agent.imdsRequests)})`,
    `    of which the AWS SDK's instance-profile credential provider (its own token, then iam/security-credentials/ and /ROLE): ${sdkImds(agent.imdsRequests)}; the agent's own: ${agent.imdsRequests.length - sdkImds(agent.imdsRequests)}`,
    `  amazon-init for comparison: ${bash.imdsRequests.length} IMDS (${tally(bash.imdsRequests)}), ${bash.awsRequests.length} AWS calls (never completes the lifecycle hook)`,
    ...(figures.compileCacheWritten ? [] : ["note: NODE_COMPILE_CACHE stayed empty, so the warm-cache row ran without a cache"]),
    ...(figures.rssNote ? [`note: ${figures.rssNote}`] : []),
  ].join("\n");
}

/** The bench-module entry `test/bench/index.ts` calls: measure, print, return the figures. */
export async function run(options: BootRunBenchOptions = {}): Promise<BootRunFigures> {
  const figures = await runBootRunBench(options);
  console.log(formatBootRun(figures));
  return figures;
}

// Run directly: node test/tools/run-ts.mjs test/bench/boot-run.ts [--runs N] (run-ts puts the entry in argv[1]).
if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve("test/bench/boot-run.ts")) {
  const { values } = parseArgs({ options: { runs: { type: "string" }, bundle: { type: "string" } } });
  await run({
    ...(values.runs !== undefined ? { runs: Number(values.runs) } : {}),
    ...(values.bundle !== undefined ? { bundle: values.bundle } : {}),
    log: (line) => process.stderr.write(`${line}\n`),
  });
}

