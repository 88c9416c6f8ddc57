import { uptime } from "node:os";
import { sdkOptionsFromEnv } from "../../run/aws-env.js";
import { bootRun, type BootRunReport } from "../../run/boot-run.js";
import { APPLY_SETTINGS, IMDS_SETTINGS, type CommandSpec } from "../command.js";
import { applyReportJson, renderApplySummary } from "./apply.js";
import { imdsClientFrom } from "./fetch.js";
import { renderSteps, stepsJson } from "./pipeline-render.js";

function renderRun(report: BootRunReport): string {
  const lines = [`outcome:    ${report.outcome}`];
  if (report.userdata) lines.push(`userdata:   ${report.userdata.class}, ${report.userdata.sizeBytes} bytes, sha256 ${report.userdata.sha256}`);
  if (report.apply) lines.push(...renderApplySummary(report.apply).map((line) => `  ${line}`));
  if (report.error && !report.apply) lines.push(`error:      ${report.error.message}`, ...(report.error.hint ? [`  hint: ${report.error.hint}`] : []));
  const lifecycle = report.lifecycle;
  if (lifecycle) lines.push(`lifecycle:  ${lifecycle.result}${lifecycle.result === "completed" ? ` ${lifecycle.action}` : ""}${lifecycle.group ? ` (group ${lifecycle.group}, hook ${lifecycle.hook ?? "-"})` : ""}, ${lifecycle.heartbeats} heartbeat(s), ${lifecycle.apiCalls} API call(s)`);
  if (report.lifecycleError) lines.push(`lifecycle:  FAILED: ${report.lifecycleError.message}`, ...(report.lifecycleError.hint ? [`  hint: ${report.lifecycleError.hint}`] : []));
  lines.push("steps:", ...renderSteps(report.steps));
  return lines.join("\n");
}

export const runCommand: CommandSpec = {
  name: "run",
  summary: "the boot run: IMDS userdata → validate, plan, build, activate, health, commit/rollback → lifecycle hook",
  usage: "[options] [--json]",
  description:
    "What the nixboot.service unit runs at boot. Reads userdata from IMDS (IMDSv2), decodes and classifies it:\n" +
    "  empty  → nothing to apply, CONTINUE;\n" +
    "  nix    → the apply pipeline (see `nixboot apply --help`); CONTINUE when applied or unchanged, ABANDON otherwise;\n" +
    "  script → run only with --allow-scripts; its exit status decides.\n" +
    "`# nixboot: key=value` header lines override policy, mode, health checks and timeouts for this launch.\n" +
    "Reports to the Auto Scaling group's launch lifecycle hook (heartbeats while working), and writes the\n" +
    "status file that `nixboot status` reads. AWS endpoints: AWS_ENDPOINT_URL_AUTO_SCALING, AWS_ENDPOINT_URL_EC2\n" +
    "(or AWS_ENDPOINT_URL); credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, else the instance profile.",
  positionals: { min: 0, max: 0, names: "no arguments" },
  settings: [...APPLY_SETTINGS, ...IMDS_SETTINGS, "hookName", "report", "allowScripts", "scriptTimeoutSeconds"],
  async run(context) {
    const { settings, runner, clock, logger } = context;
    const controller = new AbortController();
    const onSigterm = (): void => {
      logger.warn("SIGTERM: stopping, reporting ABANDON to the lifecycle hook first");
      controller.abort();
    };
    process.once("SIGTERM", onSigterm);
    // The SDK reads process.env; endpoints and keys come from the CLI's environment instead.
    const sdk = sdkOptionsFromEnv(context.env);
    try {
      const report = await bootRun({
        settings,
        imds: imdsClientFrom(context),
        runner,
        clock,
        logger,
        bootedAt: clock.now() - uptime() * 1000,
        signal: controller.signal,
        ...(sdk ? { sdk } : {}),
      });
      return {
        status: report.exitStatus,
        report: {
          ok: report.exitStatus === 0,
          exitStatus: report.exitStatus,
          outcome: report.outcome,
          instanceId: report.instanceId,
          userdata: report.userdata,
          apply: report.apply ? applyReportJson(report.apply) : undefined,
          lifecycle: report.lifecycle,
          steps: stepsJson(report.steps),
          ...(report.error ? { error: report.error.toJSON() } : {}),
          ...(report.lifecycleError ? { lifecycleError: report.lifecycleError.toJSON() } : {}),
        },
        text: renderRun(report),
      };
    } finally {
      process.off("SIGTERM", onSigterm);
    }
  },
};
