import { access } from "node:fs/promises";
import { readJournal, readPendingConfig, type Journal, type SwitchIntent } from "../state/journal.js";
import { acquireLock } from "../state/lock.js";
import { sha256 } from "../fs/atomic-write.js";
import { commitSystem } from "../system/commit.js";
import { snapshotConfig } from "../system/config-file.js";
import { resolveSystem } from "../system/links.js";
import { finishCommitted, finishRolledBack, recordRollbackFailed } from "./journal-ops.js";
import { asNixbootError, RunContext } from "./run-context.js";
import { undoSwitch } from "./switch.js";
import type { PipelineDeps, RecoverOutcome, RecoverReport } from "./types.js";

/**
 * Recovery from a run that was killed mid-switch (power loss, OOM, SIGKILL). Call it at the start
 * of every apply/run (apply also calls it itself, under its lock, when it finds a switch in flight).
 *
 * The rule: a switch is completed only when it had already been judged good; everything else is
 * rolled back to the recorded previous system. Precisely, by the journaled step:
 * - `activate`, `health`, `rollback` (health not passed, or already failing): roll back. The
 *   previous system is activated again (`test`, always: a killed activation may have changed
 *   units without moving the link); if the failure being undone was a commit, the profile, boot
 *   default and configuration file are restored too.
 * - `commit` (health passed): if the running system (current-system link) is the candidate, the
 *   commit is completed (each part idempotent: the profile is set only if its current generation
 *   is not the candidate); otherwise (e.g. a reboot came back on the previous boot default) the
 *   commit is undone and the previous system activated.
 * - `stage` (mode boot, never activated): completed if the candidate is still in the store,
 *   else undone.
 * Completing needs the candidate's text (kept in STATE/pending-configuration.nix) unless the
 * configuration file already holds it; without it, the switch is rolled back instead.
 * A failed rollback leaves the switch in the journal, so the next run tries again.
 */
export async function recover(deps: PipelineDeps): Promise<RecoverReport> {
  const run = new RunContext(deps);
  const lock = await run
    .step("lock", () => acquireLock({ stateDir: run.settings.stateDir, clock: deps.clock, waitMs: run.settings.lockWaitSeconds * 1000, logger: deps.logger }))
    .catch((error: unknown) => asNixbootError(error));
  if (!("release" in lock)) return { outcome: "failed", ...run.totals(), error: lock };
  try {
    const journal = await readJournal(run.settings.stateDir);
    const result = await run.step("recover", () => recoverInFlight(run, journal));
    return { ...result, ...run.totals() };
  } catch (error) {
    return { outcome: "failed", ...run.totals(), error: asNixbootError(error) };
  } finally {
    await lock.release();
  }
}

export type RecoverResult = Omit<RecoverReport, "steps" | "nixCommandMs" | "evaluations">;

/** Recovery proper, for a caller that holds the lock. Throws only for a broken state directory. */
export async function recoverInFlight(run: RunContext, journal: Journal): Promise<RecoverResult> {
  const intent = journal.inFlight;
  if (intent === null) return { outcome: "nothing-to-recover", systemPath: await resolveSystem(run.settings.currentSystem) };
  const interrupted = {
    step: intent.step,
    mode: intent.mode,
    systemPath: intent.systemPath,
    previousSystem: intent.previousSystem,
    candidateSha256: intent.candidateSha256,
    startedAt: intent.startedAt,
  };
  const running = await resolveSystem(intent.currentSystemLink);
  run.logger.warn({ interrupted, running }, "found a switch interrupted in flight");
  const done = (outcome: RecoverOutcome, extra: Partial<RecoverResult> = {}): RecoverResult => ({ outcome, interrupted, ...extra });

  if (await shouldComplete(intent, running)) {
    try {
      const configText = await candidateText(run, intent);
      if (configText !== undefined) {
        const { generation } = await commitSystem(run.nix, {
          systemPath: intent.systemPath,
          profile: intent.profile,
          configPath: intent.configPath,
          configText,
          activationTimeoutMs: run.settings.activationTimeoutSeconds * 1000,
        });
        await finishCommitted(run.settings.stateDir, journal, run.deps.clock, { intent, generation, outcome: intent.mode === "boot" ? "staged" : "applied", recovered: true });
        run.logger.info({ systemPath: intent.systemPath, generation }, "completed the interrupted switch");
        return done("completed", { systemPath: await resolveSystem(intent.currentSystemLink) });
      }
      run.logger.warn("the interrupted switch cannot be completed: the candidate's text is gone; rolling back");
    } catch (error) {
      run.logger.warn({ error: asNixbootError(error).toJSON() }, "completing the interrupted switch failed; rolling back");
    }
  }
  try {
    await undoSwitch(run, intent);
  } catch (error) {
    const rollbackError = asNixbootError(error);
    await recordRollbackFailed(run.settings.stateDir, journal, run.deps.clock, intent, rollbackError);
    return done("rollback-failed", { systemPath: await resolveSystem(intent.currentSystemLink), error: rollbackError });
  }
  await finishRolledBack(run.settings.stateDir, journal, run.deps.clock, intent, undefined, true);
  run.logger.info({ previousSystem: intent.previousSystem }, "rolled back the interrupted switch");
  return done("rolled-back", { systemPath: await resolveSystem(intent.currentSystemLink) });
}

async function shouldComplete(intent: SwitchIntent, running: string | null): Promise<boolean> {
  if (intent.step === "commit") return intent.mode === "switch" && running === intent.systemPath;
  if (intent.step === "stage") return access(intent.systemPath).then(() => true, () => false);
  return false;
}

/** The candidate's text for the configuration file: null when the file already holds it, undefined when it is lost. */
async function candidateText(run: RunContext, intent: SwitchIntent): Promise<string | null | undefined> {
  if ((await snapshotConfig(intent.configPath)).sha256 === intent.candidateSha256) return null;
  const text = await readPendingConfig(run.settings.stateDir);
  return text !== null && sha256(text) === intent.candidateSha256 ? text : undefined;
}
