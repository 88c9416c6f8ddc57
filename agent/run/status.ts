import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Clock } from "../clock.js";
import { writeFileAtomic } from "../fs/atomic-write.js";
import { ErrorCode, NixbootError } from "../errors.js";

export const STATUS_FILE = "status.json";

/** Where a boot run is: `running` while it works, then `done` or `error`. Mirrors `cloud-init status`. */
export type RunPhase = "running" | "done" | "error";

export interface StepTiming {
  name: string;
  durationMs: number;
  ok: boolean;
}

/** The status document every `nixboot run` writes (atomically) to the state directory. */
export interface RunStatus {
  version: 1;
  phase: RunPhase;
  startedAt: string;
  finishedAt?: string;
  instanceId?: string;
  userdata?: { class: string; sha256: string; sizeBytes: number };
  /** applied | unchanged | staged | rolled-back | rollback-failed | failed | nothing-to-apply | script-succeeded */
  outcome?: string;
  /** The system the run applied, staged or found in place, and its profile generation; absent when the apply failed. */
  systemPath?: string;
  generation?: number;
  steps: StepTiming[];
  lifecycle?: { group?: string; hook?: string; result: string; action?: string; heartbeats?: number };
  error?: { code: string; message: string; hint?: string };
  exitStatus?: number;
}

/** Thrown when the status file exists but cannot be read as a status document. */
export class StatusCorruptError extends NixbootError {
  readonly code = ErrorCode.StateCorrupt;
}

export async function writeStatus(stateDir: string, status: RunStatus): Promise<void> {
  await writeJsonAtomically(join(stateDir, STATUS_FILE), status);
}

export async function readStatus(stateDir: string): Promise<RunStatus | null> {
  const path = join(stateDir, STATUS_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new StatusCorruptError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const parsed = JSON.parse(text) as RunStatus;
    if (parsed.version !== 1 || typeof parsed.phase !== "string") throw new Error("not a nixboot status document");
    return parsed;
  } catch (error) {
    throw new StatusCorruptError(`${path} is not a valid status document: ${(error as Error).message}`, {
      cause: error,
      hint: "remove it; the next `nixboot run` writes a fresh one",
    });
  }
}

/**
 * Waits until the boot run has finished (`phase` is no longer `running`), like
 * `cloud-init status --wait`. A missing file counts as "not started yet".
 */
export async function waitForStatus(stateDir: string, clock: Clock, options: { pollMs: number; timeoutMs: number }): Promise<RunStatus | null> {
  const deadline = clock.now() + options.timeoutMs;
  for (;;) {
    const status = await readStatus(stateDir);
    if (status !== null && status.phase !== "running") return status;
    if (clock.now() >= deadline) return status;
    await clock.sleep(options.pollMs);
  }
}

/** Writes `value` as JSON with `writeFileAtomic`: readers see the old or the new document, never half. */
export async function writeJsonAtomically(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}
