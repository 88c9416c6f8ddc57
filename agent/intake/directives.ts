import { ACTIVATION_MODES, DIRECTIVE_KEYS, POLICIES, type ActivationMode, type DirectiveKey, type Policy, type Settings } from "../settings/definitions.js";
import { UserdataDirectiveError } from "./errors.js";

/**
 * Per-launch overrides read from `# nixboot: key=value` lines in the userdata
 * header. Each field is the setting named by `DIRECTIVE_KEYS`.
 */
export interface LaunchDirectives {
  policy?: Policy;
  mode?: ActivationMode;
  healthChecks?: string[];
  healthTimeoutSeconds?: number;
  allowDegraded?: boolean;
  buildTimeoutSeconds?: number;
}

// Compile-time guard: LaunchDirectives holds exactly the settings DIRECTIVE_KEYS names, with their types.
type DirectiveSettings = Partial<Pick<Settings, (typeof DIRECTIVE_KEYS)[DirectiveKey]>>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const directivesMatchSettings: Same<LaunchDirectives, DirectiveSettings> = true;
void directivesMatchSettings;

export interface NumberedLine {
  /** 1-based line number, for messages. */
  number: number;
  text: string;
}

/**
 * Longest accepted timeout: Node timers overflow past 2^31-1 ms (about 24.8
 * days), so a larger value would fire at once instead of never.
 */
export const MAX_DIRECTIVE_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

const DIRECTIVE_LINE = /^[ \t]*#[ \t]*nixboot[ \t]*:(.*)$/i;
const KEY = /^[A-Za-z][A-Za-z0-9_-]*/;
const UNIT_NAME = /^[A-Za-z0-9:_.@\\][A-Za-z0-9:_.@\\-]*$/;
/** Unknown keys come from the userdata: cut them short in messages. */
const KEY_PREVIEW = 32;

/** True for a `# nixboot: ...` line (any case, any spacing around `#` and `:`). */
export function isDirectiveLine(line: string): boolean {
  return DIRECTIVE_LINE.test(line);
}

/**
 * Parses and validates the `# nixboot:` lines among `lines` (other lines are
 * skipped; the caller decides which lines form the header). `where` names the
 * text in messages, e.g. "userdata" or "the text/x-nix part".
 */
export function parseDirectives(lines: readonly NumberedLine[], where = "userdata"): LaunchDirectives {
  const directives: LaunchDirectives = {};
  const seen = new Set<string>();
  for (const line of lines) {
    const match = DIRECTIVE_LINE.exec(line.text);
    if (match === null) continue;
    const fail = (message: string, hint?: string): never => {
      throw new UserdataDirectiveError(`${where}, line ${line.number}: ${message}`, {
        hint: hint ?? "write directives as `# nixboot: key=value key2=\"value with spaces\"`",
        details: { line: line.number },
      });
    };
    const pairs = tokenize(match[1]!, fail);
    if (pairs.length === 0) fail("`# nixboot:` line has no key=value");
    for (const [key, value] of pairs) {
      if (!Object.hasOwn(DIRECTIVE_KEYS, key)) {
        fail(`unknown directive key "${short(key)}"`, `known keys: ${Object.keys(DIRECTIVE_KEYS).join(", ")}`);
      }
      if (key !== "health" && seen.has(key)) fail(`directive "${key}" is given twice`, `give "${key}" once; only "health" may repeat`);
      seen.add(key);
      apply(directives, key as DirectiveKey, value, (message) => fail(`directive "${key}": ${message}`));
    }
  }
  if (directives.healthChecks && directives.healthChecks.length > 1 && directives.healthChecks.includes("none")) {
    throw new UserdataDirectiveError(`${where}: health=none cannot be combined with other health checks`, {
      hint: "use health=none alone to skip the health gate, or list only real checks",
      details: { key: "health" },
    });
  }
  return directives;
}

function apply(out: LaunchDirectives, key: DirectiveKey, value: string, fail: (message: string) => never): void {
  switch (key) {
    case "policy":
      out.policy = (POLICIES as readonly string[]).includes(value) ? (value as Policy) : fail(`expected one of ${POLICIES.join(", ")}`);
      return;
    case "mode":
      out.mode = (ACTIVATION_MODES as readonly string[]).includes(value) ? (value as ActivationMode) : fail(`expected one of ${ACTIVATION_MODES.join(", ")}`);
      return;
    case "health":
      (out.healthChecks ??= []).push(checkHealth(value, fail));
      return;
    case "health-timeout":
      out.healthTimeoutSeconds = seconds(value, fail);
      return;
    case "build-timeout":
      out.buildTimeoutSeconds = seconds(value, fail);
      return;
    case "allow-degraded":
      out.allowDegraded = value === "true" ? true : value === "false" ? false : fail("expected true or false");
      return;
  }
}

function seconds(value: string, fail: (message: string) => never): number {
  if (!/^[0-9]+$/.test(value)) return fail("expected a whole number of seconds");
  const number = Number(value);
  if (number < 1 || number > MAX_DIRECTIVE_SECONDS) return fail(`expected seconds between 1 and ${MAX_DIRECTIVE_SECONDS}`);
  return number;
}

/** Validates one health check in the settings syntax: systemd, none, unit:NAME, http:URL, cmd:COMMAND. */
export function checkHealth(value: string, fail: (message: string) => never): string {
  if (value === "systemd" || value === "none") return value;
  const colon = value.indexOf(":");
  const kind = colon < 0 ? "" : value.slice(0, colon);
  const rest = colon < 0 ? "" : value.slice(colon + 1);
  if (kind === "unit") {
    return UNIT_NAME.test(rest) && rest.length <= 255 ? value : fail("unit:NAME needs a systemd unit name (letters, digits, :_.@\\-; not starting with -)");
  }
  if (kind === "http") {
    let url: URL | undefined;
    try {
      url = new URL(rest);
    } catch {
      url = undefined;
    }
    return url && (url.protocol === "http:" || url.protocol === "https:") ? value : fail("http:URL needs an http:// or https:// URL, e.g. http:http://127.0.0.1:8080/health");
  }
  if (kind === "cmd") return rest.trim() !== "" ? value : fail("cmd:COMMAND needs a command");
  return fail("expected systemd, none, unit:NAME, http:URL or cmd:COMMAND");
}

/** Splits `key=value key2="quoted \"value\""` into pairs. Unquoted values end at whitespace. */
function tokenize(text: string, fail: (message: string) => never): [string, string][] {
  const pairs: [string, string][] = [];
  let index = 0;
  const skipSpace = () => {
    while (index < text.length && /[ \t]/.test(text[index]!)) index++;
  };
  skipSpace();
  while (index < text.length) {
    const key = KEY.exec(text.slice(index))?.[0];
    if (key === undefined) fail(`expected a key at column ${index + 1} of the directive`);
    index += key!.length;
    if (text[index] !== "=") fail(`key "${short(key!)}" must be followed by =value`);
    index++;
    let value = "";
    if (text[index] === '"') {
      index++;
      while (index < text.length && text[index] !== '"') {
        if (text[index] === "\\" && index + 1 < text.length) index++;
        value += text[index++];
      }
      if (index >= text.length) fail(`unterminated quoted value for "${short(key!)}"`);
      index++;
      if (index < text.length && !/[ \t]/.test(text[index]!)) fail(`expected a space after the quoted value of "${short(key!)}"`);
    } else {
      while (index < text.length && !/[ \t]/.test(text[index]!)) {
        if (text[index] === '"') fail(`stray quote in the value of "${short(key!)}"; quote the whole value: key="..."`);
        value += text[index++];
      }
    }
    if (value === "") fail(`empty value for "${short(key!)}"`);
    pairs.push([key!, value]);
    skipSpace();
  }
  return pairs;
}

function short(key: string): string {
  return key.length > KEY_PREVIEW ? `${key.slice(0, KEY_PREVIEW)}...` : key;
}
