import { access } from "node:fs/promises";
import { join } from "node:path";
import type { Clock } from "../clock.js";
import { CommandTimeoutError } from "../exec/errors.js";
import type { CommandRunner } from "../exec/runner.js";
import type { Logger } from "../log/logger.js";
import { tailLines } from "../nix/nix-command.js";
import { ActivationFailedError } from "./errors.js";
import { BOOT_TARGET, BOOTING_STATES, startNoBlock, systemState } from "./systemd.js";

/** What the system steps need: a command runner, a clock and a logger. */
export interface SystemContext {
  runner: CommandRunner;
  clock: Clock;
  logger: Logger;
}

/** `switch-to-configuration`'s actions: `test` activates without touching the boot default, `boot` only sets it. */
export type ActivationAction = "test" | "boot" | "switch" | "dry-activate";

/** NixOS's `switch-to-configuration` exit statuses, in words. */
export function describeActivationStatus(exitCode: number): string {
  switch (exitCode) {
    case 2:
      return "the activation script failed";
    case 3:
      return "systemd daemon-reload or systemd-tmpfiles failed";
    case 4:
      return "one or more units failed to start or restart";
    default:
      return `switch-to-configuration exited with status ${exitCode}`;
  }
}

export function switchScript(systemPath: string): string {
  return join(systemPath, "bin", "switch-to-configuration");
}

/**
 * Runs `SYSTEM/bin/switch-to-configuration ACTION`, streaming its output to the logger.
 * @throws ActivationFailedError with the exit status in words and the last lines of stderr.
 */
export async function switchToConfiguration(ctx: SystemContext, systemPath: string, action: ActivationAction, timeoutMs: number): Promise<void> {
  const script = switchScript(systemPath);
  try {
    await access(script);
  } catch (error) {
    throw new ActivationFailedError(`${systemPath} is not a NixOS system: it has no bin/switch-to-configuration`, {
      cause: error,
      hint: "nixosEntry must evaluate to a NixOS toplevel",
      details: { systemPath, action },
    });
  }
  let result;
  try {
    result = await ctx.runner.run([script, action], {
      timeoutMs,
      onLine: (line, stream) => {
        if (line.trim() !== "") ctx.logger.info({ stream, action }, `switch-to-configuration: ${line}`);
      },
    });
  } catch (error) {
    if (error instanceof CommandTimeoutError) {
      throw new ActivationFailedError(`switch-to-configuration ${action} of ${systemPath} did not finish within ${Math.round(timeoutMs / 1000)} s`, {
        cause: error,
        hint: "a unit probably hangs while starting; raise activationTimeoutSeconds if activation is just slow",
        details: { systemPath, action },
      });
    }
    throw error;
  }
  if (result.exitCode === 0) return;
  const stderrTail = tailLines(result.stderr, 10);
  const why = result.signal ? `switch-to-configuration was killed by ${result.signal}` : describeActivationStatus(result.exitCode);
  throw new ActivationFailedError(`switch-to-configuration ${action} failed: ${why}`, {
    hint: "see the activation output in the journal (journalctl -u nixboot), then fix the configuration",
    details: { systemPath, action, exitCode: result.exitCode, stderrTail },
  });
}

/**
 * After a trial activation: when the system is still booting (nixboot runs before
 * multi-user.target), `switch-to-configuration test` did not start the candidate's new units,
 * because their target is not active yet. This queues `systemctl start --no-block BOOT_TARGET`,
 * which pulls them in: units not ordered after nixboot start now, so the health gate sees them;
 * the target itself waits for nixboot, hence never a blocking start. Does nothing after boot.
 * Returns the system state it saw, or null when it could not be read (then it queues nothing:
 * the health gate judges the system anyway).
 * @throws ActivationFailedError when systemd refuses the start job.
 */
export async function startBootTargetIfBooting(ctx: SystemContext, systemctlPath: string): Promise<string | null> {
  let state: string;
  try {
    state = await systemState(ctx, systemctlPath);
  } catch (error) {
    ctx.logger.warn({ error: (error as Error).message }, "cannot read the system state after activation; not queueing the boot target");
    return null;
  }
  if (!BOOTING_STATES.has(state)) return state;
  try {
    await startNoBlock(ctx, systemctlPath, BOOT_TARGET);
  } catch (error) {
    throw new ActivationFailedError(`the system is booting (${state}) and queueing ${BOOT_TARGET} to start the configuration's new units failed: ${(error as Error).message}`, {
      cause: error,
      hint: `see journalctl -u nixboot and systemctl list-jobs; ${BOOT_TARGET} must be startable`,
      details: { state, target: BOOT_TARGET },
    });
  }
  ctx.logger.info({ state, target: BOOT_TARGET }, `system is booting: queued ${BOOT_TARGET} so the configuration's new units start`);
  return state;
}
