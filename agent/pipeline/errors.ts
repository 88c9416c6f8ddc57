import { ErrorCode, NixbootError } from "../errors.js";

/** Thrown when the candidate file given to validate/plan/apply cannot be read. */
export class CandidateReadError extends NixbootError {
  readonly code = ErrorCode.ConfigInvalid;
}
