import { afterEach, describe, expect, it } from "vitest";
import { systemClock, type Clock } from "../../agent/clock.js";
import { LifecycleError } from "../../agent/lifecycle/errors.js";
import { startLifecycle, type StartLifecycleOptions } from "../../agent/lifecycle/report.js";
import { silentLogger } from "../../agent/log/logger.js";
import type { GroupSpec } from "../emulator/aws/index.js";
import { CREDENTIALS, FAST_RETRY, harness, REGION, scaledClock, type Harness } from "./helpers.js";

const GROUPS: GroupSpec[] = [
  { name: "web", instances: ["i-0aaa", "i-0bbb"], hooks: [{ name: "nixboot-launch", heartbeatTimeoutSeconds: 30, defaultResult: "ABANDON" }] },
  { name: "hookless", instances: ["i-0ccc"] },
];

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function setup(clock: Clock = systemClock): Promise<{ h: Harness; options: (extra?: Partial<StartLifecycleOptions>) => StartLifecycleOptions }> {
  const hh = await harness({ clock, groups: GROUPS, sweepIntervalMs: 20 });
  h = hh;
  return {
    h: hh,
    options: (extra = {}) => ({
      instanceId: "i-0aaa",
      region: REGION,
      stateDir: hh.stateDir,
      logger: silentLogger(),
      api: hh.api,
      tags: hh.tags,
      clock,
      retry: FAST_RETRY,
      ...extra,
    }),
  };
}

describe("startLifecycle → work → report", () => {
  it("discovers, heartbeats through slow work, and completes CONTINUE", async () => {
    const clock = scaledClock(30);
    const { h, options } = await setup(clock);
    const action = h.emulator.state.startLifecycleAction("i-0aaa");
    const lifecycle = await startLifecycle(options({ waitStartedAt: action.startedAt }));
    expect([lifecycle.group, lifecycle.hook?.name, lifecycle.hook?.heartbeatTimeoutSeconds]).toEqual(["web", "nixboot-launch", 30]);
    await clock.sleep(75_000); // the boot's work, longer than the heartbeat timeout
    const report = await lifecycle.report("CONTINUE");
    expect(report).toMatchObject({ group: "web", hook: "nixboot-launch", result: "completed", action: "CONTINUE", warmed: false });
    expect(report.heartbeats).toBeGreaterThanOrEqual(1);
    expect(report.apiCalls).toBe(h.emulator.state.requestCount());
    expect(h.emulator.state.completions()).toEqual([expect.objectContaining({ instanceId: "i-0aaa", result: "CONTINUE", via: "api" })]);
    expect(await lifecycle.report("ABANDON")).toBe(report); // once only
    expect(h.emulator.state.requestCount("CompleteLifecycleAction")).toBe(1);
  });

  it("reports ABANDON after failed work, even with a tight budget of its own", async () => {
    const { h, options } = await setup();
    h.emulator.state.startLifecycleAction("i-0aaa");
    const lifecycle = await startLifecycle(options());
    let action: "CONTINUE" | "ABANDON" = "CONTINUE";
    try {
      throw new Error("build failed");
    } catch {
      action = "ABANDON";
    } finally {
      await expect(lifecycle.report(action, { budgetMs: 2_000 })).resolves.toMatchObject({ result: "completed", action: "ABANDON" });
    }
    expect(h.emulator.state.completions()[0]).toMatchObject({ result: "ABANDON", via: "api" });
  });

  it("makes no call at all when reporting is off", async () => {
    const { h, options } = await setup();
    const lifecycle = await startLifecycle(options({ enabled: false }));
    expect(await lifecycle.report("CONTINUE")).toEqual({ group: null, hook: null, result: "disabled", action: "CONTINUE", apiCalls: 0, heartbeats: 0, warmed: false });
    expect(h.emulator.state.requestCount()).toBe(0);
  });

  it("reports 'not-in-group' and 'no-hook' as normal outcomes", async () => {
    const { h, options } = await setup();
    h.emulator.state.setTags("i-0zzz", { Name: "pet" });
    const alone = await startLifecycle(options({ instanceId: "i-0zzz" }));
    await expect(alone.report("CONTINUE")).resolves.toMatchObject({ group: null, result: "not-in-group", apiCalls: 1 });
    const hookless = await startLifecycle(options({ instanceId: "i-0ccc", groupFromImds: "hookless" }));
    await expect(hookless.report("CONTINUE")).resolves.toMatchObject({ group: "hookless", hook: null, result: "no-hook", apiCalls: 1 });
    expect(h.emulator.state.requestCount("CompleteLifecycleAction")).toBe(0);
  });

  it("completes the same launch hook in the warm pool and again, from the cache, when leaving it", async () => {
    const { h, options } = await setup();
    h.emulator.state.startLifecycleAction("i-0aaa", { warmed: true });
    const warming = await startLifecycle(options({ targetLifecycleState: "Warmed:Stopped" }));
    expect(warming.warmed).toBe(true);
    await expect(warming.report("CONTINUE")).resolves.toMatchObject({ hook: "nixboot-launch", result: "completed", warmed: true });
    expect(h.emulator.state.instance("i-0aaa")?.lifecycleState).toBe("Warmed:Stopped");

    h.emulator.state.startLifecycleAction("i-0aaa"); // started from the pool: Pending:Wait, same hook
    const leaving = await startLifecycle(options({ targetLifecycleState: "InService" }));
    const report = await leaving.report("CONTINUE");
    expect(report).toMatchObject({ hook: "nixboot-launch", result: "completed", warmed: false, apiCalls: 1 });
    expect(h.emulator.state.requestCount("DescribeLifecycleHooks")).toBe(1);
    expect(h.emulator.state.instance("i-0aaa")?.lifecycleState).toBe("InService");
  });

  it("keeps the boot going when discovery fails, and discovers again at report time", async () => {
    const { h, options } = await setup();
    h.emulator.state.startLifecycleAction("i-0bbb");
    h.emulator.state.injectFault({ kind: "access-denied", actions: ["DescribeAutoScalingInstances"], times: 1 });
    const lifecycle = await startLifecycle(options({ instanceId: "i-0bbb", tags: null }));
    expect(lifecycle.group).toBeNull();
    await expect(lifecycle.report("CONTINUE")).resolves.toMatchObject({ group: "web", result: "completed" });
    expect(h.emulator.state.requests().map((r) => `${r.action} ${r.status}`)).toEqual([
      "DescribeAutoScalingInstances 403",
      "DescribeAutoScalingInstances 200",
      "DescribeLifecycleHooks 200",
      "CompleteLifecycleAction 200",
    ]);
  });

  it("keeps discovering in the background after a retryable failure, and starts heartbeats once the hook is found", async () => {
    const clock = scaledClock(30);
    const { h, options } = await setup(clock);
    const action = h.emulator.state.startLifecycleAction("i-0aaa");
    const throttled = h.emulator.state.injectFault({ kind: "throttling", actions: ["DescribeLifecycleHooks"], times: Infinity });
    const lifecycle = await startLifecycle(options({ groupFromImds: "web", tags: null, waitStartedAt: action.startedAt, discoveryBudgetMs: 1_000 }));
    expect(lifecycle.hook).toBeNull(); // the first round ran out of its budget
    const failedAtBoot = throttled.hits();
    expect(failedAtBoot).toBeGreaterThan(1);
    throttled.clear();
    while (lifecycle.heartbeats() < 1) await clock.sleep(1_000); // the work, while discovery goes on
    expect(lifecycle.hook?.name).toBe("nixboot-launch");
    const report = await lifecycle.report("CONTINUE");
    expect(report).toMatchObject({ hook: "nixboot-launch", result: "completed" });
    expect(report.heartbeats).toBeGreaterThanOrEqual(1);
    expect(h.emulator.state.heartbeats("i-0aaa").length).toBe(report.heartbeats);
    // Found once, by the background discovery right after the first round's throttled tries; the report did not describe again.
    expect(h.emulator.state.requests("DescribeLifecycleHooks").map((r) => r.status)).toEqual([...Array<number>(failedAtBoot).fill(400), 200]);
    expect(h.emulator.state.requests().at(-1)).toMatchObject({ action: "CompleteLifecycleAction", status: 200 });
  });

  it("waits for the background discovery within its budget, then stops it and fails without completing", async () => {
    const clock = scaledClock(30);
    const { h, options } = await setup(clock);
    h.emulator.state.startLifecycleAction("i-0aaa");
    h.emulator.state.injectFault({ kind: "throttling", actions: ["DescribeLifecycleHooks"], times: Infinity });
    const lifecycle = await startLifecycle(options({ groupFromImds: "web", tags: null, discoveryBudgetMs: 1_000 }));
    const error = await lifecycle.report("CONTINUE", { budgetMs: 3_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LifecycleError);
    expect((error as LifecycleError).message).toMatch(/cannot find the launch lifecycle hook of group web/);
    const describes = h.emulator.state.requestCount("DescribeLifecycleHooks");
    await clock.sleep(5_000);
    expect(h.emulator.state.requestCount("DescribeLifecycleHooks")).toBe(describes); // nothing left running
    expect(h.emulator.state.requestCount("CompleteLifecycleAction")).toBe(0);
    expect(lifecycle.heartbeats()).toBe(0);
  });

  it("throws a LifecycleError, without completing, when discovery fails again at report time", async () => {
    const { h, options } = await setup();
    h.emulator.state.injectFault({ kind: "access-denied", actions: ["DescribeAutoScalingInstances"] });
    const lifecycle = await startLifecycle(options({ instanceId: "i-0bbb", tags: null }));
    const error = await lifecycle.report("CONTINUE", { budgetMs: 5_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LifecycleError);
    expect((error as LifecycleError).message).toMatch(/cannot tell whether instance i-0bbb is in an Auto Scaling group/);
    expect(h.emulator.state.requests().map((r) => r.action)).toEqual(["DescribeAutoScalingInstances", "DescribeAutoScalingInstances"]);
  });

  it("throws a LifecycleError when Auto Scaling refuses the completion", async () => {
    const { h, options } = await setup();
    h.emulator.state.startLifecycleAction("i-0aaa");
    h.emulator.state.injectFault({ kind: "access-denied", actions: ["CompleteLifecycleAction"] });
    const lifecycle = await startLifecycle(options({ groupFromImds: "web" }));
    await expect(lifecycle.report("CONTINUE")).rejects.toThrow(LifecycleError);
    expect(h.emulator.state.requestCount("CompleteLifecycleAction")).toBe(1);
  });

  it("builds the SDK clients itself, finding the emulator through AWS_ENDPOINT_URL_AUTO_SCALING / AWS_ENDPOINT_URL_EC2", async () => {
    const { h, options } = await setup();
    h.emulator.state.startLifecycleAction("i-0aaa");
    const saved = { as: process.env.AWS_ENDPOINT_URL_AUTO_SCALING, ec2: process.env.AWS_ENDPOINT_URL_EC2 };
    process.env.AWS_ENDPOINT_URL_AUTO_SCALING = h.emulator.url;
    process.env.AWS_ENDPOINT_URL_EC2 = h.emulator.url;
    try {
      const { api: _api, tags: _tags, ...rest } = options();
      const lifecycle = await startLifecycle({ ...rest, sdk: { credentials: CREDENTIALS } });
      await expect(lifecycle.report("CONTINUE")).resolves.toMatchObject({ group: "web", result: "completed", apiCalls: 3 });
    } finally {
      for (const [key, value] of [["AWS_ENDPOINT_URL_AUTO_SCALING", saved.as], ["AWS_ENDPOINT_URL_EC2", saved.ec2]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
    expect(h.emulator.state.requests().map((r) => r.action)).toEqual(["DescribeTags", "DescribeLifecycleHooks", "CompleteLifecycleAction"]);
  });
});
