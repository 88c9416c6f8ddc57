import { spawn } from "node:child_process";
import type { Logger } from "../log/logger.js";
import { CommandFailedError, CommandTimeoutError } from "./errors.js";

export interface RunOptions {
  /** Kill the command (SIGTERM, then SIGKILL) after this long. */
  timeoutMs: number;
  cwd?: string;
  /** Added to the runner's base environment. */
  env?: Record<string, string>;
  /** Written to the command's stdin, then closed. */
  input?: string;
  /** Called for every complete line of stdout or stderr as it arrives (progress streaming). */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** Aborting kills the command. */
  signal?: AbortSignal;
}

export interface RunResult {
  argv: readonly string[];
  exitCode: number;
  /** Set when the process was killed by a signal. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/**
 * Every external command nixboot starts goes through this interface: argv,
 * never a shell string. Tests inject a runner that records or reroutes calls;
 * production uses `createProcessRunner`.
 */
export interface CommandRunner {
  run(argv: readonly string[], options: RunOptions): Promise<RunResult>;
}

export interface ProcessRunnerOptions {
  /** Base environment for every command; defaults to this process's. */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Keep at most this many bytes of each stream (the tail), to bound memory. */
  maxOutputBytes?: number;
}

const KILL_GRACE_MS = 5_000;

export function createProcessRunner(runnerOptions: ProcessRunnerOptions = {}): CommandRunner {
  const maxBytes = runnerOptions.maxOutputBytes ?? 4 * 1024 * 1024;
  return {
    run(argv, options) {
      const [file, ...args] = argv;
      if (file === undefined) throw new TypeError("runner: empty argv");
      const started = performance.now();
      runnerOptions.logger?.debug({ argv }, "exec");
      return new Promise<RunResult>((resolve, reject) => {
        const child = spawn(file, args, {
          cwd: options.cwd,
          env: { ...(runnerOptions.env ?? process.env), ...options.env },
          stdio: ["pipe", "pipe", "pipe"],
        });
        const out = collector(maxBytes, (line) => options.onLine?.(line, "stdout"));
        const err = collector(maxBytes, (line) => options.onLine?.(line, "stderr"));
        child.stdout.on("data", out.push);
        child.stderr.on("data", err.push);
        let timedOut = false;
        let killTimer: NodeJS.Timeout | undefined;
        const kill = (): void => {
          child.kill("SIGTERM");
          killTimer = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
          killTimer.unref();
        };
        const timer = setTimeout(() => {
          timedOut = true;
          kill();
        }, options.timeoutMs);
        const onAbort = (): void => kill();
        options.signal?.addEventListener("abort", onAbort, { once: true });
        child.stdin.on("error", () => undefined); // a command that ignores stdin must not crash us
        child.stdin.end(options.input ?? "");
        child.on("error", (error) => {
          clearTimeout(timer);
          options.signal?.removeEventListener("abort", onAbort);
          reject(new CommandFailedError(`cannot start ${file}: ${error.message}`, { cause: error, details: { argv } }));
        });
        child.on("close", (code, signal) => {
          clearTimeout(timer);
          if (killTimer) clearTimeout(killTimer);
          options.signal?.removeEventListener("abort", onAbort);
          out.flush();
          err.flush();
          const result: RunResult = {
            argv,
            exitCode: code ?? -1,
            signal,
            stdout: out.text(),
            stderr: err.text(),
            durationMs: performance.now() - started,
          };
          if (timedOut) {
            reject(new CommandTimeoutError(`${file} did not finish within ${Math.round(options.timeoutMs / 1000)} s`, { details: { argv }, cause: result }));
            return;
          }
          resolve(result);
        });
      });
    },
  };
}

function collector(maxBytes: number, onLine: (line: string) => void) {
  const chunks: Buffer[] = [];
  let size = 0;
  let partial = "";
  return {
    push: (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      while (size > maxBytes && chunks.length > 1) size -= chunks.shift()!.length;
      const lines = (partial + chunk.toString("utf8")).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) onLine(line);
    },
    flush: (): void => {
      if (partial !== "") onLine(partial);
      partial = "";
    },
    text: (): string => Buffer.concat(chunks).toString("utf8"),
  };
}
