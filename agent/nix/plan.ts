import type { Policy } from "../settings/definitions.js";
import { isFixedOutput, readDerivation } from "./derivation.js";
import { parseDryRun } from "./dry-run.js";
import { NixCommandError, PolicyRefusedError } from "./errors.js";
import { policyOptions, runNix, tailLines, type NixContext } from "./nix-command.js";

/** What realising the system would take, and whether the policy allows it. */
export interface Plan {
  drvPath: string;
  outPath: string;
  /** The system's output is already valid in the store (baked into the image, or built before). */
  alreadyBuilt: boolean;
  /** Derivations Nix would build (`.drv` paths), dependencies first. */
  toBuild: string[];
  /** Store paths Nix would fetch from a binary cache. */
  toFetch: string[];
  /** The subset of `toBuild` that are fixed-output derivations: downloads (fetchurl, fetchgit...). */
  fixedOutput: string[];
  /** Paths Nix cannot produce at all. */
  unknown: string[];
  downloadBytes?: number;
  unpackedBytes?: number;
  policy: Policy;
  allowed: boolean;
  refusal?: PolicyRefusedError;
}

export interface PlanOptions {
  drvPath: string;
  outPath: string;
  policy: Policy;
  timeoutMs: number;
}

/**
 * Step 3: asks Nix what realising `drvPath` would take (`nix-store --realise --dry-run`, with the
 * policy's options, so under `baked` no binary cache is consulted) and applies the policy. One
 * Nix command: the dry run also tells whether the system's output is already valid.
 *
 * The policies, precisely:
 * - `baked` (default): nothing is fetched, from a cache or elsewhere. Local builds are allowed
 *   when none of the derivations to build is fixed-output, i.e. every build runs on inputs that
 *   are already in the store or are themselves built locally from such inputs. (A fixed-output
 *   derivation is how Nix downloads sources; with caches off, a missing one appears in `toBuild`.)
 * - `substitute`: paths may be fetched from the configured binary caches; fixed-output
 *   derivations that would have to be built (downloads from their origin) are still refused.
 * - `any`: everything is allowed.
 * Paths Nix does not know how to build are refused under every policy.
 * A refusal is returned in `Plan.refusal` (not thrown): `plan` reports it, `apply` stops on it.
 */
export async function planRealisation(ctx: NixContext, options: PlanOptions): Promise<Plan> {
  const args = ["--realise", "--dry-run", options.drvPath, ...policyOptions(options.policy)];
  const result = await runNix(ctx, "nix-store", args, { timeoutMs: options.timeoutMs });
  if (result.exitCode !== 0) {
    throw new NixCommandError(`nix-store --realise --dry-run failed: ${tailLines(result.stderr, 3).join(" ")}`, { details: { exitCode: result.exitCode } });
  }
  const dry = parseDryRun(result.stderr);
  const fixedOutput: string[] = [];
  for (const drv of dry.toBuild) {
    if (isFixedOutput(await readDerivation(drv))) fixedOutput.push(drv);
  }
  // The dry run names the system's own derivation (to build) or output (to fetch, or unknown)
  // exactly when that output is not valid in the store; otherwise the system is already built.
  const alreadyBuilt = !dry.toBuild.includes(options.drvPath) && !dry.toFetch.includes(options.outPath) && !dry.unknown.includes(options.outPath);
  const plan: Plan = { drvPath: options.drvPath, outPath: options.outPath, policy: options.policy, alreadyBuilt, ...dry, fixedOutput, allowed: true };
  const refusal = decide(plan);
  return refusal ? { ...plan, allowed: false, refusal } : plan;
}

/** The policy's verdict on a plan: undefined when allowed, else the refusal naming what is missing. */
export function decide(plan: Omit<Plan, "allowed" | "refusal">): PolicyRefusedError | undefined {
  const problems: string[] = [];
  if (plan.policy === "baked" && plan.toFetch.length > 0) problems.push(`${count(plan.toFetch.length, "path")} to fetch from a binary cache (${names(plan.toFetch)})`);
  if (plan.policy !== "any" && plan.fixedOutput.length > 0) problems.push(`${count(plan.fixedOutput.length, "download")} to build (fixed-output: ${names(plan.fixedOutput)})`);
  if (plan.unknown.length > 0) problems.push(`${count(plan.unknown.length, "path")} Nix cannot build or fetch (${names(plan.unknown)})`);
  if (problems.length === 0) return undefined;
  return new PolicyRefusedError(`policy "${plan.policy}" refuses this system: ${problems.join("; ")}`, {
    hint:
      plan.policy === "any"
        ? "the store lacks paths nothing can produce: check the entry point and the image"
        : `bake these paths into the image (build this configuration when building the AMI), or allow it for this launch with the directive \`# nixboot: policy=${plan.policy === "baked" ? "substitute" : "any"}\``,
    details: { policy: plan.policy, missing: { toFetch: plan.toFetch, fixedOutput: plan.fixedOutput, unknown: plan.unknown } },
  });
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** Store names without hashes, at most five: `fixture-source-x.drv, ...`. */
function names(paths: readonly string[]): string {
  const shown = paths.slice(0, 5).map((path) => path.replace(/^\/nix\/store\/[a-z0-9]{32}-/, "").replace(/^.*\//, ""));
  return paths.length > 5 ? `${shown.join(", ")} and ${paths.length - 5} more` : shown.join(", ");
}
