import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
    await setState("running");
    const { runner, promise } = gate(["systemd", "unit:web", `http:${baseUrl}/ok`, `cmd:test -e ${root}/run/units/web`]);
    const results = await promise;
    expect(results.map((r) => [r.check.split(":")[0], r.ok, r.attempts])).toEqual([["systemd", true, 1], ["unit", true, 1], ["http", true, 1], ["cmd", true, 1]]);
    expect(runner.calls).toContainEqual([FAKE_SYSTEMCTL, "is-system-running", "--wait"]);
    expect(runner.calls).toContainEqual([FAKE_SYSTEMCTL, "is-active", "web"]);
    expect(runner.calls).toContainEqual(["/bin/sh", "-c", `test -e ${root}/run/units/web`]);
  });

  it("retries an HTTP check until it answers 2xx", async () => {
    hits = 0;
    const results = await gate([`http:${baseUrl}/third`]).promise;
    expect(results[0]).toMatchObject({ ok: true, attempts: 3, detail: "HTTP 200" });
  });

  it("fails a degraded system at the deadline, naming the state, unless degraded is allowed", async () => {
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

  it("passes at once with no checks", async () => {
    await expect(gate(["none"]).promise).resolves.toEqual([]);
  });
});
