import type { Clock } from "../clock.js";
import type { Logger } from "../log/logger.js";
import type { ResolvedTarget } from "./discover-hook.js";
import { ApiCallError, LifecycleError } from "./errors.js";

/**
 * Discovery after a failed first round at boot: while the boot works, rounds
 * of discovery (each with the discovery budget) until one finds the target,
 * one fails for good, the signal fires (the report takes over), or `until`
 * passes. The caller starts heartbeats in `onFound`.
 */

export interface BackgroundDiscoveryOptions {
  /** One round: group and hook within `budgetMs`. */
  resolve(budgetMs: number, signal: AbortSignal): Promise<ResolvedTarget>;
  onFound(target: ResolvedTarget): void;
  /** The latest failure, for the report's error. */
  onFailure(error: unknown): void;
  clock: Clock;
  logger: Logger;
  roundBudgetMs: number;
  /** No round starts after this instant (clock ms). */
  until: number;
  signal: AbortSignal;
}

/** Never rejects. */
export async function discoverInBackground(options: BackgroundDiscoveryOptions): Promise<void> {
  const { clock, logger, signal } = options;
  while (!signal.aborted && clock.now() < options.until) {
    const roundEnd = Math.min(clock.now() + options.roundBudgetMs, options.until);
    try {
      const found = await options.resolve(roundEnd - clock.now(), signal);
      logger.info({ group: found.group, hook: found.hook?.name ?? null }, "lifecycle discovery succeeded in the background");
      options.onFound(found);
      return;
    } catch (error) {
      if (signal.aborted) return;
      options.onFailure(error);
      if (!isRetryableDiscoveryFailure(error)) {
        logger.warn({ err: error instanceof LifecycleError ? error.toJSON() : String(error) }, "background lifecycle discovery failed for good; the report tries again");
        return;
      }
    }
    // A round ended by a retry count (a custom policy), not its budget: wait out the budget rather than call again at once.
    try {
      if (clock.now() < roundEnd) await clock.sleep(roundEnd - clock.now(), signal);
    } catch {
      return;
    }
  }
}

/** A discovery failure a retry can fix (throttling, 5xx, network); a refusal or a wrong setting would fail again at once. */
export function isRetryableDiscoveryFailure(error: unknown): boolean {
  const call = error instanceof ApiCallError ? error : error instanceof LifecycleError && error.cause instanceof ApiCallError ? error.cause : undefined;
  return call?.failure.retryable ?? false;
}

/** Resolves when `promise` settles or after `ms` on the clock, whichever comes first. */
export async function within(clock: Clock, promise: Promise<unknown>, ms: number): Promise<void> {
  if (ms <= 0) return;
  const cut = new AbortController();
  try {
    await Promise.race([promise, clock.sleep(ms, cut.signal).catch(() => {})]);
  } finally {
    cut.abort();
  }
}
