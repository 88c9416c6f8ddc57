import pRetry from "p-retry";
import type { Clock } from "../clock.js";
import type { Logger } from "../log/logger.js";
import { classifyFailure } from "./api.js";
import { DEFAULT_RETRY } from "./constants.js";
import { ApiCallError } from "./errors.js";

/**
 * The one retry layer of the lifecycle stage (the SDK clients run with
 * `maxAttempts: 1`): p-retry, retrying only what a retry can fix (throttling,
 * ResourceContention, 5xx, network errors) until the caller's deadline.
 *
 * The backoff is ours, not p-retry's: its own delays (setTimeout, real time,
 * jitter lost once capped) are set to 0 and `shouldRetry` sleeps on the
 * injected clock instead, with full jitter at every retry (`backoffMs`), each
 * wait cut short at the deadline so the last attempt lands on it.
 */

export interface RetryPolicy {
  retries: number;
  minTimeoutMs: number;
  maxTimeoutMs: number;
}

export interface RetryOptions {
  /** The AWS operation, for logs and errors (e.g. `CompleteLifecycleAction`). */
  operation: string;
  clock: Clock;
  /** No retry starts after this instant (clock ms); the first attempt always runs. */
  deadline: number;
  logger: Logger;
  policy?: Partial<RetryPolicy>;
  signal?: AbortSignal;
  /** Jitter source, uniform in [0, 1) (default `Math.random`; tests inject one). */
  random?: () => number;
}

/**
 * The wait before retry `retry` (1 for the first): uniform between the
 * minimum and a ceiling of minimum × 2^retry capped at the maximum ("full
 * jitter"; the first retry waits 1–2 × the minimum), given `random` in [0, 1).
 */
export function backoffMs(policy: Pick<RetryPolicy, "minTimeoutMs" | "maxTimeoutMs">, retry: number, random: number): number {
  const ceiling = Math.max(policy.minTimeoutMs, Math.min(policy.maxTimeoutMs, policy.minTimeoutMs * 2 ** retry));
  return policy.minTimeoutMs + random * (ceiling - policy.minTimeoutMs);
}

export async function withRetry<T>(call: () => Promise<T>, options: RetryOptions): Promise<{ value: T; attempts: number }> {
  const policy = { ...DEFAULT_RETRY, ...options.policy };
  const { clock, deadline, logger, operation } = options;
  const random = options.random ?? Math.random;
  let attempts = 0;
  let lastError: unknown;
  try {
    const value = await pRetry(
      async () => {
        attempts += 1;
        try {
          return await call();
        } catch (error) {
          lastError = error;
          throw error;
        }
      },
      {
        retries: policy.retries,
        // p-retry waits nothing itself (see above); `maxRetryTime` is not used: the deadline is by the injected clock.
        minTimeout: 0,
        maxTimeout: 0,
        ...(options.signal ? { signal: options.signal } : {}),
        // Called only while p-retry's `retries` last; every failure counts one, so attemptNumber is the coming retry's number.
        shouldRetry: async ({ error, attemptNumber }) => {
          if (!classifyFailure(error).retryable) return false;
          const left = deadline - clock.now();
          if (left <= 0) return false;
          await clock.sleep(Math.min(backoffMs(policy, attemptNumber, random()), left), options.signal);
          return true;
        },
        onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
          const failure = classifyFailure(error);
          logger[failure.retryable ? "warn" : "debug"](
            { operation, attempt: attemptNumber, awsCode: failure.code, httpStatus: failure.httpStatus, kind: failure.kind, retryable: failure.retryable, retriesLeft, msLeft: Math.max(0, deadline - clock.now()) },
            `${operation} attempt ${attemptNumber} failed: ${failure.code}`,
          );
        },
      },
    );
    return { value, attempts };
  } catch (error) {
    const cause = options.signal?.aborted ? error : (lastError ?? error);
    const failure = options.signal?.aborted ? { ...classifyFailure(cause), kind: "aborted" as const, retryable: false } : classifyFailure(cause);
    throw new ApiCallError(operation, failure, attempts, { cause });
  }
}
