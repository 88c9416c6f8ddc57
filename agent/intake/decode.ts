import { gunzipSync } from "node:zlib";
import { UserdataEncodingError, UserdataGzipError, UserdataTooLargeError } from "./errors.js";

/** EC2 accepts at most 16 KiB of userdata, counted before base64 encoding. */
export const MAX_USERDATA_BYTES = 16 * 1024;

/** The base64 form of 16 KiB: ceil(16384 / 3) * 4 = 21848 characters. */
export const MAX_BASE64_CHARS = Math.ceil(MAX_USERDATA_BYTES / 3) * 4;

/**
 * Largest raw body accepted: base64 of 16 KiB wrapped with CRLF every 64
 * characters (the tightest common wrap, PEM's), plus a final line break.
 * Anything bigger cannot be legitimate userdata in any form.
 */
export const MAX_RAW_BYTES = MAX_BASE64_CHARS + 2 * Math.ceil(MAX_BASE64_CHARS / 64) + 2;

/**
 * Cap on gzip output. Compression lets a configuration exceed 16 KiB, but a
 * configuration.nix past 1 MiB is not plausible; the cap turns a gzip bomb
 * into a `UserdataGzipError` instead of an out-of-memory kill at boot.
 */
export const MAX_DECOMPRESSED_BYTES = 1024 * 1024;

export type Encoding = "base64" | "gzip" | "mime";

export interface Decoded {
  /** The userdata document as text (MIME not yet parsed). */
  text: string;
  /** Bytes of the document after base64 and gzip were peeled. */
  decodedBytes: number;
  /** Layers peeled, outermost first. */
  encodings: Encoding[];
  /** Human-readable notes on decoding decisions (never the body). */
  notes: string[];
}

const GZIP_MAGIC = [0x1f, 0x8b] as const;
const BASE64_SHAPE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** C0 controls other than tab, line feed, vertical tab, form feed and carriage return, and DEL. */
const BINARY_CONTROL = /[\u0000-\u0008\u000e-\u001f\u007f]/;

/**
 * Peels base64 and gzip off raw userdata and checks size and encoding.
 * Base64 is taken the way cloud-init takes it: only when the whole body
 * (whitespace aside) is strict base64 and decodes to gzip or to text;
 * otherwise the body is text as it is.
 */
export function decodeUserdata(raw: Uint8Array): Decoded {
  if (raw.length > MAX_RAW_BYTES) throw tooLarge(raw.length, MAX_RAW_BYTES, "raw userdata");
  const encodings: Encoding[] = [];
  const notes: string[] = [];
  let bytes: Uint8Array = raw;

  const fromBase64 = decodeBase64Strict(raw);
  if (fromBase64 !== undefined && (isGzip(fromBase64) || isText(fromBase64))) {
    encodings.push("base64");
    bytes = fromBase64;
  } else if (fromBase64 !== undefined) {
    notes.push("body is valid base64 but decodes to binary data, so it was taken as plain text");
  }
  if (bytes.length > MAX_USERDATA_BYTES) throw tooLarge(bytes.length, MAX_USERDATA_BYTES, "userdata");

  if (isGzip(bytes)) {
    encodings.push("gzip");
    bytes = gunzipCapped(bytes);
    if (isGzip(bytes)) {
      throw new UserdataGzipError("userdata is gzip inside gzip; only one gzip layer is supported", {
        hint: "compress the configuration once: gzip -c configuration.nix",
        details: { problem: "nested" },
      });
    }
  }
  return { text: decodeUtf8(bytes, "userdata"), decodedBytes: bytes.length, encodings, notes };
}

/**
 * Strict base64 of a whole body: only the standard alphabet, whitespace
 * ignored, correct padding and length, canonical trailing bits. Returns
 * undefined when the body is not base64 (including when it is blank).
 */
export function decodeBase64Strict(body: Uint8Array | string): Uint8Array | undefined {
  const text = typeof body === "string" ? body : asciiOrUndefined(body);
  if (text === undefined) return undefined;
  const compact = text.replace(/[ \t\r\n]+/g, "");
  if (compact === "" || compact.length % 4 !== 0 || !BASE64_SHAPE.test(compact)) return undefined;
  const decoded = Buffer.from(compact, "base64");
  // Reject non-canonical encodings (set bits in the padding), which lenient decoders accept.
  if (decoded.toString("base64") !== compact) return undefined;
  return new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.length);
}

/** Decodes UTF-8, failing with `UserdataEncodingError` on any invalid sequence. */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw new UserdataEncodingError(`${what} is not valid UTF-8 text (${bytes.length} bytes)`, {
      cause: error,
      hint: "send the configuration as UTF-8 text, optionally gzip-compressed and/or base64-encoded",
      details: { bytes: bytes.length },
    });
  }
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

function isText(bytes: Uint8Array): boolean {
  try {
    return !BINARY_CONTROL.test(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return false;
  }
}

function asciiOrUndefined(bytes: Uint8Array): string | undefined {
  for (const byte of bytes) if (byte > 0x7f) return undefined;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1");
}

function gunzipCapped(bytes: Uint8Array): Uint8Array {
  try {
    return gunzipSync(bytes, { maxOutputLength: MAX_DECOMPRESSED_BYTES });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
      throw new UserdataGzipError(`gzip userdata decompresses to more than ${MAX_DECOMPRESSED_BYTES} bytes (${bytes.length} bytes compressed)`, {
        cause: error,
        hint: `a configuration must stay under ${MAX_DECOMPRESSED_BYTES} bytes uncompressed; check what was compressed`,
        details: { problem: "too-large", compressedBytes: bytes.length, limit: MAX_DECOMPRESSED_BYTES },
      });
    }
    throw new UserdataGzipError(`gzip userdata is corrupt or truncated (${bytes.length} bytes): ${(error as Error).message}`, {
      cause: error,
      hint: "recreate it with `gzip -c configuration.nix`; when passing it through a tool, make sure the tool base64-encodes binary userdata once",
      details: { problem: "corrupt", compressedBytes: bytes.length },
    });
  }
}

function tooLarge(size: number, limit: number, what: string): UserdataTooLargeError {
  return new UserdataTooLargeError(`${what} is ${size} bytes; EC2 allows at most ${MAX_USERDATA_BYTES} bytes (16 KiB) of userdata`, {
    hint: "gzip-compress the configuration (nixboot decompresses it), or keep the bulk in the AMI and send a small configuration",
    details: { bytes: size, limit },
  });
}
