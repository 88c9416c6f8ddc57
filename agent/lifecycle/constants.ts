/** Names and timeouts of the lifecycle stage, each with the reason for its value. */

export const LAUNCH_TRANSITION = "autoscaling:EC2_INSTANCE_LAUNCHING";

/** Auto Scaling tags every instance it launches with this; aws: tags cannot be removed by users. */
export const GROUP_TAG = "aws:autoscaling:groupName";

export const ACTION_RESULTS = ["CONTINUE", "ABANDON"] as const;
export type LifecycleActionResult = (typeof ACTION_RESULTS)[number];

/** Cache of the learned group and hook, in the state directory, so a reboot needs no describe calls. */
export const CACHE_FILE = "lifecycle.json";

export const Timeouts = {
  /**
   * Heartbeat every third of the hook's heartbeat timeout: two heartbeats can
   * fail (throttling, a network blip) before the action expires.
   */
  HEARTBEAT_FRACTION: 1 / 3,
  /**
   * Never heartbeat more often than this. AWS's smallest heartbeat timeout is
   * 30 s, so a third is 10 s; the floor only matters for tests and protects
   * the shared Auto Scaling API rate from a misconfigured hook.
   */
  HEARTBEAT_MIN_INTERVAL_MS: 5_000,
  /** AWS caps the global timeout at 48 hours whatever the heartbeat timeout. */
  MAX_GLOBAL_TIMEOUT_MS: 172_800_000,
  /**
   * Budget of the describe calls (group, hook) when the boot starts: enough to
   * ride out throttling when a whole fleet scales out at once, short enough
   * not to hold the boot (discovery is retried at report time if it failed).
   */
  DISCOVERY_BUDGET_MS: 60_000,
  /**
   * Budget of CompleteLifecycleAction when the hook's remaining time is not
   * known (no heartbeat timeout learned): long enough for a throttled fleet.
   */
  COMPLETE_DEFAULT_BUDGET_MS: 120_000,
  /**
   * Minimum budget of CompleteLifecycleAction even when the hook's heartbeat
   * timeout has (by our estimate) run out: the estimate starts at boot, not at
   * launch, so the action may still be alive and one report costs little.
   */
  COMPLETE_MIN_BUDGET_MS: 15_000,
  /**
   * AWS's largest heartbeat timeout (7200 s). A boot whose first discovery
   * failed keeps discovering in the background (to start heartbeats) for at
   * most this long after the wait began: without a heartbeat, no action
   * outlives it.
   */
  MAX_HEARTBEAT_TIMEOUT_MS: 7_200_000,
  /** TCP connect timeout of one API call: the regional endpoint answers in milliseconds when reachable. */
  API_CONNECT_TIMEOUT_MS: 3_000,
  /**
   * Timeout of one API call once connected; retries are ours (p-retry), so a
   * stuck call must end (the SDK client sets `throwOnRequestTimeout`).
   */
  API_REQUEST_TIMEOUT_MS: 10_000,
} as const;

/**
 * Backoff of retried calls (`retry.ts`), slept on the injected clock: before
 * retry n, a wait drawn uniformly between 250 ms and a ceiling of
 * 250 ms × 2^n capped at 20 s ("full jitter", kept after the cap), so a fleet
 * throttled together keeps spreading out instead of retrying in waves; each
 * wait is cut short at the caller's deadline. No count limit: the deadline
 * (the hook's remaining time, the discovery budget, the next heartbeat)
 * ends the retries, with one last attempt at it.
 */
export const DEFAULT_RETRY = {
  retries: Infinity,
  minTimeoutMs: 250,
  maxTimeoutMs: 20_000,
} as const;
