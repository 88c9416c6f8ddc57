import { parseArgs, type ParseArgsConfig } from "node:util";
import { systemClock, type Clock } from "../clock.js";
import { UsageError, isNixbootError, type NixbootError } from "../errors.js";
import { createProcessRunner, type CommandRunner } from "../exec/runner.js";
import { createLogger, type Logger, type LogLevel } from "../log/logger.js";
import { SETTINGS, type SettingDefinition, type SettingKey } from "../settings/definitions.js";
import { loadSettings, type RawValue } from "../settings/load.js";
import type { CommandSpec } from "./command.js";
import { COMMANDS } from "./commands/index.js";
import { EXIT_STATUS_MEANING, ExitStatus, exitStatusFor } from "./exit-status.js";
import { renderCommandHelp, renderMainHelp } from "./help.js";

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  clock?: Clock;
  runner?: CommandRunner;
  /** Inject a logger (tests); otherwise one is built from the log level. */
  logger?: Logger;
}

const GLOBAL_OPTIONS = {
  help: { type: "boolean", short: "h" },
  json: { type: "boolean" },
  settings: { type: "string" },
  version: { type: "boolean" },
} as const satisfies ParseArgsConfig["options"];

export const VERSION = "0.1.0";

/** The CLI: parses flags (the only place that does), wires collaborators, runs one command, returns the exit status. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = commandFirst(argv);
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout(renderMainHelp(COMMANDS, EXIT_STATUS_MEANING));
    return name === undefined ? ExitStatus.Usage : ExitStatus.Ok;
  }
  if (name === "--version") {
    io.stdout(`nixboot ${VERSION}\n`);
    return ExitStatus.Ok;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command === undefined) {
    io.stderr(`nixboot: unknown command "${name}"; run \`nixboot --help\` for the list\n`);
    return ExitStatus.Usage;
  }
  let json = rest.includes("--json");
  let logger: Logger | undefined;
  try {
    const parsed = parseCommandArgs(command, rest);
    json = parsed.values.json === true;
    if (parsed.values.version === true) {
      io.stdout(`nixboot ${VERSION}\n`);
      return ExitStatus.Ok;
    }
    if (parsed.values.help === true) {
      io.stdout(renderCommandHelp(command));
      return ExitStatus.Ok;
    }
    const settings = await loadSettings({ flags: parsed.settingFlags, env: io.env, ...(typeof parsed.values.settings === "string" ? { file: parsed.values.settings } : {}) });
    // With --json, stdout carries exactly one JSON object, so logs move to stderr.
    logger =
      io.logger ??
      createLogger({
        level: settings.logLevel as LogLevel,
        ...(json ? { destination: { write: (line: string) => io.stderr(line) }, pretty: false } : {}),
      });
    const result = await command.run({
      positionals: parsed.positionals,
      flags: parsed.commandFlags,
      settings,
      json,
      logger,
      clock: io.clock ?? systemClock,
      runner: io.runner ?? createProcessRunner({ env: io.env, logger }),
      env: io.env,
      print: (text) => {
        if (!json) io.stdout(text.endsWith("\n") ? text : `${text}\n`);
      },
    });
    if (json) io.stdout(`${JSON.stringify(result.report)}\n`);
    else if (result.text !== undefined) io.stdout(result.text.endsWith("\n") ? result.text : `${result.text}\n`);
    return result.status;
  } catch (error) {
    return reportFailure(error, { command, json, io, logger });
  }
}

/** Global flags may come before the command (`nixboot --json status`): move them after it. */
function commandFirst(argv: readonly string[]): string[] {
  const leading: string[] = [];
  let index = 0;
  while (index < argv.length) {
    const arg = argv[index]!;
    if (arg === "--json") leading.push(arg);
    else if ((arg === "--settings" || arg === "--log-level") && index + 1 < argv.length) leading.push(arg, argv[++index]!);
    else if (/^--(settings|log-level)=/.test(arg)) leading.push(arg);
    else break;
    index += 1;
  }
  const [command, ...rest] = argv.slice(index);
  return command === undefined ? [...leading] : [command, ...leading, ...rest];
}

function reportFailure(error: unknown, ctx: { command: CommandSpec; json: boolean; io: CliIo; logger: Logger | undefined }): number {
  const status = exitStatusFor(error);
  const known: NixbootError | undefined = isNixbootError(error) ? error : undefined;
  const summary = known?.toJSON() ?? { name: "Error", code: "INTERNAL", message: error instanceof Error ? error.message : String(error) };
  if (!known) ctx.logger?.error({ err: error }, "unexpected error");
  if (ctx.json) {
    ctx.io.stdout(`${JSON.stringify({ ok: false, exitStatus: status, error: summary })}\n`);
  } else {
    const hint = known?.hint ? `\n  hint: ${known.hint}` : "";
    const usage = error instanceof UsageError ? `\n  usage: nixboot ${ctx.command.name} ${ctx.command.usage}` : "";
    ctx.io.stderr(`nixboot ${ctx.command.name}: ${summary.message}${hint}${usage}\n`);
  }
  return status;
}

interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
  settingFlags: Partial<Record<SettingKey, RawValue>>;
  commandFlags: Record<string, string | boolean | string[] | undefined>;
}

function parseCommandArgs(command: CommandSpec, args: string[]): ParsedArgs {
  const settingDefs = (SETTINGS as readonly SettingDefinition[]).filter((def) => (command.settings as readonly string[]).includes(def.key));
  const options: NonNullable<ParseArgsConfig["options"]> = { ...GLOBAL_OPTIONS, "log-level": { type: "string" } };
  for (const def of settingDefs) {
    options[def.flag] = def.kind === "boolean" ? { type: "boolean" } : def.kind === "list" ? { type: "string", multiple: true } : { type: "string" };
  }
  for (const [flag, spec] of Object.entries(command.options ?? {})) {
    const { doc: _doc, ...parseSpec } = spec;
    options[flag] = parseSpec;
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, allowNegative: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify.*$/s, ""), { hint: `run \`nixboot ${command.name} --help\`` });
  }
  const { values, positionals } = parsed;
  if (values.help !== true && (positionals.length < command.positionals.min || positionals.length > command.positionals.max)) {
    throw new UsageError(
      command.positionals.max === 0 ? `${command.name} takes no arguments, got ${positionals.length}` : `${command.name} expects ${command.positionals.names}`,
    );
  }
  const settingFlags: Partial<Record<SettingKey, RawValue>> = {};
  for (const def of settingDefs) {
    const value = values[def.flag];
    if (value !== undefined) settingFlags[def.key as SettingKey] = value as RawValue;
  }
  if (typeof values["log-level"] === "string") settingFlags.logLevel = values["log-level"];
  const commandFlags: ParsedArgs["commandFlags"] = {};
  for (const flag of Object.keys(command.options ?? {})) commandFlags[flag] = values[flag] as string | boolean | string[] | undefined;
  return { values: values as ParsedArgs["values"], positionals, settingFlags, commandFlags };
}
