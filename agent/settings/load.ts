import { readFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { SettingsError } from "../errors.js";
import { DEFAULT_SETTINGS_FILE, SETTINGS, type SettingDefinition, type Settings } from "./definitions.js";

export type RawValue = string | number | boolean | readonly string[] | undefined;

export interface SettingsSources {
  /** Values from flags, by setting key (already split into lists where repeated). */
  flags?: Partial<Record<keyof Settings, RawValue>>;
  env?: NodeJS.ProcessEnv;
  /** Path of the settings file; a missing default file is fine, a missing named one is not. */
  file?: string;
}

export function defaultSettings(): Settings {
  const out: Record<string, unknown> = {};
  for (const def of SETTINGS) out[def.key] = Array.isArray(def.default) ? [...def.default] : def.default;
  return out as Settings;
}

/** Resolves settings: defaults < settings file < environment < flags. Validates every value once, here. */
export async function loadSettings(sources: SettingsSources = {}): Promise<Settings> {
  const env = sources.env ?? process.env;
  const filePath = sources.file ?? env.NIXBOOT_SETTINGS_FILE ?? DEFAULT_SETTINGS_FILE;
  const fromFile = await readSettingsFile(filePath, sources.file !== undefined || env.NIXBOOT_SETTINGS_FILE !== undefined);
  const settings = defaultSettings() as Record<string, unknown>;
  for (const def of SETTINGS as readonly SettingDefinition[]) {
    const candidates: [string, RawValue][] = [
      [`settings file ${filePath} key "${def.key}"`, fromFile[def.key] as RawValue],
      [`environment variable ${def.env}`, env[def.env]],
      [`flag --${def.flag}`, sources.flags?.[def.key as keyof Settings]],
    ];
    for (const [origin, raw] of candidates) {
      if (raw !== undefined) settings[def.key] = coerce(def, raw, origin);
    }
  }
  for (const key of PATH_SETTINGS) {
    const value = settings[key];
    // Relative paths mean "from here", as on any command line; `<nixpkgs/nixos>` stays a search-path lookup.
    if (typeof value === "string" && value !== "" && !value.startsWith("<") && !isAbsolute(value)) settings[key] = resolve(value);
  }
  return settings as Settings;
}

/** Settings that name files or directories. */
const PATH_SETTINGS = ["stateDir", "nixosEntry", "nixBinDir", "configPath", "systemProfile", "currentSystem"] as const satisfies readonly (keyof Settings)[];

async function readSettingsFile(path: string, required: boolean): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new SettingsError(`cannot read settings file ${path}: ${(error as Error).message}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SettingsError(`settings file ${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new SettingsError(`settings file ${path} must hold a JSON object`);
  }
  const known = new Set<string>(SETTINGS.map((def) => def.key));
  const unknown = Object.keys(parsed).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    throw new SettingsError(`settings file ${path} has unknown key(s): ${unknown.join(", ")}`, {
      hint: `known keys: ${[...known].join(", ")}`,
    });
  }
  return parsed as Record<string, unknown>;
}

/** Turns a raw value from any source into the setting's type, or throws naming the source. */
export function coerce(def: SettingDefinition, raw: Exclude<RawValue, undefined>, origin: string): unknown {
  const fail = (expected: string): never => {
    throw new SettingsError(`${origin}: expected ${expected}, got ${JSON.stringify(raw)}`);
  };
  const kind = def.kind;
  if (kind === "string") return typeof raw === "string" ? raw : fail("a string");
  if (kind === "seconds") {
    const value = typeof raw === "number" ? raw : typeof raw === "string" && /^\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : Number.NaN;
    return Number.isFinite(value) && value >= 0 ? value : fail("a number of seconds (>= 0)");
  }
  if (kind === "boolean") {
    if (typeof raw === "boolean") return raw;
    if (typeof raw === "string" && /^(1|true|yes|on)$/i.test(raw)) return true;
    if (typeof raw === "string" && /^(0|false|no|off)$/i.test(raw)) return false;
    return fail("true or false");
  }
  if (kind === "list") {
    if (typeof raw === "string") return raw.split(/[\n,]/).map((item) => item.trim()).filter((item) => item !== "");
    if (Array.isArray(raw) && raw.every((item) => typeof item === "string")) return [...raw];
    return fail("a list of strings");
  }
  return typeof raw === "string" && kind.enum.includes(raw) ? raw : fail(`one of ${kind.enum.join(", ")}`);
}
