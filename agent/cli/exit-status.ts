import { ErrorCode, isNixbootError } from "../errors.js";

/**
 * Exit statuses, one per class of failure. This table is the only place they
 * are defined; the README's table is generated from the same facts.
 */
export const ExitStatus = {
  Ok: 0,
  Internal: 1,
  Usage: 2,
  SettingsInvalid: 3,
  ImdsUnreachable: 10,
  ImdsDisabled: 11,
  ImdsProtocol: 12,
  UserdataInvalid: 20,
  ConfigInvalid: 30,
  PolicyRefused: 31,
  BuildFailed: 32,
  RolledBack: 33,
  RollbackFailed: 34,
  Busy: 35,
  ScriptFailed: 36,
  StateCorrupt: 37,
  CommandFailed: 38,
  LifecycleFailed: 40,
} as const;
export type ExitStatus = (typeof ExitStatus)[keyof typeof ExitStatus];

const BY_CODE: Record<ErrorCode, ExitStatus> = {
  [ErrorCode.Usage]: ExitStatus.Usage,
  [ErrorCode.SettingsInvalid]: ExitStatus.SettingsInvalid,
  [ErrorCode.ImdsUnreachable]: ExitStatus.ImdsUnreachable,
  [ErrorCode.ImdsDisabled]: ExitStatus.ImdsDisabled,
  [ErrorCode.ImdsProtocol]: ExitStatus.ImdsProtocol,
  [ErrorCode.UserdataInvalid]: ExitStatus.UserdataInvalid,
  [ErrorCode.ConfigInvalid]: ExitStatus.ConfigInvalid,
  [ErrorCode.PolicyRefused]: ExitStatus.PolicyRefused,
  [ErrorCode.BuildFailed]: ExitStatus.BuildFailed,
  [ErrorCode.ActivationFailed]: ExitStatus.RolledBack,
  [ErrorCode.RollbackFailed]: ExitStatus.RollbackFailed,
  [ErrorCode.Busy]: ExitStatus.Busy,
  [ErrorCode.ScriptFailed]: ExitStatus.ScriptFailed,
  [ErrorCode.StateCorrupt]: ExitStatus.StateCorrupt,
  [ErrorCode.CommandFailed]: ExitStatus.CommandFailed,
  [ErrorCode.LifecycleFailed]: ExitStatus.LifecycleFailed,
  [ErrorCode.Internal]: ExitStatus.Internal,
};

export function exitStatusFor(error: unknown): ExitStatus {
  return isNixbootError(error) ? BY_CODE[error.code] : ExitStatus.Internal;
}

/** Human descriptions, used by `--help` and the README. */
export const EXIT_STATUS_MEANING: Record<ExitStatus, string> = {
  0: "success (or nothing to do)",
  1: "internal error (a bug: please report it)",
  2: "usage error: unknown command or flag, missing argument",
  3: "invalid settings (flag, environment variable or settings file)",
  10: "IMDS unreachable within the retry budget",
  11: "IMDS disabled for this instance (token request refused with 403)",
  12: "IMDS answered something unexpected",
  20: "userdata cannot be decoded (encoding, size, MIME, directives)",
  30: "configuration invalid (Nix syntax or evaluation error)",
  31: "refused by policy (something would have to be fetched or built)",
  32: "build failed",
  33: "activation or health check failed; previous system restored",
  34: "rollback failed: the machine needs attention",
  35: "another nixboot run holds the lock",
  36: "userdata script failed or scripts are disabled",
  37: "state directory unreadable or corrupt",
  38: "an external command failed or could not be started",
  40: "lifecycle action could not be reported to Auto Scaling",
};
