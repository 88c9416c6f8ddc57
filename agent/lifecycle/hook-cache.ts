import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../fs/atomic-write.js";
import type { Logger } from "../log/logger.js";
import { ACTION_RESULTS, CACHE_FILE } from "./constants.js";

/**
 * What discovery learned (group, hook, its timeouts), kept in the state
 * directory so the next boot of the same instance (a reboot, a warm-pool
 * instance leaving the pool) needs no describe calls. The cache is disposable:
 * unreadable or foreign (another instance ID, e.g. an AMI made from a running
 * machine) means "discover again", never an error.
 */

export interface HookInfo {
  name: string;
  /** Null when DescribeLifecycleHooks could not be asked (a configured hook name is still usable). */
  heartbeatTimeoutSeconds: number | null;
  globalTimeoutSeconds: number | null;
  defaultResult: (typeof ACTION_RESULTS)[number] | null;
}

export interface LifecycleCache {
  version: 1;
  instanceId: string;
  group: string;
  hook: HookInfo;
  savedAt: string;
}

const isNumberOrNull = (v: unknown): boolean => v === null || (typeof v === "number" && Number.isFinite(v) && v > 0);

function isCache(value: unknown): value is LifecycleCache {
  if (typeof value !== "object" || value === null) return false;
  const c = value as Partial<LifecycleCache>;
  const h = c.hook as Partial<HookInfo> | undefined;
  return (
    c.version === 1 &&
    typeof c.instanceId === "string" &&
    typeof c.group === "string" &&
    c.group !== "" &&
    typeof h === "object" &&
    h !== null &&
    typeof h.name === "string" &&
    h.name !== "" &&
    isNumberOrNull(h.heartbeatTimeoutSeconds) &&
    isNumberOrNull(h.globalTimeoutSeconds) &&
    (h.defaultResult === null || (ACTION_RESULTS as readonly unknown[]).includes(h.defaultResult))
  );
}

export async function readLifecycleCache(stateDir: string, logger: Logger): Promise<LifecycleCache | null> {
  const path = join(stateDir, CACHE_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") logger.warn({ path, err: error }, "lifecycle cache unreadable; discovering again");
    return null;
  }
  try {
    const value: unknown = JSON.parse(text);
    if (isCache(value)) return value;
  } catch {
    // fall through
  }
  logger.warn({ path, bytes: text.length }, "lifecycle cache malformed; discovering again");
  return null;
}

/** Writes the cache atomically (see `writeFileAtomic`). */
export async function writeLifecycleCache(stateDir: string, cache: LifecycleCache): Promise<void> {
  await writeFileAtomic(join(stateDir, CACHE_FILE), `${JSON.stringify(cache, null, 2)}\n`);
}
