import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { runNix, tailLines, type NixContext } from "../nix/nix-command.js";
import { switchToConfiguration } from "./activate.js";
import { installConfig } from "./config-file.js";
import { CommitFailedError } from "./errors.js";
import { profileGeneration, resolveSystem } from "./links.js";

/** Why 2 minutes: `nix-env --set` only writes a symlink and a DB row; minutes mean a stuck store lock. */
const PROFILE_TIMEOUT_MS = 120_000;

export interface CommitOptions {
  systemPath: string;
  profile: string;
  configPath: string;
  /** The candidate's text, written to `configPath`; null when the file already holds it. */
  configText: string | null;
  activationTimeoutMs: number;
}

/**
 * Step 7: makes the candidate permanent, in an order a crash can always be recovered from:
 * 1. the profile gets the system as a new generation (skipped when it already points to it),
 * 2. `switch-to-configuration boot` makes it the boot default,
 * 3. the configuration file is replaced atomically (the old one kept as `.previous`).
 * Every part is idempotent, so recovery can run it again.
 * @throws CommitFailedError naming the part that failed.
 */
export async function commitSystem(ctx: NixContext, options: CommitOptions): Promise<{ generation: number | null }> {
  const generation = await setProfile(ctx, options.profile, options.systemPath);
  try {
    await switchToConfiguration(ctx, options.systemPath, "boot", options.activationTimeoutMs);
  } catch (error) {
    throw new CommitFailedError(`making ${options.systemPath} the boot default failed: ${(error as Error).message}`, { cause: error, hint: "check the boot loader (switch-to-configuration boot) in the journal" });
  }
  try {
    if (options.configText !== null) await installConfig(options.configPath, options.configText);
  } catch (error) {
    throw new CommitFailedError(`writing ${options.configPath} failed: ${(error as Error).message}`, { cause: error, hint: "check that its directory is writable" });
  }
  return { generation };
}

/** Points the profile at the system as a new generation, unless it already does; returns the generation. */
export async function setProfile(ctx: NixContext, profile: string, systemPath: string): Promise<number | null> {
  if ((await resolveSystem(profile)) === systemPath) return profileGeneration(profile);
  await mkdir(dirname(profile), { recursive: true });
  const result = await runNix(ctx, "nix-env", ["--profile", profile, "--set", systemPath], { timeoutMs: PROFILE_TIMEOUT_MS });
  if (result.exitCode !== 0) {
    throw new CommitFailedError(`nix-env --profile ${profile} --set failed: ${tailLines(result.stderr, 3).join(" ")}`, { details: { exitCode: result.exitCode } });
  }
  return profileGeneration(profile);
}

/** Points the profile back at an existing generation (`nix-env --switch-generation`). */
export async function switchProfileGeneration(ctx: NixContext, profile: string, generation: number): Promise<void> {
  const result = await runNix(ctx, "nix-env", ["--profile", profile, "--switch-generation", String(generation)], { timeoutMs: PROFILE_TIMEOUT_MS });
  if (result.exitCode !== 0) {
    throw new Error(`nix-env --profile ${profile} --switch-generation ${generation} failed: ${tailLines(result.stderr, 3).join(" ")}`);
  }
}
