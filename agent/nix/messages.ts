import type { SourceLocation } from "./errors.js";

/** Nix's error message, reduced to what an operator needs: the message and where. */
export interface NixMessage {
  message: string;
  location: SourceLocation | undefined;
}

const MAX_MESSAGE_CHARS = 600;
/** Old single-line form: `error: syntax error, unexpected '=', at /path/file.nix:3:5`. */
const TRAILING_LOCATION = /,?\s+at ((?:\/|«)[^\n]*?):(\d+):(\d+):?\s*$/;
/** Multi-line form (Nix >= 2.4): a line `at /path/file.nix:3:5:` below the message. */
const LOCATION_LINE = /^\s*at ((?:\/|«)[^\n]*?):(\d+):(\d+):?\s*$/;
const CODE_LINE = /^\s*(\d+)?\s*\|/;

/**
 * Extracts the message and location from a Nix command's stderr, in both the old one-line
 * format and the newer one (message, blank line, `at FILE:LINE:COL:`, code excerpt). When the
 * newer Nix prints a trace (`… while evaluating`) before the cause, the last `error:` wins. The
 * code excerpt is dropped: it would copy the configuration's body into logs.
 */
export function parseNixError(stderr: string): NixMessage {
  const lines = stderr.split("\n").map((line) => line.trimEnd());
  let start = -1;
  for (let i = 0; i < lines.length; i += 1) {
    const text = lines[i]!.trim();
    if (text.startsWith("error:") && text.slice("error:".length).trim() !== "") start = i;
  }
  if (start === -1) {
    const fallback = lines.filter((line) => line.trim() !== "" && !isNoise(line)).slice(-3).join(" ").trim();
    return { message: clip(fallback === "" ? "Nix failed without a message" : fallback), location: undefined };
  }
  const messageLines = [lines[start]!.trim().slice("error:".length).trim()];
  let i = start + 1;
  for (; i < lines.length; i += 1) {
    const line = lines[i]!;
    if (line.trim() === "" || LOCATION_LINE.test(line) || CODE_LINE.test(line) || isNoise(line)) break;
    messageLines.push(line.trim());
  }
  let message = messageLines.join(" ");
  let location: SourceLocation | undefined;
  const trailing = TRAILING_LOCATION.exec(message);
  if (trailing) {
    location = toLocation(trailing);
    message = message.slice(0, trailing.index);
  } else {
    for (let j = i; j < lines.length && location === undefined; j += 1) {
      if (lines[j]!.trim().startsWith("error:")) break;
      const match = LOCATION_LINE.exec(lines[j]!);
      if (match) location = toLocation(match);
    }
  }
  return { message: clip(message), location };
}

/** Replaces every occurrence of a private path (the candidate's temporary copy) by the name the operator knows. */
export function renamePath(nixMessage: NixMessage, from: string, to: string): NixMessage {
  const swap = (text: string): string => text.split(from).join(to);
  return {
    message: swap(nixMessage.message),
    location: nixMessage.location ? { ...nixMessage.location, file: swap(nixMessage.location.file) } : undefined,
  };
}

export function formatLocation(location: SourceLocation | undefined): string {
  return location ? `${location.file}:${location.line}:${location.column}` : "";
}

function toLocation(match: RegExpExecArray): SourceLocation {
  return { file: match[1]!, line: Number(match[2]), column: Number(match[3]) };
}

function isNoise(line: string): boolean {
  const text = line.trim();
  return text.startsWith("(use '--show-trace'") || text.startsWith("warning:");
}

function clip(text: string): string {
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS - 1)}…` : text;
}
