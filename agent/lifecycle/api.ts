import type { LifecycleActionResult } from "./constants.js";

/**
 * The narrow interfaces the lifecycle stage talks through: only the calls it
 * makes. `sdk.ts` builds the real ones; tests pass those same real ones
 * pointed at the local emulator.
 */

export interface CallOptions {
  /** Aborts the HTTP call (heartbeats are aborted when the work ends). */
  signal?: AbortSignal;
}

/** Which lifecycle action a call is about. Completion is by instance ID, never by token. */
export interface LifecycleTarget {
  group: string;
  hook: string;
  instanceId: string;
}

export interface AutoScalingInstance {
  instanceId: string;
  group: string;
  lifecycleState: string;
}

export interface LifecycleHookDescription {
  name: string;
  group: string;
  transition: string;
  heartbeatTimeoutSeconds: number | null;
  globalTimeoutSeconds: number | null;
  defaultResult: LifecycleActionResult | null;
}

export interface LifecycleApi {
  describeAutoScalingInstances(instanceIds: string[], options?: CallOptions): Promise<AutoScalingInstance[]>;
  describeLifecycleHooks(group: string, hookNames?: string[], options?: CallOptions): Promise<LifecycleHookDescription[]>;
  completeLifecycleAction(target: LifecycleTarget, result: LifecycleActionResult, options?: CallOptions): Promise<void>;
  recordHeartbeat(target: LifecycleTarget, options?: CallOptions): Promise<void>;
  /** Starts loading the SDK and building the client ahead of the first call. */
  preload?(): Promise<void>;
}

export interface TagsApi {
  /** The instance's EC2 tags, optionally only the given keys. */
  describeInstanceTags(instanceId: string, keys?: string[], options?: CallOptions): Promise<Record<string, string>>;
  preload?(): Promise<void>;
}

export type FailureKind =
  | "throttled"
  | "contention"
  | "server"
  | "network"
  | "no-active-action"
  | "denied"
  | "credentials"
  | "invalid"
  | "aborted";

export interface ApiFailure {
  kind: FailureKind;
  /** The AWS error code (e.g. `Throttling`, `AccessDenied`), or the error's name. */
  code: string;
  httpStatus: number | undefined;
  message: string;
  retryable: boolean;
}

const THROTTLING = new Set([
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestThrottled",
  "RequestThrottledException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "SlowDown",
]);
const DENIED = new Set(["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "NotAuthorized", "UnauthorizedAccess"]);
/** Auth errors a retry can fix: the SDK refreshes credentials and corrects clock skew after such an answer. */
const AUTH_TRANSIENT = new Set(["ExpiredToken", "ExpiredTokenException", "RequestExpired", "RequestTimeTooSkewed"]);
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ENOTFOUND", "ENETUNREACH", "EHOSTUNREACH", "ECONNABORTED"]);
const NO_ACTIVE_ACTION = /No active Lifecycle Action found/i;

interface SdkLikeError {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  Code?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $fault?: unknown;
}

/** Sorts an error from the SDK (or the network under it) into what the retry policy and messages need. */
export function classifyFailure(error: unknown): ApiFailure {
  const e = (typeof error === "object" && error !== null ? error : {}) as SdkLikeError;
  const message = typeof e.message === "string" ? e.message : String(error);
  const name = typeof e.name === "string" ? e.name : "Error";
  const awsCode = typeof e.Code === "string" ? e.Code : undefined;
  const status = typeof e.$metadata?.httpStatusCode === "number" ? e.$metadata.httpStatusCode : undefined;
  const code = awsCode ?? (status === undefined && typeof e.code === "string" ? e.code : name);
  const failure = (kind: FailureKind, retryable: boolean): ApiFailure => ({ kind, code, httpStatus: status, message, retryable });

  if (name === "AbortError") return failure("aborted", false);
  if (name === "CredentialsProviderError") return failure("credentials", false);
  if (NO_ACTIVE_ACTION.test(message)) return failure("no-active-action", false);
  if (THROTTLING.has(code) || status === 429) return failure("throttled", true);
  if (code === "ResourceContention" || name === "ResourceContentionFault") return failure("contention", true);
  if (DENIED.has(code)) return failure("denied", false);
  if (AUTH_TRANSIENT.has(code)) return failure("credentials", true);
  if (status !== undefined && status >= 500) return failure("server", true);
  if (status === undefined) {
    // No HTTP answer at all: connection refused or reset, DNS, a timeout.
    const networkish = NETWORK_CODES.has(code) || name === "TimeoutError" || /socket hang up|timed? ?out|network/i.test(message);
    return failure("network", networkish || name !== "TypeError");
  }
  return failure("invalid", false);
}
