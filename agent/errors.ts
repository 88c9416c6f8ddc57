/**
 * One error base class for everything nixboot reports on purpose.
 * Each unit (intake, nix, system, lifecycle, state, settings) defines its
 * subclasses in its own `errors.ts`; the CLI maps `code` to an exit status
 * in exactly one place (`cli/exit-status.ts`).
 */
export const ErrorCode = {
  Usage: "USAGE",
  SettingsInvalid: "SETTINGS_INVALID",
  ImdsUnreachable: "IMDS_UNREACHABLE",
  ImdsDisabled: "IMDS_DISABLED",
  ImdsProtocol: "IMDS_PROTOCOL",
  UserdataInvalid: "USERDATA_INVALID",
  ConfigInvalid: "CONFIG_INVALID",
  PolicyRefused: "POLICY_REFUSED",
  BuildFailed: "BUILD_FAILED",
  ActivationFailed: "ACTIVATION_FAILED",
  RollbackFailed: "ROLLBACK_FAILED",
  Busy: "BUSY",
  ScriptFailed: "SCRIPT_FAILED",
  LifecycleFailed: "LIFECYCLE_FAILED",
  CommandFailed: "COMMAND_FAILED",
  StateCorrupt: "STATE_CORRUPT",
  Internal: "INTERNAL",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface NixbootErrorOptions {
  cause?: unknown;
  /** What the operator should do about it; printed after the message. */
  hint?: string;
  /** Structured, log-safe facts (never userdata bodies or secrets). */
  details?: Record<string, unknown>;
}

export abstract class NixbootError extends Error {
  abstract readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown>;

  constructor(message: string, options: NixbootErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }

  /** A log- and JSON-safe view of the error. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(Object.keys(this.details).length > 0 ? { details: this.details } : {}),
    };
  }
}

/** Thrown when the command line is malformed (unknown flag, missing argument). */
export class UsageError extends NixbootError {
  readonly code = ErrorCode.Usage;
}

/** Thrown when a setting (flag, environment variable or settings file) is invalid. */
export class SettingsError extends NixbootError {
  readonly code = ErrorCode.SettingsInvalid;
}

/** Thrown for a bug or an unexpected condition; carries the original error as `cause`. */
export class InternalError extends NixbootError {
  readonly code = ErrorCode.Internal;
}

export function isNixbootError(error: unknown): error is NixbootError {
  return error instanceof NixbootError;
}
