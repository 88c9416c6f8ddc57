import { ReadError, RequestError, TimeoutError } from "got";
import pRetry, { AbortError } from "p-retry";
import type { Clock } from "../clock.js";
import { InternalError, isNixbootError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { ImdsUnreachableError } from "./imds-errors.js";

/**
 * The one retry layer of the IMDS client (got's own retry is off). Attempts
 * are retried with exponential backoff and full jitter while the total budget
 * lasts; each attempt also has its own timeout, cut to what the budget has left.
 */

/** Socket error codes that mean "the network or IMDS is not ready yet". */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED", // nothing listening yet
  "ECONNRESET", // connection dropped (also got's "socket hang up")
  "ETIMEDOUT", // got's TimeoutError and connect timeouts
  "EHOSTUNREACH",
  "ENETUNREACH", // no route yet: the interface is not configured
  "EAI_AGAIN", // resolver not up (only for a named endpoint)
  "EADDRNOTAVAIL", // IPv6 source address still tentative (duplicate address detection)
  "EPIPE",
]);

/** A 5xx or 429 answer, thrown inside an attempt so that it is retried. */
export class RetryableStatusError extends Error {
  readonly status: number;
  constructor(status: number, operation: string) {
    super(`${operation} answered HTTP ${status}`);
    this.name = "RetryableStatusError";
    this.status = status;
  }
}

export function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

/** True for failures worth another attempt: socket errors above, timeouts, truncated bodies, 5xx and 429. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof RetryableStatusError || error instanceof TimeoutError || error instanceof ReadError) return true;
  return error instanceof RequestError && RETRYABLE_CODES.has(error.code);
}

export function describeError(error: unknown): string {
  if (error instanceof RetryableStatusError) return `HTTP ${error.status}`;
  if (error instanceof RequestError) return `${error.code} (${error.message})`;
  return error instanceof Error ? error.message : String(error);
}

export interface RetryPolicy {
  endpoint: string;
  clock: Clock;
  logger: Logger;
  /** In [0, 1); full jitter multiplies the backoff ceiling by it. */
  random: () => number;
  requestTimeoutMs: number;
  backoffBaseMs: number;
  backoffCapMs: number;
}

/** The time window of one public client call, on the injected clock. */
export interface Deadline {
  start: number;
  end: number;
}

/**
 * A got error carries its options, request headers (the session token)
 * included, as enumerable properties: keep only its code and message as cause.
 */
function logSafe(error: unknown): Error {
  const safe = new Error(describeError(error));
  if (error instanceof RequestError) Object.assign(safe, { code: error.code });
  return safe;
}

function unreachable(operation: string, policy: RetryPolicy, deadline: Deadline, attempts: number, last: unknown): ImdsUnreachableError {
  const elapsedMs = policy.clock.now() - deadline.start;
  return new ImdsUnreachableError(
    `IMDS at ${policy.endpoint} did not answer ${operation}: ${attempts} attempt(s) over ${(elapsedMs / 1000).toFixed(1)} s; last error: ${describeError(last)}`,
    {
      cause: logSafe(last),
      hint:
        "check that the instance network is up and nothing (firewall, proxy) blocks the endpoint; on IPv6-only subnets use " +
        "--imds-endpoint http://[fd00:ec2::254] (needs HttpProtocolIpv6=enabled); raise --imds-budget if the network comes up slowly",
      details: { endpoint: policy.endpoint, operation, attempts, elapsedMs, lastError: describeError(last) },
    },
  );
}

/**
 * Runs `attempt(timeoutMs)` until it succeeds, fails for good, or the next
 * wait would pass `deadline.end`. Non-retryable failures end at once:
 * NixbootErrors as they are, got errors with other codes as unreachable,
 * anything else as InternalError.
 */
export async function retrying<T>(
  operation: string,
  deadline: Deadline,
  policy: RetryPolicy,
  attempt: (timeoutMs: number, attemptNumber: number) => Promise<T>,
): Promise<T> {
  const { clock, logger } = policy;
  return pRetry(
    async (attemptNumber) => {
      const timeoutMs = Math.max(1, Math.min(policy.requestTimeoutMs, deadline.end - clock.now()));
      try {
        return await attempt(timeoutMs, attemptNumber);
      } catch (error) {
        if (isRetryable(error)) throw error;
        if (isNixbootError(error)) throw new AbortError(error);
        if (error instanceof RequestError) throw new AbortError(unreachable(operation, policy, deadline, attemptNumber, error));
        throw new AbortError(new InternalError(`unexpected failure during IMDS ${operation}`, { cause: error }));
      }
    },
    {
      // p-retry only counts and calls back; the waiting is ours, on the injected clock.
      retries: Number.POSITIVE_INFINITY,
      minTimeout: 0,
      onFailedAttempt: async ({ error, attemptNumber }) => {
        const ceiling = Math.min(policy.backoffCapMs, policy.backoffBaseMs * 2 ** (attemptNumber - 1));
        const delayMs = Math.floor(policy.random() * ceiling);
        if (clock.now() + delayMs >= deadline.end) throw unreachable(operation, policy, deadline, attemptNumber, error);
        const level = attemptNumber === 1 ? "warn" : "debug";
        logger[level]({ operation, attempt: attemptNumber, error: describeError(error), delayMs }, "IMDS not answering yet; retrying");
        await clock.sleep(delayMs);
      },
    },
  );
}
