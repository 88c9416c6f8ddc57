import { unlink } from "node:fs/promises";
import { readFileIfExists, sha256, writeFileAtomic } from "../fs/atomic-write.js";

/** What the configuration file held before a switch: enough to check and restore it. */
export interface ConfigSnapshot {
  exists: boolean;
  sha256: string | null;
}

export function previousConfigPath(configPath: string): string {
  return `${configPath}.previous`;
}

export async function snapshotConfig(configPath: string): Promise<ConfigSnapshot> {
  const bytes = await readFileIfExists(configPath);
  return bytes === null ? { exists: false, sha256: null } : { exists: true, sha256: sha256(bytes) };
}

/**
 * Writes the applied configuration atomically, keeping what was there as `FILE.previous`
 * (itself written atomically first). Writing the same content again changes nothing.
 */
export async function installConfig(configPath: string, text: string): Promise<void> {
  const old = await readFileIfExists(configPath);
  if (old !== null && sha256(old) === sha256(text)) return;
  if (old !== null) await writeFileAtomic(previousConfigPath(configPath), old, { mode: 0o644 });
  await writeFileAtomic(configPath, text, { mode: 0o644 });
}

/**
 * Puts back the configuration file a snapshot describes: from `FILE.previous` when that holds
 * the snapshot's content, or removes the file when there was none.
 * @throws Error when the file differs from the snapshot and no matching copy is left.
 */
export async function restoreConfig(configPath: string, snapshot: ConfigSnapshot): Promise<void> {
  const current = await readFileIfExists(configPath);
  const currentSha = current === null ? null : sha256(current);
  if (currentSha === snapshot.sha256) return;
  if (!snapshot.exists) {
    await unlink(configPath);
    return;
  }
  const backup = await readFileIfExists(previousConfigPath(configPath));
  if (backup === null || sha256(backup) !== snapshot.sha256) {
    throw new Error(`${configPath} changed and ${previousConfigPath(configPath)} does not hold the previous content (sha256 ${snapshot.sha256})`);
  }
  await writeFileAtomic(configPath, backup, { mode: 0o644 });
}
