import { createHash } from "node:crypto";
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { systemClock } from "../../agent/clock.js";
import { createImdsClient } from "../../agent/intake/imds-client.js";
import { ConfigSyntaxError, PolicyRefusedError } from "../../agent/nix/errors.js";
import { ScriptError } from "../../agent/run/script.js";
import { ActivationFailedError } from "../../agent/system/errors.js";
import { readJournal } from "../../agent/state/journal.js";
import { FAKE_SYSTEMCTL, freezingRunner, freshConfig, markLockDead, recordingRunner, silent } from "../fixture/machine.js";
import { amiSystem, apiCalls, bootInstance, GROUP, HOOK, INSTANCE, useInstances, type Instance } from "./helpers.js";

useInstances();

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/** The lifecycle results the emulator recorded (by the API or by a timeout). */
function completions(i: Instance): unknown {
  return i.cloud.aws.state.completions();
}

describe("bootRun: a configuration in userdata", () => {
  it("applies it, completes the hook with CONTINUE and records every step in the status file", async () => {
    const i = await bootInstance();
    i.cloud.aws.state.startLifecycleAction(INSTANCE);
    const text = freshConfig();
    i.setUserdata(text);

    const report = await i.boot();

    expect(report.error).toBeUndefined();
    expect(report.lifecycleError).toBeUndefined();
    expect(report).toMatchObject({ outcome: "applied", exitStatus: 0, instanceId: INSTANCE, userdata: { class: "nix", sha256: sha256(text), sizeBytes: Buffer.byteLength(text) } });
    expect(report.lifecycle).toMatchObject({ group: GROUP, hook: HOOK, result: "completed", action: "CONTINUE", heartbeats: 0, warmed: false });
    expect(completions(i)).toEqual([expect.objectContaining({ instanceId: INSTANCE, group: GROUP, hook: HOOK, result: "CONTINUE", via: "api" })]);
    expect(i.cloud.aws.state.instance(INSTANCE)?.lifecycleState).toBe("InService");
    // The group came from the IMDS tag: no DescribeTags, no DescribeAutoScalingInstances.
    expect(apiCalls(i)).toEqual(["DescribeLifecycleHooks 200", "CompleteLifecycleAction 200"]);

    const system = report.apply!.systemPath!;
    expect(system).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-system-web$/);
    expect(system).not.toBe(i.machine.amiSystem);
    expect(await i.system()).toEqual({ current: system, profile: system, bootDefault: system, generations: [1, 2], config: text });

    const status = await i.status();
    expect(status).toMatchObject({
      version: 1,
      phase: "done",
      outcome: "applied",
      exitStatus: 0,
      instanceId: INSTANCE,
      userdata: { class: "nix", sha256: sha256(text), sizeBytes: Buffer.byteLength(text) },
      systemPath: system,
      generation: 2,
      lifecycle: { group: GROUP, hook: HOOK, result: "completed", action: "CONTINUE", heartbeats: 0 },
    });
    expect(status!.error).toBeUndefined();
    expect(status!.steps.map((s) => [s.name, s.ok])).toEqual([
      ["imds", true], ["intake", true], ["lock", true], ["parse", true], ["evaluate", true], ["plan", true], ["build", true], ["activate", true], ["health", true], ["commit", true],
    ]);
    for (const step of status!.steps) expect(step.durationMs).toBeGreaterThanOrEqual(0);
    expect(Date.parse(status!.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(status!.startedAt));

    // Log-safe: sizes and hashes, never the configuration's text (its nonce is unique to this test).
    const nonce = /"nonce"\.text = "([0-9a-f]+)"/.exec(text)![1]!;
    expect(i.logs.length).toBeGreaterThan(0);
    expect(JSON.stringify(i.logs)).not.toContain(nonce);
  });

  it.each([
    {
      what: "a syntax error",
      text: '{ config, ... }:\n{\n  networking.hostName = "x"\n  boot = 1;\n}\n',
      outcome: "failed",
      error: ConfigSyntaxError,
      code: "CONFIG_INVALID",
      exitStatus: 30,
      lastSteps: [["parse", false]],
    },
    {
      what: "an activation failure",
      text: freshConfig("  services.fixture.failActivation = true;"),
      outcome: "rolled-back",
      error: ActivationFailedError,
      code: "ACTIVATION_FAILED",
      exitStatus: 33,
      lastSteps: [["activate", false], ["rollback", true]],
    },
  ])("on $what: reports ABANDON, exits $exitStatus and leaves the system as it was", async ({ text, outcome, error, code, exitStatus, lastSteps }) => {
    const i = await bootInstance();
    i.cloud.aws.state.startLifecycleAction(INSTANCE);
    i.setUserdata(text);

    const report = await i.boot();

    expect(report.error).toBeInstanceOf(error);
    expect(report).toMatchObject({ outcome, exitStatus });
    expect(report.lifecycle).toMatchObject({ result: "completed", action: "ABANDON" });
    expect(completions(i)).toEqual([expect.objectContaining({ instanceId: INSTANCE, result: "ABANDON", via: "api" })]);
    expect(i.cloud.aws.state.instance(INSTANCE)?.lifecycleState).toBe("Terminated");
    expect(await i.system()).toEqual(amiSystem(i.machine));

    const status = await i.status();
    expect(status).toMatchObject({ phase: "error", outcome, exitStatus, error: { code, message: report.error!.message }, lifecycle: { result: "completed", action: "ABANDON" } });
    expect(status!.error!.hint).toBeTruthy();
    // The rejected candidate is not "the system" of this run.
    expect(status!.systemPath).toBeUndefined();
    expect(status!.generation).toBeUndefined();
    expect(status!.steps.slice(-lastSteps.length).map((s) => [s.name, s.ok])).toEqual(lastSteps);
  });

  it("stages it for the next boot with `# nixboot: mode=boot`, activating nothing, and reports CONTINUE", async () => {
    const i = await bootInstance();
    i.cloud.aws.state.startLifecycleAction(INSTANCE);
    const text = `# nixboot: mode=boot\n${freshConfig()}`;
    i.setUserdata(text);

    const report = await i.boot();

    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ outcome: "staged", exitStatus: 0, apply: { mode: "boot", generation: 2 } });
    const staged = report.apply!.systemPath!;
    expect(await i.system()).toEqual({ current: i.machine.amiSystem, profile: staged, bootDefault: staged, generations: [1, 2], config: text });
    // Installed as the boot default (`boot`), never activated (`test`, `switch`).
    expect((await i.machine.activations()).filter((line) => line.includes(staged)).map((line) => line.split(" ")[0])).toEqual(["boot"]);
    expect(completions(i)).toEqual([expect.objectContaining({ result: "CONTINUE", via: "api" })]);
    expect(await i.status()).toMatchObject({ phase: "done", outcome: "staged", systemPath: staged, generation: 2 });
    expect((await i.status())!.steps.map((s) => s.name)).not.toContain("activate");
  });

  it("on a reboot with the same userdata: changes nothing, evaluates nothing, finds no active action, exits 0", async () => {
    const i = await bootInstance();
    i.cloud.aws.state.startLifecycleAction(INSTANCE);
    const text = freshConfig();
    i.setUserdata(text);
    const first = await i.boot();
    expect(first).toMatchObject({ outcome: "applied", exitStatus: 0 });
    const requestsBefore = i.cloud.aws.state.requestCount();
    const activations = (await i.machine.activations()).length;

    const runner = recordingRunner(i.machine.runner);
    const second = await i.boot({ deps: { runner } });

    expect(second.error).toBeUndefined();
    expect(second).toMatchObject({ outcome: "unchanged", exitStatus: 0, apply: { unchangedReason: "same-candidate", evaluations: 0, systemPath: first.apply!.systemPath } });
    expect(runner.calls).toEqual([]);
    expect(second.lifecycle).toMatchObject({ group: GROUP, hook: HOOK, result: "no-active-action", action: "CONTINUE", apiCalls: 1 });
    // Group and hook from the cache: the one call is the completion, answered "no active action".
    expect(apiCalls(i).slice(requestsBefore)).toEqual(["CompleteLifecycleAction 400"]);
    expect(completions(i)).toHaveLength(1);
    expect(await i.machine.generations()).toEqual([1, 2]);
    expect(await i.machine.activations()).toHaveLength(activations);
    expect(await i.status()).toMatchObject({ phase: "done", outcome: "unchanged", exitStatus: 0, lifecycle: { result: "no-active-action" }, generation: 2 });
  });

  it("refuses `###` channel lines under policy baked (exit 31), runs no command and reports ABANDON", async () => {
    const i = await bootInstance();
    i.cloud.aws.state.startLifecycleAction(INSTANCE);
    i.setUserdata(`### https://nixos.org/channels/nixos-25.05 nixos\n${freshConfig()}`);
    const runner = recordingRunner(i.machine.runner);

    const report = await i.boot({ deps: { runner } });

    expect(report.error).toBeInstanceOf(PolicyRefusedError);
    expect(report.error!.message).toMatch(/userdata names 1 Nix channel\(s\) \(nixos\), and policy "baked" allows no downloads/);
    expect(report).toMatchObject({ outcome: "failed", exitStatus: 31 });
    expect(report.apply).toBeUndefined();
    expect(runner.calls).toEqual([]);
    expect(completions(i)).toEqual([expect.objectContaining({ result: "ABANDON", via: "api" })]);
    expect(await i.system()).toEqual(amiSystem(i.machine));
    expect(await i.status()).toMatchObject({ phase: "error", outcome: "failed", exitStatus: 31, error: { code: "POLICY_REFUSED" } });
  });
});

describe("bootRun: no configuration in userdata", () => {
  it.each([
    ["no userdata at all", null],
    ["only comments", "# launched by the fleet stack\n\n"],
  ])("with %s: applies nothing and reports CONTINUE", async (_, userdata) => {
    const i = await bootInstance();
    i.cloud.aws.state.startLifecycleAction(INSTANCE);
    i.setUserdata(userdata);
    const runner = recordingRunner(i.machine.runner);

    const report = await i.boot({ deps: { runner } });

    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ outcome: "nothing-to-apply", exitStatus: 0, userdata: { class: "empty" } });
    expect(report.apply).toBeUndefined();
    expect(runner.calls).toEqual([]);
    expect(completions(i)).toEqual([expect.objectContaining({ result: "CONTINUE", via: "api" })]);
    expect(await i.system()).toEqual(amiSystem(i.machine));
    const status = await i.status();
    expect(status).toMatchObject({ phase: "done", outcome: "nothing-to-apply", exitStatus: 0, lifecycle: { result: "completed", action: "CONTINUE" } });
    expect(status!.steps.map((s) => s.name)).toEqual(["imds", "intake", "recover"]);
  });

  it("still recovers a switch an earlier run left half done: rolls it back, then reports CONTINUE", async () => {
    const i = await bootInstance();
    i.setUserdata(freshConfig());
    // The earlier boot dies in its health gate: the candidate runs, nothing is committed.
    const isHealthGate = (argv: readonly string[]): boolean => argv[0] === FAKE_SYSTEMCTL && argv[1] === "is-system-running";
    const frozen = freezingRunner(i.machine.runner, isHealthGate, { after: false });
    void i.boot({ deps: { runner: frozen } });
    await frozen.reached;
    await markLockDead(i.machine.paths.stateDir);
    expect(await i.machine.resolve(i.machine.paths.currentSystem)).not.toBe(i.machine.amiSystem);

    i.setUserdata(null);
    i.cloud.aws.state.startLifecycleAction(INSTANCE);
    const report = await i.boot();

    expect(report).toMatchObject({ outcome: "nothing-to-apply", exitStatus: 0 });
    expect(await i.system()).toEqual(amiSystem(i.machine));
    expect((await readJournal(i.machine.paths.stateDir)).inFlight).toBeNull();
    expect(completions(i)).toEqual([expect.objectContaining({ result: "CONTINUE", via: "api" })]);
  });
});

describe("bootRun: IMDS", () => {
  it("reports ABANDON at once when the userdata cannot be read though the instance is known (exit 12)", async () => {
    const i = await bootInstance();
    i.cloud.aws.state.startLifecycleAction(INSTANCE);
    i.setUserdata(freshConfig());
    i.cloud.imds.state.faults.bursts.push({ count: 1, response: 400, path: "/latest/user-data" });
    const runner = recordingRunner(i.machine.runner);

    const report = await i.boot({ deps: { runner } });

    expect(report.error?.code).toBe("IMDS_PROTOCOL");
    expect(report.error!.message).toBe("IMDS answered GET /latest/user-data with unexpected HTTP 400");
    expect(report).toMatchObject({ outcome: "failed", exitStatus: 12, instanceId: INSTANCE });
    expect(report.userdata).toBeUndefined();
    expect(runner.calls).toEqual([]);
    // Not left waiting for the hook's heartbeat timeout: the result goes out now.
    expect(report.lifecycle).toMatchObject({ group: GROUP, hook: HOOK, result: "completed", action: "ABANDON" });
    expect(completions(i)).toEqual([expect.objectContaining({ instanceId: INSTANCE, result: "ABANDON", via: "api" })]);
    expect(await i.system()).toEqual(amiSystem(i.machine));
    const status = await i.status();
    expect(status).toMatchObject({ phase: "error", outcome: "failed", exitStatus: 12, instanceId: INSTANCE, error: { code: "IMDS_PROTOCOL" }, lifecycle: { action: "ABANDON" } });
    expect(status!.steps).toEqual([expect.objectContaining({ name: "imds", ok: false })]);
  });

  it("reports ABANDON for userdata that cannot be decoded (exit 20)", async () => {
    const i = await bootInstance();
    i.cloud.aws.state.startLifecycleAction(INSTANCE);
    const garbage = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef]); // a gzip header, then nothing valid
    i.cloud.imds.state.userdata = garbage;

    const report = await i.boot();

    expect(report.error?.code).toBe("USERDATA_INVALID");
    expect(report).toMatchObject({ outcome: "failed", exitStatus: 20 });
    expect(completions(i)).toEqual([expect.objectContaining({ result: "ABANDON", via: "api" })]);
    const status = await i.status();
    expect(status).toMatchObject({ phase: "error", exitStatus: 20, error: { code: "USERDATA_INVALID" } });
    expect(status!.steps.map((s) => [s.name, s.ok])).toEqual([["imds", true], ["intake", false]]);
  });

  it("cannot report anything without the instance id: exits 10 and leaves the hook to its timeout", async () => {
    const i = await bootInstance();
    i.cloud.aws.state.startLifecycleAction(INSTANCE);
    i.setUserdata(freshConfig());
    i.cloud.imds.state.faults.bursts.push({ count: 1_000, response: 503 });

    const report = await i.boot({ deps: { imds: createImdsClient({ endpoint: i.cloud.imds.url, requestTimeoutMs: 200, budgetMs: 300, clock: systemClock, logger: silent() }) } });

    expect(report).toMatchObject({ outcome: "failed", exitStatus: 10 });
    expect(report.error?.code).toBe("IMDS_UNREACHABLE");
    expect(report.instanceId).toBeUndefined();
    expect(report.lifecycle).toBeUndefined();
    expect(i.cloud.aws.state.requestCount()).toBe(0);
    expect(i.cloud.aws.state.action(INSTANCE)?.status).toBe("pending");
    expect(await i.status()).toMatchObject({ phase: "error", outcome: "failed", exitStatus: 10, error: { code: "IMDS_UNREACHABLE" } });
  });
});

describe("bootRun: a script in userdata", () => {
  const script = (marker: string): string => `#!/bin/sh\nset -e\necho "ran as a userdata script" > '${marker}'\n`;

  it("refuses it when scripts are disabled: exit 36, ABANDON, the script does not run", async () => {
    const i = await bootInstance();
    i.cloud.aws.state.startLifecycleAction(INSTANCE);
    const marker = join(i.machine.root, "script-ran");
    i.setUserdata(script(marker));

    const report = await i.boot();

    expect(report.error).toBeInstanceOf(ScriptError);
    expect(report.error!.message).toBe("userdata is a script, and running scripts is disabled");
    expect(report.error!.hint).toMatch(/--allow-scripts/);
    expect(report).toMatchObject({ outcome: "failed", exitStatus: 36, userdata: { class: "script" } });
    await expect(access(marker)).rejects.toMatchObject({ code: "ENOENT" });
    expect(completions(i)).toEqual([expect.objectContaining({ result: "ABANDON", via: "api" })]);
    expect(await i.system()).toEqual(amiSystem(i.machine));
    expect(await i.status()).toMatchObject({ phase: "error", outcome: "failed", exitStatus: 36, error: { code: "SCRIPT_FAILED" } });
  });

  it("runs it with allowScripts and reports CONTINUE", async () => {
    const i = await bootInstance();
    i.cloud.aws.state.startLifecycleAction(INSTANCE);
    const marker = join(i.machine.root, "script-ran");
    i.setUserdata(script(marker));

    const report = await i.boot({ settings: { allowScripts: true } });

    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ outcome: "script-succeeded", exitStatus: 0 });
    expect(await readFile(marker, "utf8")).toBe("ran as a userdata script\n");
    await expect(access(join(i.machine.paths.stateDir, "script", "userdata-script"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(completions(i)).toEqual([expect.objectContaining({ result: "CONTINUE", via: "api" })]);
    expect(await i.system()).toEqual(amiSystem(i.machine));
    const status = await i.status();
    expect(status).toMatchObject({ phase: "done", outcome: "script-succeeded", exitStatus: 0 });
    expect(status!.steps.map((s) => [s.name, s.ok])).toEqual([["imds", true], ["intake", true], ["recover", true], ["script", true]]);
  });

  it("reports a failing script as exit 36 and ABANDON", async () => {
    const i = await bootInstance();
    i.cloud.aws.state.startLifecycleAction(INSTANCE);
    i.setUserdata("#!/bin/sh\necho 'about to fail' >&2\nexit 3\n");

    const report = await i.boot({ settings: { allowScripts: true } });

    expect(report.error).toBeInstanceOf(ScriptError);
    expect(report.error!.message).toBe("userdata script exited with status 3");
    expect(report).toMatchObject({ outcome: "failed", exitStatus: 36 });
    expect(completions(i)).toEqual([expect.objectContaining({ result: "ABANDON", via: "api" })]);
  });
});
