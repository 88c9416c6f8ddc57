import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ErrorCode, NixbootError } from "../errors.js";
import type { CommandRunner } from "../exec/runner.js";
import type { Logger } from "../log/logger.js";

/** Thrown when userdata is a script and scripts are disabled, or when the script exits non-zero. */
export class ScriptError extends NixbootError {
  readonly code = ErrorCode.ScriptFailed;
}

export interface ScriptRunOptions {
  script: string;
  allowScripts: boolean;
  stateDir: string;
  timeoutMs: number;
  runner: CommandRunner;
  logger: Logger;
}

/**
 * Runs a `#!` userdata script, as amazon-init did, but only when the operator
 * enabled scripts. The script is written to a private file (mode 0700) and run
 * by its own interpreter line; its output goes to the log line by line (the
 * operator's script, not userdata we parse, so its output is theirs to log).
 */
export async function runUserdataScript(options: ScriptRunOptions): Promise<{ exitCode: number; durationMs: number }> {
  if (!options.allowScripts) {
    throw new ScriptError("userdata is a script, and running scripts is disabled", {
      hint: "send a configuration.nix instead, or enable scripts (services.nixboot.allowScripts / --allow-scripts)",
    });
  }
  const dir = join(options.stateDir, "script");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, "userdata-script");
  await writeFile(path, options.script, { mode: 0o700 });
  await chmod(path, 0o700);
  try {
    const result = await options.runner.run([path], {
      timeoutMs: options.timeoutMs,
      cwd: dir,
      onLine: (line, stream) => options.logger.info({ stream }, `script: ${line}`),
    });
    if (result.exitCode !== 0) {
      throw new ScriptError(`userdata script exited with status ${result.exitCode}${result.signal ? ` (signal ${result.signal})` : ""}`, {
        hint: "see the script's output in the journal: journalctl -u nixboot",
        details: { exitCode: result.exitCode },
      });
    }
    return { exitCode: 0, durationMs: result.durationMs };
  } finally {
    await rm(path, { force: true });
  }
}
