import { join } from "node:path";
import type { Clock } from "../clock.js";
import { CommandFailedError } from "../exec/errors.js";
import type { CommandRunner, RunOptions, RunResult } from "../exec/runner.js";
import type { Logger } from "../log/logger.js";
import type { Policy } from "../settings/definitions.js";
import { NixCommandError } from "./errors.js";

export type NixProgram = "nix-instantiate" | "nix-store" | "nix-env";

/** Counters a run accumulates across its Nix commands (the benchmark reads them). */
export interface NixStats {
  /** Total wall time spent inside Nix commands, by the injected clock. */
  commandMs: number;
  /** Number of Nix commands started. */
  commands: number;
  /** Number of evaluations (`nix-instantiate` of the system); one per switch at most. */
  evaluations: number;
}

export function createNixStats(): NixStats {
  return { commandMs: 0, commands: 0, evaluations: 0 };
}

/** What every Nix step needs: the runner, where the binaries are, and the counters. */
export interface NixContext {
  runner: CommandRunner;
  clock: Clock;
  logger: Logger;
  /** Directory holding the Nix binaries; empty: found on PATH. */
  nixBinDir: string;
  stats: NixStats;
}

export function nixProgram(nixBinDir: string, program: NixProgram): string {
  return nixBinDir === "" ? program : join(nixBinDir, program);
}

/**
 * Options that make a command obey the policy regardless of nix.conf: under `baked` no binary
 * cache is consulted (`substituters` empty), so nothing can be fetched from one.
 */
export function policyOptions(policy: Policy): string[] {
  return policy === "baked" ? ["--option", "substituters", ""] : [];
}

/** Runs a Nix program through the runner, counting its time; a program that cannot start is a `NixCommandError`. */
export async function runNix(ctx: NixContext, program: NixProgram, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const argv = [nixProgram(ctx.nixBinDir, program), ...args];
  const started = ctx.clock.now();
  ctx.stats.commands += 1;
  try {
    return await ctx.runner.run(argv, options);
  } catch (error) {
    if (error instanceof CommandFailedError) {
      throw new NixCommandError(`cannot run ${argv[0]}: ${error.message}`, {
        cause: error,
        hint: "install Nix or point nixBinDir (--nix-bin-dir) at the directory holding nix-instantiate, nix-store and nix-env",
        details: { program },
      });
    }
    throw error;
  } finally {
    ctx.stats.commandMs += ctx.clock.now() - started;
  }
}

/** The last `count` non-empty lines of a text. */
export function tailLines(text: string, count: number): string[] {
  return text.split("\n").map((line) => line.trimEnd()).filter((line) => line !== "").slice(-count);
}
