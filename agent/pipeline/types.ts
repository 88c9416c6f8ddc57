import type { Clock } from "../clock.js";
import type { NixbootError } from "../errors.js";
import type { CommandRunner } from "../exec/runner.js";
import type { Logger } from "../log/logger.js";
import type { Plan } from "../nix/plan.js";
import type { ActivationMode, DIRECTIVE_KEYS, DirectiveKey, Settings } from "../settings/definitions.js";
import type { SwitchStep } from "../state/journal.js";
import type { CheckResult } from "../system/health.js";

/** Settings a launch may override through userdata directives (`# nixboot: key=value`). */
export type Directives = Partial<Pick<Settings, (typeof DIRECTIVE_KEYS)[DirectiveKey]>>;

/** The collaborators every pipeline function takes; nothing else is reached for. */
export interface PipelineDeps {
  settings: Settings;
  runner: CommandRunner;
  clock: Clock;
  logger: Logger;
  /** Per-launch overrides from userdata; `healthChecks` are added to the settings' (`none` alone: no checks this launch). */
  directives?: Directives;
  /** The systemctl the health checks ask; default `systemctl` on PATH. */
  systemctlPath?: string;
  /** Called when a step starts and ends (status file, heartbeats). Must not throw. */
  onStep?: (event: StepEvent) => void;
}

/** The candidate configuration: a file, or text (userdata) with a name for messages. */
export type CandidateInput = { file: string } | { text: string; label?: string };

export type StepName = "lock" | "recover" | "parse" | "evaluate" | "plan" | "build" | "activate" | "health" | "commit" | "rollback";

export interface StepRecord {
  name: StepName;
  durationMs: number;
  ok: boolean;
}

export type StepEvent = { name: StepName; phase: "start" } | { name: StepName; phase: "end"; ok: boolean; durationMs: number };

/** Log-safe facts about the candidate (never its text). */
export interface CandidateInfo {
  label: string;
  sha256: string;
  sizeBytes: number;
}

interface ReportBase {
  steps: StepRecord[];
  /** Total wall time inside Nix commands (nix-instantiate, nix-store, nix-env). */
  nixCommandMs: number;
  /** System evaluations done: 1 for a switch, 0 when a rerun was recognised before evaluating. */
  evaluations: number;
  /** Set when the run did not succeed; map it to an exit status with `exitStatusFor`. */
  error?: NixbootError;
}

export interface ValidateReport extends ReportBase {
  ok: boolean;
  candidate?: CandidateInfo;
  drvPath?: string;
  /** The system's store path once built. */
  systemPath?: string;
}

export interface PlanReport extends ReportBase {
  candidate?: CandidateInfo;
  /** Present once evaluation succeeded; a refusal is `plan.refusal` and also `error`. */
  plan?: Plan;
}

/**
 * - `applied`: trial activation and health passed, the candidate is committed;
 * - `staged`: mode `boot`: committed as the boot default, not activated;
 * - `unchanged`: the candidate is already what runs (and is committed); nothing switched;
 * - `rolled-back`: activation, health or commit failed and the previous system is back (`error` says why);
 * - `rollback-failed`: that, and restoring failed too (`error` is a RollbackFailedError): needs an operator;
 * - `failed`: stopped before changing anything (invalid configuration, policy refusal, build
 *   failure, busy, bad settings, a broken state directory).
 */
export type ApplyOutcome = "applied" | "staged" | "unchanged" | "rolled-back" | "rollback-failed" | "failed";

export interface ApplyReport extends ReportBase {
  outcome: ApplyOutcome;
  mode: ActivationMode;
  candidate?: CandidateInfo;
  /** The candidate system's store path (once evaluated). */
  systemPath?: string;
  /** The profile generation that holds the system (applied, staged, unchanged). */
  generation?: number | null;
  /** The system running before the switch. */
  previousSystem?: string | null;
  plan?: Plan;
  /** Why a rerun changed nothing: same candidate as the last apply (no evaluation), or same resulting system. */
  unchangedReason?: "same-candidate" | "same-system";
  /** The step that failed, when `error` is set. */
  failedStep?: StepName;
  health?: CheckResult[];
  /** Set when an interrupted switch was found and recovered first. */
  recovery?: RecoverReport;
}

/**
 * - `nothing-to-recover`: no switch was in flight;
 * - `completed`: the interrupted switch had passed health (or was a `boot`-mode stage) and was committed;
 * - `rolled-back`: the interrupted switch was undone; the previous system runs and is the committed one;
 * - `rollback-failed`: undoing it failed (`error`); the journal keeps it for the next run;
 * - `failed`: recovery could not look (busy lock, unreadable journal: `error`).
 */
export type RecoverOutcome = "nothing-to-recover" | "completed" | "rolled-back" | "rollback-failed" | "failed";

export interface RecoverReport extends ReportBase {
  outcome: RecoverOutcome;
  /** The switch that was interrupted, as the journal recorded it. */
  interrupted?: { step: SwitchStep; mode: ActivationMode; systemPath: string; previousSystem: string | null; candidateSha256: string; startedAt: string };
  /** The system running after recovery. */
  systemPath?: string | null;
}
