import { access, readFile, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { exitStatusFor } from "../../agent/cli/exit-status.js";
import { BuildFailedError, ConfigEvalError, ConfigSyntaxError, PolicyRefusedError } from "../../agent/nix/errors.js";
import { apply } from "../../agent/pipeline/index.js";
import { readJournal } from "../../agent/state/journal.js";
import { ActivationFailedError, CommitFailedError, HealthCheckFailedError } from "../../agent/system/errors.js";
import { AMI_CONFIG, createMachine, failingRunner, freshConfig, gatedRunner, isProgram, isSwitch, isValidPath, recordingRunner, type Machine } from "../fixture/machine.js";

const machines: Machine[] = [];
afterEach(async () => {
  await Promise.all(machines.splice(0).map((m) => m.cleanup()));
});
async function machine(): Promise<Machine> {
  const m = await createMachine();
  machines.push(m);
  return m;
}

/** The machine is exactly as the AMI left it: running, committed, configured. */
async function expectUntouched(m: Machine): Promise<void> {
  expect(await m.resolve(m.paths.currentSystem)).toBe(m.amiSystem);
  expect(await m.resolve(m.paths.profile)).toBe(m.amiSystem);
  expect(await m.resolve(m.paths.bootDefault)).toBe(m.amiSystem);
  expect(await m.readConfig()).toBe(AMI_CONFIG);
}

describe("apply, mode switch", () => {
  it("switches to a valid configuration: trial, health, new generation, boot default, configuration file", async () => {
    const m = await machine();
    const text = freshConfig();
    const report = await apply({ text }, m.deps());
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ outcome: "applied", mode: "switch", generation: 2, previousSystem: m.amiSystem, evaluations: 1 });
    expect(report.steps.map((s) => [s.name, s.ok])).toEqual([
      ["lock", true], ["parse", true], ["evaluate", true], ["plan", true], ["build", true], ["activate", true], ["health", true], ["commit", true],
    ]);
    expect(report.nixCommandMs).toBeGreaterThan(0);
    const system = report.systemPath!;
    expect(system).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-system-web$/);
    expect(await isValidPath(system)).toBe(true);
    expect(await m.resolve(m.paths.currentSystem)).toBe(system);
    expect(await m.generations()).toEqual([1, 2]);
    expect(await readlink(join(m.root, "profiles", "system-2-link"))).toBe(system);
    expect(await m.resolve(m.paths.profile)).toBe(system);
    expect(await m.resolve(m.paths.bootDefault)).toBe(system);
    expect(await m.readConfig()).toBe(text);
    expect(await readFile(`${m.paths.config}.previous`, "utf8")).toBe(AMI_CONFIG);
    expect(await readFile(join(m.root, "etc", "static", "hostname"), "utf8")).toBe("web");
    expect(await m.resolve(join(m.paths.stateDir, "gcroots", "candidate"))).toBe(system);
    const journal = await readJournal(m.paths.stateDir);
    expect(journal.inFlight).toBeNull();
    expect(journal.lastApplied).toMatchObject({ systemPath: system, generation: 2, candidateSha256: report.candidate!.sha256 });
    expect(report.health).toEqual([{ check: "systemd", ok: true, attempts: 1, detail: 'system state "running"' }]);
  });

  it("changes nothing on a rerun with the same candidate, without evaluating", async () => {
    const m = await machine();
    const text = freshConfig();
    const first = await apply({ text }, m.deps());
    expect(first.outcome).toBe("applied");
    const activations = (await m.activations()).length;
    const runner = recordingRunner(m.runner);
    const second = await apply({ text }, m.deps({ runner }));
    expect(second).toMatchObject({ outcome: "unchanged", unchangedReason: "same-candidate", evaluations: 0, generation: 2, systemPath: first.systemPath });
    expect(runner.calls).toEqual([]);
    expect(second.steps.map((s) => s.name)).toEqual(["lock"]);
    expect(await m.generations()).toEqual([1, 2]);
    expect(await m.activations()).toHaveLength(activations);
  });

  it("changes nothing when a different text gives the running system, but keeps the new text", async () => {
    const m = await machine();
    const text = freshConfig();
    const first = await apply({ text }, m.deps());
    const commented = `# only a comment changed\n${text}`;
    const runner = recordingRunner(m.runner);
    const second = await apply({ text: commented }, m.deps({ runner }));
    expect(second).toMatchObject({ outcome: "unchanged", unchangedReason: "same-system", evaluations: 1, systemPath: first.systemPath });
    expect(runner.programs()).toEqual(["nix-instantiate", "nix-instantiate"]); // parse, evaluate: no build, no activation
    expect(await m.readConfig()).toBe(commented);
    expect(await m.generations()).toEqual([1, 2]);
  });

  it.each([
    ["the activation script fails (exit 2)", "services.fixture.failActivation = true;", /switch-to-configuration test failed: the activation script failed/],
    ["units fail (exit 4)", "services.fixture.failUnits = true;", /switch-to-configuration test failed: one or more units failed to start or restart/],
  ])("rolls back when %s", async (_, option, message) => {
    const m = await machine();
    const report = await apply({ text: freshConfig(`  ${option}`) }, m.deps());
    expect(report.outcome).toBe("rolled-back");
    expect(report.error).toBeInstanceOf(ActivationFailedError);
    expect(report.error!.message).toMatch(message);
    expect(exitStatusFor(report.error)).toBe(33);
    expect(report.failedStep).toBe("activate");
    expect(report.steps.map((s) => [s.name, s.ok]).slice(-2)).toEqual([["activate", false], ["rollback", true]]);
    await expectUntouched(m);
    expect(await m.generations()).toEqual([1]);
    expect((await m.activations()).slice(-2)).toEqual([expect.stringMatching(/^test \/nix\/store\/.*-nixos-system-web [24]$/), `test ${m.amiSystem} 0`]);
    // The candidate's failed unit (exit 4) would leave the previous system degraded: reset after the rollback.
    expect(await m.systemctlCalls()).toEqual(["reset-failed"]);
    expect(await m.failedUnits()).toEqual([]);
    expect(await readFile(join(m.root, "run", "systemd-state"), "utf8")).toBe("running\n");
    const journal = await readJournal(m.paths.stateDir);
    expect(journal.inFlight).toBeNull();
    expect(journal.lastResult).toMatchObject({ outcome: "rolled-back", error: { code: "ACTIVATION_FAILED" } });
  });

  it("rolls back when the health gate fails (degraded), reporting the check", async () => {
    const m = await machine();
    const report = await apply({ text: freshConfig('  services.fixture.systemState = "degraded";') }, m.deps({ settings: { healthTimeoutSeconds: 3 } }));
    expect(report.outcome).toBe("rolled-back");
    expect(report.error).toBeInstanceOf(HealthCheckFailedError);
    expect(report.error!.message).toBe('health check systemd did not pass within 3 s: system state "degraded"');
    expect(report.failedStep).toBe("health");
    expect(report.health).toEqual([expect.objectContaining({ check: "systemd", ok: false, detail: 'system state "degraded"' })]);
    await expectUntouched(m);
    expect(await readFile(join(m.root, "run", "systemd-state"), "utf8")).toBe("running\n");
  });

  it("adds a launch's health checks to the settings' and rolls back when one fails", async () => {
    const m = await machine();
    const report = await apply({ text: freshConfig() }, m.deps({ directives: { healthChecks: ["unit:db"], healthTimeoutSeconds: 2 } }));
    expect(report.outcome).toBe("rolled-back");
    expect(report.health?.map((c) => [c.check, c.ok])).toEqual([["systemd", true], ["unit:db", false]]);
    await expectUntouched(m);
  });

  it("rolls back a failed commit: profile, boot default, configuration file and activation", async () => {
    const m = await machine();
    const text = freshConfig();
    const candidateBoot = (argv: readonly string[]) => argv[1] === "boot" && argv[0]!.endsWith("/bin/switch-to-configuration") && !argv[0]!.startsWith(m.amiSystem!);
    const runner = failingRunner(m.runner, candidateBoot, 1);
    const report = await apply({ text }, m.deps({ runner }));
    expect(report.outcome).toBe("rolled-back");
    expect(report.error).toBeInstanceOf(CommitFailedError);
    expect(report.failedStep).toBe("commit");
    await expectUntouched(m);
    expect(await m.generations()).toEqual([1, 2]); // the candidate's generation stays, unused
  });

  it("reports a failed rollback distinctly and keeps the switch in the journal", async () => {
    const m = await machine();
    const runner = failingRunner(m.runner, isSwitch(m.amiSystem, "test"), 2);
    const report = await apply({ text: freshConfig("  services.fixture.failActivation = true;") }, m.deps({ runner }));
    expect(report.outcome).toBe("rollback-failed");
    expect(report.error?.code).toBe("ROLLBACK_FAILED");
    expect(report.error!.message).toMatch(/activating the previous system .* again failed: switch-to-configuration test failed: the activation script failed/);
    expect(exitStatusFor(report.error)).toBe(34);
    const journal = await readJournal(m.paths.stateDir);
    expect(journal.inFlight).toMatchObject({ step: "rollback", failure: { step: "activate", code: "ACTIVATION_FAILED" } });
    expect(journal.lastResult?.outcome).toBe("rollback-failed");
  });
});

describe("apply at boot: nixboot's own start job is queued, multi-user.target waits for it", () => {
  /** No call may wait for boot to finish: boot waits for nixboot. */
  const expectNoBlockingCall = (calls: string[][]) => {
    expect(calls.filter((argv) => argv.includes("--wait"))).toEqual([]);
    expect(calls.filter((argv) => argv[1] === "start" && !argv.includes("--no-block"))).toEqual([]);
  };

  it("applies, starting the candidate's new units through multi-user.target, with only waiting jobs left", async () => {
    const m = await machine();
    await m.boot();
    const runner = recordingRunner(m.runner);
    // `web` is new in the candidate: switch-to-configuration test does not start it at boot.
    const report = await apply({ text: freshConfig() }, m.deps({ runner, directives: { healthChecks: ["unit:web"] } }));
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ outcome: "applied", generation: 2 });
    expect(report.health).toEqual([
      { check: "systemd", ok: true, attempts: 1, detail: 'system state "starting" (booting): only jobs waiting for nixboot.service (2), no failed units' },
      { check: "unit:web", ok: true, attempts: 1, detail: "web is active" },
    ]);
    expect(await m.systemctlCalls()).toEqual(["start --no-block multi-user.target"]);
    const trial = runner.calls.findIndex((argv) => argv[1] === "test");
    const queued = runner.calls.findIndex((argv) => argv[1] === "start");
    const health = runner.calls.findIndex((argv) => argv[1] === "list-jobs");
    expect(trial).toBeLessThan(queued);
    expect(queued).toBeLessThan(health);
    expectNoBlockingCall(runner.calls);
  });

  it("rolls back when a unit failed, then resets it and queues the previous system's units", async () => {
    const m = await machine();
    await m.boot();
    const runner = recordingRunner(m.runner);
    const report = await apply({ text: freshConfig('  services.fixture.failedUnits = [ "web" ];') }, m.deps({ runner, settings: { healthTimeoutSeconds: 3 } }));
    expect(report.outcome).toBe("rolled-back");
    expect(report.error).toBeInstanceOf(HealthCheckFailedError);
    expect(report.error!.message).toBe('health check systemd did not pass within 3 s: system state "starting" (booting): failed units: web.service');
    expect(report.failedStep).toBe("health");
    await expectUntouched(m);
    expect(await m.systemctlCalls()).toEqual(["start --no-block multi-user.target", "reset-failed", "start --no-block multi-user.target"]);
    expect(await m.failedUnits()).toEqual([]);
    expectNoBlockingCall(runner.calls);
  });

  it("keeps polling while another unit's start job runs, then fails at the deadline and rolls back", async () => {
    const m = await machine();
    await m.boot();
    const report = await apply({ text: freshConfig('  services.fixture.slowUnits = [ "web" ];') }, m.deps({ settings: { healthTimeoutSeconds: 3 } }));
    expect(report.outcome).toBe("rolled-back");
    expect(report.error!.message).toBe('health check systemd did not pass within 3 s: system state "starting" (booting): jobs not done: web.service (start running)');
    expect(report.health![0]!.attempts).toBeGreaterThan(1);
    expect(await m.jobs()).toContain("103 web.service start running");
    await expectUntouched(m);
  });
});

describe("apply, mode boot", () => {
  it("stages the candidate for the next boot without activating it", async () => {
    const m = await machine();
    const text = freshConfig();
    const report = await apply({ text }, m.deps({ directives: { mode: "boot" } }));
    expect(report).toMatchObject({ outcome: "staged", mode: "boot", generation: 2 });
    expect(report.steps.map((s) => s.name)).toEqual(["lock", "parse", "evaluate", "plan", "build", "commit"]);
    expect(await m.resolve(m.paths.currentSystem)).toBe(m.amiSystem);
    expect(await m.resolve(m.paths.profile)).toBe(report.systemPath);
    expect(await m.resolve(m.paths.bootDefault)).toBe(report.systemPath);
    expect(await m.readConfig()).toBe(text);
    expect((await m.activations()).some((line) => line.startsWith(`test ${report.systemPath}`))).toBe(false);
    const again = await apply({ text }, m.deps({ directives: { mode: "boot" } }));
    expect(again).toMatchObject({ outcome: "unchanged", evaluations: 0 });
  });
});

describe("apply stops before changing anything", () => {
  it("on a syntax error, with line and column", async () => {
    const m = await machine();
    const report = await apply({ text: "{ config, ... }:\n{\n  networking.hostName = \"x\"\n  boot = 1;\n}\n", label: "userdata" }, m.deps());
    expect(report.outcome).toBe("failed");
    expect(report.error).toBeInstanceOf(ConfigSyntaxError);
    expect((report.error as ConfigSyntaxError).location).toMatchObject({ file: "userdata", line: 4 });
    expect(report.failedStep).toBe("parse");
    expect(report.evaluations).toBe(0);
    expect(exitStatusFor(report.error)).toBe(30);
    await expectUntouched(m);
  });

  it("on an evaluation error", async () => {
    const m = await machine();
    const report = await apply({ text: "{ services.nginx.enable = true; }" }, m.deps());
    expect(report).toMatchObject({ outcome: "failed", failedStep: "evaluate", evaluations: 1 });
    expect(report.error).toBeInstanceOf(ConfigEvalError);
    await expectUntouched(m);
  });

  it("on a policy refusal, naming the download, and builds nothing; a launch directive can allow it", async () => {
    const m = await machine();
    const salt = Math.random().toString(16).slice(2);
    const text = freshConfig(`  fixture.fetchSource = "${salt}";`);
    const report = await apply({ text }, m.deps());
    expect(report).toMatchObject({ outcome: "failed", failedStep: "plan" });
    expect(report.error).toBeInstanceOf(PolicyRefusedError);
    expect(report.error!.message).toContain(`fixture-source-${salt}.drv`);
    expect(report.plan).toMatchObject({ allowed: false, policy: "baked" });
    expect(await isValidPath(report.systemPath!)).toBe(false);
    await expectUntouched(m);
    const allowed = await apply({ text }, m.deps({ directives: { policy: "any" } }));
    expect(allowed.outcome).toBe("applied");
  });

  it("on a build failure", async () => {
    const m = await machine();
    const report = await apply({ text: freshConfig("  fixture.failBuild = true;") }, m.deps());
    expect(report).toMatchObject({ outcome: "failed", failedStep: "build" });
    expect(report.error).toBeInstanceOf(BuildFailedError);
    expect(report.error!.message).toContain("fixture-broken-package");
    await expectUntouched(m);
  });

  it("on invalid health-check settings, before taking the lock", async () => {
    const m = await machine();
    const runner = recordingRunner(m.runner);
    const report = await apply({ text: freshConfig() }, m.deps({ runner, settings: { healthChecks: ["systemd", "tcp:80"] } }));
    expect(report).toMatchObject({ outcome: "failed", steps: [] });
    expect(report.error?.code).toBe("SETTINGS_INVALID");
    expect(runner.calls).toEqual([]);
    await expect(access(join(m.paths.stateDir, "lock"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("on a candidate file that cannot be read", async () => {
    const m = await machine();
    const report = await apply({ file: join(m.root, "missing.nix") }, m.deps());
    expect(report.outcome).toBe("failed");
    expect(report.error!.message).toMatch(/cannot read the configuration .*missing\.nix/);
  });
});

describe("apply with a file", () => {
  it("names the file in messages", async () => {
    const m = await machine();
    const file = join(m.root, "candidate.nix");
    await writeFile(file, "{\n  networking.hostName = 1 + \"a\";\n}\n");
    const report = await apply({ file }, m.deps());
    expect(report.error).toBeInstanceOf(ConfigEvalError);
    expect((report.error as ConfigEvalError).location).toEqual({ file, line: 2, column: 29 });
    expect(report.candidate?.label).toBe(file);
  });
});

describe("one run at a time", () => {
  it("a second apply waits for the lock, then fails with BusyError; the first completes", async () => {
    const m = await machine();
    const gated = gatedRunner(m.runner, (argv) => isProgram("nix-store")(argv) && argv[1] === "--realise" && argv[2] !== "--dry-run");
    const first = apply({ text: freshConfig() }, m.deps({ runner: gated }));
    await gated.reached;
    const second = await apply({ text: freshConfig() }, m.deps());
    expect(second.outcome).toBe("failed");
    expect(second.error?.code).toBe("BUSY");
    expect(second.error!.message).toContain(`pid ${process.pid}`);
    expect(exitStatusFor(second.error)).toBe(35);
    gated.open();
    expect((await first).outcome).toBe("applied");
  });
});
