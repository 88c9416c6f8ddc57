import { afterEach, describe, expect, it } from "vitest";
import { heartbeatIntervalMs, startHeartbeats } from "../../agent/lifecycle/heartbeat.js";
import type { LifecycleApi } from "../../agent/lifecycle/api.js";
import { captureLogger, FAST_RETRY, harness, scaledClock, steppingClock, type Harness } from "./helpers.js";

/**
 * Real hook values (a 30 s heartbeat timeout) on a clock running 30 times
 * faster, shared by the agent and the emulator: a heartbeat every 10 s of
 * clock time is one every ~333 ms of real time, and the action would expire
 * after 1 s of real time without them.
 */
const FACTOR = 30;
const target = { group: "web", hook: "launch", instanceId: "i-0aaa" };
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** The emulator on real time, for a test whose agent runs on a stepping clock. */
async function setupStepping(hook: { heartbeatTimeoutSeconds: number; globalTimeoutSeconds?: number } = { heartbeatTimeoutSeconds: 30 }) {
  h = await harness({ groups: [{ name: "web", instances: ["i-0aaa"], hooks: [{ name: "launch", ...hook }] }] });
  h.emulator.state.startLifecycleAction("i-0aaa");
  return { clock: steppingClock(), h };
}
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function setup(hook: { heartbeatTimeoutSeconds: number; globalTimeoutSeconds?: number }) {
  const clock = scaledClock(FACTOR);
  h = await harness({ clock, sweepIntervalMs: 20, groups: [{ name: "web", instances: ["i-0aaa"], hooks: [{ name: "launch", defaultResult: "ABANDON", ...hook }] }] });
  h.emulator.state.startLifecycleAction("i-0aaa");
  return { clock, h };
}

describe("heartbeats", () => {
  it("uses a third of the heartbeat timeout, never less than the floor", () => {
    expect(heartbeatIntervalMs(30)).toBe(10_000);
    expect(heartbeatIntervalMs(7200)).toBe(2_400_000);
    expect(heartbeatIntervalMs(6)).toBe(5_000);
    expect(heartbeatIntervalMs(6, 1 / 3, 100)).toBe(2_000);
  });

  it("keep the action alive through work longer than the heartbeat timeout", async () => {
    const { clock, h } = await setup({ heartbeatTimeoutSeconds: 30 });
    const beats = startHeartbeats({ api: h.api, target, heartbeatTimeoutSeconds: 30, clock, logger: captureLogger().logger });
    await clock.sleep(75_000); // the "work": two and a half heartbeat timeouts
    await beats.stop();
    expect(beats.sent).toBeGreaterThanOrEqual(1);
    expect(beats.stopReason).toBe("stopped");
    expect(h.emulator.state.heartbeats("i-0aaa").length).toBe(beats.sent);
    expect(h.emulator.state.action("i-0aaa")?.status).toBe("pending");
    expect(h.emulator.state.completions()).toEqual([]);
  });

  it("retry a throttled heartbeat after a backoff on the injected clock, not at the next tick", async () => {
    const { clock, h } = await setupStepping();
    h.emulator.state.injectFault({ kind: "throttling", actions: ["RecordLifecycleActionHeartbeat"], times: 1 });
    const { logger, lines } = captureLogger();
    const beats = startHeartbeats({ api: h.api, target, heartbeatTimeoutSeconds: 30, clock, logger, retry: FAST_RETRY, random: () => 0.5 });
    while (beats.sent < 1) await turn();
    await beats.stop();
    expect(beats.failed).toBe(0); // delivered by the retry
    expect(h.emulator.state.requests("RecordLifecycleActionHeartbeat").map((r) => r.status).slice(0, 2)).toEqual([400, 200]);
    // The tick (10 s less a random eighth at 0.5), then one backoff: FAST_RETRY's first retry waits 5–10 ms, 7.5 at 0.5.
    expect(clock.sleeps.slice(0, 2)).toEqual([8_750, 7.5]);
    expect(lines.some((l) => l.operation === "RecordLifecycleActionHeartbeat" && l.awsCode === "Throttling" && l.attempt === 1)).toBe(true);
    expect(lines.some((l) => String(l.msg).startsWith("heartbeat failed"))).toBe(false);
  });

  it("retry a failing heartbeat until the next one is due, not a fixed number of times, then count it failed", async () => {
    const { clock, h } = await setupStepping();
    h.emulator.state.injectFault({ kind: "throttling", actions: ["RecordLifecycleActionHeartbeat"], times: Infinity });
    const { logger, lines } = captureLogger();
    const beats = startHeartbeats({ api: h.api, target, heartbeatTimeoutSeconds: 30, clock, logger, retry: { minTimeoutMs: 1_000, maxTimeoutMs: 4_000 }, random: () => 0.5 });
    while (beats.failed < 1) await turn();
    await beats.stop();
    // Sent at 8.75 s; due again at 18.75 s (lastTick + interval): backoffs 1.5, 2.5 (ceiling 4 s, capped), 2.5, 2.5, then the 1 s left.
    expect(clock.sleeps.slice(0, 6)).toEqual([8_750, 1_500, 2_500, 2_500, 2_500, 1_000]);
    expect(h.emulator.state.requests("RecordLifecycleActionHeartbeat").slice(0, 6).map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 400]);
    const failure = lines.find((l) => String(l.msg).startsWith("heartbeat failed"));
    expect(failure).toMatchObject({ awsCode: "Throttling", attempts: 6, failed: 1 });
    expect(String(failure?.msg)).toContain("trying again at the next tick");
  });

  it("stop when the action is gone", async () => {
    const { clock, h } = await setup({ heartbeatTimeoutSeconds: 30 });
    h.emulator.state.complete(h.emulator.state.action("i-0aaa")!, "CONTINUE");
    const beats = startHeartbeats({ api: h.api, target, heartbeatTimeoutSeconds: 30, clock, logger: captureLogger().logger });
    while (beats.stopReason === undefined) await clock.sleep(5_000);
    expect(beats.stopReason).toBe("no-active-action");
    expect(beats.sent).toBe(0);
    expect(h.emulator.state.requestCount("RecordLifecycleActionHeartbeat")).toBe(1);
  });

  it("stop once the action's expiry has reached the global timeout, and say so", async () => {
    const { clock, h } = await setup({ heartbeatTimeoutSeconds: 30, globalTimeoutSeconds: 40 });
    const { logger, lines } = captureLogger();
    const start = clock.now();
    const beats = startHeartbeats({ api: h.api, target, heartbeatTimeoutSeconds: 30, globalTimeoutSeconds: 40, waitStartedAt: start, clock, logger });
    while (beats.stopReason === undefined) await clock.sleep(5_000);
    expect(beats.stopReason).toBe("global-timeout");
    // The first at 7.5–10 s sets the expiry to 37.5–40 s; below 40 s, a second one reaches it.
    expect(beats.sent).toBeGreaterThanOrEqual(1);
    expect(beats.sent).toBeLessThanOrEqual(2);
    expect(h.emulator.state.heartbeats("i-0aaa")).toHaveLength(beats.sent);
    expect(beats.expiresAt).toBe(start + 40_000);
    expect(lines.some((l) => String(l.msg).includes("global timeout"))).toBe(true);
  });

  it.each([
    [0, 1], // at 10 s: expiry min(40 s, 10 s + 30 s) = 40 s, nothing left to extend
    [0.99, 2], // at 7.525 s: expiry 37.525 s; the second, at 15.05 s, reaches 40 s
  ])("with jitter %d, reach the global timeout in %i heartbeat(s)", async (jitter, heartbeats) => {
    const { clock, h } = await setupStepping({ heartbeatTimeoutSeconds: 30, globalTimeoutSeconds: 40 });
    const beats = startHeartbeats({ api: h.api, target, heartbeatTimeoutSeconds: 30, globalTimeoutSeconds: 40, clock, logger: captureLogger().logger, random: () => jitter });
    while (beats.stopReason === undefined) await turn();
    expect(beats.stopReason).toBe("global-timeout");
    expect(beats.sent).toBe(heartbeats);
  });

  it("schedule from when the wait began, each interval shortened by up to a quarter at random", async () => {
    const { clock, h } = await setupStepping();
    const beat = async (options: { waitStartedAt?: number; random?: () => number }): Promise<number> => {
      clock.sleeps.length = 0;
      const beats = startHeartbeats({ api: h.api, target, heartbeatTimeoutSeconds: 30, clock, logger: captureLogger().logger, ...options });
      while (beats.sent < 1) await turn();
      await beats.stop();
      return clock.sleeps[0]!;
    };
    // A slow boot sends its first heartbeat at once.
    expect(await beat({ waitStartedAt: clock.now() - 25_000 })).toBe(0);
    // Otherwise a third of the timeout (10 s), less up to a quarter: 7.5–10 s.
    const first = await beat({});
    expect(first).toBeGreaterThanOrEqual(7_500);
    expect(first).toBeLessThanOrEqual(10_000);
    expect(await beat({ random: () => 0 })).toBe(10_000);
    expect(await beat({ random: () => 0.5 })).toBe(8_750);
    // Between heartbeats too: a fresh draw for every interval.
    const draws = [0.2, 0.8];
    clock.sleeps.length = 0;
    const beats = startHeartbeats({ api: h.api, target, heartbeatTimeoutSeconds: 30, clock, logger: captureLogger().logger, random: () => draws.shift() ?? 0 });
    while (beats.sent < 2) await turn();
    await beats.stop();
    expect(clock.sleeps.slice(0, 2)).toEqual([9_500, 8_000]);
  });

  it("never fail the caller: stop() aborts an in-flight heartbeat", async () => {
    const { clock, h } = await setup({ heartbeatTimeoutSeconds: 30 });
    let inFlight: AbortSignal | undefined;
    const api: LifecycleApi = {
      ...h.api,
      recordHeartbeat: (_t, o) => {
        inFlight = o?.signal;
        return new Promise((_resolve, reject) => o?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
      },
    };
    const beats = startHeartbeats({ api, target, heartbeatTimeoutSeconds: 30, waitStartedAt: clock.now() - 10_000, clock, logger: captureLogger().logger });
    while (inFlight === undefined) await clock.sleep(1_000);
    await expect(beats.stop()).resolves.toBeUndefined();
    expect(inFlight.aborted).toBe(true);
    expect(beats.failed).toBe(0);
  });
});
