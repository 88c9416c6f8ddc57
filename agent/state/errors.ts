import { ErrorCode, NixbootError } from "../errors.js";

/** Thrown when another nixboot run held the lock for longer than lockWaitSeconds; `details` names its pid. */
export class BusyError extends NixbootError {
  readonly code = ErrorCode.Busy;
}

/** Thrown when the journal exists but is not a journal nixboot can read; nothing is switched. */
export class JournalCorruptError extends NixbootError {
  readonly code = ErrorCode.StateCorrupt;
}
