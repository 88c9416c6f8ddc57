import type { Clock } from "../clock.js";
import type { NixbootError } from "../errors.js";
import type { ActivationMode } from "../settings/definitions.js";
import { removePendingConfig, writeJournal, type Journal, type SwitchIntent, type SwitchStep } from "../state/journal.js";

export function isoNow(clock: Clock): string {
  return new Date(clock.now()).toISOString();
}

/** Moves the in-flight switch to its next step, durably, before the step begins. */
export async function markStep(stateDir: string, journal: Journal, clock: Clock, step: SwitchStep, failure?: { step: string; error: NixbootError }): Promise<void> {
  const intent = journal.inFlight as SwitchIntent;
  intent.step = step;
  intent.updatedAt = isoNow(clock);
  if (failure) intent.failure = { step: failure.step, code: failure.error.code, message: failure.error.message };
  await writeJournal(stateDir, journal);
}

/** Closes a switch that ended with the candidate committed: it becomes the last applied configuration. */
export async function finishCommitted(
  stateDir: string,
  journal: Journal,
  clock: Clock,
  result: { intent: SwitchIntent; generation: number | null; outcome: "applied" | "staged"; recovered?: boolean },
): Promise<void> {
  const at = isoNow(clock);
  const { intent } = result;
  journal.inFlight = null;
  journal.lastApplied = { candidateSha256: intent.candidateSha256, entry: intent.entry, systemPath: intent.systemPath, generation: result.generation, mode: intent.mode as ActivationMode, at };
  journal.lastResult = { outcome: result.outcome, candidateSha256: intent.candidateSha256, systemPath: intent.systemPath, at, ...(result.recovered ? { recovered: true } : {}) };
  await writeJournal(stateDir, journal);
  await removePendingConfig(stateDir);
}

/** Closes a switch that was undone: the previous system stays the last applied one. */
export async function finishRolledBack(stateDir: string, journal: Journal, clock: Clock, intent: SwitchIntent, error: NixbootError | undefined, recovered = false): Promise<void> {
  journal.inFlight = null;
  journal.lastResult = {
    outcome: "rolled-back",
    candidateSha256: intent.candidateSha256,
    systemPath: intent.systemPath,
    at: isoNow(clock),
    ...(recovered ? { recovered: true } : {}),
    ...(error ? { error: { code: error.code, message: error.message } } : {}),
  };
  await writeJournal(stateDir, journal);
  await removePendingConfig(stateDir);
}

/** Records a failed rollback; the switch stays in flight so the next run tries to recover it again. */
export async function recordRollbackFailed(stateDir: string, journal: Journal, clock: Clock, intent: SwitchIntent, error: NixbootError): Promise<void> {
  journal.lastResult = { outcome: "rollback-failed", candidateSha256: intent.candidateSha256, systemPath: intent.systemPath, at: isoNow(clock), error: { code: error.code, message: error.message } };
  await writeJournal(stateDir, journal);
}
