import { SettingsError } from "../errors.js";
import { CommandTimeoutError } from "../exec/errors.js";
import type { SystemContext } from "./activate.js";
import { HealthCheckFailedError } from "./errors.js";
import { BOOTING_STATES, listFailedUnits, listJobs, NIXBOOT_UNIT, systemState, type SystemdJob } from "./systemd.js";

/**
 * One health check, parsed from its setting/directive form:
 * - `systemd`: the system manager is healthy. After boot, `systemctl is-system-running` answers
 *   `running` (`degraded` only with allowDegraded). During boot (`starting`, `initializing`: nixboot
 *   runs from a unit ordered before multi-user.target, so boot cannot finish before it exits) every
 *   queued job but nixboot's own is `waiting` (nothing else is still starting) and no unit has
 *   failed (allowed with allowDegraded). Never `--wait`: at boot it would wait for nixboot itself;
 * - `unit:NAME`: `systemctl is-active NAME` exits 0;
 * - `http:URL`: a GET answers 2xx (redirects followed);
 * - `cmd:COMMAND`: `/bin/sh -c COMMAND` exits 0. The command comes from the operator's settings
 *   or launch directives (not from the network), so a shell is acceptable; it runs through the runner.
 * `none` means no check.
 */
export type HealthCheck =
  | { kind: "systemd" }
  | { kind: "unit"; unit: string }
  | { kind: "http"; url: string }
  | { kind: "cmd"; command: string };

export function parseHealthChecks(specs: readonly string[]): HealthCheck[] {
  const checks: HealthCheck[] = [];
  for (const raw of specs) {
    const spec = raw.trim();
    if (spec === "none" || spec === "") continue;
    if (spec === "systemd") checks.push({ kind: "systemd" });
    else if (spec.startsWith("unit:") && /^[\w@.:\\-]+$/.test(spec.slice(5))) checks.push({ kind: "unit", unit: spec.slice(5) });
    else if (spec.startsWith("http:") && isHttpUrl(spec.slice(5))) checks.push({ kind: "http", url: spec.slice(5) });
    else if (spec.startsWith("cmd:") && spec.slice(4).trim() !== "") checks.push({ kind: "cmd", command: spec.slice(4) });
    else {
      throw new SettingsError(`health check ${JSON.stringify(spec)} is not valid`, {
        hint: "use systemd, unit:NAME, http:URL (http:// or https://), cmd:COMMAND, or none",
      });
    }
  }
  return checks;
}

export function formatHealthCheck(check: HealthCheck): string {
  switch (check.kind) {
    case "systemd":
      return "systemd";
    case "unit":
      return `unit:${check.unit}`;
    case "http":
      return `http:${check.url}`;
    case "cmd":
      return `cmd:${check.command}`;
  }
}

export interface HealthOptions {
  checks: readonly HealthCheck[];
  timeoutMs: number;
  allowDegraded: boolean;
  /** The systemctl to ask (tests use a fake one); default `systemctl` from PATH. */
  systemctlPath: string;
  /** Pause between two attempts of a failing check. */
  pollMs?: number;
  /** The unit nixboot runs as, whose start job is ignored at boot; default `NIXBOOT_UNIT`. */
  ownUnit?: string;
}

export interface CheckResult {
  check: string;
  ok: boolean;
  attempts: number;
  /** The last answer: `running`, `HTTP 503`, `exit status 1`... */
  detail: string;
}

/** Why 2 s: short against a gate measured in minutes, long enough not to hammer a starting service or systemd. */
export const HEALTH_POLL_MS = 2_000;
/** A single HTTP attempt or command never gets more than this, so a hung one is retried. */
const ATTEMPT_MAX_MS = 30_000;
/** Even with the gate's time used up, every check gets one attempt of at least this. */
const ATTEMPT_MIN_MS = 1_000;

/**
 * Step 6: the health gate. Checks run in order; each is retried (every `pollMs`, by the injected
 * clock) until it passes or the gate's deadline is reached. A `degraded` system, a failed unit or a
 * job still running at boot are retried too (a unit may be restarting or still starting), so
 * they fail the gate only at the deadline.
 * @throws HealthCheckFailedError naming the check that did not pass and its last answer.
 */
export async function runHealthGate(ctx: SystemContext, options: HealthOptions): Promise<CheckResult[]> {
  const deadline = ctx.clock.now() + options.timeoutMs;
  const pollMs = options.pollMs ?? HEALTH_POLL_MS;
  const results: CheckResult[] = [];
  for (const check of options.checks) {
    const result: CheckResult = { check: formatHealthCheck(check), ok: false, attempts: 0, detail: "" };
    results.push(result);
    for (;;) {
      const remaining = deadline - ctx.clock.now();
      result.attempts += 1;
      const answer = await attempt(ctx, check, options, Math.max(ATTEMPT_MIN_MS, remaining));
      result.ok = answer.ok;
      result.detail = answer.detail;
      ctx.logger.debug({ check: result.check, ok: answer.ok, detail: answer.detail, attempt: result.attempts }, "health check");
      if (answer.ok) break;
      const left = deadline - ctx.clock.now();
      if (left <= 0) {
        throw new HealthCheckFailedError(`health check ${result.check} did not pass within ${Math.round(options.timeoutMs / 1000)} s: ${answer.detail}`, {
          hint: "the candidate was rolled back; fix the service or the check, or raise healthTimeoutSeconds",
          details: { checks: results },
        });
      }
      await ctx.clock.sleep(Math.min(pollMs, left));
    }
  }
  return results;
}

async function attempt(ctx: SystemContext, check: HealthCheck, options: HealthOptions, budgetMs: number): Promise<{ ok: boolean; detail: string }> {
  const timeoutMs = Math.min(budgetMs, ATTEMPT_MAX_MS);
  switch (check.kind) {
    case "systemd":
      try {
        return await systemdHealth(ctx, options, timeoutMs);
      } catch (error) {
        return { ok: false, detail: error instanceof CommandTimeoutError ? "systemctl timed out" : (error as Error).message };
      }
    case "unit": {
      const answer = await command(ctx, [options.systemctlPath, "is-active", check.unit], timeoutMs);
      return { ok: answer.ok, detail: `${check.unit} is ${answer.stdout.trim() || answer.detail}` };
    }
    case "cmd": {
      const answer = await command(ctx, ["/bin/sh", "-c", check.command], timeoutMs);
      return { ok: answer.ok, detail: answer.detail };
    }
    case "http":
      return http(check.url, timeoutMs);
  }
}

async function systemdHealth(ctx: SystemContext, options: HealthOptions, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  const state = await systemState(ctx, options.systemctlPath, timeoutMs);
  const said = `system state ${JSON.stringify(state)}`;
  if (!BOOTING_STATES.has(state)) return { ok: state === "running" || (state === "degraded" && options.allowDegraded), detail: said };
  const ownUnit = options.ownUnit ?? NIXBOOT_UNIT;
  const jobs = (await listJobs(ctx, options.systemctlPath, timeoutMs)).filter((job) => job.unit !== ownUnit);
  const busy = jobs.filter((job) => job.state !== "waiting");
  const failed = await listFailedUnits(ctx, options.systemctlPath, timeoutMs);
  const problems: string[] = [];
  if (busy.length > 0) problems.push(`jobs not done: ${list(busy.map(describeJob))}`);
  if (failed.length > 0 && !options.allowDegraded) problems.push(`failed units: ${list(failed)}`);
  if (problems.length > 0) return { ok: false, detail: `${said} (booting): ${problems.join("; ")}` };
  const failedNote = failed.length > 0 ? `, ${failed.length} failed units (degraded allowed)` : ", no failed units";
  return { ok: true, detail: `${said} (booting): only jobs waiting for ${ownUnit} (${jobs.length})${failedNote}` };
}

function describeJob(job: SystemdJob): string {
  return `${job.unit} (${job.type} ${job.state})`;
}

/** At most 5 names, so a detail stays one readable line. */
function list(items: readonly string[]): string {
  return items.length <= 5 ? items.join(", ") : `${items.slice(0, 5).join(", ")} and ${items.length - 5} more`;
}

async function command(ctx: SystemContext, argv: string[], timeoutMs: number): Promise<{ ok: boolean; stdout: string; detail: string }> {
  try {
    const result = await ctx.runner.run(argv, { timeoutMs });
    return { ok: result.exitCode === 0, stdout: result.stdout, detail: `exit status ${result.exitCode}` };
  } catch (error) {
    if (error instanceof CommandTimeoutError) return { ok: false, stdout: "", detail: "timed out" };
    return { ok: false, stdout: "", detail: (error as Error).message };
  }
}

async function http(url: string, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return { ok: response.status >= 200 && response.status < 300, detail: `HTTP ${response.status}` };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, detail: cause?.code ?? cause?.message ?? (error as Error).message };
  }
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}
