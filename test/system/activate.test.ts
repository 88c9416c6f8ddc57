import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProcessRunner } from "../../agent/exec/runner.js";
import { describeActivationStatus, switchToConfiguration } from "../../agent/system/activate.js";
import { ActivationFailedError } from "../../agent/system/errors.js";
import { fastClock, memoryLogger, silent } from "../fixture/machine.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "nixboot-activate-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A directory shaped like a system whose switch-to-configuration runs `body`. */
async function fakeSystem(name: string, body: string): Promise<string> {
  const system = join(dir, name);
  await mkdir(join(system, "bin"), { recursive: true });
  await writeFile(join(system, "bin", "switch-to-configuration"), `#!/bin/sh\n${body}\n`);
  await chmod(join(system, "bin", "switch-to-configuration"), 0o755);
  return system;
}

const ctx = (logger = silent()) => ({ runner: createProcessRunner(), clock: fastClock(), logger });

describe("switchToConfiguration", () => {
  it("passes the action and streams the output to the logger", async () => {
    const system = await fakeSystem("ok", 'echo "action $1"; echo "warn" >&2');
    const { logger, records } = memoryLogger();
    await switchToConfiguration(ctx(logger), system, "test", 10_000);
    expect(records.map((r) => r.msg)).toEqual(expect.arrayContaining(["switch-to-configuration: action test", "switch-to-configuration: warn"]));
  });

  it.each([
    [2, /the activation script failed/],
    [3, /systemd daemon-reload or systemd-tmpfiles failed/],
    [4, /one or more units failed to start or restart/],
    [7, /switch-to-configuration exited with status 7/],
  ])("maps exit status %i to a clear message", async (status, message) => {
    const system = await fakeSystem(`exit-${status}`, `echo "unit foo failed" >&2; exit ${status}`);
    const error = (await switchToConfiguration(ctx(), system, "test", 10_000).catch((e: unknown) => e)) as ActivationFailedError;
    expect(error).toBeInstanceOf(ActivationFailedError);
    expect(error.message).toMatch(message);
    expect(error.details).toMatchObject({ exitCode: status, action: "test", stderrTail: ["unit foo failed"] });
    expect(describeActivationStatus(status)).toMatch(message);
  });

  it("says so when the path is not a NixOS system", async () => {
    await expect(switchToConfiguration(ctx(), join(dir, "nothing"), "test", 10_000)).rejects.toThrow(/is not a NixOS system/);
  });

  it("fails clearly on a hung activation", async () => {
    const system = await fakeSystem("hang", "exec sleep 30");
    await expect(switchToConfiguration(ctx(), system, "test", 300)).rejects.toThrow(/did not finish within/);
  });
});
