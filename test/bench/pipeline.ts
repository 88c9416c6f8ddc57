/**
 * Pipeline benchmark (issue 3): on the fixture machine (real Nix, test/fixture), how much of
 * validate / plan / apply is spent inside external commands (nix-*, switch-to-configuration,
 * systemctl) and how much in the agent itself, the evaluations per apply, and the same switch
 * done "the amazon-init way" (test/bench/amazon-init-switch.sh: nix-build -A system, nix-env --set,
 * switch-to-configuration switch) on the same machine. The library runs in-process (no Node
 * startup: test/bench/boot-run.ts measures the whole process). Every run uses a fresh configuration
 * (a nonce in an /etc file), so nothing is "unchanged". Prints figures; asserts nothing.
 *
 *   node test/tools/run-ts.mjs test/bench/pipeline.ts [--runs N]
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { systemClock } from "../../agent/clock.js";
import { createLogger } from "../../agent/log/logger.js";
import { apply, plan, validate, type ApplyReport, type PipelineDeps, type PlanReport, type ValidateReport } from "../../agent/pipeline/index.js";
import { createMachine, FIXTURE_ENTRY, freshConfig, type Machine } from "../fixture/machine.js";
import { fmt, isNixProgram, median, runChild, timingRunner } from "./measure.js";

export interface PipelineBenchOptions {
  /** Measured runs per scenario, after one unmeasured warm-up each. Default 5. */
  runs?: number;
  /** Repository root (holds test/bench/ and test/fixture/). Default: the working directory. */
  repoDir?: string;
  /** Progress lines; default: none. */
  log?: (line: string) => void;
}

/** Medians over the runs of one scenario, in ms. */
export interface ScenarioFigures {
  name: string;
  runs: number;
  wallMs: number;
  /** Time inside nix-* commands (the recording runner / the script's marks). */
  nixMs: number;
  /** The report's own `nixCommandMs` (nixboot scenarios only). */
  reportNixMs: number | null;
  /** Time inside other commands: switch-to-configuration, systemctl. */
  otherCommandMs: number;
  /** Wall time outside every external command: the agent's (or the script's) own work. */
  ownMs: number;
  /** Evaluations of the configuration per run (the report's `evaluations`; for the scripts, by construction). */
  evaluations: number;
  /** Commands per run by program: how many, and the median time inside them (ms). */
  commands: Record<string, { count: number; ms: number }>;
}

export interface PipelineFigures {
  node: string;
  cpu: string;
  nix: string;
  runs: number;
  /** 1-minute load average before and after (2 cores: above 2 the figures are noisy). */
  loadAverage: [number, number];
  scenarios: {
    validate: ScenarioFigures;
    plan: ScenarioFigures;
    apply: ScenarioFigures;
    amazonInit: ScenarioFigures;
    nixosRebuildFull: ScenarioFigures;
  };
  /** Every apply's `evaluations` (each must be 1). */
  applyEvaluations: number[];
  /** Apply, step by step (medians, ms): the step's wall time, the external commands in it, the rest (the agent's own). */
  applySteps: Array<{ step: string; wallMs: number; commandMs: number; ownMs: number }>;
  ratios: {
    /** nixboot apply / amazon-init switch, median wall. */
    applyOverAmazonInitWall: number;
    applyOverAmazonInitNix: number;
    applyOverNixosRebuildFullWall: number;
  };
}

interface Sample {
  wallMs: number;
  nixMs: number;
  reportNixMs: number | null;
  otherCommandMs: number;
  evaluations: number;
  commands: Record<string, { count: number; ms: number }>;
  /** By step (and "(outside steps)"): wall and external-command time. */
  steps?: Map<string, { wallMs: number; commandMs: number }>;
}

const DEFAULT_RUNS = 5;
const OUTSIDE = "(outside steps)";

function summarize(name: string, samples: readonly Sample[]): ScenarioFigures {
  const pick = (f: (s: Sample) => number): number => median(samples.map(f));
  const last = samples.at(-1)!;
  return {
    name,
    runs: samples.length,
    wallMs: pick((s) => s.wallMs),
    nixMs: pick((s) => s.nixMs),
    reportNixMs: last.reportNixMs === null ? null : pick((s) => s.reportNixMs!),
    otherCommandMs: pick((s) => s.otherCommandMs),
    ownMs: pick((s) => s.wallMs - s.nixMs - s.otherCommandMs),
    evaluations: pick((s) => s.evaluations),
    commands: Object.fromEntries(
      Object.entries(last.commands).map(([program, { count }]) => [program, { count, ms: pick((s) => s.commands[program]?.ms ?? 0) }]),
    ),
  };
}

/** A logger that formats every line like production (JSON, info) and drops it. */
function nullLogger() {
  return createLogger({ level: "info", pretty: false, destination: pino.destination({ dest: "/dev/null", sync: true }) });
}

type LibraryCommand = "validate" | "plan" | "apply";

interface Library {
  deps: PipelineDeps;
  runner: ReturnType<typeof timingRunner>;
  /** The step running now (set by the pipeline's onStep events). */
  step: { current: string };
}

function library(machine: Machine): Library {
  const step = { current: OUTSIDE };
  const runner = timingRunner(machine.runner, () => step.current);
  const deps = machine.deps({
    runner,
    clock: systemClock,
    logger: nullLogger(),
    onStep: (event) => {
      step.current = event.phase === "start" ? event.name : OUTSIDE;
    },
  });
  return { deps, runner, step };
}

async function runLibrary(command: LibraryCommand, { deps, runner, step }: Library): Promise<Sample & { report: ValidateReport | PlanReport | ApplyReport }> {
  const input = { text: freshConfig(), label: "userdata" };
  runner.reset();
  step.current = OUTSIDE;
  const started = performance.now();
  const report = command === "validate" ? await validate(input, deps) : command === "plan" ? await plan(input, deps) : await apply(input, deps);
  const wallMs = performance.now() - started;
  if (report.error) throw new Error(`nixboot ${command} failed on the fixture: ${report.error.message}`);
  if (command === "apply" && (report as ApplyReport).outcome !== "applied") throw new Error(`nixboot apply: outcome ${(report as ApplyReport).outcome}, expected applied`);
  const steps = new Map<string, { wallMs: number; commandMs: number }>();
  for (const record of report.steps) steps.set(record.name, { wallMs: record.durationMs, commandMs: runner.byBucket.get(record.name) ?? 0 });
  const inSteps = report.steps.reduce((sum, record) => sum + record.durationMs, 0);
  steps.set(OUTSIDE, { wallMs: wallMs - inSteps, commandMs: runner.byBucket.get(OUTSIDE) ?? 0 });
  let nixMs = 0;
  let otherCommandMs = 0;
  const commands: Sample["commands"] = {};
  for (const [program, entry] of runner.byProgram) {
    commands[program] = { ...entry };
    if (isNixProgram(program)) nixMs += entry.ms;
    else otherCommandMs += entry.ms;
  }
  return { report, wallMs, nixMs, reportNixMs: report.nixCommandMs, otherCommandMs, evaluations: report.evaluations, commands, steps };
}

async function runScript(script: string, machine: Machine, scratch: string, index: number, full: boolean): Promise<Sample> {
  const configFile = join(scratch, `userdata-${full ? "full" : "core"}-${index}.nix`);
  const marksFile = join(scratch, `marks-${full ? "full" : "core"}-${index}.txt`);
  await writeFile(configFile, freshConfig());
  const env = { ...process.env, BENCH_MARKS: marksFile, ...(full ? { NIXOS_REBUILD_FULL: "1" } : {}) };
  const run = await runChild(["bash", script, FIXTURE_ENTRY, machine.root, configFile, machine.paths.profile], env);
  if (run.code !== 0) throw new Error(`${script} failed (exit ${run.code}): ${run.stderr.trim()}`);
  const marks = (await readFile(marksFile, "utf8")).split("\n").filter((line) => line.trim() !== "");
  let nixMs = 0;
  let otherCommandMs = 0;
  const commands: Sample["commands"] = {};
  for (const line of marks) {
    const [name, start, end] = line.trim().split(/\s+/);
    const ms = (Number(end) - Number(start)) * 1000;
    const entry = (commands[name!] ??= { count: 0, ms: 0 });
    entry.count += 1;
    entry.ms += ms;
    if (isNixProgram(name!)) nixMs += ms;
    else otherCommandMs += ms;
  }
  return { wallMs: run.wallMs, nixMs, reportNixMs: null, otherCommandMs, evaluations: full ? 3 : 1, commands };
}

/** Measures (prints nothing) and returns the figures. */
export async function runPipelineBench(options: PipelineBenchOptions = {}): Promise<PipelineFigures> {
  const runs = options.runs ?? DEFAULT_RUNS;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`pipeline bench: runs must be a whole number >= 1, got ${runs}`);
  const repo = resolve(options.repoDir ?? process.cwd());
  const log = options.log ?? (() => {});
  const script = join(repo, "test", "bench", "amazon-init-switch.sh");
  if (!existsSync(join(repo, "test", "fixture", "nixos", "default.nix"))) throw new Error(`no fixture under ${repo}/test/fixture: run from the repository root`);

  const loadBefore = loadavg()[0]!;
  const scratch = await mkdtemp(join(tmpdir(), "nixboot-bench-pipeline-"));
  log("pipeline: bootstrapping the fixture machine");
  const machine = await createMachine();
  try {
    const lib = library(machine);
    const nixVersion = (await runChild(["nix-instantiate", "--version"], process.env)).stdout.trim();

    // Warm-up: one unmeasured run of each (page cache, Nix DB, the fixture's base in the store).
    for (const command of ["validate", "plan", "apply"] as const) await runLibrary(command, lib);
    await runScript(script, machine, scratch, -1, false);
    await runScript(script, machine, scratch, -2, true);

    const samples: Record<keyof PipelineFigures["scenarios"], Sample[]> = { validate: [], plan: [], apply: [], amazonInit: [], nixosRebuildFull: [] };
    // Round-robin, so drift on the machine spreads over every scenario alike.
    for (let round = 0; round < runs; round++) {
      log(`pipeline: round ${round + 1}/${runs}`);
      for (const command of ["validate", "plan", "apply"] as const) samples[command].push(await runLibrary(command, lib));
      samples.amazonInit.push(await runScript(script, machine, scratch, round, false));
      samples.nixosRebuildFull.push(await runScript(script, machine, scratch, round, true));
    }

    const scenarios: PipelineFigures["scenarios"] = {
      validate: summarize("nixboot validate", samples.validate),
      plan: summarize("nixboot plan", samples.plan),
      apply: summarize("nixboot apply (switch mode)", samples.apply),
      amazonInit: summarize("amazon-init: nix-build, nix-env --set, stc switch", samples.amazonInit),
      nixosRebuildFull: summarize("nixos-rebuild as shipped (+re-exec, +build Nix)", samples.nixosRebuildFull),
    };
    return {
      node: process.version,
      cpu: `${cpus()[0]?.model ?? "unknown CPU"} x${cpus().length}`,
      nix: nixVersion,
      runs,
      loadAverage: [loadBefore, loadavg()[0]!],
      scenarios,
      applyEvaluations: samples.apply.map((s) => s.evaluations),
      applySteps: [...samples.apply.at(-1)!.steps!.keys()].map((step) => {
        const of = (f: (v: { wallMs: number; commandMs: number }) => number): number => median(samples.apply.map((s) => (s.steps!.get(step) ? f(s.steps!.get(step)!) : 0)));
        return { step, wallMs: of((v) => v.wallMs), commandMs: of((v) => v.commandMs), ownMs: of((v) => v.wallMs - v.commandMs) };
      }),
      ratios: {
        applyOverAmazonInitWall: scenarios.apply.wallMs / scenarios.amazonInit.wallMs,
        applyOverAmazonInitNix: scenarios.apply.nixMs / scenarios.amazonInit.nixMs,
        applyOverNixosRebuildFullWall: scenarios.apply.wallMs / scenarios.nixosRebuildFull.wallMs,
      },
    };
  } finally {
    await machine.cleanup();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The figures as a table. */
export function formatPipeline(figures: PipelineFigures): string {
  const rows = Object.values(figures.scenarios);
  const width = Math.max(...rows.map((row) => row.name.length));
  const col = (value: string, w = 8): string => value.padStart(w);
  const commands = (row: ScenarioFigures): string =>
    Object.entries(row.commands)
      .map(([program, { count, ms }]) => `${program}${count > 1 ? `×${count}` : ""} ${fmt(ms)}`)
      .join(" ");
  const s = figures.scenarios;
  return [
    `pipeline: ${figures.runs} runs per scenario on the fixture, medians in ms; in-process library (no Node startup); ${figures.node}, ${figures.nix}, ${figures.cpu}, load average ${figures.loadAverage.map((v) => v.toFixed(1)).join(" -> ")}`,
    `${"".padEnd(width)}  ${col("wall")}  ${col("in nix")}  ${col("report")}  ${col("stc+sysctl", 10)}  ${col("own")}  ${col("own %", 6)}  evals  commands per run (ms inside)`,
    ...rows.map(
      (row) =>
        `${row.name.padEnd(width)}  ${col(fmt(row.wallMs))}  ${col(fmt(row.nixMs))}  ${col(row.reportNixMs === null ? "-" : fmt(row.reportNixMs))}  ${col(fmt(row.otherCommandMs), 10)}  ${col(fmt(row.ownMs))}  ${col(fmt((100 * row.ownMs) / row.wallMs), 6)}  ${String(row.evaluations).padStart(5)}  ${commands(row)}`,
    ),
    `  "in nix": nix-* commands timed around the runner (nixboot) or by the script's marks; "report": the report's nixCommandMs; "own": wall minus every external command (agent or bash work).`,
    `evaluations per apply (must be 1): ${figures.applyEvaluations.join(", ")}`,
    `apply by step (median ms, wall / in commands / own): ${figures.applySteps.map((st) => `${st.step} ${fmt(st.wallMs)}/${fmt(st.commandMs)}/${fmt(st.ownMs)}`).join(", ")}`,
    `ratio nixboot apply / amazon-init switch: wall ${figures.ratios.applyOverAmazonInitWall.toFixed(2)}x, in nix ${figures.ratios.applyOverAmazonInitNix.toFixed(2)}x; / nixos-rebuild as shipped: wall ${figures.ratios.applyOverNixosRebuildFullWall.toFixed(2)}x`,
    `  apply own time ${fmt(s.apply.ownMs)} ms vs the script's ${fmt(s.amazonInit.ownMs)} ms (bash and its forks, cp, mkdir)`,
  ].join("\n");
}

/** The bench-module entry `test/bench/index.ts` calls: measure, print, return the figures. */
export async function run(options: PipelineBenchOptions = {}): Promise<PipelineFigures> {
  const figures = await runPipelineBench(options);
  console.log(formatPipeline(figures));
  return figures;
}

// Run directly: node test/tools/run-ts.mjs test/bench/pipeline.ts [--runs N] (run-ts puts the entry in argv[1]).
if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve("test/bench/pipeline.ts")) {
  const { values } = parseArgs({ options: { runs: { type: "string" } } });
  await run({ ...(values.runs !== undefined ? { runs: Number(values.runs) } : {}), log: (line) => process.stderr.write(`${line}\n`) });
}
