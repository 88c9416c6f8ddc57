import { decodeBase64Strict, decodeUtf8 } from "./decode.js";
import { UserdataMimeError } from "./errors.js";

/** The part type that carries a configuration.nix. */
export const NIX_PART_TYPE = "text/x-nix";
/** The part type cloud-init runs as a script; nixboot takes it as the userdata script. */
export const SCRIPT_PART_TYPE = "text/x-shellscript";

export interface MimeUserdata {
  /** The text/x-nix part, when there is one. */
  nix?: string;
  /** The text/x-shellscript part, when there is one. */
  script?: string;
  /** Content type of every part, in order (lowercase, without parameters). */
  partTypes: string[];
}

interface Header {
  value: string;
  params: Record<string, string>;
}

const HEADER_LINE = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+):[ \t]*(.*)$/;
const TEXT_CHARSETS = new Set(["us-ascii", "utf-8", "utf8"]);
/** Types longer than this are cut in messages: they come from the userdata. */
const TYPE_PREVIEW = 40;

/** True when the text starts with MIME headers, as cloud-init's multipart userdata does. */
export function looksLikeMime(text: string): boolean {
  return /^(content-type|mime-version)[ \t]*:/i.test(text);
}

/**
 * Parses multipart/mixed userdata (RFC 2046, as cloud-init writes it) and
 * picks the text/x-nix and text/x-shellscript parts. Other parts
 * (text/cloud-config...) are listed in `partTypes` and otherwise ignored.
 */
export function parseMimeUserdata(text: string): MimeUserdata {
  const lines = text.split(/\r?\n/);
  const top = readHeaders(lines, 0, "the MIME headers");
  const contentType = top.headers.get("content-type");
  if (contentType === undefined || contentType.value !== "multipart/mixed") {
    throw mimeError("not-multipart", `MIME userdata must be multipart/mixed, but its Content-Type is ${contentType === undefined ? "missing" : preview(contentType.value)}`);
  }
  const boundary = contentType.params.boundary;
  if (boundary === undefined || boundary === "" || boundary.length > 70) {
    throw mimeError("missing-boundary", "MIME userdata has no usable boundary parameter (1 to 70 characters) in its Content-Type");
  }

  const parts = splitParts(lines, top.next, boundary);
  const partTypes: string[] = [];
  const found: { nix: string[]; script: string[] } = { nix: [], script: [] };
  parts.forEach((part, index) => {
    const number = index + 1;
    const head = readHeaders(part, 0, `the headers of part ${number}`);
    const type = head.headers.get("content-type");
    const typeName = type?.value ?? "text/plain";
    partTypes.push(typeName);
    const slot = typeName === NIX_PART_TYPE ? found.nix : typeName === SCRIPT_PART_TYPE ? found.script : undefined;
    if (slot === undefined) return;
    const charset = type?.params.charset?.toLowerCase();
    if (charset !== undefined && !TEXT_CHARSETS.has(charset)) {
      throw mimeError("unsupported-charset", `part ${number} (${typeName}) has charset ${preview(charset)}; only UTF-8 and US-ASCII are supported`);
    }
    slot.push(partBody(part.slice(head.next), head.headers.get("content-transfer-encoding")?.value, number, typeName));
  });

  if (found.nix.length > 1) throw mimeError("duplicate-nix-part", `MIME userdata has ${found.nix.length} ${NIX_PART_TYPE} parts; send exactly one configuration`);
  if (found.script.length > 1) throw mimeError("duplicate-script-part", `MIME userdata has ${found.script.length} ${SCRIPT_PART_TYPE} parts; nixboot runs at most one script`);
  if (found.nix.length === 0 && found.script.length === 0) {
    throw mimeError("no-usable-part", `MIME userdata has no ${NIX_PART_TYPE} or ${SCRIPT_PART_TYPE} part (part types: ${partTypes.map(preview).join(", ") || "none"})`);
  }
  return { nix: found.nix[0], script: found.script[0], partTypes };
}

/** Splits the body after the top headers at the boundary; preamble and epilogue are dropped. */
function splitParts(lines: string[], start: number, boundary: string): string[][] {
  const delimiter = `--${boundary}`;
  const closing = `${delimiter}--`;
  const parts: string[][] = [];
  let current: string[] | undefined;
  for (let index = start; index < lines.length; index++) {
    const line = lines[index]!.replace(/[ \t]+$/, "");
    if (line === closing) {
      if (current === undefined) throw mimeError("no-parts", "MIME userdata closes before its first part");
      parts.push(current);
      return parts;
    }
    if (line === delimiter) {
      if (current !== undefined) parts.push(current);
      current = [];
    } else if (current !== undefined) {
      current.push(lines[index]!);
    }
  }
  if (current === undefined) throw mimeError("no-delimiter", "MIME userdata never uses its boundary; check the boundary parameter");
  throw mimeError("no-closing-delimiter", "MIME userdata has no closing delimiter (--BOUNDARY--); it may be truncated");
}

/** Reads a header block (with folded continuation lines) up to the blank line ending it. */
function readHeaders(lines: readonly string[], start: number, what: string): { headers: Map<string, Header>; next: number } {
  const raw = new Map<string, string>();
  let last: string | undefined;
  for (let index = start; index < lines.length; index++) {
    const line = lines[index]!;
    if (line.trim() === "") {
      const headers = new Map<string, Header>();
      for (const [name, value] of raw) headers.set(name, parseHeaderValue(value));
      return { headers, next: index + 1 };
    }
    if (/^[ \t]/.test(line) && last !== undefined) {
      raw.set(last, `${raw.get(last)!} ${line.trim()}`);
      continue;
    }
    const match = HEADER_LINE.exec(line);
    if (match === null) throw mimeError("bad-header", `line ${index + 1} of ${what} is not a header (Name: value)`);
    last = match[1]!.toLowerCase();
    raw.set(last, match[2]!.trim());
  }
  throw mimeError("no-body", `${what} do not end with a blank line, so there is no body`);
}

/** `type/subtype; name=value; name="quoted value"` → lowercase type and parameters (names lowercase). */
function parseHeaderValue(text: string): Header {
  const pieces: string[] = [];
  let piece = "";
  let quoted = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (quoted && char === "\\" && index + 1 < text.length) {
      piece += text[++index];
    } else if (char === '"') {
      quoted = !quoted;
    } else if (char === ";" && !quoted) {
      pieces.push(piece);
      piece = "";
    } else {
      piece += char;
    }
  }
  pieces.push(piece);
  const params: Record<string, string> = {};
  for (const param of pieces.slice(1)) {
    const equals = param.indexOf("=");
    if (equals > 0) params[param.slice(0, equals).trim().toLowerCase()] = param.slice(equals + 1).trim();
  }
  return { value: pieces[0]!.trim().toLowerCase(), params };
}

/** The text of a used part: base64 transfer encoding undone, UTF-8 checked. Lines are joined with LF. */
function partBody(lines: readonly string[], transferEncoding: string | undefined, number: number, typeName: string): string {
  const text = lines.join("\n");
  const encoding = transferEncoding ?? "7bit";
  if (encoding === "7bit" || encoding === "8bit" || encoding === "binary") return text;
  if (encoding !== "base64") {
    throw mimeError("unsupported-transfer-encoding", `part ${number} (${typeName}) uses Content-Transfer-Encoding ${preview(encoding)}; use base64, 7bit or 8bit`);
  }
  const bytes = decodeBase64Strict(text);
  if (bytes === undefined) throw mimeError("bad-part-base64", `part ${number} (${typeName}) declares base64 but is not valid base64`);
  return decodeUtf8(bytes, `part ${number} (${typeName})`);
}

function preview(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > TYPE_PREVIEW ? `${clean.slice(0, TYPE_PREVIEW)}...` : clean;
}

function mimeError(problem: string, message: string): UserdataMimeError {
  return new UserdataMimeError(message, {
    hint: `build multipart userdata with one ${NIX_PART_TYPE} part (and at most one ${SCRIPT_PART_TYPE} part), e.g. with Python's email.mime or cloud-init's make-mime`,
    details: { problem },
  });
}
