import { readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNixStats, type NixContext } from "../../agent/nix/nix-command.js";
import { commitSystem } from "../../agent/system/commit.js";
import { snapshotConfig } from "../../agent/system/config-file.js";
import { RollbackFailedError } from "../../agent/system/errors.js";
import { profileGeneration, resolveSystem } from "../../agent/system/links.js";
import { restoreActivation, restoreCommit } from "../../agent/system/rollback.js";
import { AMI_CONFIG, buildFixtureSystem, createMachine, FAKE_SYSTEMCTL, fastClock, freshConfig, silent, type Machine } from "../fixture/machine.js";

let machine: Machine;
let candidate: string;
let candidateText: string;
let ctx: NixContext;

beforeAll(async () => {
  machine = await createMachine();
  candidateText = freshConfig('  services.fixture.failedUnits = [ "broken" ];');
  candidate = await buildFixtureSystem(candidateText, join(machine.root, "candidate"));
  ctx = { runner: machine.runner, clock: fastClock(), logger: silent(), nixBinDir: "", stats: createNixStats() };
});
afterAll(() => machine.cleanup());

const contextOf = (m: Machine): NixContext => ({ runner: m.runner, clock: fastClock(), logger: silent(), nixBinDir: "", stats: createNixStats() });

describe("commit, then undo it", () => {
  it("adds a generation, sets the boot default and writes the configuration; restoreCommit puts all three back", async () => {
    const { paths } = machine;
    const before = await snapshotConfig(paths.config);
    expect(await profileGeneration(paths.profile)).toBe(1);

    const { generation } = await commitSystem(ctx, { systemPath: candidate, profile: paths.profile, configPath: paths.config, configText: candidateText, activationTimeoutMs: 30_000 });
    expect(generation).toBe(2);
    expect(await machine.generations()).toEqual([1, 2]);
    expect(await readlink(join(paths.profile, "..", "system-2-link"))).toBe(candidate);
    expect(await machine.resolve(paths.bootDefault)).toBe(candidate);
    expect(await machine.readConfig()).toBe(candidateText);
    expect(await machine.resolve(paths.currentSystem)).toBe(machine.amiSystem); // boot only: nothing activated

    // Idempotent: committing again adds no generation.
    await commitSystem(ctx, { systemPath: candidate, profile: paths.profile, configPath: paths.config, configText: candidateText, activationTimeoutMs: 30_000 });
    expect(await machine.generations()).toEqual([1, 2]);

    await restoreCommit(ctx, {
      profile: paths.profile,
      previousGeneration: 1,
      previousSystem: machine.amiSystem,
      candidateSystem: candidate,
      configPath: paths.config,
      previousConfig: before,
      restoreBootDefault: true,
      activationTimeoutMs: 30_000,
    });
    expect(await resolveSystem(paths.profile)).toBe(machine.amiSystem);
    expect(await profileGeneration(paths.profile)).toBe(1);
    expect(await machine.resolve(paths.bootDefault)).toBe(machine.amiSystem);
    expect(await machine.readConfig()).toBe(AMI_CONFIG);
  });
});

describe("restoreActivation", () => {
  it("activates the previous system again and checks the link", async () => {
    const { paths } = machine;
    await machine.runner.run([join(candidate, "bin", "switch-to-configuration"), "test"], { timeoutMs: 30_000 });
    expect(await machine.resolve(paths.currentSystem)).toBe(candidate);
    expect(await machine.failedUnits()).toEqual(["broken"]);
    await restoreActivation(ctx, { previousSystem: machine.amiSystem, currentSystemLink: paths.currentSystem, activationTimeoutMs: 30_000, systemctlPath: FAKE_SYSTEMCTL });
    expect(await machine.resolve(paths.currentSystem)).toBe(machine.amiSystem);
    expect((await machine.activations()).at(-1)).toBe(`test ${machine.amiSystem} 0`);
    // The candidate's failed unit outlived it; reset-failed leaves the system running, not degraded.
    expect(await machine.systemctlCalls()).toEqual(["reset-failed"]);
    expect(await machine.failedUnits()).toEqual([]);
    expect(await readFile(join(machine.root, "run", "systemd-state"), "utf8")).toBe("running\n");
  });

  it("at boot, also queues multi-user.target again, without blocking", async () => {
    const booting = await createMachine();
    try {
      await booting.boot();
      await booting.runner.run([join(candidate, "bin", "switch-to-configuration"), "test"], { timeoutMs: 30_000 });
      await restoreActivation(contextOf(booting), { previousSystem: booting.amiSystem, currentSystemLink: booting.paths.currentSystem, activationTimeoutMs: 30_000, systemctlPath: FAKE_SYSTEMCTL });
      expect(await booting.resolve(booting.paths.currentSystem)).toBe(booting.amiSystem);
      expect(await booting.systemctlCalls()).toEqual(["reset-failed", "start --no-block multi-user.target"]);
      expect(await booting.failedUnits()).toEqual([]);
    } finally {
      await booting.cleanup();
    }
  });

  it("fails distinctly without a previous system", async () => {
    const error = await restoreActivation(ctx, { previousSystem: null, currentSystemLink: machine.paths.currentSystem, activationTimeoutMs: 30_000, systemctlPath: FAKE_SYSTEMCTL }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RollbackFailedError);
    expect((error as RollbackFailedError).code).toBe("ROLLBACK_FAILED");
  });
});
