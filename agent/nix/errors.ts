import { ErrorCode, NixbootError, type NixbootErrorOptions } from "../errors.js";

/** Where in a file Nix located a problem (1-based line and column). */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

/**
 * Thrown by `parse` when the candidate is not valid Nix syntax. The message carries
 * `file:line:column` and Nix's own wording; nothing was evaluated or changed.
 */
export class ConfigSyntaxError extends NixbootError {
  readonly code = ErrorCode.ConfigInvalid;
  readonly location: SourceLocation | undefined;

  constructor(message: string, location: SourceLocation | undefined, options: NixbootErrorOptions = {}) {
    super(message, { ...options, details: { ...options.details, ...(location ? { location } : {}) } });
    this.location = location;
  }
}

/**
 * Thrown by `evaluate` when the configuration does not evaluate: an unknown option, a value
 * of the wrong type, a missing file, or something restricted evaluation forbids (a download,
 * a path outside the allowed ones, import-from-derivation). `restricted` tells the last case
 * apart. Nothing was built or changed.
 */
export class ConfigEvalError extends NixbootError {
  readonly code = ErrorCode.ConfigInvalid;
  readonly location: SourceLocation | undefined;
  readonly restricted: boolean;

  constructor(message: string, location: SourceLocation | undefined, restricted: boolean, options: NixbootErrorOptions = {}) {
    super(message, { ...options, details: { ...options.details, restricted, ...(location ? { location } : {}) } });
    this.location = location;
    this.restricted = restricted;
  }
}

/**
 * Thrown (or carried by a `Plan` as `refusal`) when the policy forbids what realising the
 * system would take: paths to fetch from a binary cache, or fixed-output derivations (downloads)
 * to build. `details.missing` names them.
 */
export class PolicyRefusedError extends NixbootError {
  readonly code = ErrorCode.PolicyRefused;
}

/**
 * Thrown by `build` when a derivation's builder fails (or the build times out). Names the
 * failing derivation; `details.logTail` holds the last lines of its log.
 */
export class BuildFailedError extends NixbootError {
  readonly code = ErrorCode.BuildFailed;
}

/** Thrown when a Nix command fails where failure is not a verdict on the configuration (a broken store, a missing binary). */
export class NixCommandError extends NixbootError {
  readonly code = ErrorCode.CommandFailed;
}
