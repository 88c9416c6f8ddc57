import type { Settings } from "../settings/definitions.js";
import type { AppliedRecord } from "../state/journal.js";
import { resolveSystem } from "../system/links.js";

/**
 * Before evaluating: the same candidate (sha256) and entry point as the last successful apply,
 * and that system is still what runs and what the profile holds (mode boot: what the profile
 * holds). This is the reboot case: nothing is evaluated or switched.
 */
export async function sameAsLastApplied(settings: Settings, last: AppliedRecord | null, candidateSha256: string): Promise<boolean> {
  if (last === null || last.candidateSha256 !== candidateSha256 || last.entry !== settings.nixosEntry) return false;
  return isInPlace(settings, last.systemPath);
}

/**
 * After evaluating: the candidate's system is already running and committed (a different text
 * giving the same system, e.g. a comment changed). Nothing is switched.
 */
export async function isInPlace(settings: Settings, systemPath: string): Promise<boolean> {
  const profile = await resolveSystem(settings.systemProfile);
  if (settings.mode === "boot") return profile === systemPath;
  return profile === systemPath && (await resolveSystem(settings.currentSystem)) === systemPath;
}
