/** What `nix-store --realise --dry-run` says realising a derivation would take. */
export interface DryRun {
  toBuild: string[];
  toFetch: string[];
  /** Paths Nix says it does not know how to build (neither derivation outputs nor substitutable). */
  unknown: string[];
  downloadBytes?: number;
  unpackedBytes?: number;
}

type Section = "build" | "fetch" | "unknown" | null;

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };
const BUILD_HEADER = /^(?:these (?:\d+ )?derivations|this derivation) will be built:$/;
const FETCH_HEADER = /^(?:these (?:\d+ )?paths|this path) will be fetched(?: \(([\d.]+) (\w+) download, ([\d.]+) (\w+) unpacked\))?:$/;
const UNKNOWN_HEADER = /^don't know how to build these paths/;
const ITEM = /^\s+(\/\S+)$/;

/**
 * Parses the dry-run report (Nix prints it on stderr). Understands Nix 2.3-2.2x wording:
 * "these N derivations will be built:", "this derivation will be built:",
 * "these N paths will be fetched (X MiB download, Y MiB unpacked):", "this path will be fetched (...)",
 * with or without the count, and sizes in B/KiB/MiB/GiB. Other lines are ignored.
 */
export function parseDryRun(text: string): DryRun {
  const out: DryRun = { toBuild: [], toFetch: [], unknown: [] };
  let section: Section = null;
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    const fetch = FETCH_HEADER.exec(line.trim());
    if (BUILD_HEADER.test(line.trim())) section = "build";
    else if (fetch) {
      section = "fetch";
      if (fetch[1] !== undefined) {
        out.downloadBytes = (out.downloadBytes ?? 0) + toBytes(fetch[1], fetch[2]!);
        out.unpackedBytes = (out.unpackedBytes ?? 0) + toBytes(fetch[3]!, fetch[4]!);
      }
    } else if (UNKNOWN_HEADER.test(line.trim())) section = "unknown";
    else {
      const item = ITEM.exec(line);
      if (item && section !== null) {
        const list = section === "build" ? out.toBuild : section === "fetch" ? out.toFetch : out.unknown;
        list.push(item[1]!);
      } else {
        section = null;
      }
    }
  }
  return out;
}

function toBytes(value: string, unit: string): number {
  return Math.round(Number(value) * (UNITS[unit] ?? 1));
}
