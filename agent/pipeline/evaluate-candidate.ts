import { randomBytes } from "node:crypto";
import { mkdir, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { evaluateSystem, type Evaluation } from "../nix/evaluate.js";
import { parseCandidate } from "../nix/parse.js";
import { stageCandidate, type Candidate } from "./candidate.js";
import type { RunContext } from "./run-context.js";

/** A GC root for a read-only command's `.drv` (validate, plan), removed when the command ends. */
export function temporaryRoot(run: RunContext): { path: string; remove(): Promise<void> } {
  const path = run.gcRoot(`eval-${process.pid}-${randomBytes(4).toString("hex")}.drv`);
  return { path, remove: () => unlink(path).catch(() => undefined) };
}

/** Steps 1 and 2 on a private copy of the candidate: parse, then evaluate once, rooting the `.drv` at `gcRoot`. */
export async function parseAndEvaluate(run: RunContext, candidate: Candidate, gcRoot: string): Promise<Evaluation> {
  const timeoutMs = run.settings.evalTimeoutSeconds * 1000;
  await mkdir(dirname(gcRoot), { recursive: true });
  const staged = await stageCandidate(candidate, run.settings.stateDir);
  try {
    await run.step("parse", () => parseCandidate(run.nix, { path: staged.path, displayName: candidate.label, timeoutMs }));
    return await run.step("evaluate", () =>
      evaluateSystem(run.nix, {
        entry: run.settings.nixosEntry,
        includePaths: run.settings.includePaths,
        candidateDir: staged.dir,
        displayName: candidate.label,
        gcRoot,
        timeoutMs,
      }),
    );
  } finally {
    await staged.remove();
  }
}
