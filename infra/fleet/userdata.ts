import { createHash } from "node:crypto";
import { constants, gzipSync } from "node:zlib";
import { readUserdata } from "../../agent/intake/index.js";
import { UserdataBuildError } from "../errors.js";

/**
 * EC2 accepts at most 16 KiB of userdata, counted on the raw bytes before the
 * base64 encoding that the RunInstances / launch template APIs carry it in.
 */
export const EC2_USERDATA_LIMIT_BYTES = 16 * 1024;

/**
 * Configurations up to this size go in as plain text, which the EC2 console
 * and `nixboot classify` show as is; larger ones are gzip-compressed. Plain
 * text whenever it fits is the more useful default: compression only buys
 * room, and is needed only past the limit.
 */
export const DEFAULT_COMPRESS_ABOVE_BYTES = EC2_USERDATA_LIMIT_BYTES;

export interface UserdataOptions {
  /** Gzip the configuration when its UTF-8 form is larger than this many bytes. @default 16384 */
  readonly compressAboveBytes?: number;
}

/** The userdata a launch template carries, and log-safe facts about it. */
export interface EncodedUserdata {
  /** The raw userdata bytes (what EC2 counts against its 16 KiB limit). */
  readonly bytes: Uint8Array;
  /** `bytes` in base64: the value of `LaunchTemplateData.UserData`. */
  readonly base64: string;
  /** Whether `bytes` is the gzip of the configuration. */
  readonly compressed: boolean;
  /** Size of the configuration's UTF-8 form. */
  readonly configurationBytes: number;
  /** sha256 (hex) of the configuration's UTF-8 form, for logs and tags. */
  readonly configurationSha256: string;
}

/**
 * Turns a `configuration.nix` into launch template userdata: plain text when
 * it is at most `compressAboveBytes`, else gzip (level 9; Node writes a zero
 * mtime, so the bytes and the launch template version are deterministic).
 * The result is read back with the agent's own intake (`readUserdata`, what
 * an instance does with the bytes IMDS returns), which must find this very
 * configuration. Throws `UserdataBuildError` when the result would not fit
 * EC2's limit or the agent would not read it as this Nix configuration.
 */
export function encodeUserdata(configuration: string, options: UserdataOptions = {}): EncodedUserdata {
  const compressAbove = options.compressAboveBytes ?? DEFAULT_COMPRESS_ABOVE_BYTES;
  if (!Number.isInteger(compressAbove) || compressAbove < 0 || compressAbove > EC2_USERDATA_LIMIT_BYTES) {
    throw new UserdataBuildError(`compressAboveBytes must be an integer from 0 to ${EC2_USERDATA_LIMIT_BYTES}, got ${compressAbove}`, {
      hint: "leave it unset to compress only configurations that do not fit as plain text",
    });
  }
  const plain = new TextEncoder().encode(configuration);
  const configurationSha256 = createHash("sha256").update(plain).digest("hex");
  const facts = { configurationBytes: plain.length, configurationSha256 };

  if (configuration.trim() === "") {
    throw new UserdataBuildError("the configuration is empty", {
      hint: "pass the text of a configuration.nix; an instance launched with empty userdata has nothing to apply",
      details: facts,
    });
  }
  if (configuration.startsWith("#!")) {
    throw new UserdataBuildError("the configuration starts with '#!', so the agent would treat the userdata as a script", {
      hint: "remove the '#!' line: the fleet's userdata must be a configuration.nix",
      details: facts,
    });
  }

  const compressed = plain.length > compressAbove;
  const bytes = compressed ? new Uint8Array(gzipSync(plain, { level: constants.Z_BEST_COMPRESSION })) : plain;
  if (bytes.length > EC2_USERDATA_LIMIT_BYTES) {
    throw new UserdataBuildError(
      `the configuration is ${plain.length} bytes, ${bytes.length} bytes gzip-compressed: over EC2's userdata limit of ${EC2_USERDATA_LIMIT_BYTES} bytes`,
      {
        hint: "move most of the configuration into the AMI (bake it into the image build) and keep only the per-fleet part in userdata",
        details: { ...facts, userdataBytes: bytes.length, limitBytes: EC2_USERDATA_LIMIT_BYTES },
      },
    );
  }
  checkAgentReads(bytes, configuration, { ...facts, userdataBytes: bytes.length, compressed });
  return { bytes, base64: Buffer.from(bytes).toString("base64"), compressed, ...facts };
}

function checkAgentReads(bytes: Uint8Array, configuration: string, details: Record<string, unknown>): void {
  const hint = "make the userdata a plain configuration.nix: no MIME headers, no '#!' line, some Nix beyond comments";
  let intake: ReturnType<typeof readUserdata>;
  try {
    intake = readUserdata(bytes);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new UserdataBuildError(`the agent would refuse this userdata: ${reason}`, { cause, hint, details });
  }
  if (intake.class !== "nix" || intake.configuration !== configuration) {
    throw new UserdataBuildError(`the agent would read this userdata as ${intake.class}, not as this configuration: ${intake.reasons.join("; ")}`, { hint, details });
  }
}
