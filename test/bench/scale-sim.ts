/** Simulation helpers of the scale bench (test/bench/scale.ts): a clock that cannot outrun the process, seeded randomness, percentiles. */
import type { Clock } from "../../agent/clock.js";

/**
 * A clock `factor` times faster than real time, shared by the agents and the
 * emulator, that holds simulated time back while the process cannot keep up:
 * a ticker advances it by the real time since its last tick, at most
 * `maxStepMs` per tick, so a stalled or saturated event loop (1,000 sessions
 * and the emulator on one thread, other jobs on the machine) slows the
 * simulation instead of letting simulated time run ahead of the requests.
 * Sleeps fire from the ticker in simulated-time order.
 */
export class ElasticClock implements Clock {
  readonly factor: number;
  #sim: number;
  #lastReal: number;
  readonly #startReal: number;
  readonly #startSim: number;
  readonly #maxStepMs: number;
  #heldBackMs = 0;
  #rate: number;
  #timers: Array<{ at: number; seq: number; fire: () => void; cancelled: boolean }> = [];
  #seq = 0;
  readonly #ticker: NodeJS.Timeout;

  constructor(factor: number, options: { tickMs?: number; maxStepMs?: number } = {}) {
    this.factor = factor;
    this.#startReal = this.#lastReal = performance.now();
    this.#startSim = this.#sim = Date.now();
    this.#maxStepMs = options.maxStepMs ?? 15;
    this.#rate = factor;
    this.#ticker = setInterval(() => this.#tick(), options.tickMs ?? 5);
  }

  now(): number {
    return this.#sim;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer = {
        at: this.#sim + Math.max(0, ms),
        seq: (this.#seq += 1),
        cancelled: false,
        fire: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        timer.cancelled = true;
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      // Sorted by (at, seq): binary search, then insert.
      let lo = 0;
      let hi = this.#timers.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.#timers[mid]!.at <= timer.at) lo = mid + 1;
        else hi = mid;
      }
      this.#timers.splice(lo, 0, timer);
    });
  }

  /** Simulated ms per real ms lately (an average over about a second). */
  rate(): number {
    return this.#rate;
  }

  /** Simulated ms per real ms since the clock started, and how much real time was not passed on to simulated time. */
  summary(): { effectiveSpeed: number; heldBackFraction: number; realMs: number } {
    const realMs = performance.now() - this.#startReal;
    return { effectiveSpeed: (this.#sim - this.#startSim) / Math.max(1, realMs), heldBackFraction: this.#heldBackMs / Math.max(1, realMs), realMs };
  }

  stop(): void {
    clearInterval(this.#ticker);
  }

  #tick(): void {
    const real = performance.now();
    const elapsed = real - this.#lastReal;
    const step = Math.min(elapsed, this.#maxStepMs);
    this.#lastReal = real;
    this.#heldBackMs += elapsed - step;
    this.#sim += step * this.factor;
    if (elapsed > 0) {
      const weight = 1 - Math.exp(-elapsed / 1000);
      this.#rate += weight * ((step * this.factor) / elapsed - this.#rate);
    }
    let due = 0;
    while (due < this.#timers.length && this.#timers[due]!.at <= this.#sim) due += 1;
    if (due === 0) return;
    for (const timer of this.#timers.splice(0, due)) if (!timer.cancelled) timer.fire();
  }
}

export interface Stats {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

/** mulberry32: reproducible work durations for a seed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function stats(values: readonly number[]): Stats {
  if (values.length === 0) return { n: 0, p50: NaN, p99: NaN, max: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  return { n: sorted.length, p50: rank(0.5), p99: rank(0.99), max: sorted.at(-1)! };
}
