import type { NixbootError } from "../errors.js";
import { writeJournal, writePendingConfig, type Journal, type SwitchIntent } from "../state/journal.js";
import { startBootTargetIfBooting, switchToConfiguration } from "../system/activate.js";
import { commitSystem } from "../system/commit.js";
import { snapshotConfig } from "../system/config-file.js";
import { runHealthGate, type CheckResult, type HealthCheck } from "../system/health.js";
import { profileGeneration, resolveSystem } from "../system/links.js";
import { restoreActivation, restoreCommit } from "../system/rollback.js";
import type { Candidate } from "./candidate.js";
import { finishCommitted, finishRolledBack, isoNow, markStep, recordRollbackFailed } from "./journal-ops.js";
import { asNixbootError, type RunContext } from "./run-context.js";
import type { StepName } from "./types.js";

export interface SwitchInput {
  candidate: Candidate;
  drvPath: string;
  systemPath: string;
  checks: readonly HealthCheck[];
  journal: Journal;
}

export interface SwitchResult {
  outcome: "applied" | "staged" | "rolled-back" | "rollback-failed";
  previousSystem: string | null;
  generation?: number | null;
  health?: CheckResult[];
  error?: NixbootError;
}

/**
 * Steps 5-8 on a built candidate. Before anything changes, the intent (candidate, previous
 * system and generation, previous configuration file) is journaled; the journal then follows
 * every step, so a run killed at any point can be recovered (see `recover`).
 * Mode `switch`: trial activation (at boot, followed by queueing the boot target so the
 * candidate's new units start), health gate, commit; any failure rolls back.
 * Mode `boot`: commit only (profile, boot default, configuration file); a failure undoes it.
 */
export async function switchSystem(run: RunContext, input: SwitchInput): Promise<SwitchResult> {
  const s = run.settings;
  const clock = run.deps.clock;
  const activationTimeoutMs = s.activationTimeoutSeconds * 1000;
  const intent: SwitchIntent = {
    mode: s.mode,
    step: s.mode === "boot" ? "stage" : "activate",
    candidateSha256: input.candidate.sha256,
    entry: s.nixosEntry,
    drvPath: input.drvPath,
    systemPath: input.systemPath,
    previousSystem: await resolveSystem(s.currentSystem),
    previousGeneration: await profileGeneration(s.systemProfile),
    previousConfig: await snapshotConfig(s.configPath),
    profile: s.systemProfile,
    configPath: s.configPath,
    currentSystemLink: s.currentSystem,
    startedAt: isoNow(clock),
    updatedAt: isoNow(clock),
  };
  const journal = input.journal;
  await writePendingConfig(s.stateDir, input.candidate.text);
  await writeJournal(s.stateDir, { ...journal, inFlight: intent }); // nothing has changed if this fails
  journal.inFlight = intent;
  run.logger.info({ systemPath: intent.systemPath, previousSystem: intent.previousSystem, previousGeneration: intent.previousGeneration, mode: s.mode }, "switch journaled");

  const commit = () =>
    run.step("commit", () =>
      commitSystem(run.nix, { systemPath: intent.systemPath, profile: intent.profile, configPath: intent.configPath, configText: input.candidate.text, activationTimeoutMs }),
    );
  const base = { previousSystem: intent.previousSystem };

  if (s.mode === "boot") {
    let generation: number | null;
    try {
      ({ generation } = await commit());
    } catch (failure) {
      return { ...base, ...(await rollBack(run, journal, intent, "commit", failure)) };
    }
    await bestEffort(run, "closing the journal", () => finishCommitted(s.stateDir, journal, clock, { intent, generation, outcome: "staged" }));
    return { ...base, outcome: "staged", generation };
  }

  try {
    await run.step("activate", async () => {
      await switchToConfiguration(run.nix, intent.systemPath, "test", activationTimeoutMs);
      await startBootTargetIfBooting(run.nix, run.systemctlPath);
    });
  } catch (failure) {
    return { ...base, ...(await rollBack(run, journal, intent, "activate", failure)) };
  }
  let health: CheckResult[];
  try {
    await markStep(s.stateDir, journal, clock, "health");
    health = await run.step("health", () =>
      runHealthGate(run.nix, {
        checks: input.checks,
        timeoutMs: s.healthTimeoutSeconds * 1000,
        allowDegraded: s.allowDegraded,
        systemctlPath: run.systemctlPath,
      }),
    );
  } catch (failure) {
    const checks = (asNixbootError(failure).details.checks as CheckResult[] | undefined) ?? [];
    return { ...base, health: checks, ...(await rollBack(run, journal, intent, "health", failure)) };
  }
  let generation: number | null;
  try {
    await markStep(s.stateDir, journal, clock, "commit");
    ({ generation } = await commit());
  } catch (failure) {
    return { ...base, health, ...(await rollBack(run, journal, intent, "commit", failure)) };
  }
  await bestEffort(run, "closing the journal", () => finishCommitted(s.stateDir, journal, clock, { intent, generation, outcome: "applied" }));
  return { ...base, outcome: "applied", generation, health };
}

/**
 * Journal writes after the machine changed must not turn a switch's result into an exception:
 * if one fails, the switch stays in flight in the journal and the next run's recovery settles
 * it the same way (completing a commit or rolling back are both idempotent).
 */
async function bestEffort(run: RunContext, what: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    run.logger.error({ error: asNixbootError(error).toJSON() }, `${what} failed; the next run will recover from the journal`);
  }
}

/**
 * Step 8. After a failed trial or health gate only the activation is undone (profile, boot
 * default and configuration file were not touched yet); after a failed commit, the commit's
 * parts are undone too. In mode `boot` nothing was activated, so only the commit is undone.
 */
async function rollBack(
  run: RunContext,
  journal: Journal,
  intent: SwitchIntent,
  failedStep: StepName,
  failure: unknown,
): Promise<{ outcome: "rolled-back" | "rollback-failed"; error: NixbootError }> {
  const s = run.settings;
  const clock = run.deps.clock;
  const error = asNixbootError(failure);
  run.logger.warn({ step: failedStep, error: error.toJSON() }, "rolling back");
  await bestEffort(run, "journaling the rollback", () => markStep(s.stateDir, journal, clock, "rollback", { step: failedStep, error }));
  try {
    await run.step("rollback", () => undoSwitch(run, intent, failure));
  } catch (rollbackFailure) {
    const rollbackError = asNixbootError(rollbackFailure);
    await bestEffort(run, "journaling the failed rollback", () => recordRollbackFailed(s.stateDir, journal, clock, intent, rollbackError));
    run.logger.error({ error: rollbackError.toJSON() }, "rollback failed");
    return { outcome: "rollback-failed", error: rollbackError };
  }
  await bestEffort(run, "closing the journal", () => finishRolledBack(s.stateDir, journal, clock, intent, error));
  return { outcome: "rolled-back", error };
}

/** Undoes whatever the intent's steps may have done; idempotent, shared with recovery. */
export async function undoSwitch(run: RunContext, intent: SwitchIntent, failure?: unknown): Promise<void> {
  const activationTimeoutMs = run.settings.activationTimeoutSeconds * 1000;
  const commitTouched = intent.mode === "boot" || intent.step === "commit" || intent.step === "stage" || intent.failure?.step === "commit";
  if (commitTouched) {
    await restoreCommit(run.nix, {
      profile: intent.profile,
      previousGeneration: intent.previousGeneration,
      previousSystem: intent.previousSystem,
      candidateSystem: intent.systemPath,
      configPath: intent.configPath,
      previousConfig: intent.previousConfig,
      restoreBootDefault: true,
      activationTimeoutMs,
      failure,
    });
  }
  if (intent.mode === "switch") {
    await restoreActivation(run.nix, {
      previousSystem: intent.previousSystem,
      currentSystemLink: intent.currentSystemLink,
      activationTimeoutMs,
      systemctlPath: run.systemctlPath,
      failure,
    });
  }
}
