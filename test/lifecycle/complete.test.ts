import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { systemClock } from "../../agent/clock.js";
import { completeLifecycleAction } from "../../agent/lifecycle/complete.js";
import { LifecycleError } from "../../agent/lifecycle/errors.js";
import { ErrorCode } from "../../agent/errors.js";
import { exitStatusFor, ExitStatus } from "../../agent/cli/exit-status.js";
import { createSdkLifecycleApi } from "../../agent/lifecycle/sdk.js";
import { silentLogger } from "../../agent/log/logger.js";
import { FAST_RETRY, harness, REGION, type Harness } from "./helpers.js";

const target = { group: "web", hook: "launch", instanceId: "i-0aaa" };
let h: Harness;

beforeEach(async () => {
  h = await harness({ groups: [{ name: "web", instances: ["i-0aaa"], hooks: [{ name: "launch", heartbeatTimeoutSeconds: 300 }] }] });
  h.emulator.state.startLifecycleAction("i-0aaa");
});
afterEach(() => h.close());

const complete = (result: "CONTINUE" | "ABANDON", budgetMs = 30_000) =>
  completeLifecycleAction({ api: h.api, target, result, clock: systemClock, logger: silentLogger(), deadline: systemClock.now() + budgetMs, retry: FAST_RETRY });

describe("completeLifecycleAction against the emulator", () => {
  it.each(["CONTINUE", "ABANDON"] as const)("completes with %s by instance ID, recorded by Auto Scaling", async (result) => {
    await expect(complete(result)).resolves.toEqual({ result: "completed", attempts: 1 });
    expect(h.emulator.state.completions()).toEqual([expect.objectContaining({ instanceId: "i-0aaa", group: "web", hook: "launch", result, via: "api" })]);
    const sent = h.emulator.state.requests("CompleteLifecycleAction")[0]?.params;
    expect(sent).toMatchObject({ InstanceId: "i-0aaa", LifecycleActionResult: result });
    expect(sent).not.toHaveProperty("LifecycleActionToken");
  });

  it("treats 'No active Lifecycle Action found' as a normal outcome, without retrying", async () => {
    await complete("CONTINUE");
    await expect(complete("CONTINUE")).resolves.toEqual({ result: "no-active-action", attempts: 1 });
    expect(h.emulator.state.requestCount("CompleteLifecycleAction")).toBe(2);
  });

  it("survives a burst of throttling", async () => {
    const burst = h.emulator.state.injectFault({ kind: "throttling", actions: ["CompleteLifecycleAction"], times: 5 });
    await expect(complete("CONTINUE")).resolves.toEqual({ result: "completed", attempts: 6 });
    expect(burst.hits()).toBe(5);
    expect(h.emulator.state.completions()).toHaveLength(1);
  });

  it("retries ResourceContention, ServiceUnavailable and bare 503s", async () => {
    h.emulator.state.injectFault({ kind: "resource-contention", times: 2 });
    h.emulator.state.injectFault({ kind: "unavailable", times: 1 });
    h.emulator.state.injectFault({ kind: "bare-503", times: 1 });
    await expect(complete("ABANDON")).resolves.toEqual({ result: "completed", attempts: 5 });
    expect(h.emulator.state.requests("CompleteLifecycleAction").map((r) => r.status)).toEqual([500, 500, 503, 503, 200]);
  });

  it("does not retry AccessDenied and says which permission is missing", async () => {
    h.emulator.state.injectFault({ kind: "access-denied", actions: ["CompleteLifecycleAction"] });
    const error = await complete("CONTINUE").catch((e: unknown) => e);
    expect(h.emulator.state.requestCount("CompleteLifecycleAction")).toBe(1);
    expect(error).toBeInstanceOf(LifecycleError);
    const e = error as LifecycleError;
    expect(e.code).toBe(ErrorCode.LifecycleFailed);
    expect(exitStatusFor(e)).toBe(ExitStatus.LifecycleFailed);
    expect(e.message).toContain("could not report CONTINUE to lifecycle hook launch of group web");
    expect(e.message).toContain("AccessDenied (HTTP 403)");
    expect(e.message).toContain("is not authorized to perform: autoscaling:CompleteLifecycleAction");
    expect(e.hint).toContain("autoscaling:CompleteLifecycleAction");
    expect(e.details).toMatchObject({ awsCode: "AccessDenied", httpStatus: 403, attempts: 1, kind: "denied" });
    expect(h.emulator.state.action("i-0aaa")?.status).toBe("pending");
  });

  it("gives up when throttling outlasts the time budget, with a LifecycleError", async () => {
    h.emulator.state.injectFault({ kind: "throttling", times: Infinity });
    const error = await complete("CONTINUE", 150).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LifecycleError);
    expect((error as LifecycleError).details).toMatchObject({ awsCode: "Throttling", kind: "throttled" });
    expect((error as LifecycleError).hint).toMatch(/default result applies/);
    expect(h.emulator.state.requestCount("CompleteLifecycleAction")).toBeGreaterThan(1);
  });

  it("retries a refused connection (nothing listening) and reports it as a network failure", async () => {
    const port = new URL(h.emulator.url).port;
    await h.close();
    const api = createSdkLifecycleApi({ region: REGION, endpoint: `http://127.0.0.1:${port}`, credentials: { accessKeyId: "a", secretAccessKey: "b" } });
    const error = await completeLifecycleAction({ api, target, result: "CONTINUE", clock: systemClock, logger: silentLogger(), deadline: systemClock.now() + 100, retry: FAST_RETRY }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LifecycleError);
    expect((error as LifecycleError).details).toMatchObject({ kind: "network" });
    expect(Number((error as LifecycleError).details.attempts)).toBeGreaterThan(1);
    h = await harness(); // for afterEach
  });
});
