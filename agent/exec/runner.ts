import { spawn, type ChildProcess } from "node:child_process";
import { StringDecoder } from "node:string_decoder";
import type { Logger } from "../log/logger.js";
import { CommandFailedError, CommandTimeoutError } from "./errors.js";

export interface RunOptions {
  /** Kill the command's process group (SIGTERM, then SIGKILL) after this long. */
  timeoutMs: number;
  cwd?: string;
  /** Added to the runner's base environment. */
  env?: Record<string, string>;
  /** Written to the command's stdin, then closed. */
  input?: string;
  /** Called for every complete line of stdout or stderr as it arrives (progress streaming). */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** Aborting kills the command's process group; the call then resolves with the signal that ended it. */
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
  /** Between SIGTERM and SIGKILL on timeout or abort; default `KILL_GRACE_MS`. */
  killGraceMs?: number;
}

/** Time a killed command's process group gets to exit on SIGTERM before SIGKILL. */
export const KILL_GRACE_MS = 5_000;
/**
 * Once the command itself has exited, how long its output pipes may stay open. A process that
 * escaped its group (setsid, a double fork into a new session) can hold them forever; after this
 * the runner stops reading and settles, so no call outlives its command by more than this.
 */
export const EXIT_DRAIN_MS = 1_000;
/** A "line" without a newline is handed to onLine once it reaches this many characters. */
const MAX_LINE_CHARS = 64 * 1024;

/**
 * Runs commands as real processes. Each command gets its own process group (`detached`), so a
 * timeout or an abort kills everything it started (`kill(-pgid)`): a shell's background jobs, a
 * build's helpers, which would otherwise keep the output pipes, and so the call, alive.
 */
export function createProcessRunner(runnerOptions: ProcessRunnerOptions = {}): CommandRunner {
  const maxBytes = runnerOptions.maxOutputBytes ?? 4 * 1024 * 1024;
  const graceMs = runnerOptions.killGraceMs ?? KILL_GRACE_MS;
  const logger = runnerOptions.logger;
  return {
    run(argv, options) {
      const [file, ...args] = argv;
      if (file === undefined) throw new TypeError("runner: empty argv");
      const started = performance.now();
      logger?.debug({ argv }, "exec");
      return new Promise<RunResult>((resolve, reject) => {
        const child = spawn(file, args, {
          cwd: options.cwd,
          env: { ...(runnerOptions.env ?? process.env), ...options.env },
          stdio: ["pipe", "pipe", "pipe"],
          detached: true,
        });
        trackGroup(child);
        const out = collector(maxBytes, (line) => options.onLine?.(line, "stdout"));
        const err = collector(maxBytes, (line) => options.onLine?.(line, "stderr"));
        child.stdout.on("data", out.push);
        child.stderr.on("data", err.push);
        let settled = false;
        let timedOut = false;
        let killing = false;
        let killTimer: NodeJS.Timeout | undefined;
        let drainTimer: NodeJS.Timeout | undefined;
        const cleanup = (): void => {
          settled = true;
          clearTimeout(timer);
          clearTimeout(drainTimer);
          options.signal?.removeEventListener("abort", onAbort);
        };
        const kill = (): void => {
          if (killing || settled) return;
          killing = true;
          killGroup(child, "SIGTERM");
          // Runs even after the command itself exited: its group may still hold the pipes.
          killTimer = setTimeout(() => {
            killGroup(child, "SIGKILL");
            stopReading(child);
          }, graceMs);
          killTimer.unref();
        };
        const timer = setTimeout(() => {
          timedOut = true;
          kill();
        }, options.timeoutMs);
        const onAbort = (): void => kill();
        if (options.signal?.aborted) queueMicrotask(kill);
        else options.signal?.addEventListener("abort", onAbort, { once: true });
        child.stdin.on("error", () => undefined); // a command that ignores stdin must not crash us
        child.stdin.end(options.input ?? "");
        child.on("error", (error) => {
          if (settled) return;
          cleanup();
          if (killTimer) clearTimeout(killTimer);
          stopReading(child);
          reject(new CommandFailedError(`cannot start ${file}: ${error.message}`, { cause: error, details: { argv } }));
        });
        child.on("exit", () => {
          if (settled) return;
          drainTimer = setTimeout(() => {
            logger?.warn({ argv }, "the command exited but a process it started still holds its output; no longer reading it");
            stopReading(child);
          }, EXIT_DRAIN_MS);
          drainTimer.unref();
        });
        child.on("close", (code, signal) => {
          if (settled) return;
          cleanup();
          // After a kill, what is left of the group (it ignored SIGTERM, closed its pipes) still gets
          // SIGKILL at the end of the grace; an empty group is done with.
          if (killTimer && !groupExists(child)) clearTimeout(killTimer);
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
            reject(new CommandTimeoutError(`${file} did not finish within ${formatSeconds(options.timeoutMs)}`, { details: { argv }, cause: result }));
            return;
          }
          resolve(result);
        });
      });
    },
  };
}

/**
 * Commands run in their own process groups, so a Ctrl-C at the terminal no longer reaches them.
 * When nixboot itself exits (the CLI turns SIGINT into an exit), the groups still running get SIGTERM.
 */
const liveGroups = new Set<ChildProcess>();
let exitHookInstalled = false;

function trackGroup(child: ChildProcess): void {
  liveGroups.add(child);
  child.once("close", () => liveGroups.delete(child));
  child.once("error", () => liveGroups.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const group of liveGroups) killGroup(group, "SIGTERM");
    });
  }
}

/** Signals the child's whole process group (it leads it: spawned detached); the child alone if that fails. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is gone. Anything else: at least signal the child itself.
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  }
}

function groupExists(child: ChildProcess): boolean {
  if (child.pid === undefined) return false;
  try {
    process.kill(-child.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Stops reading the output pipes, so `close` comes even while another process holds them. */
function stopReading(child: ChildProcess): void {
  child.stdout?.destroy();
  child.stderr?.destroy();
}

function formatSeconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

/** Keeps the last `maxBytes` bytes of a stream and splits it into lines (UTF-8 safe across chunks). */
function collector(maxBytes: number, onLine: (line: string) => void) {
  const chunks: Buffer[] = [];
  let size = 0;
  let partial = "";
  const decoder = new StringDecoder("utf8");
  const split = (text: string): void => {
    const lines = (partial + text).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) onLine(line);
    while (partial.length >= MAX_LINE_CHARS) {
      onLine(partial.slice(0, MAX_LINE_CHARS));
      partial = partial.slice(MAX_LINE_CHARS);
    }
  };
  return {
    push: (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      while (size > maxBytes && size - chunks[0]!.length >= maxBytes) size -= chunks.shift()!.length;
      if (size > maxBytes) {
        chunks[0] = chunks[0]!.subarray(size - maxBytes);
        size = maxBytes;
      }
      split(decoder.write(chunk));
    },
    flush: (): void => {
      split(decoder.end());
      if (partial !== "") onLine(partial);
      partial = "";
    },
    text: (): string => {
      const all = Buffer.concat(chunks);
      // The cut may fall inside a UTF-8 sequence: skip its continuation bytes.
      let start = 0;
      while (start < all.length && start < 3 && (all[start]! & 0xc0) === 0x80) start += 1;
      return all.subarray(start).toString("utf8");
    },
  };
}
