import { unlink } from "node:fs/promises";
import type { NixContext } from "../nix/nix-command.js";
import { startBootTargetIfBooting, switchToConfiguration, type SystemContext } from "./activate.js";
import { switchProfileGeneration } from "./commit.js";
import { restoreConfig, type ConfigSnapshot } from "./config-file.js";
import { RollbackFailedError } from "./errors.js";
import { profileGeneration, resolveSystem } from "./links.js";
import { resetFailed } from "./systemd.js";

export interface RestoreActivationOptions {
  /** The system that ran before the switch (resolved before the trial); null if there was none. */
  previousSystem: string | null;
  /** The link that names the running system (`/run/current-system`). */
  currentSystemLink: string;
  activationTimeoutMs: number;
  /** The systemctl to tidy up with afterwards (`reset-failed`, the boot target). */
  systemctlPath: string;
  /** The failure being undone, kept as the rollback error's cause. */
  failure?: unknown;
}

/**
 * Step 8: activates the previous system again (`PREVIOUS/bin/switch-to-configuration test`), then
 * checks that the running-system link names it. Always activates, even when the link already
 * points back: a failed or interrupted activation may have changed units without moving the link.
 * Then, best effort (a failure is logged, the rollback stands): `systemctl reset-failed`, so a unit
 * that failed under the candidate (and may not even exist in the previous system) does not leave
 * the system `degraded` (this resets every unit's failed state, one from before the switch too);
 * and, at boot, the boot target is queued again so the previous system's units that the trial
 * stopped are started again (see `startBootTargetIfBooting`).
 * @throws RollbackFailedError when there is no previous system, its activation fails, or the link
 * does not point to it afterwards.
 */
export async function restoreActivation(ctx: SystemContext, options: RestoreActivationOptions): Promise<void> {
  const previous = options.previousSystem;
  if (previous === null) {
    throw new RollbackFailedError(`cannot roll back: no running system was recorded before the switch (${options.currentSystemLink} did not exist)`, {
      cause: options.failure,
      hint: "the machine runs a failed candidate: reboot into the previous generation from the boot menu",
    });
  }
  try {
    await switchToConfiguration(ctx, previous, "test", options.activationTimeoutMs);
  } catch (error) {
    throw new RollbackFailedError(`activating the previous system ${previous} again failed: ${(error as Error).message}`, {
      cause: error,
      hint: "the machine needs attention: the boot default is unchanged, so rebooting restores the previous system",
      details: { previousSystem: previous, failure: describe(options.failure) },
    });
  }
  const running = await resolveSystem(options.currentSystemLink);
  if (running !== previous) {
    throw new RollbackFailedError(`after activating ${previous} again, ${options.currentSystemLink} points to ${running ?? "nothing"}`, {
      cause: options.failure,
      hint: "the machine needs attention: reboot restores the previous system (the boot default is unchanged)",
      details: { previousSystem: previous, running },
    });
  }
  try {
    await resetFailed(ctx, options.systemctlPath);
  } catch (error) {
    ctx.logger.warn({ error: (error as Error).message }, "systemctl reset-failed after the rollback failed: units that failed under the candidate stay failed");
  }
  try {
    await startBootTargetIfBooting(ctx, options.systemctlPath);
  } catch (error) {
    ctx.logger.warn({ error: (error as Error).message }, "queueing the boot target after the rollback failed");
  }
}

export interface RestoreCommitOptions {
  profile: string;
  previousGeneration: number | null;
  previousSystem: string | null;
  candidateSystem: string;
  configPath: string;
  previousConfig: ConfigSnapshot;
  /** Run `PREVIOUS/bin/switch-to-configuration boot`: needed once the commit may have moved the boot default. */
  restoreBootDefault: boolean;
  activationTimeoutMs: number;
  failure?: unknown;
}

/**
 * Undoes a commit, part by part and idempotently: the profile goes back to the previous
 * generation (the candidate's generation stays, unused), the previous system becomes the boot
 * default again, and the configuration file gets its previous content back.
 * @throws RollbackFailedError naming the part that could not be restored.
 */
export async function restoreCommit(ctx: NixContext, options: RestoreCommitOptions): Promise<void> {
  const fail = (what: string, error: unknown): never => {
    throw new RollbackFailedError(`restoring ${what} failed: ${(error as Error).message}`, {
      cause: error,
      hint: "the machine needs attention: check the system profile, boot default and configuration file",
      details: { failure: describe(options.failure) },
    });
  };
  try {
    const generation = await profileGeneration(options.profile);
    if (options.previousGeneration !== null && generation !== options.previousGeneration) {
      await switchProfileGeneration(ctx, options.profile, options.previousGeneration);
    } else if (options.previousGeneration === null && (await resolveSystem(options.profile)) === options.candidateSystem) {
      await unlink(options.profile);
    }
  } catch (error) {
    fail(`the profile ${options.profile}`, error);
  }
  if (options.restoreBootDefault && options.previousSystem !== null) {
    try {
      await switchToConfiguration(ctx, options.previousSystem, "boot", options.activationTimeoutMs);
    } catch (error) {
      fail("the boot default", error);
    }
  }
  try {
    await restoreConfig(options.configPath, options.previousConfig);
  } catch (error) {
    fail(`the configuration file ${options.configPath}`, error);
  }
}

function describe(failure: unknown): string | undefined {
  return failure instanceof Error ? failure.message : undefined;
}
