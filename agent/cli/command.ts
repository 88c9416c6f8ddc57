import type { ParseArgsConfig } from "node:util";
import type { Clock } from "../clock.js";
import type { CommandRunner } from "../exec/runner.js";
import type { Logger } from "../log/logger.js";
import type { SettingKey, Settings } from "../settings/definitions.js";
import type { ExitStatus } from "./exit-status.js";

type OptionSpec = NonNullable<ParseArgsConfig["options"]>[string];

/** What a command receives: parsed arguments, resolved settings and the real collaborators. */
export interface CommandContext {
  positionals: string[];
  /** Command-specific flag values (not settings). */
  flags: Record<string, string | boolean | string[] | undefined>;
  settings: Settings;
  json: boolean;
  logger: Logger;
  clock: Clock;
  runner: CommandRunner;
  env: NodeJS.ProcessEnv;
  /** Human-readable output (stdout). */
  print: (text: string) => void;
}

/** What a command reports: the exit status and one JSON-able object (`--json` prints it). */
export interface CommandResult {
  status: ExitStatus;
  report: Record<string, unknown>;
  /** Human rendering of the report; printed when not `--json`. */
  text?: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Usage line after `nixboot NAME`, e.g. "FILE [options]". */
  usage: string;
  /** Longer description for `--help`. */
  description: string;
  /** Number of positional arguments: exact. */
  positionals: { min: number; max: number; names: string };
  /** Settings this command accepts as flags (from the settings table). */
  settings: readonly SettingKey[];
  /** Command-specific flags. */
  options?: Record<string, OptionSpec & { doc: string }>;
  run(context: CommandContext): Promise<CommandResult>;
}

export const IMDS_SETTINGS = ["imdsEndpoint", "imdsBudgetSeconds", "imdsTimeoutSeconds"] as const satisfies readonly SettingKey[];
export const EVAL_SETTINGS = ["nixosEntry", "includePaths", "nixBinDir", "evalTimeoutSeconds", "policy", "stateDir"] as const satisfies readonly SettingKey[];
export const APPLY_SETTINGS = [
  ...EVAL_SETTINGS,
  "mode",
  "configPath",
  "systemProfile",
  "currentSystem",
  "healthChecks",
  "healthTimeoutSeconds",
  "allowDegraded",
  "buildTimeoutSeconds",
  "activationTimeoutSeconds",
  "lockWaitSeconds",
] as const satisfies readonly SettingKey[];
