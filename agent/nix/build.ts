import { readlink } from "node:fs/promises";
import type { Policy } from "../settings/definitions.js";
import { CommandTimeoutError } from "../exec/errors.js";
import { BuildFailedError, NixCommandError } from "./errors.js";
import { policyOptions, runNix, tailLines, type NixContext } from "./nix-command.js";

export interface BuildOptions {
  drvPath: string;
  outPath: string;
  policy: Policy;
  /** Where to put the GC root of the built system. */
  gcRoot: string;
  timeoutMs: number;
}

export interface BuildResult {
  outPath: string;
  /** Derivations Nix reported building (`building '...drv'`). */
  built: string[];
}

/** How many lines of a failed build's log the error carries. */
const LOG_TAIL_LINES = 25;
const BUILDING = /^building '([^']+\.drv)'/;
const FAILED_BUILDER = [
  /builder for '([^']+\.drv)' failed/,
  /Cannot build '([^']+\.drv)'/,
  /build of '([^']+\.drv)' failed/,
];

/**
 * Step 4: realises the evaluated derivation with the policy's options (under `baked`, no
 * binary cache), streaming Nix's progress to the logger (`building` lines at info, build
 * output at debug), and roots the result at `gcRoot`.
 * @throws BuildFailedError naming the failing derivation, with the tail of its log.
 */
export async function buildSystem(ctx: NixContext, options: BuildOptions): Promise<BuildResult> {
  const built: string[] = [];
  const args = ["--realise", options.drvPath, "--add-root", options.gcRoot, ...policyOptions(options.policy)];
  let result;
  try {
    result = await runNix(ctx, "nix-store", args, {
      timeoutMs: options.timeoutMs,
      onLine: (line) => {
        const building = BUILDING.exec(line);
        if (building) {
          built.push(building[1]!);
          ctx.logger.info({ drv: building[1] }, "building");
        } else if (line.trim() !== "") {
          ctx.logger.debug({ line }, "build output");
        }
      },
    });
  } catch (error) {
    if (error instanceof CommandTimeoutError) {
      throw new BuildFailedError(`building ${options.drvPath} did not finish within ${Math.round(options.timeoutMs / 1000)} s`, {
        cause: error,
        hint: "raise buildTimeoutSeconds (or the directive build-timeout), or bake more of the system into the image",
        details: { drvPath: options.drvPath, built },
      });
    }
    throw error;
  }
  if (result.exitCode !== 0) throw await buildError(ctx, options, result.stderr, built);
  const rooted = await readlink(options.gcRoot).catch(() => undefined);
  if (rooted !== options.outPath) {
    throw new NixCommandError(`nix-store built ${options.drvPath} but ${options.gcRoot} points to ${rooted ?? "nothing"}, not ${options.outPath}`);
  }
  return { outPath: options.outPath, built };
}

async function buildError(ctx: NixContext, options: BuildOptions, stderr: string, built: string[]): Promise<BuildFailedError> {
  const failedDrv = FAILED_BUILDER.map((pattern) => pattern.exec(stderr)?.[1]).find((drv) => drv !== undefined);
  let logTail: string[] = [];
  if (failedDrv !== undefined) {
    const log = await runNix(ctx, "nix-store", ["--read-log", failedDrv], { timeoutMs: 30_000 }).catch(() => undefined);
    if (log?.exitCode === 0) logTail = tailLines(log.stdout, LOG_TAIL_LINES);
  }
  if (logTail.length === 0) logTail = tailLines(stderr, LOG_TAIL_LINES).filter((line) => !BUILDING.test(line));
  const name = failedDrv?.replace(/^.*\/[a-z0-9]{32}-/, "").replace(/\.drv$/, "");
  const lastLine = logTail.filter((line) => !line.startsWith("error:")).at(-1);
  return new BuildFailedError(
    failedDrv === undefined
      ? `building the system failed: ${tailLines(stderr, 1).join("")}`
      : `building ${name} failed (${failedDrv})${lastLine ? `: ${lastLine}` : ""}`,
    {
      hint: failedDrv === undefined ? "see the build output in the journal" : `its full log: nix-store --read-log ${failedDrv}`,
      details: { drvPath: options.drvPath, failedDrv, logTail, built },
    },
  );
}
