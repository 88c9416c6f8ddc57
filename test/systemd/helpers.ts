import { execFile } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

export const REPO = resolve(import.meta.dirname, "../..");
export const FIXTURE = join(import.meta.dirname, "fixture");
export const UNIT_FILE = join(REPO, "systemd", "nixboot.service");

const execFileAsync = promisify(execFile);

export interface Outcome {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a real tool; a non-zero exit is an outcome to assert on, not an exception. */
export async function run(command: string, args: readonly string[], options: { cwd?: string } = {}): Promise<Outcome> {
  try {
    const { stdout, stderr } = await execFileAsync(command, [...args], { cwd: options.cwd ?? REPO, maxBuffer: 64 * 1024 * 1024, timeout: 110_000 });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== "number") throw error;
    return { status: failed.code, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

export function tempDir(prefix = "nixboot-systemd-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A unit file as systemd reads it: sections, each key with its values in order (repeats accumulate). */
export type UnitFile = Map<string, Map<string, string[]>>;

export function parseUnit(text: string): UnitFile {
  const unit: UnitFile = new Map();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = new Map();
      unit.set(header[1] as string, section);
      continue;
    }
    const equals = line.indexOf("=");
    if (section === undefined || equals < 0) throw new Error(`not a unit file line: ${raw}`);
    const key = line.slice(0, equals).trim();
    section.set(key, [...(section.get(key) ?? []), line.slice(equals + 1).trim()]);
  }
  return unit;
}

export async function readUnit(): Promise<UnitFile> {
  return parseUnit(await readFile(UNIT_FILE, "utf8"));
}

/** The single value of KEY in SECTION (throws when absent or repeated). */
export function value(unit: UnitFile, section: string, key: string): string {
  const values = unit.get(section)?.get(key) ?? [];
  if (values.length !== 1) throw new Error(`[${section}] ${key}: expected one value, got ${JSON.stringify(values)}`);
  return values[0] as string;
}

/** The space-separated words of every value of KEY in SECTION (After=, WantedBy=...). */
export function words(unit: UnitFile, section: string, key: string): string[] {
  return (unit.get(section)?.get(key) ?? []).flatMap((entry) => entry.split(/\s+/).filter((word) => word !== ""));
}

/**
 * `nix-instantiate --eval --strict --json FILE` with `--argstr`/`--arg` pairs; the parsed result,
 * or the outcome when Nix fails (for assertions on its error message).
 */
export async function nixEval(file: string, args: Record<string, { str: string } | { nix: string }> = {}): Promise<{ ok: true; value: unknown } | { ok: false; outcome: Outcome }> {
  const flags = Object.entries(args).flatMap(([name, arg]) => ("str" in arg ? ["--argstr", name, arg.str] : ["--arg", name, arg.nix]));
  const outcome = await run("nix-instantiate", ["--eval", "--strict", "--json", file, ...flags]);
  if (outcome.status !== 0) return { ok: false, outcome };
  return { ok: true, value: JSON.parse(outcome.stdout) };
}

/** A time span as systemd reads it, in microseconds, asked of systemd-analyze itself. */
export async function timespanMicroseconds(span: string): Promise<number> {
  const outcome = await run("systemd-analyze", ["timespan", span]);
  const micro = /μs:\s*(\d+)/.exec(outcome.stdout);
  if (outcome.status !== 0 || micro === null) throw new Error(`systemd-analyze timespan ${span}: ${outcome.stderr || outcome.stdout}`);
  return Number(micro[1]);
}

/** systemd's boolean spellings. */
export function systemdBoolean(text: string): boolean | undefined {
  if (/^(1|yes|true|on)$/i.test(text)) return true;
  if (/^(0|no|false|off)$/i.test(text)) return false;
  return undefined;
}
