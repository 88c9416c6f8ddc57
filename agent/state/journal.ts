import { unlink } from "node:fs/promises";
import { join } from "node:path";
import type { ActivationMode } from "../settings/definitions.js";
import { readFileIfExists, writeFileAtomic } from "../fs/atomic-write.js";
import type { ConfigSnapshot } from "../system/config-file.js";
import { JournalCorruptError } from "./errors.js";

export const JOURNAL_FILE = "journal.json";
/** The candidate's text while a switch is in flight, so recovery can finish writing the configuration file. */
export const PENDING_CONFIG_FILE = "pending-configuration.nix";

/**
 * Where an in-flight switch is. Written (atomically) before the step starts:
 * - `activate`: trial activation (`switch-to-configuration test`) of the candidate;
 * - `health`: the candidate is active, the health gate runs;
 * - `commit`: health passed; profile, boot default and configuration file are being updated;
 * - `rollback`: a step failed (see `failure`); the previous system is being restored;
 * - `stage`: mode `boot`: profile, boot default and configuration file are being updated.
 */
export type SwitchStep = "activate" | "health" | "commit" | "rollback" | "stage";

/** The intent of a switch: everything recovery needs, recorded before anything is changed. */
export interface SwitchIntent {
  mode: ActivationMode;
  step: SwitchStep;
  candidateSha256: string;
  entry: string;
  drvPath: string;
  systemPath: string;
  /** The running system before the switch (its store path), null if the link did not exist. */
  previousSystem: string | null;
  /** The profile's generation before the switch, null if there was no profile. */
  previousGeneration: number | null;
  previousConfig: ConfigSnapshot;
  /** The paths this switch touches, as they were set for it (recovery uses these, not today's settings). */
  profile: string;
  configPath: string;
  currentSystemLink: string;
  startedAt: string;
  updatedAt: string;
  /** Set when a step failed and the switch is being rolled back. */
  failure?: { step: string; code: string; message: string };
}

/** The last configuration applied (or staged) successfully: what makes a rerun a no-op. */
export interface AppliedRecord {
  candidateSha256: string;
  entry: string;
  systemPath: string;
  generation: number | null;
  mode: ActivationMode;
  at: string;
}

export interface ResultRecord {
  outcome: string;
  candidateSha256?: string;
  systemPath?: string;
  at: string;
  recovered?: boolean;
  error?: { code: string; message: string };
}

export interface Journal {
  version: 1;
  inFlight: SwitchIntent | null;
  lastApplied: AppliedRecord | null;
  lastResult: ResultRecord | null;
}

export function emptyJournal(): Journal {
  return { version: 1, inFlight: null, lastApplied: null, lastResult: null };
}

/**
 * Reads `STATE/journal.json`; a missing journal is an empty one.
 * @throws JournalCorruptError when it cannot be read or is not a version-1 journal.
 */
export async function readJournal(stateDir: string): Promise<Journal> {
  const path = join(stateDir, JOURNAL_FILE);
  let bytes: Buffer | null;
  try {
    bytes = await readFileIfExists(path);
  } catch (error) {
    throw new JournalCorruptError(`cannot read the journal ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (bytes === null) return emptyJournal();
  try {
    const parsed = JSON.parse(bytes.toString("utf8")) as Journal;
    if (parsed === null || typeof parsed !== "object" || parsed.version !== 1 || !("inFlight" in parsed)) throw new Error("not a nixboot journal");
    return { ...emptyJournal(), ...parsed };
  } catch (error) {
    throw new JournalCorruptError(`the journal ${path} is not valid: ${(error as Error).message}`, {
      cause: error,
      hint: "inspect it: if a switch was in flight, check /run/current-system and the system profile by hand, then remove the file",
    });
  }
}

/** Replaces the journal atomically (temp file, fsync, rename, fsync directory). */
export async function writeJournal(stateDir: string, journal: Journal): Promise<void> {
  await writeFileAtomic(join(stateDir, JOURNAL_FILE), `${JSON.stringify(journal, null, 2)}\n`, { mode: 0o600 });
}

export async function writePendingConfig(stateDir: string, text: string): Promise<void> {
  await writeFileAtomic(join(stateDir, PENDING_CONFIG_FILE), text, { mode: 0o600 });
}

export async function readPendingConfig(stateDir: string): Promise<string | null> {
  const bytes = await readFileIfExists(join(stateDir, PENDING_CONFIG_FILE));
  return bytes === null ? null : bytes.toString("utf8");
}

export async function removePendingConfig(stateDir: string): Promise<void> {
  await unlink(join(stateDir, PENDING_CONFIG_FILE)).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") throw error;
  });
}
