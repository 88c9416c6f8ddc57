import { ErrorCode, NixbootError } from "../agent/errors.js";

/**
 * Errors the infrastructure kit raises on purpose: at synth time (bad props,
 * context keys, image facts, userdata) and in the AMI import handler. They
 * share the agent's `NixbootError` base so a message always comes with a
 * `hint` saying what to do.
 */

/**
 * Thrown when a construct prop or a `nixboot:*` context key is missing,
 * malformed or contradicts another one; the message names the prop or key.
 */
export class InfraPropsError extends NixbootError {
  readonly code = ErrorCode.SettingsInvalid;
}

/**
 * Thrown when `nix-support/image-info.json` (written by the nixpkgs Amazon
 * image build) cannot be read or describes an image EC2 cannot import.
 */
export class ImageInfoError extends NixbootError {
  readonly code = ErrorCode.ConfigInvalid;
}

/**
 * Thrown at synth time when the configuration cannot be carried as userdata:
 * over EC2's 16 KiB limit even gzip-compressed, empty, or shaped so the
 * agent would not classify it as a Nix configuration.
 */
export class UserdataBuildError extends NixbootError {
  readonly code = ErrorCode.UserdataInvalid;
}

/**
 * Thrown by the import handler when EC2 reports the snapshot import or the
 * registered image as failed, or a resource property is malformed.
 */
export class ImageImportError extends NixbootError {
  readonly code = ErrorCode.CommandFailed;
}
