import { ErrorCode, NixbootError } from "../errors.js";

/**
 * Thrown when `switch-to-configuration` fails while trying the candidate (`test`). NixOS's exit
 * statuses are told apart in the message: 2 the activation script failed, 3 systemd daemon-reload
 * or tmpfiles failed, 4 units failed. `details.exitCode` holds the status. The pipeline rolls
 * back after it, so its code means "failed, previous system restored".
 */
export class ActivationFailedError extends NixbootError {
  readonly code = ErrorCode.ActivationFailed;
}

/** Thrown when the health gate did not pass within its timeout; `details.checks` says which check failed and why. */
export class HealthCheckFailedError extends NixbootError {
  readonly code = ErrorCode.ActivationFailed;
}

/**
 * Thrown when committing a healthy candidate fails (new profile generation, boot default or
 * configuration file); the pipeline undoes what the commit did and rolls back.
 */
export class CommitFailedError extends NixbootError {
  readonly code = ErrorCode.ActivationFailed;
}

/**
 * Thrown when restoring the previous system failed, or there is none to restore: the machine
 * needs an operator. `cause` is the original failure; the journal keeps the switch in flight so
 * the next run tries to recover again.
 */
export class RollbackFailedError extends NixbootError {
  readonly code = ErrorCode.RollbackFailed;
}
