import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readStatus, STATUS_FILE, writeStatus, type RunStatus } from "../../agent/run/status.js";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

const running = (steps: number): RunStatus => ({
  version: 1,
  phase: "running",
  startedAt: "2026-01-01T00:00:00.000Z",
  steps: Array.from({ length: steps }, (_, n) => ({ name: `step-${n}`, durationMs: n, ok: true })),
});

describe("writeStatus", () => {
  it("lets overlapping writes each land whole: no failed rename, no mixed bytes, no temp file left", async () => {
    const stateDir = await mkdtemp(join(tmpdir(), "nixboot-status-"));
    dirs.push(stateDir);
    const long = running(200);
    const short: RunStatus = { ...running(0), phase: "done", outcome: "applied" };
    for (let round = 0; round < 20; round++) {
      await Promise.all([writeStatus(stateDir, long), writeStatus(stateDir, short), writeStatus(stateDir, long)]);
      expect([long, short]).toContainEqual(await readStatus(stateDir));
    }
    expect(await readdir(stateDir)).toEqual([STATUS_FILE]);
  });
});
