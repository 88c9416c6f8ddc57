import { readlink, stat } from "node:fs/promises";
import { basename, dirname, isAbsolute, join } from "node:path";
import { SettingsError } from "../errors.js";
import { CommandTimeoutError } from "../exec/errors.js";
import { readDerivation } from "./derivation.js";
import { ConfigEvalError, NixCommandError } from "./errors.js";
import { formatLocation, parseNixError, renamePath } from "./messages.js";
import { runNix, type NixContext } from "./nix-command.js";

/** The candidate always sits alone, under this name, in a private directory. */
export const CANDIDATE_FILE = "configuration.nix";

/**
 * The evaluation, as one expression: the entry point's interface is `<nixpkgs/nixos>`'s,
 * `import entry { configuration = FILE; }`, and its `system` attribute is the system.
 * Both arguments are search-path lookups (`<...>`), so no string ever becomes a path.
 */
const EXPRESSION = "{ entry, configuration }: (import entry { inherit configuration; }).system";

/**
 * Restricted evaluation: only the search path (NIX_PATH, the entry's directory, includePaths and
 * the candidate's private directory) is readable, no URI may be fetched, and nothing may be
 * built during evaluation (import-from-derivation).
 */
export const RESTRICTED_EVAL_OPTIONS = [
  "--option", "restrict-eval", "true",
  "--option", "allowed-uris", "",
  "--option", "allow-import-from-derivation", "false",
] as const;

export interface EvaluateOptions {
  /** `<nixpkgs/nixos>`-style search-path entry, or an absolute path to a file or directory. */
  entry: string;
  includePaths: readonly string[];
  /** Private directory holding only the candidate, as `configuration.nix`. */
  candidateDir: string;
  displayName: string;
  /** Where to put the GC root of the `.drv`, so it survives until the build. */
  gcRoot: string;
  timeoutMs: number;
}

export interface Evaluation {
  drvPath: string;
  /** The system's store path once built (the derivation's `out`). */
  outPath: string;
}

/**
 * Step 2: instantiates the system derivation, once. Later steps reuse `drvPath`.
 * @throws ConfigEvalError with Nix's message (trimmed: no code excerpt) when evaluation fails.
 * @throws SettingsError when the entry point is neither `<...>` nor an absolute path.
 */
export async function evaluateSystem(ctx: NixContext, options: EvaluateOptions): Promise<Evaluation> {
  const entry = await entryArguments(options.entry);
  const candidatePath = join(options.candidateDir, CANDIDATE_FILE);
  const args = [
    ...RESTRICTED_EVAL_OPTIONS,
    ...entry.searchPath.flatMap((item) => ["-I", item]),
    ...options.includePaths.flatMap((item) => ["-I", item]),
    "-I", `nixboot-candidate=${options.candidateDir}`,
    "--arg", "entry", entry.expression,
    "--arg", "configuration", `<nixboot-candidate/${CANDIDATE_FILE}>`,
    "--expr", EXPRESSION,
    "--add-root", options.gcRoot,
  ];
  ctx.stats.evaluations += 1;
  let result;
  try {
    result = await runNix(ctx, "nix-instantiate", args, { timeoutMs: options.timeoutMs });
  } catch (error) {
    if (error instanceof CommandTimeoutError) {
      throw new ConfigEvalError(`evaluating ${options.displayName} did not finish within ${Math.round(options.timeoutMs / 1000)} s`, undefined, false, {
        cause: error,
        hint: "look for infinite recursion in the configuration, or raise evalTimeoutSeconds",
      });
    }
    throw error;
  }
  if (result.exitCode !== 0) throw entryMissing(result.stderr, options.entry) ?? evalError(result.stderr, candidatePath, options.displayName);
  let drvPath: string;
  try {
    drvPath = await readlink(options.gcRoot);
  } catch (error) {
    throw new NixCommandError(`nix-instantiate succeeded but left no GC root at ${options.gcRoot}`, { cause: error });
  }
  const derivation = await readDerivation(drvPath);
  const outPath = derivation.outputs.out?.path;
  if (outPath === undefined || outPath === "") {
    throw new ConfigEvalError(`the entry point's \`system\` attribute (${drvPath}) has no \`out\` output`, undefined, false, {
      hint: "nixosEntry must be a NixOS entry point (like <nixpkgs/nixos>) whose `system` is the toplevel derivation",
    });
  }
  return { drvPath, outPath };
}

/**
 * The entry point itself is not on the search path (no nixpkgs channel, NIX_PATH unset): a problem
 * of this machine's settings, not of the configuration, so it gets its own error and exit status.
 */
function entryMissing(stderr: string, entry: string): SettingsError | undefined {
  const lookup = /^<([^>]+)>$/.exec(entry)?.[1];
  if (lookup === undefined) return undefined;
  if (!stderr.includes(`file '${lookup}' was not found in the Nix search path`)) return undefined;
  return new SettingsError(`the NixOS entry point ${entry} is not on the Nix search path`, {
    hint: `set NIX_PATH (e.g. nixpkgs=/nix/var/nix/profiles/per-user/root/channels/nixpkgs), add --include ${lookup.split("/")[0]}=PATH, or point --nixos-entry at a NixOS entry point`,
  });
}

function evalError(stderr: string, candidatePath: string, displayName: string): ConfigEvalError {
  const parsed = renamePath(parseNixError(stderr), candidatePath, displayName);
  const location = parsed.location;
  // NixOS appends the offending values ("Definition values: - In `file': VALUE"): they may be
  // secrets typed into the wrong option, so they stay out of messages and logs.
  const message = parsed.message.replace(/\s*Definition values:.*$/s, "");
  const restricted = /forbidden in restricted mode|allow-import-from-derivation|is not allowed to refer to|not allowed in restricted/.test(message);
  const where = formatLocation(location);
  return new ConfigEvalError(`${displayName} does not evaluate: ${message}${where === "" ? "" : ` (at ${where})`}`, location, restricted, {
    hint: restricted
      ? "evaluation runs restricted: no downloads (builtins.fetch*), no files outside the entry point, NIX_PATH and includePaths, no import-from-derivation; bake what you need into the image"
      : "fix the configuration; nothing was built or changed",
  });
}

interface EntryArguments {
  /** `-I` entries the entry point needs. */
  searchPath: string[];
  /** The Nix expression for the entry (always a `<...>` lookup). */
  expression: string;
}

const SEARCH_PATH_ENTRY = /^<[A-Za-z0-9._+\-/]+>$/;
const SAFE_NAME = /^[A-Za-z0-9._+-]+$/;

async function entryArguments(entry: string): Promise<EntryArguments> {
  if (SEARCH_PATH_ENTRY.test(entry)) return { searchPath: [], expression: entry };
  if (!isAbsolute(entry)) {
    throw new SettingsError(`nixosEntry ${JSON.stringify(entry)} must be a search-path entry like <nixpkgs/nixos> or an absolute path`);
  }
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(entry)).isDirectory();
  } catch (error) {
    throw new SettingsError(`nixosEntry ${entry} does not exist: ${(error as Error).message}`, { cause: error });
  }
  if (isDirectory) return { searchPath: [`nixboot-entry=${entry}`], expression: "<nixboot-entry>" };
  const name = basename(entry);
  if (!SAFE_NAME.test(name)) throw new SettingsError(`nixosEntry file name ${JSON.stringify(name)} has characters a Nix path cannot hold`);
  return { searchPath: [`nixboot-entry=${dirname(entry)}`], expression: `<nixboot-entry/${name}>` };
}
