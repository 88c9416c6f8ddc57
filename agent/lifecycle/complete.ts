import type { Clock } from "../clock.js";
import type { Logger } from "../log/logger.js";
import type { LifecycleApi, LifecycleTarget } from "./api.js";
import type { LifecycleActionResult } from "./constants.js";
import { ApiCallError, LifecycleError } from "./errors.js";
import { withRetry, type RetryPolicy } from "./retry.js";

/**
 * CompleteLifecycleAction by instance ID (no token: a booting instance never
 * saw the notification that carries it), CONTINUE or ABANDON.
 *
 * - "No active Lifecycle Action found" is a normal outcome: the action expired,
 *   was completed already (a reboot, a lost response of an earlier attempt), or
 *   this boot was not a launch.
 * - Throttling, ResourceContention, 5xx and network errors are retried with
 *   jittered backoff until `deadline`.
 * - Anything else (AccessDenied, ValidationError, missing credentials) is not
 *   retried: a `LifecycleError` saying what to fix.
 */

export interface CompleteOptions {
  api: LifecycleApi;
  target: LifecycleTarget;
  result: LifecycleActionResult;
  clock: Clock;
  logger: Logger;
  /** No retry starts after this instant (clock ms). */
  deadline: number;
  retry?: Partial<RetryPolicy>;
  signal?: AbortSignal;
}

export interface CompleteOutcome {
  result: "completed" | "no-active-action";
  attempts: number;
}

export async function completeLifecycleAction(options: CompleteOptions): Promise<CompleteOutcome> {
  const { api, target, result, logger } = options;
  try {
    const { attempts } = await withRetry(() => api.completeLifecycleAction(target, result, options.signal ? { signal: options.signal } : {}), {
      operation: "CompleteLifecycleAction",
      clock: options.clock,
      deadline: options.deadline,
      logger,
      ...(options.retry ? { policy: options.retry } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    logger.info({ ...target, result, attempts }, `lifecycle action completed: ${result}`);
    return { result: "completed", attempts };
  } catch (error) {
    if (!(error instanceof ApiCallError)) throw error;
    if (error.failure.kind === "no-active-action") {
      logger.info({ ...target, result, attempts: error.attempts }, "no active lifecycle action for this instance (already completed, expired, or not a launch): nothing to report");
      return { result: "no-active-action", attempts: error.attempts };
    }
    throw new LifecycleError(`could not report ${result} to lifecycle hook ${target.hook} of group ${target.group}: ${error.message}`, {
      cause: error,
      ...(error.hint ? { hint: error.hint } : {}),
      details: { ...error.details, group: target.group, hook: target.hook, instanceId: target.instanceId, result },
    });
  }
}
