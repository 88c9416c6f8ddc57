import { ConfigSyntaxError } from "./errors.js";
import { formatLocation, parseNixError, renamePath } from "./messages.js";
import { runNix, type NixContext } from "./nix-command.js";

export interface ParseOptions {
  /** The file Nix reads (the candidate's private copy). */
  path: string;
  /** The name the operator knows the file by (its original path, or "userdata"); used in messages. */
  displayName: string;
  timeoutMs: number;
}

/**
 * Step 1: checks the candidate's syntax with `nix-instantiate --parse FILE`. Nothing is
 * evaluated; the parsed expression (stdout) is discarded, never logged.
 * @throws ConfigSyntaxError with file, line and column when Nix rejects the syntax.
 */
export async function parseCandidate(ctx: NixContext, options: ParseOptions): Promise<void> {
  const result = await runNix(ctx, "nix-instantiate", ["--parse", options.path], { timeoutMs: options.timeoutMs });
  if (result.exitCode === 0) return;
  const { message, location } = renamePath(parseNixError(result.stderr), options.path, options.displayName);
  const where = formatLocation(location);
  throw new ConfigSyntaxError(`${where === "" ? options.displayName : where}: ${message}`, location, {
    hint: "fix the Nix syntax at that line and column; nothing was evaluated or changed",
    details: { exitCode: result.exitCode },
  });
}
