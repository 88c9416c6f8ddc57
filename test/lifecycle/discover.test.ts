import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { systemClock } from "../../agent/clock.js";
import { discoverGroup } from "../../agent/lifecycle/discover-group.js";
import { discoverHook, resolveLifecycleTarget } from "../../agent/lifecycle/discover-hook.js";
import { LifecycleError } from "../../agent/lifecycle/errors.js";
import { silentLogger } from "../../agent/log/logger.js";
import { FAST_RETRY, harness, type Harness } from "./helpers.js";

let h: Harness;
beforeEach(async () => {
  h = await harness({
    groups: [
      { name: "web", instances: ["i-0aaa"], hooks: [{ name: "launch", heartbeatTimeoutSeconds: 120, defaultResult: "CONTINUE" }, { name: "drain", transition: "autoscaling:EC2_INSTANCE_TERMINATING" }] },
      { name: "untagged", instances: ["i-0bbb"], tagInstances: false },
      { name: "two-hooks", instances: ["i-0ccc"], hooks: [{ name: "nixboot" }, { name: "dns" }] },
    ],
  });
  h.emulator.state.setTags("i-0zzz", { Name: "standalone" });
});
afterEach(() => h.close());

const common = () => ({ clock: systemClock, logger: silentLogger(), deadline: systemClock.now() + 10_000, retry: FAST_RETRY });

describe("discoverGroup", () => {
  it("takes the group from the IMDS tag without any API call", async () => {
    await expect(discoverGroup({ ...common(), instanceId: "i-0aaa", groupFromImds: "web", api: h.api, tags: h.tags })).resolves.toEqual({ group: "web", source: "imds-tag" });
    expect(h.emulator.state.requestCount()).toBe(0);
  });

  it("falls back to EC2 DescribeTags, asking only for the group tag of this instance", async () => {
    await expect(discoverGroup({ ...common(), instanceId: "i-0aaa", api: h.api, tags: h.tags })).resolves.toEqual({ group: "web", source: "ec2-tags" });
    expect(h.emulator.state.requests().map((r) => r.action)).toEqual(["DescribeTags"]);
    expect(h.emulator.state.requests()[0]?.params).toMatchObject({ "Filter.1.Name": "resource-id", "Filter.1.Value.1": "i-0aaa", "Filter.2.Name": "key", "Filter.2.Value.1": "aws:autoscaling:groupName" });
  });

  it("falls back to DescribeAutoScalingInstances when DescribeTags is not allowed", async () => {
    h.emulator.state.injectFault({ kind: "access-denied", actions: ["DescribeTags"] });
    await expect(discoverGroup({ ...common(), instanceId: "i-0bbb", api: h.api, tags: h.tags })).resolves.toEqual({ group: "untagged", source: "autoscaling", lifecycleState: "InService" });
    expect(h.emulator.state.requests().map((r) => `${r.action} ${r.status}`)).toEqual(["DescribeTags 403", "DescribeAutoScalingInstances 200"]);
  });

  it("uses DescribeAutoScalingInstances when no EC2 client is given, retrying throttling", async () => {
    h.emulator.state.injectFault({ kind: "throttling", times: 2 });
    await expect(discoverGroup({ ...common(), instanceId: "i-0aaa", api: h.api })).resolves.toMatchObject({ group: "web", source: "autoscaling" });
    expect(h.emulator.state.requestCount("DescribeAutoScalingInstances")).toBe(3);
  });

  it("reports 'not in a group' as a normal outcome", async () => {
    await expect(discoverGroup({ ...common(), instanceId: "i-0zzz", api: h.api, tags: h.tags })).resolves.toEqual({ group: null, source: "none" });
    await expect(discoverGroup({ ...common(), instanceId: "i-0zzz", api: h.api })).resolves.toEqual({ group: null, source: "none" });
  });

  it("fails clearly when neither DescribeTags nor DescribeAutoScalingInstances is allowed", async () => {
    h.emulator.state.injectFault({ kind: "access-denied", actions: ["DescribeTags", "DescribeAutoScalingInstances"] });
    const error = await discoverGroup({ ...common(), instanceId: "i-0aaa", api: h.api, tags: h.tags }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LifecycleError);
    expect((error as LifecycleError).message).toMatch(/cannot tell whether instance i-0aaa is in an Auto Scaling group/);
    expect((error as LifecycleError).hint).toMatch(/InstanceMetadataTags=enabled/);
  });
});

describe("discoverHook", () => {
  it("finds the group's one launch hook and its timeouts", async () => {
    await expect(discoverHook({ ...common(), api: h.api, group: "web" })).resolves.toEqual({ name: "launch", heartbeatTimeoutSeconds: 120, globalTimeoutSeconds: 12_000, defaultResult: "CONTINUE" });
  });

  it("asks for the configured hook by name", async () => {
    await expect(discoverHook({ ...common(), api: h.api, group: "two-hooks", hookName: "nixboot" })).resolves.toMatchObject({ name: "nixboot", heartbeatTimeoutSeconds: 3600 });
    expect(h.emulator.state.requests("DescribeLifecycleHooks")[0]?.params).toMatchObject({ "LifecycleHookNames.member.1": "nixboot" });
  });

  it("refuses to guess between two launch hooks, and names a missing configured hook", async () => {
    await expect(discoverHook({ ...common(), api: h.api, group: "two-hooks" })).rejects.toThrow(/has 2 launch lifecycle hooks \(nixboot, dns\)/);
    await expect(discoverHook({ ...common(), api: h.api, group: "web", hookName: "nope" })).rejects.toThrow(/lifecycle hook nope does not exist on group web/);
  });

  it("returns null for a group without a launch hook", async () => {
    await expect(discoverHook({ ...common(), api: h.api, group: "untagged" })).resolves.toBeNull();
  });

  it("keeps a configured hook usable (without heartbeats) when DescribeLifecycleHooks is not allowed", async () => {
    h.emulator.state.injectFault({ kind: "access-denied", actions: ["DescribeLifecycleHooks"] });
    await expect(discoverHook({ ...common(), api: h.api, group: "web", hookName: "launch" })).resolves.toEqual({ name: "launch", heartbeatTimeoutSeconds: null, globalTimeoutSeconds: null, defaultResult: null });
    await expect(discoverHook({ ...common(), api: h.api, group: "web" })).rejects.toThrow(LifecycleError);
  });
});

describe("resolveLifecycleTarget and its cache", () => {
  const resolve = (instanceId = "i-0aaa", extra: { hookName?: string } = {}) =>
    resolveLifecycleTarget({ ...common(), api: h.api, tags: h.tags, instanceId, stateDir: h.stateDir, ...extra });

  it("caches group and hook so the next boot makes no describe call", async () => {
    const first = await resolve();
    expect(first).toMatchObject({ group: "web", hook: { name: "launch", heartbeatTimeoutSeconds: 120 }, source: "ec2-tags" });
    expect(h.emulator.state.requestCount("DescribeLifecycleHooks")).toBe(1);
    const cache = JSON.parse(await readFile(join(h.stateDir, "lifecycle.json"), "utf8")) as Record<string, unknown>;
    expect(cache).toMatchObject({ version: 1, instanceId: "i-0aaa", group: "web", hook: { name: "launch", heartbeatTimeoutSeconds: 120, defaultResult: "CONTINUE" } });
    expect(await readdir(h.stateDir)).toEqual(["lifecycle.json"]); // the temporary file was renamed

    const before = h.emulator.state.requestCount();
    await expect(resolve()).resolves.toEqual({ group: "web", hook: first.hook, source: "cache" });
    expect(h.emulator.state.requestCount()).toBe(before);
    expect(h.emulator.state.requestCount("DescribeLifecycleHooks")).toBe(1);
  });

  it("ignores a cache of another instance, of another hook name, or malformed", async () => {
    await resolve();
    await expect(resolve("i-0ccc", { hookName: "dns" })).resolves.toMatchObject({ group: "two-hooks", hook: { name: "dns" }, source: "ec2-tags" });
    await expect(resolve("i-0ccc", { hookName: "nixboot" })).resolves.toMatchObject({ hook: { name: "nixboot" }, source: "ec2-tags" });
    await writeFile(join(h.stateDir, "lifecycle.json"), "{ not json");
    await expect(resolve()).resolves.toMatchObject({ group: "web", source: "ec2-tags" });
  });
});
