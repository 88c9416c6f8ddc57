import { buildSystem } from "../nix/build.js";
import type { Plan } from "../nix/plan.js";
import { planRealisation } from "../nix/plan.js";
import { readJournal, writeJournal, type Journal } from "../state/journal.js";
import { acquireLock, type Lock } from "../state/lock.js";
import { installConfig } from "../system/config-file.js";
import { ActivationFailedError } from "../system/errors.js";
import { parseHealthChecks } from "../system/health.js";
import { profileGeneration } from "../system/links.js";
import { candidateInfo, loadCandidate, type Candidate } from "./candidate.js";
import { parseAndEvaluate } from "./evaluate-candidate.js";
import { isoNow } from "./journal-ops.js";
import { recoverInFlight } from "./recover.js";
import { asNixbootError, RunContext } from "./run-context.js";
import { switchSystem } from "./switch.js";
import type { ApplyReport, CandidateInput, PipelineDeps, RecoverReport } from "./types.js";
import { isInPlace, sameAsLastApplied } from "./unchanged.js";

/**
 * `nixboot apply`: turns the candidate into the running system, or leaves the machine as it was.
 * Under the lock: recover an interrupted switch if the journal has one; skip everything when the
 * candidate is the last applied one and still runs (no evaluation); then parse, evaluate (once),
 * plan (policy), build, and switch (see `switchSystem`). Never throws for a verdict: the report's
 * `outcome` and `error` say what happened.
 */
export async function apply(input: CandidateInput, deps: PipelineDeps): Promise<ApplyReport> {
  const run = new RunContext(deps);
  const s = run.settings;
  let lock: Lock | undefined;
  let journal: Journal | undefined;
  let candidate: Candidate | undefined;
  let systemPath: string | undefined;
  let planned: Plan | undefined;
  let recovery: RecoverReport | undefined;
  const report = (rest: Omit<ApplyReport, "mode" | "steps" | "nixCommandMs" | "evaluations">): ApplyReport => ({
    mode: s.mode,
    ...(candidate ? { candidate: candidateInfo(candidate) } : {}),
    ...(systemPath ? { systemPath } : {}),
    ...(planned ? { plan: planned } : {}),
    ...(recovery ? { recovery } : {}),
    ...(rest.error && run.failedStep ? { failedStep: run.failedStep } : {}),
    ...run.totals(),
    ...rest,
  });
  try {
    const checks = parseHealthChecks(s.healthChecks);
    candidate = await loadCandidate(input);
    deps.logger.info({ candidate: candidateInfo(candidate), mode: s.mode, policy: s.policy }, "applying configuration");
    lock = await run.step("lock", () => acquireLock({ stateDir: s.stateDir, clock: deps.clock, waitMs: s.lockWaitSeconds * 1000, logger: deps.logger }));
    journal = await readJournal(s.stateDir);

    if (journal.inFlight !== null) {
      const result = await run.step("recover", () => recoverInFlight(run, journal!));
      recovery = { ...result, steps: [], nixCommandMs: 0, evaluations: 0 };
      if (result.outcome === "rollback-failed") return report({ outcome: "rollback-failed", error: result.error! });
      journal = await readJournal(s.stateDir);
      if (result.outcome === "rolled-back" && result.interrupted?.candidateSha256 === candidate.sha256) {
        // Do not retry in the same run what may have taken the machine down: a later run will.
        return report({
          outcome: "rolled-back",
          previousSystem: result.interrupted.previousSystem,
          error: new ActivationFailedError(`the last attempt to switch to this configuration was interrupted during ${result.interrupted.step} and has been rolled back`, {
            hint: "it is not retried in the same run; run apply again to retry it",
          }),
        });
      }
    }

    if (await sameAsLastApplied(s, journal.lastApplied, candidate.sha256)) {
      systemPath = journal.lastApplied!.systemPath;
      deps.logger.info({ systemPath }, "configuration unchanged since the last apply; nothing to do");
      await recordResult(journal, "unchanged", candidate, systemPath);
      return report({ outcome: "unchanged", unchangedReason: "same-candidate", generation: journal.lastApplied!.generation });
    }

    const evaluation = await parseAndEvaluate(run, candidate, run.gcRoot("candidate.drv"));
    systemPath = evaluation.outPath;
    if (await isInPlace(s, systemPath)) {
      await installConfig(s.configPath, candidate.text);
      const generation = await profileGeneration(s.systemProfile);
      journal.lastApplied = { candidateSha256: candidate.sha256, entry: s.nixosEntry, systemPath, generation, mode: s.mode, at: isoNow(deps.clock) };
      await recordResult(journal, "unchanged", candidate, systemPath);
      deps.logger.info({ systemPath }, "the configuration's system already runs; nothing to switch");
      return report({ outcome: "unchanged", unchangedReason: "same-system", generation, previousSystem: systemPath });
    }

    const timeoutMs = s.evalTimeoutSeconds * 1000;
    planned = await run.step("plan", async () => {
      const result = await planRealisation(run.nix, { ...evaluation, policy: s.policy, timeoutMs });
      planned = result;
      if (result.refusal) throw result.refusal;
      return result;
    });
    deps.logger.info({ alreadyBuilt: planned.alreadyBuilt, toBuild: planned.toBuild.length, toFetch: planned.toFetch.length }, "plan");
    await run.step("build", () =>
      buildSystem(run.nix, { ...evaluation, policy: s.policy, gcRoot: run.gcRoot("candidate"), timeoutMs: s.buildTimeoutSeconds * 1000 }),
    );

    const switched = await switchSystem(run, { candidate, drvPath: evaluation.drvPath, systemPath, checks, journal });
    return report({
      outcome: switched.outcome,
      previousSystem: switched.previousSystem,
      ...(switched.generation !== undefined ? { generation: switched.generation } : {}),
      ...(switched.health ? { health: switched.health } : {}),
      ...(switched.error ? { error: switched.error } : {}),
    });
  } catch (error) {
    const failure = asNixbootError(error);
    if (lock && journal) await recordResult(journal, "failed", candidate, systemPath, failure).catch(() => undefined);
    return report({ outcome: "failed", error: failure });
  } finally {
    await lock?.release();
  }

  async function recordResult(j: Journal, outcome: string, c: Candidate | undefined, path: string | undefined, error?: { code: string; message: string }): Promise<void> {
    j.lastResult = {
      outcome,
      at: isoNow(deps.clock),
      ...(c ? { candidateSha256: c.sha256 } : {}),
      ...(path ? { systemPath: path } : {}),
      ...(error ? { error: { code: error.code, message: error.message } } : {}),
    };
    await writeJournal(s.stateDir, j);
  }
}

