/**
 * Userdata intake: decode (base64, gzip, MIME multipart), classify
 * (nix | script | empty, as amazon-init does) and per-launch directives.
 * Pure and offline; the IMDS client that fetches the bytes lives beside it.
 */
export { readUserdata, classifyText, type Channel, type Intake, type UserdataClass } from "./classify.js";
export { decodeUserdata, MAX_DECOMPRESSED_BYTES, MAX_RAW_BYTES, MAX_USERDATA_BYTES, type Decoded, type Encoding } from "./decode.js";
export { isDirectiveLine, parseDirectives, MAX_DIRECTIVE_SECONDS, type LaunchDirectives, type NumberedLine } from "./directives.js";
export { NIX_PART_TYPE, SCRIPT_PART_TYPE, looksLikeMime, parseMimeUserdata, type MimeUserdata } from "./mime.js";
export {
  UserdataChannelError,
  UserdataDirectiveError,
  UserdataEncodingError,
  UserdataError,
  UserdataGzipError,
  UserdataMimeError,
  UserdataTooLargeError,
} from "./errors.js";
