import { randomBytes } from "node:crypto";
import { link, mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Clock } from "../clock.js";
import type { Logger } from "../log/logger.js";
import { BusyError } from "./errors.js";

export const LOCK_FILE = "lock";
/** Why 200 ms: a waiting run notices a release quickly, and one stat a tick costs nothing. */
const LOCK_POLL_MS = 200;

interface LockOwner {
  pid: number;
  token: string;
  since: string;
}

export interface LockOptions {
  stateDir: string;
  clock: Clock;
  /** How long to wait for a running holder (lockWaitSeconds). */
  waitMs: number;
  logger?: Logger;
  pollMs?: number;
}

export interface Lock {
  readonly path: string;
  release(): Promise<void>;
}

/**
 * One run at a time, in pure Node: the lock is `STATE/lock`, holding `{pid, token, since}`. It is
 * created complete and exclusively (written to a private temp file, then `link`ed to the lock
 * name, which fails if the name exists). A lock whose pid is not alive is stale: it is moved
 * away (`rename`, so only one waiter wins) and the waiter tries again. A live holder is waited
 * for up to `waitMs`. Known limit: a holder whose pid was reused by an unrelated live process
 * looks alive; the lock is then only broken by removing the file.
 * @throws BusyError when the lock is still held after `waitMs`.
 */
export async function acquireLock(options: LockOptions): Promise<Lock> {
  await mkdir(options.stateDir, { recursive: true });
  const path = join(options.stateDir, LOCK_FILE);
  const owner: LockOwner = { pid: process.pid, token: randomBytes(8).toString("hex"), since: new Date(options.clock.now()).toISOString() };
  const deadline = options.clock.now() + options.waitMs;
  for (;;) {
    if (await tryCreate(path, owner)) return handle(path, owner);
    const holder = await readOwner(path);
    if (holder !== null && !isAlive(holder.pid)) {
      options.logger?.warn({ pid: holder.pid, since: holder.since }, "removing a stale lock left by a run that is gone");
      await breakStale(path, holder);
      continue;
    }
    if (holder === null) continue; // released between our attempt and the read
    if (options.clock.now() >= deadline) {
      throw new BusyError(`another nixboot run (pid ${holder.pid}, since ${holder.since}) holds ${path}; waited ${Math.round(options.waitMs / 1000)} s`, {
        hint: `wait for it to finish (nixboot status), or raise lockWaitSeconds; if no nixboot process runs, remove ${path}`,
        details: { pid: holder.pid, since: holder.since },
      });
    }
    options.logger?.debug({ pid: holder.pid, since: holder.since }, "waiting for another nixboot run to finish");
    await options.clock.sleep(Math.min(options.pollMs ?? LOCK_POLL_MS, Math.max(0, deadline - options.clock.now())));
  }
}

async function tryCreate(path: string, owner: LockOwner): Promise<boolean> {
  const temp = `${path}.${owner.token}.tmp`;
  await writeFile(temp, `${JSON.stringify(owner)}\n`, { mode: 0o644 });
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

async function readOwner(path: string): Promise<LockOwner | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as LockOwner;
    if (typeof parsed.pid === "number" && typeof parsed.token === "string") return parsed;
  } catch {
    // fall through: unreadable content is treated as a dead holder (locks are created complete)
  }
  return { pid: -1, token: "", since: "unknown" };
}

/** Moves a stale lock away; if what moved turns out to be a fresh lock someone just took, puts it back. */
async function breakStale(path: string, stale: LockOwner): Promise<void> {
  const aside = `${path}.stale.${randomBytes(4).toString("hex")}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  const moved = await readOwner(aside);
  if (moved !== null && moved.token !== stale.token) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

function handle(path: string, owner: LockOwner): Lock {
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      const current = await readOwner(path);
      if (current?.token === owner.token) await unlink(path).catch(() => undefined);
    },
  };
}

/** Whether a process exists (signal 0 checks without signalling). EPERM means it exists under another user. */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
