import type { Clock } from "../clock.js";
import type { Logger } from "../log/logger.js";
import { classifyFailure, type LifecycleApi, type LifecycleTarget } from "./api.js";
import { Timeouts } from "./constants.js";
import { ApiCallError } from "./errors.js";
import { withRetry, type RetryPolicy } from "./retry.js";

/**
 * Keeps the lifecycle action alive while the boot works: a
 * RecordLifecycleActionHeartbeat every third of the hook's heartbeat timeout,
 * counted from when the wait began (so a slow boot sends its first one at once),
 * each interval shortened by up to a quarter at random so a fleet launched
 * together does not heartbeat together.
 *
 * - A failed heartbeat (throttling, 5xx, network) is retried with backoff
 *   until the next one is due or the action expires, whichever comes first;
 *   if it still fails, it is logged and the next tick tries again. It never
 *   stops the work.
 * - "No active Lifecycle Action" (it expired, or was completed elsewhere) ends the loop.
 * - AWS ends a wait state at its global timeout, min(48 h, 100 × heartbeat
 *   timeout), whatever the heartbeats. That is the "100 heartbeats" rule: a
 *   limit of time, not of calls. Once a heartbeat has pushed the action's
 *   expiry to that global deadline, another one cannot extend it: the loop
 *   logs that and stops.
 */

export interface HeartbeatOptions {
  api: LifecycleApi;
  target: LifecycleTarget;
  heartbeatTimeoutSeconds: number;
  /** Seconds; defaults to min(48 h, 100 × heartbeat timeout), as AWS computes it. */
  globalTimeoutSeconds?: number | null;
  /** When the wait state began (clock ms); defaults to now. Pass the boot time when known: the wait began at launch. */
  waitStartedAt?: number;
  clock: Clock;
  logger: Logger;
  /** Fraction of the heartbeat timeout between heartbeats (default 1/3). */
  fraction?: number;
  /** Floor of the interval (default 5 s). */
  minIntervalMs?: number;
  /** Backoff of a failed heartbeat's retries (default `DEFAULT_RETRY`). */
  retry?: Partial<RetryPolicy>;
  /** Jitter source of the intervals and retries, uniform in [0, 1) (default `Math.random`; tests inject one). */
  random?: () => number;
  /** Aborting it stops the loop like `stop()`. */
  signal?: AbortSignal;
}

export type HeartbeatStop = "stopped" | "global-timeout" | "no-active-action";

export interface HeartbeatHandle {
  readonly intervalMs: number;
  /** Heartbeats Auto Scaling accepted. */
  readonly sent: number;
  /** Heartbeats that still failed when their retries ran out. */
  readonly failed: number;
  /** When the action expires unless another heartbeat lands (clock ms). */
  readonly expiresAt: number;
  /** Why the loop ended, once it has. */
  readonly stopReason: HeartbeatStop | undefined;
  /** Ends the loop, aborting an in-flight heartbeat; resolves when it has ended. Idempotent. */
  stop(): Promise<void>;
}

export function heartbeatIntervalMs(heartbeatTimeoutSeconds: number, fraction: number = Timeouts.HEARTBEAT_FRACTION, minIntervalMs: number = Timeouts.HEARTBEAT_MIN_INTERVAL_MS): number {
  return Math.max(minIntervalMs, Math.floor(heartbeatTimeoutSeconds * 1000 * fraction));
}

export function startHeartbeats(options: HeartbeatOptions): HeartbeatHandle {
  const { api, target, clock, logger } = options;
  const random = options.random ?? Math.random;
  const timeoutMs = options.heartbeatTimeoutSeconds * 1000;
  const intervalMs = heartbeatIntervalMs(options.heartbeatTimeoutSeconds, options.fraction, options.minIntervalMs);
  const startedAt = options.waitStartedAt ?? clock.now();
  const globalMs = (options.globalTimeoutSeconds ?? null) !== null ? options.globalTimeoutSeconds! * 1000 : Math.min(Timeouts.MAX_GLOBAL_TIMEOUT_MS, 100 * timeoutMs);
  const globalDeadline = startedAt + globalMs;

  const controller = new AbortController();
  const onOuterAbort = (): void => controller.abort();
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  if (options.signal?.aborted) controller.abort();

  const state = { sent: 0, failed: 0, expiresAt: Math.min(startedAt + timeoutMs, globalDeadline), stopReason: undefined as HeartbeatStop | undefined };
  let lastTick = startedAt;

  const loop = (async (): Promise<void> => {
    logger.debug({ hook: target.hook, intervalMs, globalDeadline: new Date(globalDeadline).toISOString() }, "heartbeats started");
    while (!controller.signal.aborted) {
      // Each interval shortened by up to a quarter at random: a fleet launched together does not heartbeat together.
      const wait = Math.max(0, lastTick + intervalMs * (1 - 0.25 * random()) - clock.now());
      try {
        await clock.sleep(wait, controller.signal);
      } catch {
        break;
      }
      if (controller.signal.aborted) break;
      if (state.expiresAt >= globalDeadline) {
        logger.warn(
          { hook: target.hook, globalDeadline: new Date(globalDeadline).toISOString(), sent: state.sent },
          "the wait state reaches its global timeout (min(48 h, 100 × heartbeat timeout)); heartbeats cannot extend it further and stop",
        );
        state.stopReason = "global-timeout";
        break;
      }
      lastTick = clock.now();
      try {
        // Retried until the next tick is due (or the action expires), not left to it: throttling hits a fleet together.
        await withRetry(() => api.recordHeartbeat(target, { signal: controller.signal }), {
          operation: "RecordLifecycleActionHeartbeat",
          clock,
          logger,
          deadline: Math.min(lastTick + intervalMs, state.expiresAt),
          signal: controller.signal,
          random,
          ...(options.retry ? { policy: options.retry } : {}),
        });
        state.sent += 1;
        state.expiresAt = Math.min(clock.now() + timeoutMs, globalDeadline);
        logger.debug({ hook: target.hook, sent: state.sent }, "heartbeat recorded");
      } catch (error) {
        if (controller.signal.aborted) break;
        const failure = error instanceof ApiCallError ? error.failure : classifyFailure(error);
        if (failure.kind === "no-active-action") {
          logger.warn({ hook: target.hook, group: target.group }, "no active lifecycle action for this instance (expired or completed elsewhere): heartbeats stop");
          state.stopReason = "no-active-action";
          break;
        }
        state.failed += 1;
        const attempts = error instanceof ApiCallError ? error.attempts : 1;
        logger.warn(
          { hook: target.hook, awsCode: failure.code, httpStatus: failure.httpStatus, attempts, failed: state.failed },
          `heartbeat failed (${failure.code}, ${attempts} attempt${attempts === 1 ? "" : "s"}); trying again at the next tick`,
        );
      }
    }
    state.stopReason ??= "stopped";
    options.signal?.removeEventListener("abort", onOuterAbort);
  })();

  return {
    intervalMs,
    get sent() {
      return state.sent;
    },
    get failed() {
      return state.failed;
    },
    get expiresAt() {
      return state.expiresAt;
    },
    get stopReason() {
      return state.stopReason;
    },
    stop: async () => {
      controller.abort();
      await loop;
    },
  };
}
