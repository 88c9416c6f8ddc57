export type { AutoScalingInstance, CallOptions, LifecycleApi, LifecycleHookDescription, LifecycleTarget, TagsApi, ApiFailure, FailureKind } from "./api.js";
export { classifyFailure } from "./api.js";
export { ACTION_RESULTS, DEFAULT_RETRY, GROUP_TAG, LAUNCH_TRANSITION, Timeouts, type LifecycleActionResult } from "./constants.js";
export { ApiCallError, LifecycleError } from "./errors.js";
export { createSdkLifecycleApi, createSdkTagsApi, preloadAwsSdk, type SdkApiOptions } from "./sdk.js";
export { discoverGroup, type DiscoverGroupOptions, type GroupDiscovery, type GroupSource } from "./discover-group.js";
export { discoverHook, resolveLifecycleTarget, type DiscoverHookOptions, type HookInfo, type ResolvedTarget, type ResolveTargetOptions } from "./discover-hook.js";
export { readLifecycleCache, writeLifecycleCache, type LifecycleCache } from "./hook-cache.js";
export { heartbeatIntervalMs, startHeartbeats, type HeartbeatHandle, type HeartbeatOptions, type HeartbeatStop } from "./heartbeat.js";
export { completeLifecycleAction, type CompleteOptions, type CompleteOutcome } from "./complete.js";
export { withRetry, type RetryOptions, type RetryPolicy } from "./retry.js";
export {
  startLifecycle,
  type LifecycleReport,
  type LifecycleResult,
  type LifecycleSession,
  type ReportOptions,
  type StartLifecycleOptions,
} from "./report.js";
