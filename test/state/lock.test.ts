import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { systemClock } from "../../agent/clock.js";
import { BusyError } from "../../agent/state/errors.js";
import { acquireLock, isAlive } from "../../agent/state/lock.js";
import { deadPid, fastClock } from "../fixture/machine.js";

let stateDir: string;
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "nixboot-lock-"));
});
afterEach(() => rm(stateDir, { recursive: true, force: true }));

describe("acquireLock", () => {
  it("writes the holder's pid, and release removes the lock", async () => {
    const lock = await acquireLock({ stateDir, clock: fastClock(), waitMs: 0 });
    expect(JSON.parse(await readFile(lock.path, "utf8"))).toMatchObject({ pid: process.pid });
    await lock.release();
    expect(await readdir(stateDir)).toEqual([]);
  });

  it("makes a second run wait lockWaitSeconds, then fail with BusyError naming the holder", async () => {
    const first = await acquireLock({ stateDir, clock: fastClock(), waitMs: 0 });
    const clock = fastClock();
    const error = await acquireLock({ stateDir, clock, waitMs: 3_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BusyError);
    expect((error as BusyError).message).toMatch(new RegExp(`^another nixboot run \\(pid ${process.pid}, since .*\\) holds .*/lock; waited 3 s$`));
    expect((error as BusyError).code).toBe("BUSY");
    expect(clock.advancedMs).toBeGreaterThan(0); // it waited (by the clock) before giving up
    await first.release();
  });

  it("gets the lock once the holder releases it while waiting", async () => {
    const first = await acquireLock({ stateDir, clock: systemClock, waitMs: 0 });
    setTimeout(() => void first.release(), 100);
    const second = await acquireLock({ stateDir, clock: systemClock, waitMs: 10_000, pollMs: 20 });
    expect(JSON.parse(await readFile(second.path, "utf8")).token).not.toBe(undefined);
    await second.release();
  });

  it("takes over a lock left by a process that is gone", async () => {
    const pid = await deadPid();
    expect(isAlive(pid)).toBe(false);
    await writeFile(join(stateDir, "lock"), JSON.stringify({ pid, token: "dead", since: "yesterday" }));
    const lock = await acquireLock({ stateDir, clock: fastClock(), waitMs: 0 });
    expect(JSON.parse(await readFile(lock.path, "utf8")).pid).toBe(process.pid);
    await lock.release();
  });

  it("lets exactly one of many simultaneous runs in", async () => {
    const attempts = await Promise.allSettled(Array.from({ length: 8 }, () => acquireLock({ stateDir, clock: fastClock(), waitMs: 0 })));
    expect(attempts.filter((a) => a.status === "fulfilled")).toHaveLength(1);
    expect(attempts.filter((a) => a.status === "rejected").every((a) => (a as PromiseRejectedResult).reason instanceof BusyError)).toBe(true);
  });

  it("does not remove a lock that another run holds now", async () => {
    const first = await acquireLock({ stateDir, clock: fastClock(), waitMs: 0 });
    await rm(first.path);
    const second = await acquireLock({ stateDir, clock: fastClock(), waitMs: 0 });
    await first.release();
    expect(JSON.parse(await readFile(second.path, "utf8")).pid).toBe(process.pid);
    await second.release();
    expect(await readdir(stateDir)).toEqual([]);
  });
});
