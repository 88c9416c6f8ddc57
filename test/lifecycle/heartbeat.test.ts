import { afterEach, describe, expect, it } from "vitest";
import { heartbeatIntervalMs, startHeartbeats } from "../../agent/lifecycle/heartbeat.js";
import type { LifecycleApi } from "../../agent/lifecycle/api.js";
import type { Clock } from "../../agent/clock.js";
import { captureLogger, harness, scaledClock, type Harness } from "./helpers.js";

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

  it("log a failed heartbeat and carry on at the next tick", async () => {
    const { clock, h } = await setup({ heartbeatTimeoutSeconds: 30 });
    h.emulator.state.injectFault({ kind: "throttling", actions: ["RecordLifecycleActionHeartbeat"], times: 1 });
    const { logger, lines } = captureLogger();
    const beats = startHeartbeats({ api: h.api, target, heartbeatTimeoutSeconds: 30, clock, logger });
    while (beats.sent < 1) await clock.sleep(5_000);
    await beats.stop();
    expect(beats.failed).toBe(1);
    expect(h.emulator.state.requests("RecordLifecycleActionHeartbeat").map((r) => r.status).slice(0, 2)).toEqual([400, 200]);
    expect(lines.some((l) => l.awsCode === "Throttling" && String(l.msg).includes("retrying at the next tick"))).toBe(true);
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
    const beats = startHeartbeats({ api: h.api, target, heartbeatTimeoutSeconds: 30, globalTimeoutSeconds: 40, clock, logger });
    while (beats.stopReason === undefined) await clock.sleep(5_000);
    expect(beats.stopReason).toBe("global-timeout");
    expect(beats.sent).toBe(1); // at 10 s: expiry min(40 s, 10 s + 30 s) = 40 s, nothing left to extend
    expect(lines.some((l) => String(l.msg).includes("global timeout"))).toBe(true);
  });

  it("schedule from when the wait began: a slow boot sends its first heartbeat at once", async () => {
    h = await harness({ groups: [{ name: "web", instances: ["i-0aaa"], hooks: [{ name: "launch", heartbeatTimeoutSeconds: 30 }] }] });
    h.emulator.state.startLifecycleAction("i-0aaa");
    // A clock that records the sleeps asked for and lets them pass at once.
    let now = Date.UTC(2025, 0, 1);
    const sleeps: number[] = [];
    const clock: Clock = {
      now: () => now,
      sleep: async (ms, signal) => {
        sleeps.push(ms);
        now += ms;
        await new Promise((resolve) => setImmediate(resolve));
        signal?.throwIfAborted();
      },
    };
    const slowBoot = startHeartbeats({ api: h.api, target, heartbeatTimeoutSeconds: 30, waitStartedAt: now - 25_000, clock, logger: captureLogger().logger });
    while (slowBoot.sent < 1) await new Promise((resolve) => setImmediate(resolve));
    await slowBoot.stop();
    expect(sleeps[0]).toBe(0);
    sleeps.length = 0;
    const fastBoot = startHeartbeats({ api: h.api, target, heartbeatTimeoutSeconds: 30, clock, logger: captureLogger().logger });
    while (fastBoot.sent < 1) await new Promise((resolve) => setImmediate(resolve));
    await fastBoot.stop();
    expect(sleeps[0]).toBe(10_000);
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
