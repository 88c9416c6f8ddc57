import { join } from "node:path";
import { InternalError, isNixbootError, type NixbootError } from "../errors.js";
import { createNixStats, type NixContext } from "../nix/nix-command.js";
import type { Settings } from "../settings/definitions.js";
import type { Directives, PipelineDeps, StepName, StepRecord } from "./types.js";

/** The settings a launch runs with: the settings table, then its directives. */
export function effectiveSettings(settings: Settings, directives: Directives = {}): Settings {
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
  return merged;
}

/** One pipeline run: its effective settings, Nix counters and step timings. */
export class RunContext {
  readonly settings: Settings;
  readonly nix: NixContext;
  readonly steps: StepRecord[] = [];
  failedStep: StepName | undefined;

  constructor(readonly deps: PipelineDeps) {
    this.settings = effectiveSettings(deps.settings, deps.directives);
    this.nix = { runner: deps.runner, clock: deps.clock, logger: deps.logger, nixBinDir: this.settings.nixBinDir, stats: createNixStats() };
  }

  get logger() {
    return this.deps.logger;
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
