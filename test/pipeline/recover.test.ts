/**
 * Killed mid-switch: a freezing runner stops the real apply at a command (after running it, or
 * before), exactly as a `kill -9` there would; the lock is then marked as a dead run's. The
 * journal, store, profile and links are whatever the real code left. Then `recover` runs.
 */
import { symlink, rename, writeFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import type { CommandRunner } from "../../agent/exec/runner.js";
import { apply, recover } from "../../agent/pipeline/index.js";
import type { Settings } from "../../agent/settings/definitions.js";
import { readJournal } from "../../agent/state/journal.js";
import { AMI_CONFIG, createMachine, failingRunner, freezingRunner, freshConfig, isProgram, isSwitch, markLockDead, recordingRunner, type Machine } from "../fixture/machine.js";

const machines: Machine[] = [];
afterEach(async () => {
  await Promise.all(machines.splice(0).map((m) => m.cleanup()));
});

type Match = (argv: readonly string[]) => boolean;
/** The candidates here are all `web` systems; the AMI's is `ami`. */
const candidateSwitch = (action: string): Match => (argv) => argv[1] === action && /-nixos-system-web\/bin\/switch-to-configuration$/.test(argv[0]!);
const amiSwitch = (action: string): Match => (argv) => argv[1] === action && /-nixos-system-ami\/bin\/switch-to-configuration$/.test(argv[0]!);
const realise: Match = (argv) => isProgram("nix-store")(argv) && argv[1] === "--realise" && argv[2] !== "--dry-run";
const parse: Match = (argv) => isProgram("nix-instantiate")(argv) && argv[1] === "--parse";
const evaluate: Match = (argv) => isProgram("nix-instantiate")(argv) && argv.includes("restrict-eval");
const dryRun: Match = (argv) => isProgram("nix-store")(argv) && argv[2] === "--dry-run";
const profileSet: Match = (argv) => isProgram("nix-env")(argv) && argv.includes("--set");
const isSystemctl: Match = (argv) => argv[0]!.endsWith("/systemctl");
/**
 * The health gate's first systemctl call. A fresh matcher per kill: it counts, since the trial
 * asks systemctl once too (is the system booting?) before the gate begins.
 */
const healthGate = (): Match => {
  let calls = 0;
  return (argv) => isSystemctl(argv) && ++calls === 2;
};

/** Starts an apply and "kills" it at `match`; returns the machine in the state the kill left. */
async function killedAt(match: Match, options: { after: boolean; text?: string; settings?: Partial<Settings> }): Promise<{ m: Machine; text: string }> {
  const m = await createMachine();
  machines.push(m);
  const text = options.text ?? freshConfig();
  const frozen = freezingRunner(m.runner, match, { after: options.after });
  void apply({ text }, m.deps({ runner: frozen, ...(options.settings ? { settings: options.settings } : {}) }));
  await frozen.reached;
  await markLockDead(m.paths.stateDir);
  return { m, text };
}

async function expectPrevious(m: Machine): Promise<void> {
  expect(await m.resolve(m.paths.currentSystem)).toBe(m.amiSystem);
  expect(await m.resolve(m.paths.profile)).toBe(m.amiSystem);
  expect(await m.resolve(m.paths.bootDefault)).toBe(m.amiSystem);
  expect(await m.readConfig()).toBe(AMI_CONFIG);
  const journal = await readJournal(m.paths.stateDir);
  expect(journal.inFlight).toBeNull();
}

describe("killed before anything changed", () => {
  it.each([
    ["parse", parse, false],
    ["evaluation", evaluate, false],
    ["plan", dryRun, false],
    ["build", realise, false],
    ["build (after the build finished)", realise, true],
  ])("during %s: nothing to recover, the machine is untouched", async (_, match, after) => {
    const { m } = await killedAt(match, { after });
    const report = await recover(m.deps());
    expect(report.outcome).toBe("nothing-to-recover");
    expect(report.systemPath).toBe(m.amiSystem);
    await expectPrevious(m);
  });
});

describe("killed during the trial: rolled back", () => {
  it.each([
    ["after the candidate was activated", true],
    ["before the candidate's activation started", false],
  ])("during activation, %s", async (_, after) => {
    const { m } = await killedAt(candidateSwitch("test"), { after });
    expect((await readJournal(m.paths.stateDir)).inFlight?.step).toBe("activate");
    if (after) expect(await m.resolve(m.paths.currentSystem)).not.toBe(m.amiSystem);
    const report = await recover(m.deps());
    expect(report).toMatchObject({ outcome: "rolled-back", interrupted: { step: "activate", previousSystem: m.amiSystem }, systemPath: m.amiSystem });
    await expectPrevious(m);
    expect((await m.activations()).at(-1)).toBe(`test ${m.amiSystem} 0`);
    expect(await m.generations()).toEqual([1]);
    expect((await readJournal(m.paths.stateDir)).lastResult).toMatchObject({ outcome: "rolled-back", recovered: true });
  });

  it("during the health gate", async () => {
    const { m } = await killedAt(healthGate(), { after: false });
    expect((await readJournal(m.paths.stateDir)).inFlight?.step).toBe("health");
    const report = await recover(m.deps());
    expect(report).toMatchObject({ outcome: "rolled-back", interrupted: { step: "health" } });
    await expectPrevious(m);
  });

  it("during a rollback", async () => {
    const { m } = await killedAt(amiSwitch("test"), { after: false, text: freshConfig("  services.fixture.failActivation = true;") });
    expect((await readJournal(m.paths.stateDir)).inFlight).toMatchObject({ step: "rollback", failure: { step: "activate" } });
    const report = await recover(m.deps());
    expect(report).toMatchObject({ outcome: "rolled-back", interrupted: { step: "rollback" } });
    await expectPrevious(m);
  });
});

describe("killed during the commit (health had passed)", () => {
  it.each([
    ["before", false],
    ["after", true],
  ])("%s the new generation: the candidate runs, so the commit is completed", async (_, after) => {
    const { m, text } = await killedAt(profileSet, { after });
    const intent = (await readJournal(m.paths.stateDir)).inFlight!;
    expect(intent.step).toBe("commit");
    expect(await m.generations()).toEqual(after ? [1, 2] : [1]);
    const report = await recover(m.deps());
    expect(report).toMatchObject({ outcome: "completed", interrupted: { step: "commit" }, systemPath: intent.systemPath });
    expect(await m.resolve(m.paths.currentSystem)).toBe(intent.systemPath);
    expect(await m.resolve(m.paths.profile)).toBe(intent.systemPath);
    expect(await m.resolve(m.paths.bootDefault)).toBe(intent.systemPath);
    expect(await m.readConfig()).toBe(text);
    expect(await m.generations()).toEqual([1, 2]);
    const journal = await readJournal(m.paths.stateDir);
    expect(journal).toMatchObject({ inFlight: null, lastApplied: { systemPath: intent.systemPath, generation: 2 }, lastResult: { outcome: "applied", recovered: true } });
    // The next run with the same userdata switches nothing and evaluates nothing.
    const runner = recordingRunner(m.runner);
    expect(await apply({ text }, m.deps({ runner }))).toMatchObject({ outcome: "unchanged", evaluations: 0 });
    expect(runner.calls).toEqual([]);
  });

  it("after the boot default and the configuration file were written: completing adds no generation", async () => {
    const { m, text } = await killedAt(candidateSwitch("boot"), { after: true });
    await writeFile(m.paths.config, text); // the commit's last part, done just before the kill
    const report = await recover(m.deps());
    expect(report.outcome).toBe("completed");
    expect(await m.generations()).toEqual([1, 2]);
    expect(await m.readConfig()).toBe(text);
    expect(await m.resolve(m.paths.bootDefault)).toBe(report.interrupted!.systemPath);
  });

  it("then a reboot came back on the previous system: the commit is undone", async () => {
    const { m } = await killedAt(profileSet, { after: true });
    // A power loss: the boot default was still the AMI's, so that is what booted.
    await symlink(m.amiSystem!, `${m.paths.currentSystem}.new`);
    await rename(`${m.paths.currentSystem}.new`, m.paths.currentSystem);
    const report = await recover(m.deps());
    expect(report).toMatchObject({ outcome: "rolled-back", interrupted: { step: "commit" } });
    await expectPrevious(m);
    expect(await m.generations()).toEqual([1, 2]); // generation 2 stays, unused
  });
});

describe("killed while staging (mode boot)", () => {
  it("after the new generation: the stage is completed, nothing is activated", async () => {
    const { m, text } = await killedAt(profileSet, { after: true, settings: { mode: "boot" } });
    expect((await readJournal(m.paths.stateDir)).inFlight?.step).toBe("stage");
    const report = await recover(m.deps());
    expect(report.outcome).toBe("completed");
    expect(await m.resolve(m.paths.currentSystem)).toBe(m.amiSystem);
    expect(await m.resolve(m.paths.bootDefault)).toBe(report.interrupted!.systemPath);
    expect(await m.readConfig()).toBe(text);
    expect((await readJournal(m.paths.stateDir)).lastResult).toMatchObject({ outcome: "staged", recovered: true });
  });
});

describe("apply recovers first", () => {
  it("rolls back an interrupted switch, then applies a new candidate", async () => {
    const { m } = await killedAt(healthGate(), { after: false });
    const report = await apply({ text: freshConfig() }, m.deps());
    expect(report.recovery).toMatchObject({ outcome: "rolled-back", interrupted: { step: "health" } });
    expect(report.outcome).toBe("applied");
    expect(report.steps.map((s) => s.name).slice(0, 3)).toEqual(["lock", "recover", "parse"]);
  });

  it("does not retry, in the same run, the candidate whose switch was interrupted", async () => {
    const { m, text } = await killedAt(healthGate(), { after: false });
    const report = await apply({ text }, m.deps());
    expect(report.outcome).toBe("rolled-back");
    expect(report.error!.message).toMatch(/was interrupted during health and has been rolled back/);
    expect(report.evaluations).toBe(0);
    await expectPrevious(m);
    expect((await apply({ text }, m.deps())).outcome).toBe("applied"); // a later run does
  });
});

describe("recover itself", () => {
  it("keeps a switch whose rollback fails in the journal, and finishes it on the next run", async () => {
    const { m } = await killedAt(candidateSwitch("test"), { after: true });
    const broken: CommandRunner = failingRunner(m.runner, isSwitch(m.amiSystem, "test"), 2);
    const failed = await recover(m.deps({ runner: broken }));
    expect(failed.outcome).toBe("rollback-failed");
    expect(failed.error?.code).toBe("ROLLBACK_FAILED");
    expect((await readJournal(m.paths.stateDir)).inFlight?.step).toBe("activate");
    const fixed = await recover(m.deps());
    expect(fixed.outcome).toBe("rolled-back");
    await expectPrevious(m);
  });

  it("finds nothing to recover on a clean machine, and reports a busy lock", async () => {
    const m = await createMachine();
    machines.push(m);
    expect(await recover(m.deps())).toMatchObject({ outcome: "nothing-to-recover", systemPath: m.amiSystem });
    await writeFile(`${m.paths.stateDir}/lock`, JSON.stringify({ pid: process.pid, token: "other", since: "now" }));
    const busy = await recover(m.deps());
    expect(busy.outcome).toBe("failed");
    expect(busy.error?.code).toBe("BUSY");
  });
});
