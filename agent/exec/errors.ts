import { ErrorCode, NixbootError } from "../errors.js";

/** Thrown when an external command cannot be started or fails where failure is not expected. */
export class CommandFailedError extends NixbootError {
  readonly code = ErrorCode.CommandFailed;
}

/** Thrown when an external command runs past its timeout and is killed. */
export class CommandTimeoutError extends NixbootError {
  readonly code = ErrorCode.CommandFailed;
}
