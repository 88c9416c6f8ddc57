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
  /** TCP connect timeout of one API call: the regional endpoint answers in milliseconds when reachable. */
  API_CONNECT_TIMEOUT_MS: 3_000,
  /** Timeout of one API call once connected; retries are ours (p-retry), so a stuck call must end. */
  API_REQUEST_TIMEOUT_MS: 10_000,
} as const;

/**
 * Backoff of retried calls (p-retry): 250 ms doubling per attempt, each delay
 * multiplied by a random factor in [1, 2) so a fleet throttled together
 * spreads out, capped at 5 s so a report keeps trying often within its
 * budget. The budget (the hook's remaining time), not the count, usually ends
 * the retries.
 */
export const DEFAULT_RETRY = {
  retries: 12,
  minTimeoutMs: 250,
  maxTimeoutMs: 5_000,
} as const;
