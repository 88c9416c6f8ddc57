import { validate } from "../../pipeline/index.js";
import { EVAL_SETTINGS, type CommandSpec } from "../command.js";
import { ExitStatus, exitStatusFor } from "../exit-status.js";
import { errorSummary, renderSteps, stepsJson } from "./pipeline-render.js";

export const validateCommand: CommandSpec = {
  name: "validate",
  summary: "check a configuration.nix: Nix parser, then restricted evaluation of the system",
  usage: "FILE [--nixos-entry ENTRY] [--json]",
  description:
    "Parses FILE with the real Nix parser (syntax errors with line and column), then evaluates the NixOS system\n" +
    "it describes from the entry point (`import ENTRY { configuration = FILE; }`, attribute `system`) in\n" +
    "restricted mode: no network, no import-from-derivation, no paths outside the entry and search path.\n" +
    "Nothing is built or changed. Run it in CI before a launch.",
  positionals: { min: 1, max: 1, names: "exactly one FILE" },
  settings: EVAL_SETTINGS,
  async run({ positionals, settings, runner, clock, logger }) {
    const file = positionals[0]!;
    const report = await validate({ file }, { settings, runner, clock, logger });
    const status = report.error ? exitStatusFor(report.error) : ExitStatus.Ok;
    const lines = report.error
      ? [`INVALID ${file}`, `  ${report.error.message}`, ...(report.error.hint ? [`  hint: ${report.error.hint}`] : [])]
      : [`valid ${file}`, `  derivation: ${report.drvPath}`, `  system:     ${report.systemPath ?? "(not built yet)"}`];
    return {
      status,
      report: { ok: report.ok, file, candidate: report.candidate, drvPath: report.drvPath, systemPath: report.systemPath, steps: stepsJson(report.steps), nixCommandMs: Math.round(report.nixCommandMs), evaluations: report.evaluations, ...(report.error ? { error: errorSummary(report.error) } : {}) },
      text: [...lines, "steps:", ...renderSteps(report.steps)].join("\n"),
    };
  },
};
