import { access } from "node:fs/promises";
import { join } from "node:path";
import type { Clock } from "../clock.js";
import { CommandTimeoutError } from "../exec/errors.js";
import type { CommandRunner } from "../exec/runner.js";
import type { Logger } from "../log/logger.js";
import { tailLines } from "../nix/nix-command.js";
import { ActivationFailedError } from "./errors.js";

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
