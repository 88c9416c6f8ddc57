import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SettingsError } from "../../agent/errors.js";
import { createProcessRunner } from "../../agent/exec/runner.js";
import { HealthCheckFailedError } from "../../agent/system/errors.js";
import { parseHealthChecks, runHealthGate, type HealthOptions } from "../../agent/system/health.js";
import { FAKE_SYSTEMCTL, fastClock, recordingRunner, silent } from "../fixture/machine.js";

let root: string;
let server: Server;
let baseUrl: string;
let hits = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "nixboot-health-"));
  await mkdir(join(root, "run", "units"), { recursive: true });
  await writeFile(join(root, "run", "units", "web"), "");
  server = createServer((request, response) => {
    hits += 1;
    if (request.url === "/ok") response.writeHead(204).end();
    else if (request.url === "/third") response.writeHead(hits % 3 === 0 ? 200 : 503).end();
    else response.writeHead(500).end("broken");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

const setState = (state: string) => writeFile(join(root, "run", "systemd-state"), `${state}\n`);

/** The fake systemctl's view of a boot in progress: state, queued jobs (`UNIT STATE`), failed units. */
async function booting(jobs: string[], failed: string[] = []): Promise<void> {
  await setState("starting");
  await writeFile(join(root, "run", "booting"), "");
  await writeFile(join(root, "run", "jobs"), jobs.map((job, i) => `${i + 1} ${job.split(" ")[0]} start ${job.split(" ")[1]}\n`).join(""));
  await writeFile(join(root, "run", "failed-units"), failed.map((unit) => `${unit}\n`).join(""));
}
async function booted(): Promise<void> {
  await rm(join(root, "run", "booting"), { force: true });
  await rm(join(root, "run", "jobs"), { force: true });
  await rm(join(root, "run", "failed-units"), { force: true });
}
const BOOT_JOBS = ["nixboot.service running", "multi-user.target waiting", "app.service waiting"];

function gate(specs: string[], options: Partial<HealthOptions> = {}) {
  const runner = recordingRunner(createProcessRunner({ env: { ...process.env, NIXBOOT_FIXTURE_ROOT: root } }));
  const clock = fastClock();
  const promise = runHealthGate(
    { runner, clock, logger: silent() },
    { checks: parseHealthChecks(specs), timeoutMs: 10_000, allowDegraded: false, systemctlPath: FAKE_SYSTEMCTL, pollMs: 1_000, ...options },
  );
  return { runner, clock, promise };
}

describe("parseHealthChecks", () => {
  it("parses every kind and drops none", () => {
    expect(parseHealthChecks(["systemd", "unit:nginx.service", "http:http://127.0.0.1/health", "cmd:test -e /x", "none"])).toEqual([
      { kind: "systemd" },
      { kind: "unit", unit: "nginx.service" },
      { kind: "http", url: "http://127.0.0.1/health" },
      { kind: "cmd", command: "test -e /x" },
    ]);
  });

  it.each(["system", "unit:", "unit:a b", "http:ftp://x", "http:nope", "cmd:  "])("rejects %j", (spec) => {
    expect(() => parseHealthChecks([spec])).toThrow(SettingsError);
  });
});

describe("runHealthGate", () => {
  it("passes when systemd runs, the unit is active, the URL answers 2xx and the command exits 0", async () => {
    await booted();
    await setState("running");
    const { runner, promise } = gate(["systemd", "unit:web", `http:${baseUrl}/ok`, `cmd:test -e ${root}/run/units/web`]);
    const results = await promise;
    expect(results.map((r) => [r.check.split(":")[0], r.ok, r.attempts])).toEqual([["systemd", true, 1], ["unit", true, 1], ["http", true, 1], ["cmd", true, 1]]);
    expect(results[0]!.detail).toBe('system state "running"');
    expect(runner.calls).toContainEqual([FAKE_SYSTEMCTL, "is-system-running"]);
    expect(runner.calls.map((argv) => argv[1])).not.toContain("list-jobs"); // booted: the state says it all
    expect(runner.calls).toContainEqual([FAKE_SYSTEMCTL, "is-active", "web"]);
    expect(runner.calls).toContainEqual(["/bin/sh", "-c", `test -e ${root}/run/units/web`]);
  });

  it("retries an HTTP check until it answers 2xx", async () => {
    hits = 0;
    const results = await gate([`http:${baseUrl}/third`]).promise;
    expect(results[0]).toMatchObject({ ok: true, attempts: 3, detail: "HTTP 200" });
  });

  it("fails a degraded system at the deadline, naming the state, unless degraded is allowed", async () => {
    await booted();
    await setState("degraded");
    const { clock, promise } = gate(["systemd"], { timeoutMs: 5_000 });
    const error = (await promise.catch((e: unknown) => e)) as HealthCheckFailedError;
    expect(error).toBeInstanceOf(HealthCheckFailedError);
    expect(error.message).toBe('health check systemd did not pass within 5 s: system state "degraded"');
    expect(error.code).toBe("ACTIVATION_FAILED");
    expect(clock.advancedMs).toBeGreaterThan(0); // it retried (by the clock) before giving up
    await expect(gate(["systemd"], { allowDegraded: true }).promise).resolves.toMatchObject([{ ok: true }]);
  });

  it("fails an inactive unit, a failing command and an unreachable URL", async () => {
    await expect(gate(["unit:db"], { timeoutMs: 2_000 }).promise).rejects.toThrow(/unit:db did not pass within 2 s: db is inactive/);
    await expect(gate(["cmd:exit 3"], { timeoutMs: 2_000 }).promise).rejects.toThrow(/exit status 3/);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(gate([`http:http://127.0.0.1:${closedPort}/`], { timeoutMs: 2_000 }).promise).rejects.toThrow(/ECONNREFUSED/);
    await expect(gate([`http:${baseUrl}/500`], { timeoutMs: 2_000 }).promise).rejects.toThrow(/HTTP 500/);
  });

  it("fails a system in another state (maintenance), even with allowDegraded", async () => {
    await booted();
    await setState("maintenance");
    await expect(gate(["systemd"], { timeoutMs: 2_000, allowDegraded: true }).promise).rejects.toThrow('system state "maintenance"');
  });

  it("fails, saying why, when systemctl cannot be started", async () => {
    await expect(gate(["systemd"], { timeoutMs: 2_000, systemctlPath: join(root, "no-systemctl") }).promise).rejects.toThrow(/cannot start .*no-systemctl/);
  });

  it("passes at once with no checks", async () => {
    await expect(gate(["none"]).promise).resolves.toEqual([]);
  });
});

describe("runHealthGate's systemd check at boot (nixboot's own start job is queued)", () => {
  afterEach(booted);

  it("passes when every other job waits and no unit failed, never waiting for boot to finish", async () => {
    await booting(BOOT_JOBS);
    const { runner, promise } = gate(["systemd"]);
    const [result] = await promise;
    expect(result).toEqual({ check: "systemd", ok: true, attempts: 1, detail: 'system state "starting" (booting): only jobs waiting for nixboot.service (2), no failed units' });
    expect(runner.calls).toEqual([
      [FAKE_SYSTEMCTL, "is-system-running"],
      [FAKE_SYSTEMCTL, "list-jobs", "--no-legend", "--plain"],
      [FAKE_SYSTEMCTL, "list-units", "--state=failed", "--no-legend", "--plain"],
    ]);
  });

  it("fails at the deadline while a unit has failed, naming it; allowDegraded accepts it", async () => {
    await booting(BOOT_JOBS, ["web"]);
    const { clock, promise } = gate(["systemd"], { timeoutMs: 5_000 });
    const error = (await promise.catch((e: unknown) => e)) as HealthCheckFailedError;
    expect(error).toBeInstanceOf(HealthCheckFailedError);
    expect(error.message).toBe('health check systemd did not pass within 5 s: system state "starting" (booting): failed units: web.service');
    expect(clock.advancedMs).toBeGreaterThan(0);
    await expect(gate(["systemd"], { allowDegraded: true }).promise).resolves.toMatchObject([{ ok: true, detail: expect.stringContaining("1 failed units (degraded allowed)") }]);
  });

  it("keeps polling while another job runs, until the deadline", async () => {
    await booting([...BOOT_JOBS, "slow.service running"]);
    const { runner, promise } = gate(["systemd"], { timeoutMs: 5_000 });
    const error = (await promise.catch((e: unknown) => e)) as HealthCheckFailedError;
    expect(error.message).toBe('health check systemd did not pass within 5 s: system state "starting" (booting): jobs not done: slow.service (start running)');
    const checks = error.details.checks as Array<{ attempts: number }>;
    expect(checks[0]!.attempts).toBeGreaterThan(1);
    expect(runner.calls.filter((argv) => argv[1] === "list-jobs").length).toBe(checks[0]!.attempts);
  });

  it("passes once the running job is done", async () => {
    await booting([...BOOT_JOBS, "slow.service running"]);
    const runner = recordingRunner(createProcessRunner({ env: { ...process.env, NIXBOOT_FIXTURE_ROOT: root } }));
    const clock = fastClock();
    let sleeps = 0;
    const finishing = {
      now: clock.now,
      sleep: async (ms: number) => {
        sleeps += 1;
        if (sleeps === 2) await booting(BOOT_JOBS); // the slow unit's start job completed
        await clock.sleep(ms);
      },
    };
    const [result] = await runHealthGate(
      { runner, clock: finishing, logger: silent() },
      { checks: parseHealthChecks(["systemd"]), timeoutMs: 60_000, allowDegraded: false, systemctlPath: FAKE_SYSTEMCTL, pollMs: 1_000 },
    );
    expect(result).toMatchObject({ ok: true, attempts: 3 });
  });

  it("fails on list-jobs output it cannot read rather than ignoring it", async () => {
    await booting(BOOT_JOBS);
    await writeFile(join(root, "run", "jobs"), "1 nixboot.service start running\nsomething unexpected\n");
    await expect(gate(["systemd"], { timeoutMs: 2_000 }).promise).rejects.toThrow(/list-jobs printed a line nixboot cannot read: "something unexpected"/);
  });
});
