import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import type { Clock } from "../../agent/clock.js";
import type { Logger } from "../../agent/log/logger.js";
import { createSdkLifecycleApi, createSdkTagsApi } from "../../agent/lifecycle/sdk.js";
import type { LifecycleApi, TagsApi } from "../../agent/lifecycle/api.js";
import { startAwsEmulator, type AwsEmulator, type AwsEmulatorOptions } from "../emulator/aws/index.js";

export const REGION = "us-east-1";
export const CREDENTIALS = { accessKeyId: "AKIDNIXBOOTTEST", secretAccessKey: "nixboot-test-secret" };
/** Fast retries for tests: same policy, small delays. */
export const FAST_RETRY = { minTimeoutMs: 5, maxTimeoutMs: 20 };

/**
 * A clock running `factor` times faster than real time: hooks keep their real
 * values (a 30 s heartbeat timeout) while a test waits a fraction of a second.
 * The emulator and the agent share it, so both see the same time.
 */
export function scaledClock(factor: number): Clock {
  const base = Date.now();
  const start = performance.now();
  return {
    now: () => base + (performance.now() - start) * factor,
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) {
          reject(signal.reason);
          return;
        }
        const onAbort = (): void => {
          clearTimeout(timer);
          reject(signal?.reason);
        };
        const timer = setTimeout(() => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        }, ms / factor);
        signal?.addEventListener("abort", onAbort, { once: true });
      }),
  };
}

/**
 * A clock whose sleeps pass at once (after a turn of the event loop), moving
 * its time by the sleep, and are recorded: schedules and backoffs become exact
 * numbers to assert, with no real waiting.
 */
export function steppingClock(start = Date.UTC(2025, 0, 1)): Clock & { readonly sleeps: number[] } {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      sleeps.push(ms);
      now += ms;
      await new Promise((resolve) => setImmediate(resolve));
      signal?.throwIfAborted();
    },
  };
}

/** A clock that moves only when told to (for the emulator's timeouts and rate limits). */
export function manualClock(start = Date.UTC(2025, 0, 1)): { now(): number; advance(ms: number): void } {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) };
}

/** A logger whose JSON lines are kept for assertions. */
export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim() !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

export interface Harness {
  emulator: AwsEmulator;
  api: LifecycleApi;
  tags: TagsApi;
  stateDir: string;
  close(): Promise<void>;
}

/** The emulator (verifying signatures of CREDENTIALS) and the real SDK-backed APIs pointed at it. */
export async function harness(options: AwsEmulatorOptions = {}): Promise<Harness> {
  const emulator = await startAwsEmulator({ credentials: [CREDENTIALS], region: REGION, ...options });
  const sdk = { region: REGION, endpoint: emulator.url, credentials: CREDENTIALS };
  const stateDir = await mkdtemp(join(tmpdir(), "nixboot-lifecycle-"));
  const api = createSdkLifecycleApi(sdk);
  const tags = createSdkTagsApi(sdk);
  // Load the SDKs before a test's clock matters (a first import takes a while on a busy machine).
  await Promise.all([api.preload?.(), tags.preload?.()]);
  return {
    emulator,
    api,
    tags,
    stateDir,
    close: async () => {
      await emulator.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
