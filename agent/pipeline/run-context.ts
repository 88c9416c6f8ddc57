import { join } from "node:path";
import { InternalError, isNixbootError, type NixbootError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { createNixStats, type NixContext } from "../nix/nix-command.js";
import type { Settings } from "../settings/definitions.js";
import type { Directives, PipelineDeps, StepName, StepRecord } from "./types.js";

/**
 * The most one run may take by its budgets, in seconds. systemd/nixboot.service gives the agent
 * TimeoutStartSec=2h, and the NixOS module max(2 h, the settings' worst case + 10 min); the 10
 * minutes are the agent's, to roll back and report after its own timeouts fired. So a run's worst
 * case (`worstCaseRunSeconds`) may reach 2 h - 10 min, or the settings' own worst case when the
 * operator configured more (the module then raised TimeoutStartSec to match). Past it, systemd
 * would kill the agent mid-step: no rollback, no report.
 */
export const RUN_BUDGET_SECONDS = 2 * 3600 - 10 * 60;

/** Directive-raisable timeouts, in the order they give way when a launch's raises exceed the budget. */
const CAPPED_KEYS = ["healthTimeoutSeconds", "buildTimeoutSeconds"] as const;

/** A run's worst case by its budgets, as the NixOS module computes it (systemd/module.nix). */
export function worstCaseRunSeconds(s: Settings): number {
  return (
    2 * s.imdsBudgetSeconds +
    s.lockWaitSeconds +
    Math.max(s.scriptTimeoutSeconds, s.evalTimeoutSeconds + s.buildTimeoutSeconds + 2 * s.activationTimeoutSeconds + s.healthTimeoutSeconds)
  );
}

/**
 * The settings a launch runs with: the settings table, then its directives. Directives may lower
 * or raise `buildTimeoutSeconds` and `healthTimeoutSeconds`, but raises are capped so the run's
 * worst case stays within the unit's budget (`RUN_BUDGET_SECONDS`, or the settings' own worst
 * case if larger); the health timeout gives way first, never below the settings' value. A cap is
 * logged when a logger is given.
 */
export function effectiveSettings(settings: Settings, directives: Directives = {}, logger?: Logger): Settings {
  const merged: Settings = { ...settings };
  for (const [key, value] of Object.entries(directives) as [keyof Directives, unknown][]) {
    if (value === undefined || key === "healthChecks") continue;
    (merged as Record<string, unknown>)[key] = value;
  }
  if (directives.healthChecks !== undefined) {
    const extra = directives.healthChecks.map((check) => check.trim());
    merged.healthChecks =
      extra.length === 1 && extra[0] === "none"
        ? ["none"]
        : [...new Set([...settings.healthChecks.filter((check) => check !== "none"), ...extra.filter((check) => check !== "none")])];
  }
  const budget = Math.max(RUN_BUDGET_SECONDS, worstCaseRunSeconds(settings));
  for (const key of CAPPED_KEYS) {
    const excess = worstCaseRunSeconds(merged) - budget;
    const requested = merged[key];
    if (excess <= 0 || requested <= settings[key]) continue;
    merged[key] = Math.max(settings[key], requested - excess);
    logger?.warn(
      { key, requested, capped: merged[key], budgetSeconds: budget },
      `directive ${key}=${requested} capped to ${merged[key]}: the run's worst case must stay within ${budget} s (the unit's TimeoutStartSec less 10 min)`,
    );
  }
  return merged;
}

/** One pipeline run: its effective settings, Nix counters and step timings. */
export class RunContext {
  readonly settings: Settings;
  readonly nix: NixContext;
  readonly steps: StepRecord[] = [];
  failedStep: StepName | undefined;

  constructor(readonly deps: PipelineDeps) {
    this.settings = effectiveSettings(deps.settings, deps.directives, deps.logger);
    this.nix = { runner: deps.runner, clock: deps.clock, logger: deps.logger, nixBinDir: this.settings.nixBinDir, stats: createNixStats() };
  }

  get logger() {
    return this.deps.logger;
  }

  /** The systemctl the system steps ask (health, boot target, reset-failed). */
  get systemctlPath(): string {
    return this.deps.systemctlPath ?? "systemctl";
  }

  gcRoot(name: string): string {
    return join(this.settings.stateDir, "gcroots", name);
  }

  /** Runs one step, timing it with the injected clock and recording whether it succeeded. */
  async step<T>(name: StepName, work: () => Promise<T>): Promise<T> {
    const clock = this.deps.clock;
    const start = clock.now();
    this.deps.onStep?.({ name, phase: "start" });
    let ok = false;
    try {
      const value = await work();
      ok = true;
      return value;
    } catch (error) {
      this.failedStep ??= name;
      throw error;
    } finally {
      const durationMs = clock.now() - start;
      this.steps.push({ name, durationMs, ok });
      this.deps.onStep?.({ name, phase: "end", ok, durationMs });
      this.deps.logger[ok ? "info" : "warn"]({ step: name, durationMs, ok }, `step ${name} ${ok ? "done" : "failed"}`);
    }
  }

  /** The counters every report carries. */
  totals(): { steps: StepRecord[]; nixCommandMs: number; evaluations: number } {
    return { steps: this.steps, nixCommandMs: this.nix.stats.commandMs, evaluations: this.nix.stats.evaluations };
  }
}

/** Every failure a report carries is a NixbootError; anything else is a bug, wrapped. */
export function asNixbootError(error: unknown): NixbootError {
  if (isNixbootError(error)) return error;
  return new InternalError(`unexpected error: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}
