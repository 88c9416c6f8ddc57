import { UsageError } from "../../errors.js";
import { readStatus, waitForStatus, type RunStatus } from "../../run/status.js";
import type { CommandSpec } from "../command.js";
import { ExitStatus } from "../exit-status.js";
import { renderSteps } from "./pipeline-render.js";

const WAIT_POLL_MS = 500;

export function renderStatus(status: RunStatus): string {
  const lines = [`phase:      ${status.phase}`, `outcome:    ${status.outcome ?? "-"}`, `started:    ${status.startedAt}`];
  if (status.finishedAt) lines.push(`finished:   ${status.finishedAt}`);
  if (status.userdata) lines.push(`userdata:   ${status.userdata.class}, ${status.userdata.sizeBytes} bytes, sha256 ${status.userdata.sha256}`);
  if (status.systemPath) lines.push(`system:     ${status.systemPath}${status.generation !== undefined ? ` (generation ${status.generation})` : ""}`);
  if (status.lifecycle) {
    const { group, hook, result, action } = status.lifecycle;
    lines.push(`lifecycle:  ${result}${action ? ` ${action}` : ""}${group ? ` group=${group}` : ""}${hook ? ` hook=${hook}` : ""}`);
  }
  if (status.error) lines.push(`error:      ${status.error.message}${status.error.hint ? `\n  hint:     ${status.error.hint}` : ""}`);
  if (status.steps.length > 0) {
    lines.push("steps:", ...renderSteps(status.steps));
  }
  return lines.join("\n");
}

export const statusCommand: CommandSpec = {
  name: "status",
  summary: "show the last boot run's outcome (--wait until it has finished)",
  usage: "[--wait [--timeout SECONDS]] [--json]",
  description:
    "Reads the status file the boot run writes to the state directory: outcome, userdata hash, system path and\n" +
    "generation, per-step durations, lifecycle result, errors. With --wait, blocks until the run has finished\n" +
    "(like `cloud-init status --wait`). Exit status: 0 when the last run succeeded, otherwise the run's own status.",
  positionals: { min: 0, max: 0, names: "no arguments" },
  settings: ["stateDir"],
  options: {
    wait: { type: "boolean", doc: "wait until the boot run has finished" },
    timeout: { type: "string", doc: "with --wait: give up after this many seconds (default 3600)" },
  },
  async run({ settings, flags, clock }) {
    const timeout = typeof flags.timeout === "string" ? flags.timeout.trim() : undefined;
    if (timeout !== undefined && flags.wait !== true) throw new UsageError("--timeout needs --wait");
    if (timeout !== undefined && !/^\d+(\.\d+)?$/.test(timeout)) throw new UsageError(`--timeout expects a number of seconds, got ${JSON.stringify(flags.timeout)}`);
    const status =
      flags.wait === true
        ? await waitForStatus(settings.stateDir, clock, { pollMs: WAIT_POLL_MS, timeoutMs: Number(timeout ?? 3600) * 1000 })
        : await readStatus(settings.stateDir);
    if (status === null) {
      return { status: ExitStatus.Ok, report: { ok: true, phase: "not-run", stateDir: settings.stateDir }, text: `no boot run recorded in ${settings.stateDir}` };
    }
    // Still running after --wait gave up: say so with a non-zero status (like `cloud-init status --wait`).
    if (status.phase === "running" && flags.wait === true) {
      return { status: ExitStatus.Busy, report: { ok: false, ...status }, text: `${renderStatus(status)}\n(still running after --timeout)` };
    }
    const exitStatus = status.phase === "running" ? ExitStatus.Ok : (status.exitStatus ?? (status.phase === "error" ? ExitStatus.Internal : ExitStatus.Ok));
    return { status: exitStatus as ExitStatus, report: { ok: exitStatus === 0, ...status }, text: renderStatus(status) };
  },
};
