import { CommandFailedError } from "../exec/errors.js";
import { tailLines } from "../nix/nix-command.js";
import type { SystemContext } from "./activate.js";

/**
 * nixboot's own unit (systemd/nixboot.service). At boot its start job runs while the agent
 * does, and everything ordered after it (multi-user.target first) waits for it.
 */
export const NIXBOOT_UNIT = "nixboot.service";

/**
 * The target nixboot is wanted by and ordered before. At boot it is not active yet, so
 * `switch-to-configuration test` does not start the candidate's new units (it only restarts
 * targets that are active); queueing a start of this target pulls them in.
 */
export const BOOT_TARGET = "multi-user.target";

/** `systemctl is-system-running` states while boot is not finished (its jobs are still queued). */
export const BOOTING_STATES: ReadonlySet<string> = new Set(["initializing", "starting"]);

/** One systemctl query never gets more than this: none of them waits for anything. */
export const SYSTEMCTL_TIMEOUT_MS = 30_000;

/** A queued job, from `systemctl list-jobs`. */
export interface SystemdJob {
  id: number;
  unit: string;
  /** start, stop, restart, reload, verify-active... */
  type: string;
  /** `waiting` (for the jobs it is ordered after) or `running`. */
  state: string;
}

async function systemctl(ctx: SystemContext, systemctlPath: string, args: string[], timeoutMs: number) {
  return ctx.runner.run([systemctlPath, ...args], { timeoutMs: Math.min(timeoutMs, SYSTEMCTL_TIMEOUT_MS) });
}

function failed(what: string, result: { exitCode: number; stderr: string }): CommandFailedError {
  const why = tailLines(result.stderr, 3).join(" / ") || `exit status ${result.exitCode}`;
  return new CommandFailedError(`systemctl ${what} failed: ${why}`, {
    hint: "is systemd the init system, and is the systemctl the agent uses (systemctlPath) the system's?",
    details: { exitCode: result.exitCode },
  });
}

/**
 * The system manager's state, without `--wait`: at boot that would block until boot finishes,
 * which is after nixboot exits (deadlock). `is-system-running` exits non-zero for every state but
 * `running`, so the state is read from its output.
 * @throws CommandFailedError when it prints no state; CommandTimeoutError.
 */
export async function systemState(ctx: SystemContext, systemctlPath: string, timeoutMs = SYSTEMCTL_TIMEOUT_MS): Promise<string> {
  const result = await systemctl(ctx, systemctlPath, ["is-system-running"], timeoutMs);
  const state = tailLines(result.stdout, 1)[0]?.trim();
  if (state === undefined || !/^[a-z-]+$/.test(state)) throw failed("is-system-running", result);
  return state;
}

/** The queued jobs (`systemctl list-jobs`). @throws CommandFailedError on a failure or a line it cannot read. */
export async function listJobs(ctx: SystemContext, systemctlPath: string, timeoutMs = SYSTEMCTL_TIMEOUT_MS): Promise<SystemdJob[]> {
  const result = await systemctl(ctx, systemctlPath, ["list-jobs", "--no-legend", "--plain"], timeoutMs);
  if (result.exitCode !== 0) throw failed("list-jobs", result);
  return parseJobs(result.stdout);
}

/**
 * Parses `list-jobs --no-legend` output: `JOB UNIT TYPE STATE` a line. A line that does not
 * read so is an error, never skipped: a running job must not pass for no job.
 */
export function parseJobs(text: string): SystemdJob[] {
  const jobs: SystemdJob[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || /^No jobs (running|listed)\.?$/.test(line)) continue;
    const match = /^(\d+)\s+(\S+)\s+(\S+)\s+(\S+)$/.exec(line);
    if (!match) {
      throw new CommandFailedError(`systemctl list-jobs printed a line nixboot cannot read: ${JSON.stringify(line.slice(0, 200))}`, {
        hint: "expected JOB UNIT TYPE STATE; check the systemd version",
      });
    }
    jobs.push({ id: Number(match[1]), unit: match[2]!, type: match[3]!, state: match[4]! });
  }
  return jobs;
}

/** Names of the units in state `failed` (`systemctl list-units --state=failed`). @throws CommandFailedError */
export async function listFailedUnits(ctx: SystemContext, systemctlPath: string, timeoutMs = SYSTEMCTL_TIMEOUT_MS): Promise<string[]> {
  const result = await systemctl(ctx, systemctlPath, ["list-units", "--state=failed", "--no-legend", "--plain"], timeoutMs);
  if (result.exitCode !== 0) throw failed("list-units --state=failed", result);
  return result.stdout
    .split("\n")
    .map((line) => line.replace(/^[\s●×*]+/u, "").trim())
    .filter((line) => line !== "" && !/^\d+ loaded units listed/.test(line))
    .map((line) => line.split(/\s+/)[0]!);
}

/**
 * Queues a start of `unit` and returns at once (`--no-block`). Never blocks: at boot a blocking
 * start of the boot target would wait for nixboot itself.
 * @throws CommandFailedError when systemd refuses the job.
 */
export async function startNoBlock(ctx: SystemContext, systemctlPath: string, unit: string, timeoutMs = SYSTEMCTL_TIMEOUT_MS): Promise<void> {
  const result = await systemctl(ctx, systemctlPath, ["start", "--no-block", unit], timeoutMs);
  if (result.exitCode !== 0) throw failed(`start --no-block ${unit}`, result);
}

/** Forgets every unit's failed state (`systemctl reset-failed`). @throws CommandFailedError */
export async function resetFailed(ctx: SystemContext, systemctlPath: string, timeoutMs = SYSTEMCTL_TIMEOUT_MS): Promise<void> {
  const result = await systemctl(ctx, systemctlPath, ["reset-failed"], timeoutMs);
  if (result.exitCode !== 0) throw failed("reset-failed", result);
}
