/**
 * Runs every benchmark: startup, pipeline, boot run, scale. Prints figures; asserts nothing.
 *
 *   npm run build && node test/tools/run-ts.mjs test/bench/index.ts [--runs N]
 *
 * Each bench module exports `run(options?: { runs?: number })` that measures, prints its own
 * table and returns its figures; each also runs alone (node test/tools/run-ts.mjs test/bench/NAME.ts).
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { run as runBootRun } from "./boot-run.js";
import { run as runPipeline } from "./pipeline.js";
import { run as runScale } from "./scale.js";
import { run as runStartup } from "./startup.js";

export interface BenchOptions {
  runs?: number;
}

export interface BenchOutcome {
  name: string;
  result: "ran" | "failed";
  note?: string;
  figures?: unknown;
}

const BENCHES: ReadonlyArray<[string, (options: BenchOptions & { repoDir: string }) => Promise<unknown>]> = [
  ["startup", runStartup],
  ["pipeline", runPipeline],
  ["boot-run", runBootRun],
  ["scale", runScale],
];

/** Runs every bench in turn; a failing bench is reported and the rest still run. */
export async function runAllBenches(options: BenchOptions = {}, repoDir = process.cwd()): Promise<BenchOutcome[]> {
  const repo = resolve(repoDir);
  const outcomes: BenchOutcome[] = [];
  for (const [name, run] of BENCHES) {
    console.log(`\n== bench: ${name}`);
    try {
      outcomes.push({ name, result: "ran", figures: await run({ ...options, repoDir: repo }) });
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
