import type { NixbootError } from "../../errors.js";
import type { Plan } from "../../pipeline/index.js";

type Step = { name: string; durationMs: number; ok: boolean };

/** JSON-safe error summary for reports. */
export function errorSummary(error: NixbootError | undefined): Record<string, unknown> | undefined {
  return error?.toJSON();
}

export function renderSteps(steps: readonly Step[]): string[] {
  return steps.map((step) => `  ${step.ok ? "ok  " : "FAIL"} ${step.name.padEnd(10)} ${String(Math.round(step.durationMs)).padStart(7)} ms`);
}

const MiB = 1024 * 1024;
function size(bytes: number | undefined): string {
  return bytes === undefined ? "?" : `${(bytes / MiB).toFixed(2)} MiB`;
}

/** The readable plan table: what is baked, what would be built, what would be fetched. */
export function renderPlan(plan: Plan): string[] {
  const lines = [
    `system:     ${plan.outPath}`,
    `derivation: ${plan.drvPath}`,
    `policy:     ${plan.policy} → ${plan.allowed ? "allowed" : "REFUSED"}`,
    "",
    "  what                     count  detail",
    `  already in the store      ${plan.alreadyBuilt ? "all" : "  -"}   ${plan.alreadyBuilt ? "the system is baked: nothing to build or fetch" : ""}`,
    `  derivations to build   ${String(plan.toBuild.length).padStart(6)}   ${plan.fixedOutput.length > 0 ? `${plan.fixedOutput.length} of them downloads (fixed-output)` : ""}`,
    `  paths to fetch         ${String(plan.toFetch.length).padStart(6)}   ${plan.toFetch.length > 0 ? `${size(plan.downloadBytes)} download, ${size(plan.unpackedBytes)} unpacked` : ""}`,
  ];
  if (plan.unknown.length > 0) lines.push(`  cannot be produced      ${String(plan.unknown.length).padStart(6)}`);
  const list = (title: string, paths: readonly string[]): void => {
    if (paths.length === 0) return;
    lines.push("", `${title}:`, ...paths.slice(0, 20).map((path) => `  ${path}`));
    if (paths.length > 20) lines.push(`  … and ${paths.length - 20} more (--json lists all)`);
  };
  list("to build", plan.toBuild);
  list("to fetch", plan.toFetch);
  if (plan.refusal) lines.push("", `refused: ${plan.refusal.message}`, ...(plan.refusal.hint ? [`  hint: ${plan.refusal.hint}`] : []));
  return lines;
}

export function stepsJson(steps: readonly Step[]): Step[] {
  return steps.map((step) => ({ ...step, durationMs: Math.round(step.durationMs) }));
}
