import { readlink, realpath } from "node:fs/promises";
import { basename } from "node:path";

/**
 * The store path a system link (`/run/current-system`, a profile) resolves to, or null when the
 * link does not exist. Resolved fully, so a profile `system -> system-7-link -> /nix/store/...`
 * gives the store path.
 */
export async function resolveSystem(link: string): Promise<string | null> {
  try {
    return await realpath(link);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/** The profile's current generation number (`system -> system-7-link` gives 7), or null when there is no profile. */
export async function profileGeneration(profile: string): Promise<number | null> {
  let target: string;
  try {
    target = await readlink(profile);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EINVAL") return null;
    throw error;
  }
  const match = /-(\d+)-link$/.exec(basename(target));
  return match ? Number(match[1]) : null;
}
