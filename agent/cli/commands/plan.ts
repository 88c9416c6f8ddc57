import { plan } from "../../pipeline/index.js";
import { EVAL_SETTINGS, type CommandSpec } from "../command.js";
import { ExitStatus, exitStatusFor } from "../exit-status.js";
import { errorSummary, renderPlan, renderSteps, stepsJson } from "./pipeline-render.js";

export const planCommand: CommandSpec = {
  name: "plan",
  summary: "validate, then show what switching would build or fetch, and whether the policy allows it",
  usage: "FILE [--policy baked|substitute|any] [--json]",
  description:
    "Validates FILE, then asks Nix what realising its system needs against this machine's store: what is\n" +
    "already there (baked), which derivations would be built, which paths fetched and their size. The policy\n" +
    "decides: baked (nothing fetched; local builds only from what is in the store), substitute, or any.\n" +
    "Exit status 31 when the policy refuses.",
  positionals: { min: 1, max: 1, names: "exactly one FILE" },
  settings: EVAL_SETTINGS,
  async run({ positionals, settings, runner, clock, logger }) {
    const file = positionals[0]!;
    const report = await plan({ file }, { settings, runner, clock, logger });
    const status = report.error ? exitStatusFor(report.error) : ExitStatus.Ok;
    const lines = report.plan ? renderPlan(report.plan) : [`cannot plan ${file}: ${report.error?.message ?? "unknown error"}`, ...(report.error?.hint ? [`  hint: ${report.error.hint}`] : [])];
    const planJson = report.plan ? { ...report.plan, refusal: report.plan.refusal?.toJSON() } : undefined;
    return {
      status,
      report: { ok: status === ExitStatus.Ok, file, candidate: report.candidate, plan: planJson, steps: stepsJson(report.steps), nixCommandMs: Math.round(report.nixCommandMs), evaluations: report.evaluations, ...(report.error ? { error: errorSummary(report.error) } : {}) },
      text: [...lines, "", "steps:", ...renderSteps(report.steps)].join("\n"),
    };
  },
};
