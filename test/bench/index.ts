/**
 * Runs every benchmark: startup first, then the optional modules others add
 * (test/bench/pipeline.ts, test/bench/boot-run.ts, test/bench/scale.ts), skipping those not
 * written yet. Prints figures; asserts nothing.
 *
 *   npm run build && node test/tools/run-ts.mjs test/bench/index.ts [--runs N]
 *
 * A bench module exports `run(options?: { runs?: number })` (or a default
 * function) that measures, prints its own table and returns its figures.
 * Optional modules are bundled at run time with esbuild (as test/tools/run-ts.mjs
 * does), so this file compiles whether or not they exist yet.
 */
import { build } from "esbuild";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { run as runStartup } from "./startup.js";

export const OPTIONAL_BENCHES = ["pipeline", "boot-run", "scale"] as const;

export interface BenchOptions {
  runs?: number;
}

type BenchEntry = (options: BenchOptions) => Promise<unknown>;

export interface BenchOutcome {
  name: string;
  result: "ran" | "skipped" | "failed";
  note?: string;
  figures?: unknown;
}

/** Bundles test/bench/NAME.ts into .tmp/bench/ (packages stay external, resolved from node_modules) and imports it. */
async function loadBench(repo: string, name: string): Promise<Record<string, unknown>> {
  const outdir = join(repo, ".tmp", "bench");
  await mkdir(outdir, { recursive: true });
  const outfile = join(outdir, `${name}-${process.pid}.mjs`);
  await build({
    entryPoints: [join(repo, "test", "bench", `${name}.ts`)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    packages: "external",
    logLevel: "warning",
    sourcemap: "inline",
  });
  return (await import(pathToFileURL(outfile).href)) as Record<string, unknown>;
}

function entryOf(module: Record<string, unknown>): BenchEntry | undefined {
  const candidate = typeof module.run === "function" ? module.run : module.default;
  return typeof candidate === "function" ? (candidate as BenchEntry) : undefined;
}

/** Runs the startup bench, then each optional bench that exists; a failing bench is reported and the rest still run. */
export async function runAllBenches(options: BenchOptions = {}, repoDir = process.cwd()): Promise<BenchOutcome[]> {
  const repo = resolve(repoDir);
  const outcomes: BenchOutcome[] = [];
  console.log("== bench: startup");
  try {
    outcomes.push({ name: "startup", result: "ran", figures: await runStartup({ ...options, repoDir: repo }) });
  } catch (error) {
    outcomes.push({ name: "startup", result: "failed", note: (error as Error).message });
  }
  for (const name of OPTIONAL_BENCHES) {
    if (!existsSync(join(repo, "test", "bench", `${name}.ts`))) {
      outcomes.push({ name, result: "skipped", note: `test/bench/${name}.ts not present` });
      continue;
    }
    console.log(`\n== bench: ${name}`);
    try {
      const entry = entryOf(await loadBench(repo, name));
      if (entry === undefined) {
        outcomes.push({ name, result: "skipped", note: `test/bench/${name}.ts exports no run() or default function` });
        continue;
      }
      outcomes.push({ name, result: "ran", figures: await entry(options) });
    } catch (error) {
      outcomes.push({ name, result: "failed", note: (error as Error).stack ?? String(error) });
    }
  }
  console.log("\n== bench summary");
  for (const outcome of outcomes) console.log(`  ${outcome.name.padEnd(10)} ${outcome.result}${outcome.note ? `: ${outcome.note}` : ""}`);
  return outcomes;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve("test/bench/index.ts")) {
  const { values } = parseArgs({ options: { runs: { type: "string" } } });
  const outcomes = await runAllBenches(values.runs !== undefined ? { runs: Number(values.runs) } : {});
  // Figures are never judged; a bench that crashed is still a failure of the bench itself.
  if (outcomes.some((outcome) => outcome.result === "failed")) process.exitCode = 1;
}
