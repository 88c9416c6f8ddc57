import { createHash } from "node:crypto";
import { decodeUserdata, type Encoding } from "./decode.js";
import { isDirectiveLine, parseDirectives, type LaunchDirectives, type NumberedLine } from "./directives.js";
import { UserdataChannelError, UserdataMimeError } from "./errors.js";
import { NIX_PART_TYPE, SCRIPT_PART_TYPE, looksLikeMime, parseMimeUserdata } from "./mime.js";

export type UserdataClass = "nix" | "script" | "empty";

export interface Channel {
  name: string;
  url: string;
}

export interface Intake {
  class: UserdataClass;
  /** Why it was classified so, human-readable; never quotes the body. */
  reasons: string[];
  /** Raw bytes received. */
  sizeBytes: number;
  /** Bytes of the document after base64 and gzip were peeled (MIME framing included). */
  decodedBytes: number;
  /** Layers peeled, outermost first. */
  encodings: Encoding[];
  /** Hex sha256 of the raw userdata bytes: the idempotency key of a launch. */
  sha256: string;
  /** The configuration.nix text when class = nix. */
  configuration?: string;
  /** The script when class = script, or a MIME text/x-shellscript part next to the configuration. */
  script?: string;
  /** Nix channels named by amazon-init `### URL NAME` lines. */
  channels: Channel[];
  directives: LaunchDirectives;
}

type LineKind = "blank" | "comment" | "channel" | "ssh-host" | "content";

export interface TextVerdict {
  class: UserdataClass;
  reasons: string[];
  channels: Channel[];
  directives: LaunchDirectives;
}

const CHANNEL_NAME = /^[A-Za-z0-9_][A-Za-z0-9._+-]*$/;

/**
 * Reads userdata as received from IMDS (`null`: the instance has none):
 * peels base64/gzip/MIME, checks size and encoding, classifies it the way
 * amazon-init does and parses `###` channel lines and `# nixboot:` directives.
 * Pure: no I/O, no logging. Throws `UserdataError` subclasses.
 */
export function readUserdata(raw: Uint8Array | null): Intake {
  const bytes = raw ?? new Uint8Array(0);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  if (raw === null) {
    return { class: "empty", reasons: ["no userdata: IMDS has none for this instance"], sizeBytes: 0, decodedBytes: 0, encodings: [], sha256, channels: [], directives: {} };
  }
  const decoded = decodeUserdata(raw);
  const facts = { sizeBytes: raw.length, decodedBytes: decoded.decodedBytes, sha256 };
  if (!looksLikeMime(decoded.text)) {
    const text = decoded.text;
    const verdict = classifyText(text);
    const body = verdict.class === "nix" ? { configuration: text } : verdict.class === "script" ? { script: text } : {};
    return intake(verdict, { ...facts, encodings: decoded.encodings }, decoded.notes, body);
  }

  const mime = parseMimeUserdata(decoded.text);
  const listed = mime.partTypes.map((type, index) => `${index + 1}: ${type}`).join(", ");
  const reasons = [...decoded.notes, `MIME multipart with ${mime.partTypes.length} part(s) (${listed})`];
  const mimeFacts = { ...facts, encodings: [...decoded.encodings, "mime"] as Encoding[] };
  if (mime.script !== undefined && !mime.script.startsWith("#!")) {
    throw new UserdataMimeError(`the ${SCRIPT_PART_TYPE} part does not start with #! (an interpreter line)`, {
      hint: "start the script with its interpreter, e.g. #!/bin/sh",
      details: { problem: "script-without-interpreter" },
    });
  }
  const script = mime.script === undefined ? {} : { script: mime.script };
  if (mime.nix !== undefined) {
    const verdict = classifyNix(mime.nix, `the ${NIX_PART_TYPE} part`);
    if (verdict.class === "nix") {
      if (mime.script !== undefined) verdict.reasons.push(`also carries a ${SCRIPT_PART_TYPE} part, kept as the script`);
      return intake(verdict, mimeFacts, reasons, { configuration: mime.nix, ...script });
    }
    if (mime.script === undefined) return intake(verdict, mimeFacts, reasons, {});
    reasons.push(`the ${NIX_PART_TYPE} part holds no Nix, so the ${SCRIPT_PART_TYPE} part decides`);
  }
  return intake(classifyScript(mime.script!, `the ${SCRIPT_PART_TYPE} part`), mimeFacts, reasons, script);
}

function intake(
  verdict: TextVerdict,
  facts: Pick<Intake, "sizeBytes" | "decodedBytes" | "encodings" | "sha256">,
  reasons: readonly string[],
  body: Pick<Intake, "configuration" | "script">,
): Intake {
  return { class: verdict.class, reasons: [...reasons, ...verdict.reasons], ...facts, ...body, channels: verdict.channels, directives: verdict.directives };
}

/** Classifies decoded, non-MIME userdata text: script if it starts with `#!`, else Nix or empty. */
export function classifyText(text: string): TextVerdict {
  if (text.trim() === "") return { class: "empty", reasons: ["userdata is blank"], channels: [], directives: {} };
  if (text.startsWith("#!")) return classifyScript(text, "userdata");
  const verdict = classifyNix(text, "userdata");
  if (verdict.class === "nix") verdict.reasons.unshift("userdata does not start with #!, so it is not a script");
  return verdict;
}

/**
 * A script: directives are the `# nixboot:` lines right after the `#!` line;
 * `###` lines mean nothing in a script (amazon-init ran it as it is).
 */
function classifyScript(text: string, where: string): TextVerdict {
  const lines = numbered(text);
  let end = 1;
  while (end < lines.length && isDirectiveLine(lines[end]!.text)) end++;
  const reasons = [`${where} starts with #! (an interpreter line), so it is a script, as amazon-init treats it`];
  reasons.push(...ignoredDirectives(lines.slice(end), "directives in a script count only on the lines right after #!"));
  return { class: "script", reasons, channels: [], directives: parseDirectives(lines.slice(1, end), where) };
}

/**
 * amazon-init's test: set aside comment lines and `SSH_HOST_*` lines; if
 * anything but whitespace remains, it is a Nix expression. Unlike amazon-init,
 * indented comments count as comments too (a comment-only file is no Nix
 * expression either way), and `####...` lines are comments, not channels.
 */
function classifyNix(text: string, where: string): TextVerdict {
  const lines = numbered(text);
  const counts: Record<LineKind, number> = { blank: 0, comment: 0, channel: 0, "ssh-host": 0, content: 0 };
  const channels: Channel[] = [];
  let headerEnd = lines.length;
  for (const [index, line] of lines.entries()) {
    const kind = lineKind(line.text);
    counts[kind]++;
    if (kind === "content" && headerEnd === lines.length) headerEnd = index;
    if (kind === "channel") addChannel(channels, line, where);
  }
  const directives = parseDirectives(lines.slice(0, headerEnd), where);
  const reasons: string[] = [];
  if (counts.content === 0) {
    reasons.push(`${where} has only blank lines, comments (${counts.comment}), ### channel lines (${counts.channel}) or SSH_HOST_* lines (${counts["ssh-host"]}): nothing to apply`);
    return { class: "empty", reasons, channels, directives };
  }
  reasons.push(`${where}: ${counts.content} line(s) of Nix remain after setting aside comments, ### channel lines and SSH_HOST_* lines`);
  if (/^#cloud-config\b/.test(text)) reasons.push("first line is #cloud-config: cloud-init formats are not understood; taken as Nix, as amazon-init did");
  if (channels.length > 0) reasons.push(`names ${channels.length} Nix channel(s) in ### lines`);
  if (counts["ssh-host"] > 0) reasons.push(`${counts["ssh-host"]} SSH_HOST_* line(s) stay in the configuration as amazon-init left them; Nix rejects them outside a string`);
  reasons.push(...ignoredDirectives(lines.slice(headerEnd), "directives count only in the leading comment block"));
  return { class: "nix", reasons, channels, directives };
}

function lineKind(line: string): LineKind {
  if (line.trim() === "") return "blank";
  if (/^###(?!#)/.test(line) && line.slice(3).trim() !== "") return "channel";
  if (line.trimStart().startsWith("#")) return "comment";
  if (line.startsWith("SSH_HOST_")) return "ssh-host";
  return "content";
}

/** `### URL NAME`, as amazon-init writes it to ~/.nix-channels (a bare `###` is a comment). */
function addChannel(channels: Channel[], line: NumberedLine, where: string): void {
  const fail = (problem: string): never => {
    throw new UserdataChannelError(`${where}, line ${line.number}: ${problem}; a ### line names a Nix channel as ### URL NAME`, {
      hint: "write e.g. `### https://nixos.org/channels/nixos-25.05 nixos`, or use #### for a heading comment",
      details: { line: line.number },
    });
  };
  const words = line.text.slice(3).trim().split(/\s+/);
  if (words.length !== 2) fail(`expected 2 words after ###, found ${words.length}`);
  const [url, name] = words as [string, string];
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !["http:", "https:", "file:"].includes(parsed.protocol)) fail("the channel URL is not an http(s):// or file:// URL");
  if (!CHANNEL_NAME.test(name)) fail("the channel name may hold only letters, digits and ._+-");
  if (channels.some((channel) => channel.name === name)) fail("the channel name is already used by an earlier ### line");
  channels.push({ name, url });
}

function ignoredDirectives(lines: readonly NumberedLine[], why: string): string[] {
  const ignored = lines.filter((line) => isDirectiveLine(line.text)).map((line) => line.number);
  return ignored.length === 0 ? [] : [`# nixboot: line(s) ${ignored.join(", ")} ignored: ${why}`];
}

function numbered(text: string): NumberedLine[] {
  return text.split(/\r?\n/).map((line, index) => ({ number: index + 1, text: line }));
}
