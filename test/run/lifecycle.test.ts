import { describe, expect, it } from "vitest";
import { LifecycleError } from "../../agent/lifecycle/errors.js";
import { freshConfig } from "../fixture/machine.js";
import { apiCalls, bootInstance, GROUP, HOOK, INSTANCE, useInstances } from "./helpers.js";

useInstances();

describe("bootRun and the lifecycle hook", () => {
  it("keeps the action alive with heartbeats through a build longer than the hook's heartbeat timeout", async () => {
    // A 3 s heartbeat timeout (the emulator takes any value; AWS's floor is 30 s) and a 4 s build:
    // without heartbeats the emulator would end the action with its default result, ABANDON.
    // Heartbeats every 300 ms leave a busy machine plenty of slack.
    const i = await bootInstance({ hook: { heartbeatTimeoutSeconds: 3, defaultResult: "ABANDON" } });
    const action = i.cloud.aws.state.startLifecycleAction(INSTANCE);
    i.setUserdata(freshConfig("  fixture.slowBuildSeconds = 4;"));

    const report = await i.boot({ deps: { bootedAt: action.startedAt, heartbeat: { fraction: 0.1, minIntervalMs: 50 } } });

    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ outcome: "applied", exitStatus: 0 });
    expect(i.cloud.aws.state.completions()).toEqual([expect.objectContaining({ instanceId: INSTANCE, result: "CONTINUE", via: "api" })]);
    const recorded = i.cloud.aws.state.heartbeats(INSTANCE);
    expect(recorded.length).toBeGreaterThanOrEqual(1);
    expect(recorded.every((h) => h.group === GROUP && h.hook === HOOK && h.token === action.token)).toBe(true);
    expect(report.lifecycle).toMatchObject({ result: "completed", action: "CONTINUE", heartbeats: recorded.length });
    expect((await i.status())?.lifecycle).toMatchObject({ result: "completed", heartbeats: recorded.length });
    // Every heartbeat came before the completion.
    const completedAt = i.cloud.aws.state.completions()[0]!.at;
    expect(recorded.every((h) => h.at <= completedAt)).toBe(true);
  });

  it("rides out a burst of throttling on CompleteLifecycleAction (and on discovery)", async () => {
    const i = await bootInstance();
    i.cloud.aws.state.startLifecycleAction(INSTANCE);
    i.cloud.aws.state.injectFault({ kind: "throttling", actions: ["DescribeLifecycleHooks"], times: 2 });
    const burst = i.cloud.aws.state.injectFault({ kind: "throttling", actions: ["CompleteLifecycleAction"], times: 5 });
    i.setUserdata(null);

    const report = await i.boot();

    expect(report).toMatchObject({ outcome: "nothing-to-apply", exitStatus: 0 });
    expect(report.lifecycle).toMatchObject({ result: "completed", action: "CONTINUE", apiCalls: 9 });
    expect(burst.hits()).toBe(5);
    expect(apiCalls(i)).toEqual([
      "DescribeLifecycleHooks 400",
      "DescribeLifecycleHooks 400",
      "DescribeLifecycleHooks 200",
      ...Array<string>(5).fill("CompleteLifecycleAction 400"),
      "CompleteLifecycleAction 200",
    ]);
    expect(i.cloud.aws.state.requests("CompleteLifecycleAction").slice(0, 5).every((r) => r.errorCode === "Throttling")).toBe(true);
    expect(i.cloud.aws.state.completions()).toEqual([expect.objectContaining({ result: "CONTINUE", via: "api" })]);
  });

  it("exits 40 when Auto Scaling refuses the completion (AccessDenied), with the system still applied", async () => {
    const i = await bootInstance();
    i.cloud.aws.state.startLifecycleAction(INSTANCE);
    i.cloud.aws.state.injectFault({ kind: "access-denied", actions: ["CompleteLifecycleAction"] });
    const text = freshConfig();
    i.setUserdata(text);

    const report = await i.boot();

    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ outcome: "applied", exitStatus: 40 });
    expect(report.lifecycle).toBeUndefined();
    expect(report.lifecycleError).toBeInstanceOf(LifecycleError);
    const message = report.lifecycleError!.message;
    expect(message).toMatch(new RegExp(`^could not report CONTINUE to lifecycle hook ${HOOK} of group ${GROUP}: CompleteLifecycleAction failed: AccessDenied \\(HTTP 403\\)`));
    expect(message).toContain("is not authorized to perform: autoscaling:CompleteLifecycleAction");
    expect(report.lifecycleError!.hint).toMatch(/IAM policy must allow autoscaling:CompleteLifecycleAction/);
    // Refusals are not retried, and the action stays pending: its default result applies when it times out.
    expect(i.cloud.aws.state.requestCount("CompleteLifecycleAction")).toBe(1);
    expect(i.cloud.aws.state.completions()).toEqual([]);
    expect(i.cloud.aws.state.action(INSTANCE)?.status).toBe("pending");

    const system = report.apply!.systemPath!;
    expect(await i.system()).toEqual({ current: system, profile: system, bootDefault: system, generations: [1, 2], config: text });
    expect(await i.status()).toMatchObject({
      phase: "error",
      outcome: "applied",
      exitStatus: 40,
      systemPath: system,
      generation: 2,
      lifecycle: { result: "failed", action: "CONTINUE" },
      error: { code: "LIFECYCLE_FAILED", message, hint: report.lifecycleError!.hint },
    });
    expect(i.logs).toContainEqual(expect.objectContaining({ level: 50, msg: "cannot report to the lifecycle hook" }));
  });

  it("runs the pipeline outside an Auto Scaling group and reports not-in-group", async () => {
    const i = await bootInstance({ group: null });
    i.cloud.aws.state.setTags(INSTANCE, { Name: "pet" });
    i.setUserdata(freshConfig());

    const report = await i.boot();

    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ outcome: "applied", exitStatus: 0 });
    expect(report.lifecycle).toMatchObject({ group: null, hook: null, result: "not-in-group" });
    expect(apiCalls(i)).toEqual(["DescribeTags 200"]);
    expect(i.cloud.aws.state.completions()).toEqual([]);
    expect(await i.machine.generations()).toEqual([1, 2]);
    expect(await i.status()).toMatchObject({ phase: "done", outcome: "applied", lifecycle: { result: "not-in-group" } });
  });

  it("finds the group with DescribeTags when instance metadata tags are off", async () => {
    const i = await bootInstance({ imds: { tagsEnabled: false } });
    i.cloud.aws.state.startLifecycleAction(INSTANCE);
    i.setUserdata(null);

    const report = await i.boot();

    expect(report).toMatchObject({ outcome: "nothing-to-apply", exitStatus: 0 });
    expect(report.lifecycle).toMatchObject({ group: GROUP, hook: HOOK, result: "completed", action: "CONTINUE" });
    expect(i.cloud.imds.count({ path: "/latest/meta-data/tags/instance/aws:autoscaling:groupName", status: 404 })).toBe(1);
    expect(apiCalls(i)).toEqual(["DescribeTags 200", "DescribeLifecycleHooks 200", "CompleteLifecycleAction 200"]);
    const [describeTags] = i.cloud.aws.state.requests("DescribeTags");
    expect(describeTags!.params).toMatchObject({ "Filter.1.Name": "resource-id", "Filter.1.Value.1": INSTANCE, "Filter.2.Name": "key", "Filter.2.Value.1": "aws:autoscaling:groupName" });
    expect(describeTags!.accessKeyId).toBe("AKIDNIXBOOTRUNTEST");
  });

  it("applies and completes in the warm pool, then on leaving it changes nothing and completes again", async () => {
    const i = await bootInstance({ imds: { targetLifecycleState: "Warmed:Stopped" } });
    i.cloud.aws.state.startLifecycleAction(INSTANCE, { warmed: true });
    i.setUserdata(freshConfig());

    const warming = await i.boot();

    expect(warming.error).toBeUndefined();
    expect(warming).toMatchObject({ outcome: "applied", exitStatus: 0 });
    expect(warming.lifecycle).toMatchObject({ hook: HOOK, result: "completed", action: "CONTINUE", warmed: true });
    expect(i.cloud.aws.state.instance(INSTANCE)?.lifecycleState).toBe("Warmed:Stopped");

    // Started from the pool: a second boot, paused at Pending:Wait for the same launch hook.
    i.cloud.imds.state.targetLifecycleState = "InService";
    i.cloud.aws.state.startLifecycleAction(INSTANCE);
    const leaving = await i.boot();

    expect(leaving.error).toBeUndefined();
    expect(leaving).toMatchObject({ outcome: "unchanged", exitStatus: 0, apply: { evaluations: 0, systemPath: warming.apply!.systemPath } });
    expect(leaving.lifecycle).toMatchObject({ hook: HOOK, result: "completed", action: "CONTINUE", warmed: false, apiCalls: 1 });
    expect(i.cloud.aws.state.instance(INSTANCE)?.lifecycleState).toBe("InService");
    expect(i.cloud.aws.state.completions()).toEqual([
      expect.objectContaining({ hook: HOOK, result: "CONTINUE", via: "api" }),
      expect.objectContaining({ hook: HOOK, result: "CONTINUE", via: "api" }),
    ]);
    expect(i.cloud.aws.state.requestCount("DescribeLifecycleHooks")).toBe(1);
    expect(await i.machine.generations()).toEqual([1, 2]);
  });
});
