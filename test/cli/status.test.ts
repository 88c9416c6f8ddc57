import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Clock } from "../../agent/clock.js";
import { STATUS_FILE, writeStatus, type RunStatus } from "../../agent/run/status.js";
import { cli, onlyJsonObject, tempDir } from "./helpers.js";

const DONE: RunStatus = {
  version: 1,
  phase: "done",
  startedAt: "2026-01-01T00:00:00.000Z",
  finishedAt: "2026-01-01T00:01:30.000Z",
  instanceId: "i-0123456789abcdef0",
  userdata: { class: "nix", sha256: "ab".repeat(32), sizeBytes: 321 },
  outcome: "applied",
  systemPath: "/nix/store/00000000000000000000000000000000-nixos-system-test",
  generation: 7,
  steps: [
    { name: "fetch", durationMs: 12.4, ok: true },
    { name: "build", durationMs: 4567.8, ok: true },
  ],
  lifecycle: { group: "nixboot-fleet", hook: "launching", result: "completed", action: "CONTINUE" },
  exitStatus: 0,
};

const RUNNING: RunStatus = { version: 1, phase: "running", startedAt: DONE.startedAt, steps: [] };

/**
 * Virtual time for `--wait`: `sleep(ms)` moves the clock by `ms` but really
 * waits only a moment, so 500 ms polls go by fast while other timers still run.
 */
function fastClock(): Clock & { sleeps: number } {
  let now = Date.parse("2026-01-01T00:00:00Z");
  const clock = {
    sleeps: 0,
    now: () => now,
    sleep: async (ms: number) => {
      clock.sleeps += 1;
      now += ms;
      await new Promise((resolve) => setTimeout(resolve, 2));
    },
  };
  return clock;
}

describe("status", () => {
  it("no status file: not-run, exit 0", async () => {
    const stateDir = await tempDir();
    const json = await cli(["status", "--json", "--state-dir", stateDir]);
    expect(json.status).toBe(0);
    expect(onlyJsonObject(json.stdout)).toEqual({ ok: true, phase: "not-run", stateDir });
    const human = await cli(["status", "--state-dir", stateDir]);
    expect(human.stdout).toBe(`no boot run recorded in ${stateDir}\n`);
  });

  it("renders a status file written by writeStatus", async () => {
    const stateDir = await tempDir();
    await writeStatus(stateDir, DONE);
    const out = await cli(["status", "--state-dir", stateDir]);
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^phase: +done$/m);
    expect(out.stdout).toMatch(/^outcome: +applied$/m);
    expect(out.stdout).toMatch(/^finished: +2026-01-01T00:01:30.000Z$/m);
    expect(out.stdout).toContain(`userdata:   nix, 321 bytes, sha256 ${"ab".repeat(32)}`);
    expect(out.stdout).toContain(`system:     ${DONE.systemPath} (generation 7)`);
    expect(out.stdout).toMatch(/^lifecycle: +completed CONTINUE group=nixboot-fleet hook=launching$/m);
    expect(out.stdout).toMatch(/^ {2}ok {3}build +4568 ms$/m);
  });

  it("--json gives the status document", async () => {
    const stateDir = await tempDir();
    await writeStatus(stateDir, DONE);
    const out = await cli(["status", "--json", "--state-dir", stateDir]);
    expect(out.status).toBe(0);
    expect(onlyJsonObject(out.stdout)).toEqual({ ok: true, ...DONE });
  });

  it("a failed run: its exit status, the error and the hint", async () => {
    const stateDir = await tempDir();
    await writeStatus(stateDir, {
      ...DONE,
      phase: "error",
      outcome: "rolled-back",
      error: { code: "ACTIVATION_FAILED", message: "health check systemd failed", hint: "see journalctl -b" },
      exitStatus: 33,
    });
    const out = await cli(["status", "--state-dir", stateDir]);
    expect(out.status).toBe(33);
    expect(out.stdout).toMatch(/^error: +health check systemd failed$/m);
    expect(out.stdout).toMatch(/^ {2}hint: +see journalctl -b$/m);
  });

  it("a corrupt status file exits 37", async () => {
    const stateDir = await tempDir();
    await writeFile(join(stateDir, STATUS_FILE), "{ not json");
    const out = await cli(["status", "--state-dir", stateDir]);
    expect(out.status).toBe(37);
    expect(out.stderr).toContain("is not a valid status document");
  });

  it("--wait returns once the run has finished", async () => {
    const stateDir = await tempDir();
    await writeStatus(stateDir, RUNNING);
    const clock = fastClock();
    // The boot run finishes while status is waiting (after at least one poll saw "running").
    const finisher = setInterval(() => {
      if (clock.sleeps > 0) {
        clearInterval(finisher);
        void writeStatus(stateDir, DONE);
      }
    }, 5);
    try {
      const out = await cli(["status", "--wait", "--json", "--state-dir", stateDir], { clock });
      expect(out.status, out.stderr).toBe(0);
      expect(onlyJsonObject(out.stdout)).toMatchObject({ phase: "done", outcome: "applied" });
      expect(clock.sleeps).toBeGreaterThan(0);
    } finally {
      clearInterval(finisher);
    }
  });

  it("--wait also waits for a run that has not started yet", async () => {
    const stateDir = await tempDir();
    const clock = fastClock();
    const finisher = setInterval(() => {
      if (clock.sleeps > 2) {
        clearInterval(finisher);
        void writeStatus(stateDir, DONE);
      }
    }, 5);
    try {
      const out = await cli(["status", "--wait", "--json", "--state-dir", stateDir], { clock });
      expect(out.status, out.stderr).toBe(0);
      expect(onlyJsonObject(out.stdout).phase).toBe("done");
    } finally {
      clearInterval(finisher);
    }
  });

  it("--wait --timeout gives up and reports the run as still running", async () => {
    const stateDir = await tempDir();
    await writeStatus(stateDir, RUNNING);
    const clock = fastClock();
    const out = await cli(["status", "--wait", "--timeout", "3", "--json", "--state-dir", stateDir], { clock });
    expect(onlyJsonObject(out.stdout).phase).toBe("running");
    // 3 s of 500 ms polls: it gave up after about six, not at once and not never.
    expect(clock.sleeps).toBeGreaterThanOrEqual(6);
    expect(clock.sleeps).toBeLessThanOrEqual(7);
  });

  it("an invalid --timeout is a usage error, not an endless wait", async () => {
    const stateDir = await tempDir();
    await writeStatus(stateDir, RUNNING);
    const clock = fastClock();
    // Guard: a NaN deadline would poll for ever; stop it after many polls so the test fails instead of hanging.
    const guarded: Clock = {
      now: clock.now,
      sleep: async (ms) => {
        if (clock.sleeps > 200) throw new Error("status --wait never gave up: the invalid value was accepted");
        await clock.sleep(ms);
      },
    };
    const out = await cli(["status", "--wait", "--timeout", "soon", "--state-dir", stateDir], { clock: guarded });
    expect(out.stderr).toContain("--timeout");
    expect(out.status).toBe(2);
  });
});
