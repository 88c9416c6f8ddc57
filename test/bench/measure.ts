/**
 * Shared by test/bench/pipeline.ts and test/bench/boot-run.ts: a runner that times external
 * commands, small statistics and a child-process helper. (The fake machine is test/fixture/machine.ts.)
 */
import { spawn } from "node:child_process";
import type { CommandRunner } from "../../agent/exec/runner.js";

/**
 * External time per program (argv[0]'s base name) around a real runner, and per bucket
 * (`bucket()` at the time the command starts, e.g. the pipeline step running).
 */
export function timingRunner(
  inner: CommandRunner,
  bucket: () => string = () => "",
): CommandRunner & { byProgram: Map<string, { count: number; ms: number }>; byBucket: Map<string, number>; reset(): void } {
  const byProgram = new Map<string, { count: number; ms: number }>();
  const byBucket = new Map<string, number>();
  return {
    byProgram,
    byBucket,
    reset: () => {
      byProgram.clear();
      byBucket.clear();
    },
    async run(argv, options) {
      const started = performance.now();
      const where = bucket();
      try {
        return await inner.run(argv, options);
      } finally {
        const ms = performance.now() - started;
        const name = argv[0]!.split("/").at(-1)!;
        const entry = byProgram.get(name) ?? { count: 0, ms: 0 };
        entry.count += 1;
        entry.ms += ms;
        byProgram.set(name, entry);
        byBucket.set(where, (byBucket.get(where) ?? 0) + ms);
      }
    },
  };
}

export const isNixProgram = (name: string): boolean => name.startsWith("nix-") || name === "nix";

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export interface ChildRun {
  code: number | null;
  /** performance.timeOrigin + performance.now() just before spawn: epoch ms, sub-millisecond. */
  spawnedAt: number;
  wallMs: number;
  stdout: string;
  stderr: string;
}

export const epochNow = (): number => performance.timeOrigin + performance.now();

/** Spawns and waits; wall time from just before spawn to the exit of the process and its stdio. */
export function runChild(argv: readonly string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<ChildRun> {
  const [file, ...args] = argv;
  return new Promise((resolvePromise, reject) => {
    const spawnedAt = epochNow();
    const started = performance.now();
    const child = spawn(file!, args, { env, stdio: ["ignore", "pipe", "pipe"], ...(cwd ? { cwd } : {}) });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      resolvePromise({ code, spawnedAt, wallMs: performance.now() - started, stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8") });
    });
  });
}

export const fmt = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toFixed(digits) : "-");
