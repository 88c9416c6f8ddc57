import pRetry from "p-retry";
import type { Clock } from "../clock.js";
import type { Logger } from "../log/logger.js";
import { classifyFailure } from "./api.js";
import { DEFAULT_RETRY } from "./constants.js";
import { ApiCallError } from "./errors.js";

/**
 * The one retry layer of the lifecycle stage (the SDK clients run with
 * `maxAttempts: 1`): p-retry with jittered exponential backoff, retrying only
 * what a retry can fix (throttling, ResourceContention, 5xx, network errors)
 * and only while the caller's deadline (by the injected clock) has not passed.
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
}

export async function withRetry<T>(call: () => Promise<T>, options: RetryOptions): Promise<{ value: T; attempts: number }> {
  const policy = { ...DEFAULT_RETRY, ...options.policy };
  const { clock, deadline, logger, operation } = options;
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
        minTimeout: policy.minTimeoutMs,
        maxTimeout: policy.maxTimeoutMs,
        randomize: true,
        maxRetryTime: Math.max(1, deadline - clock.now()),
        ...(options.signal ? { signal: options.signal } : {}),
        shouldRetry: ({ error }) => classifyFailure(error).retryable && clock.now() < deadline,
        onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
          const failure = classifyFailure(error);
          logger[failure.retryable ? "warn" : "debug"](
            { operation, attempt: attemptNumber, awsCode: failure.code, httpStatus: failure.httpStatus, kind: failure.kind, retryable: failure.retryable, retriesLeft },
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
