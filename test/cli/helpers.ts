import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import type { Clock } from "../../agent/clock.js";
import { runCli } from "../../agent/cli/main.js";
import { createLogger } from "../../agent/log/logger.js";

export interface CliOutcome {
  status: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Added to the hermetic environment (which only names an empty settings file). */
  env?: Record<string, string>;
  clock?: Clock;
}

const tempDirs: string[] = [];
afterEach(async () => {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh temporary directory, removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "nixboot-cli-"));
  tempDirs.push(dir);
  return dir;
}

/** Writes `content` to `name` in a fresh temporary directory and returns its path. */
export async function tempFile(name: string, content: string | Uint8Array): Promise<string> {
  const path = join(await tempDir(), name);
  await writeFile(path, content);
  return path;
}

/**
 * Runs the CLI in-process with captured stdout and stderr. The environment is
 * hermetic: only an empty settings file (so /etc/nixboot/settings.json on the
 * host never leaks in) plus `options.env`. Without `--json` the CLI would log
 * to the real fd 1, so a logger writing to the captured stderr is injected;
 * with `--json` the CLI builds its own logger (the wiring under test).
 */
export async function cli(argv: readonly string[], options: CliOptions = {}): Promise<CliOutcome> {
  const settingsFile = await tempFile("settings.json", "{}\n");
  let stdout = "";
  let stderr = "";
  const json = argv.includes("--json");
  const status = await runCli(argv, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: { NIXBOOT_SETTINGS_FILE: settingsFile, ...options.env },
    ...(options.clock ? { clock: options.clock } : {}),
    ...(json ? {} : { logger: createLogger({ level: "info", pretty: false, destination: { write: (line: string) => void (stderr += line) } }) }),
  });
  return { status, stdout, stderr };
}

/** Asserts stdout holds exactly one JSON object (one line) and returns it. */
export function onlyJsonObject(stdout: string): Record<string, unknown> {
  const lines = stdout.split("\n").filter((line) => line !== "");
  if (lines.length !== 1) throw new Error(`expected exactly one line on stdout, got ${lines.length}: ${stdout}`);
  const value: unknown = JSON.parse(lines[0]!);
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error(`stdout is not a JSON object: ${stdout}`);
  return value as Record<string, unknown>;
}

/** Parses stderr as pino JSON lines (with `--json` the CLI logs there). */
export function logLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
