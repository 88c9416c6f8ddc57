import { apply, type ApplyReport } from "../../pipeline/index.js";
import { APPLY_SETTINGS, type CommandSpec } from "../command.js";
import { ExitStatus, exitStatusFor } from "../exit-status.js";
import { errorSummary, renderSteps, stepsJson } from "./pipeline-render.js";

export function applyReportJson(report: ApplyReport): Record<string, unknown> {
  return {
    outcome: report.outcome,
    mode: report.mode,
    candidate: report.candidate,
    systemPath: report.systemPath,
    generation: report.generation,
    previousSystem: report.previousSystem,
    unchangedReason: report.unchangedReason,
    failedStep: report.failedStep,
    health: report.health,
    recovery: report.recovery ? { outcome: report.recovery.outcome, interrupted: report.recovery.interrupted } : undefined,
    plan: report.plan ? { ...report.plan, refusal: report.plan.refusal?.toJSON() } : undefined,
    steps: stepsJson(report.steps),
    nixCommandMs: Math.round(report.nixCommandMs),
    evaluations: report.evaluations,
    ...(report.error ? { error: errorSummary(report.error) } : {}),
  };
}

const OUTCOME_TEXT: Record<ApplyReport["outcome"], string> = {
  applied: "applied: activated, healthy, committed as the new generation and boot default",
  staged: "staged: committed as the boot default; active from the next boot",
  unchanged: "unchanged: this configuration is already applied; nothing switched",
  "rolled-back": "rolled back: the previous system runs again and stays the boot default",
  "rollback-failed": "ROLLBACK FAILED: the machine needs attention",
  failed: "failed: nothing was changed",
};

/** The outcome and its facts, without the step table (`run` prints its own, with the IMDS and intake steps). */
export function renderApplySummary(report: ApplyReport): string[] {
  const lines = [OUTCOME_TEXT[report.outcome]];
  if (report.systemPath) lines.push(`  system:     ${report.systemPath}${typeof report.generation === "number" ? ` (generation ${report.generation})` : ""}`);
  if (report.previousSystem) lines.push(`  previous:   ${report.previousSystem}`);
  if (report.recovery && report.recovery.outcome !== "nothing-to-recover") lines.push(`  recovered an interrupted switch: ${report.recovery.outcome}`);
  if (report.error) lines.push(`  ${report.failedStep ? `${report.failedStep}: ` : ""}${report.error.message}`, ...(report.error.hint ? [`  hint: ${report.error.hint}`] : []));
  for (const check of report.health ?? []) lines.push(`  health ${check.ok ? "ok  " : "FAIL"} ${check.check} (${check.detail})`);
  return lines;
}

export function renderApply(report: ApplyReport): string {
  return [...renderApplySummary(report), "steps:", ...renderSteps(report.steps)].join("\n");
}

export const applyCommand: CommandSpec = {
  name: "apply",
  summary: "validate, plan, build, trial-activate, health-check, then commit or roll back a configuration",
  usage: "FILE [--mode switch|boot] [--health-check CHECK]... [--json]",
  description:
    "The whole switch, outside the boot flow: validate and plan FILE, build it, activate it on trial\n" +
    "(switch-to-configuration test: the boot default is untouched), run the health gate, and only then commit\n" +
    "it (new system profile generation, boot default, FILE copied to --config-path). Any failure after\n" +
    "activation rolls back to the previous system. --mode boot only stages it for the next boot.\n" +
    "Health checks: systemd (default), unit:NAME, http:URL, cmd:COMMAND, none.",
  positionals: { min: 1, max: 1, names: "exactly one FILE" },
  settings: APPLY_SETTINGS,
  async run({ positionals, settings, runner, clock, logger }) {
    const file = positionals[0]!;
    const report = await apply({ file }, { settings, runner, clock, logger });
    const status = report.error ? exitStatusFor(report.error) : ExitStatus.Ok;
    return { status, report: { ok: status === ExitStatus.Ok, file, ...applyReportJson(report) }, text: renderApply(report) };
  },
};
