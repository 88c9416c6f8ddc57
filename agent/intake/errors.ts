import { ErrorCode, NixbootError } from "../errors.js";

/**
 * Userdata intake errors. All share `ErrorCode.UserdataInvalid`: the userdata
 * the instance was launched with cannot be used, and no retry will change it.
 * Messages and details carry sizes, line numbers and short key names, never
 * the userdata body.
 */
export abstract class UserdataError extends NixbootError {
  readonly code = ErrorCode.UserdataInvalid;
}

/**
 * Thrown when the userdata is bigger than EC2 allows (16 KiB of userdata, or
 * its base64 form), so it cannot have come from a well-formed launch.
 */
export class UserdataTooLargeError extends UserdataError {}

/** Thrown when the decoded userdata (or a MIME part of it) is not valid UTF-8 text. */
export class UserdataEncodingError extends UserdataError {}

/**
 * Thrown when gzip-compressed userdata is corrupt, truncated, or would
 * decompress past the cap (a gzip bomb); `details.problem` says which.
 */
export class UserdataGzipError extends UserdataError {}

/**
 * Thrown for malformed MIME multipart userdata: no boundary, no closing
 * delimiter, a part that cannot be decoded, more than one part of a kind, or
 * no part nixboot can use. `details.problem` names the case.
 */
export class UserdataMimeError extends UserdataError {}

/** Thrown for a `###` channel line that is not `### URL NAME`; `details.line` is its line number. */
export class UserdataChannelError extends UserdataError {}

/**
 * Thrown for a bad `# nixboot:` directive: unknown key, invalid value,
 * repeated key or broken quoting; `details.line` is its line number.
 */
export class UserdataDirectiveError extends UserdataError {}
