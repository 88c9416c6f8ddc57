import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Clock } from "../../agent/clock.js";
import { DEFAULT_RETRY } from "../../agent/lifecycle/constants.js";
import { ApiCallError } from "../../agent/lifecycle/errors.js";
import { backoffMs, withRetry, type RetryOptions } from "../../agent/lifecycle/retry.js";
import { silentLogger } from "../../agent/log/logger.js";
import { harness, steppingClock, type Harness } from "./helpers.js";

/**
 * The backoff of every lifecycle call, on a stepping clock: the waits are the
 * injected clock's, exact numbers, and no real time passes.
 */
const target = { group: "web", hook: "launch", instanceId: "i-0aaa" };
let h: Harness;

beforeEach(async () => {
  h = await harness({ groups: [{ name: "web", instances: ["i-0aaa"], hooks: [{ name: "launch", heartbeatTimeoutSeconds: 300 }] }] });
  h.emulator.state.startLifecycleAction("i-0aaa");
});
afterEach(() => h.close());

/** CompleteLifecycleAction through withRetry, noting the clock's time at each attempt. */
async function completeWithRetry(clock: Clock, options: Omit<RetryOptions, "operation" | "clock" | "logger">): Promise<{ attemptsAt: number[]; error: unknown }> {
  const attemptsAt: number[] = [];
  const call = (): Promise<void> => {
    attemptsAt.push(clock.now());
    return h.api.completeLifecycleAction(target, "CONTINUE");
  };
  const error = await withRetry(call, { operation: "CompleteLifecycleAction", clock, logger: silentLogger(), ...options }).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { attemptsAt, error };
}

describe("retry backoff", () => {
  it("has no retry count by default: the deadline ends the retries", () => {
    expect(DEFAULT_RETRY).toEqual({ retries: Infinity, minTimeoutMs: 250, maxTimeoutMs: 20_000 });
  });

  it("keeps retrying until the deadline, not a fixed number of times, the last attempt landing on it", async () => {
    h.emulator.state.injectFault({ kind: "throttling", actions: ["CompleteLifecycleAction"], times: Infinity });
    const clock = steppingClock();
    const deadline = clock.now() + 600_000;
    const { attemptsAt, error } = await completeWithRetry(clock, { deadline });
    expect(error).toBeInstanceOf(ApiCallError);
    expect((error as ApiCallError).failure).toMatchObject({ kind: "throttled", code: "Throttling" });
    // Waits of at most 20 s cover 600 s only with 30 or more retries: far past the old 12.
    expect(attemptsAt.length).toBeGreaterThan(30);
    expect((error as ApiCallError).attempts).toBe(attemptsAt.length);
    expect(h.emulator.state.requestCount("CompleteLifecycleAction")).toBe(attemptsAt.length);
    expect(attemptsAt.at(-1)).toBe(deadline);
    expect(attemptsAt.every((at) => at <= deadline)).toBe(true);
    expect(clock.now()).toBe(deadline);
  });

  it("sleeps full-jitter waits on the injected clock: minimum + random × (ceiling − minimum), ceiling doubling to the cap", async () => {
    h.emulator.state.injectFault({ kind: "throttling", actions: ["CompleteLifecycleAction"], times: 6 });
    const clock = steppingClock();
    const draws = [0, 0.5, 0.99, 0.25, 0.75, 1 / 9];
    const { attemptsAt, error } = await completeWithRetry(clock, {
      deadline: clock.now() + 60_000,
      policy: { minTimeoutMs: 100, maxTimeoutMs: 1_000 },
      random: () => draws.shift()!,
    });
    expect(error).toBeUndefined();
    expect(attemptsAt).toHaveLength(7);
    // Ceilings 200, 400, 800, then the 1,000 cap; the jitter stays after the cap.
    expect(clock.sleeps).toEqual([100, 250, 793, 325, 775, 200]);
    expect(h.emulator.state.completions()).toHaveLength(1);
  });

  it("cuts the last wait short at the deadline", async () => {
    h.emulator.state.injectFault({ kind: "throttling", actions: ["CompleteLifecycleAction"], times: Infinity });
    const clock = steppingClock();
    const { attemptsAt } = await completeWithRetry(clock, { deadline: clock.now() + 1_000, policy: { minTimeoutMs: 400, maxTimeoutMs: 400 }, random: () => 0 });
    expect(clock.sleeps).toEqual([400, 400, 200]);
    expect(attemptsAt).toHaveLength(4);
  });

  it("keeps each wait within [minimum, ceiling], and keeps it random after the cap", () => {
    const policy = { minTimeoutMs: 250, maxTimeoutMs: 20_000 };
    for (let retry = 1; retry <= 12; retry += 1) {
      const ceiling = Math.min(20_000, 250 * 2 ** retry);
      expect(backoffMs(policy, retry, 0)).toBe(250);
      expect(backoffMs(policy, retry, 0.999_999)).toBeLessThanOrEqual(ceiling);
      expect(backoffMs(policy, retry, 0.999_999)).toBeGreaterThan(ceiling * 0.99);
    }
    expect(backoffMs(policy, 30, 0.5)).toBe(10_125);
  });

  it("ends as 'aborted' when the signal fires during a backoff", async () => {
    h.emulator.state.injectFault({ kind: "throttling", actions: ["CompleteLifecycleAction"], times: Infinity });
    const controller = new AbortController();
    const clock: Clock = {
      now: () => Date.UTC(2025, 0, 1),
      sleep: async (_ms, signal) => {
        controller.abort();
        signal?.throwIfAborted();
      },
    };
    const { attemptsAt, error } = await completeWithRetry(clock, { deadline: clock.now() + 60_000, signal: controller.signal });
    expect(error).toBeInstanceOf(ApiCallError);
    expect((error as ApiCallError).failure.kind).toBe("aborted");
    expect(attemptsAt).toHaveLength(1);
  });
});
