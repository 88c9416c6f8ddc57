import { ErrorCode, NixbootError } from "../errors.js";

/**
 * Thrown when IMDS did not answer usefully within the retry budget: connections
 * refused or timing out (the network is not up yet), or 5xx/429 answers until
 * the budget ran out. `details` holds the attempts, elapsed time and last error.
 */
export class ImdsUnreachableError extends NixbootError {
  readonly code = ErrorCode.ImdsUnreachable;
}

/**
 * Thrown at once (no retries) when IMDS refuses the token request with 403:
 * the metadata endpoint is turned off for the instance (`HttpEndpoint=disabled`)
 * or the request was refused (e.g. it carried `X-Forwarded-For`).
 */
export class ImdsDisabledError extends NixbootError {
  readonly code = ErrorCode.ImdsDisabled;
}

/**
 * Thrown when IMDS answers something it should not: an unexpected status
 * (400 on the token request, 3xx, 405...), an empty token, a fresh token
 * rejected with 401, or a missing category that always exists (instance-id).
 */
export class ImdsProtocolError extends NixbootError {
  readonly code = ErrorCode.ImdsProtocol;
}
