/**
 * Fault injection and rate limiting, the two ways the emulator says "no" to a
 * well-formed request.
 *
 * Kinds, as the real services answer them (EC2 uses its own codes):
 *   throttling           Auto Scaling `Throttling` "Rate exceeded", HTTP 400;  EC2 `RequestLimitExceeded`, 503
 *   resource-contention  Auto Scaling `ResourceContention`, HTTP 500;          EC2 `InternalError`, 500
 *   unavailable          `ServiceUnavailable` XML body, HTTP 503;              EC2 `Unavailable`, 503
 *   bare-503             HTTP 503 with an empty body (a load balancer's answer)
 *   access-denied        Auto Scaling `AccessDenied`, HTTP 403;                EC2 `UnauthorizedOperation`, 403
 */

export const FAULT_KINDS = ["throttling", "resource-contention", "unavailable", "bare-503", "access-denied"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultSpec {
  kind: FaultKind;
  /** Actions it applies to (e.g. `CompleteLifecycleAction`); all actions when absent. */
  actions?: readonly string[];
  /** How many matching requests fail; default 1, and `Infinity` for access-denied. */
  times?: number;
}

export interface FaultHandle {
  /** Matching requests still to fail. */
  remaining(): number;
  /** How many requests this fault answered. */
  hits(): number;
  clear(): void;
}

export interface RateLimit {
  /** Tokens added per second (sustained request rate). */
  ratePerSecond: number;
  /** Bucket size (requests allowed in a burst). */
  burst: number;
  /** One bucket per action (like Auto Scaling's per-API limits, the default) or one for all. */
  per?: "action" | "all";
}

interface ActiveFault {
  spec: FaultSpec;
  remaining: number;
  hits: number;
}

export class Faults {
  #faults: ActiveFault[] = [];
  #rateLimit: RateLimit | undefined;
  #buckets = new Map<string, { tokens: number; updatedAt: number }>();
  #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  inject(spec: FaultSpec): FaultHandle {
    if (!FAULT_KINDS.includes(spec.kind)) throw new TypeError(`unknown fault kind ${String(spec.kind)}`);
    const fault: ActiveFault = { spec, remaining: spec.times ?? (spec.kind === "access-denied" ? Infinity : 1), hits: 0 };
    this.#faults.push(fault);
    return {
      remaining: () => fault.remaining,
      hits: () => fault.hits,
      clear: () => {
        this.#faults = this.#faults.filter((f) => f !== fault);
      },
    };
  }

  clear(): void {
    this.#faults = [];
  }

  setRateLimit(limit: RateLimit | undefined): void {
    if (limit && (!(limit.ratePerSecond > 0) || !(limit.burst >= 1))) throw new TypeError("rate limit needs ratePerSecond > 0 and burst >= 1");
    this.#rateLimit = limit;
    this.#buckets.clear();
  }

  /** The fault to answer this request with, if any (consumes one of its `times`). */
  take(action: string): FaultKind | undefined {
    for (const fault of this.#faults) {
      if (fault.remaining <= 0) continue;
      if (fault.spec.actions && !fault.spec.actions.includes(action)) continue;
      fault.remaining -= 1;
      fault.hits += 1;
      return fault.spec.kind;
    }
    return this.#rateLimited(action) ? "throttling" : undefined;
  }

  /** Token bucket: refills continuously at `ratePerSecond`, holds at most `burst`. */
  #rateLimited(action: string): boolean {
    const limit = this.#rateLimit;
    if (!limit) return false;
    const key = limit.per === "all" ? "*" : action;
    const now = this.#now();
    const bucket = this.#buckets.get(key) ?? { tokens: limit.burst, updatedAt: now };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * limit.ratePerSecond);
    bucket.updatedAt = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens < 1) return true;
    bucket.tokens -= 1;
    return false;
  }
}
