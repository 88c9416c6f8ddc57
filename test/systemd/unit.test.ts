import { existsSync } from "node:fs";
import { chmod, copyFile, cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SETTINGS } from "../../agent/settings/definitions.js";
import { readUnit, run, tempDir, timespanMicroseconds, UNIT_FILE, value, words } from "./helpers.js";

/** Where the host keeps its distribution units (sysinit.target, multi-user.target...). */
const HOST_UNITS = ["/usr/lib/systemd/system", "/lib/systemd/system"].find((dir) => existsSync(join(dir, "multi-user.target")));

/**
 * A throwaway root with the unit installed as a package would install it: the unit in
 * /etc/systemd/system, the launcher its ExecStart names at /usr/bin/nixboot (a stub: verify only
 * checks that it is executable), and the host's own system units, so the targets it orders
 * against are real. `systemd-analyze verify --root` then checks ExecStart inside that root,
 * without touching the machine's /usr/bin.
 */
async function installedRoot(options: { launcher: boolean }): Promise<string> {
  if (HOST_UNITS === undefined) throw new Error("no distribution systemd units on this machine (multi-user.target not found)");
  const root = await tempDir("nixboot-unit-root-");
  await mkdir(join(root, "etc/systemd/system"), { recursive: true });
  await mkdir(join(root, "usr/lib/systemd"), { recursive: true });
  await cp(HOST_UNITS, join(root, "usr/lib/systemd/system"), { recursive: true, verbatimSymlinks: true });
  await copyFile(UNIT_FILE, join(root, "etc/systemd/system/nixboot.service"));
  if (options.launcher) {
    await mkdir(join(root, "usr/bin"), { recursive: true });
    await writeFile(join(root, "usr/bin/nixboot"), "#!/bin/sh\nexit 0\n");
    await chmod(join(root, "usr/bin/nixboot"), 0o755);
  }
  return root;
}

describe("systemd/nixboot.service under systemd-analyze verify", () => {
  const roots: string[] = [];
  afterEach(async () => {
    await Promise.all(roots.splice(0).map((root) => rm(root, { recursive: true, force: true })));
  });

  it("verifies cleanly (no warning either) once installed with its launcher", async () => {
    const root = await installedRoot({ launcher: true });
    roots.push(root);
    const outcome = await run("systemd-analyze", ["verify", `--root=${root}`, "nixboot.service"]);
    expect(outcome.stderr).toBe("");
    expect(outcome.status).toBe(0);
  });

  it("fails without the launcher: verify really checks ExecStart in that root", async () => {
    const root = await installedRoot({ launcher: false });
    roots.push(root);
    const outcome = await run("systemd-analyze", ["verify", `--root=${root}`, "nixboot.service"]);
    expect(outcome.status).not.toBe(0);
    expect(outcome.stderr).toContain("/usr/bin/nixboot is not executable");
  });
});

describe("ordering: a unit After=nixboot.service and wanted by multi-user.target", () => {
  let root = "";

  /** app.service: a service that must only run with the applied configuration. */
  beforeEach(async () => {
    root = await installedRoot({ launcher: true });
    await writeFile(
      join(root, "etc/systemd/system/app.service"),
      "[Unit]\nDescription=needs the applied configuration\nAfter=nixboot.service\n\n[Service]\nType=oneshot\nExecStart=/usr/bin/nixboot\n\n[Install]\nWantedBy=multi-user.target\n",
    );
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function bootTransaction(): Promise<{ status: number; stderr: string }> {
    const enabled = await run("systemctl", [`--root=${root}`, "enable", "nixboot.service", "app.service"]);
    expect(enabled.status, enabled.stderr).toBe(0);
    return run("systemd-analyze", ["verify", `--root=${root}`, "multi-user.target"]);
  }

  it("starts in the boot transaction of multi-user.target without an ordering cycle", async () => {
    const outcome = await bootTransaction();
    expect(outcome.stderr).toBe("");
    expect(outcome.status).toBe(0);
  });

  it("forms an ordering cycle with amazon-init's ordering (After=multi-user.target): the cycle this unit avoids", async () => {
    const unitPath = join(root, "etc/systemd/system/nixboot.service");
    const amazonInitStyle = (await readFile(unitPath, "utf8")).replace(/^Before=multi-user\.target$/m, "After=multi-user.target");
    expect(amazonInitStyle).toMatch(/^After=multi-user\.target$/m);
    await writeFile(unitPath, amazonInitStyle);
    const outcome = await bootTransaction();
    expect(outcome.stderr).toContain("Found ordering cycle");
    // systemd breaks the cycle by deleting one of its start jobs, either app's or nixboot's:
    // which one is not deterministic, and either way a boot loses a unit.
    expect(outcome.stderr).toMatch(/Job (app|nixboot)\.service\/start deleted to break ordering cycle/);
  });
});

describe("the unit's contract", () => {
  it("is a oneshot that stays active, runs `nixboot run`, and logs to the journal", async () => {
    const unit = await readUnit();
    expect(value(unit, "Service", "Type")).toBe("oneshot");
    expect(value(unit, "Service", "RemainAfterExit")).toBe("yes");
    expect(value(unit, "Service", "ExecStart")).toBe("/usr/bin/nixboot run");
    expect(value(unit, "Service", "StateDirectory")).toBe("nixboot");
    expect(value(unit, "Service", "StandardOutput")).toBe("journal");
    expect(value(unit, "Service", "Restart")).toBe("no");
  });

  it("comes after the network and before multi-user.target, which wants it", async () => {
    const unit = await readUnit();
    expect(words(unit, "Unit", "Wants")).toContain("network-online.target");
    expect(words(unit, "Unit", "After")).toContain("network-online.target");
    expect(words(unit, "Unit", "Before")).toEqual(["multi-user.target"]);
    expect(words(unit, "Unit", "After")).not.toContain("multi-user.target");
    expect(words(unit, "Install", "WantedBy")).toEqual(["multi-user.target"]);
  });

  it("is never stopped or restarted by the switch-to-configuration it runs", async () => {
    const unit = await readUnit();
    // switch-to-configuration reads X-StopOnRemoval from [Unit], the other two from [Service].
    expect(value(unit, "Unit", "X-StopOnRemoval")).toBe("false");
    expect(value(unit, "Service", "X-RestartIfChanged")).toBe("false");
    expect(value(unit, "Service", "X-StopIfChanged")).toBe("false");
  });

  it("leaves the agent time to roll back and report: start timeout above its default budgets", async () => {
    const unit = await readUnit();
    const startTimeout = (await timespanMicroseconds(value(unit, "Service", "TimeoutStartSec"))) / 1e6;
    const seconds = (key: string): number => Number(SETTINGS.find((def) => def.key === key)?.default);
    const worstCase =
      2 * seconds("imdsBudgetSeconds") +
      seconds("lockWaitSeconds") +
      Math.max(seconds("scriptTimeoutSeconds"), seconds("evalTimeoutSeconds") + seconds("buildTimeoutSeconds") + 2 * seconds("activationTimeoutSeconds") + seconds("healthTimeoutSeconds"));
    expect(startTimeout).toBeGreaterThanOrEqual(worstCase + 600);
    expect(value(unit, "Service", "KillMode")).toBe("mixed");
    expect(value(unit, "Service", "OOMPolicy")).toBe("continue");
  });

  it("sets none of the sandboxing options that would break switching a whole system", async () => {
    const unit = await readUnit();
    const service = unit.get("Service") ?? new Map();
    const forbidden = [
      "User", "DynamicUser", "NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "PrivateMounts",
      "ProtectKernelTunables", "ProtectKernelModules", "ProtectControlGroups", "ProtectHostname", "ProtectProc", "RestrictSUIDSGID",
      "MemoryDenyWriteExecute", "SystemCallFilter", "CapabilityBoundingSet", "PrivateNetwork", "ReadOnlyPaths", "ReadWritePaths",
    ];
    expect(forbidden.filter((key) => service.has(key))).toEqual([]);
  });
});
