import { Duration } from "aws-cdk-lib";
import { SETTINGS } from "../../agent/settings/definitions.js";
import type { SettingKey } from "../../agent/settings/definitions.js";
import { InfraPropsError } from "../errors.js";

/**
 * The launch hook's timing. An instance waits in Pending:Wait until the agent
 * completes the hook; a hook that hears nothing for `HeartbeatTimeout`
 * seconds takes its default result (ABANDON). The agent records heartbeats
 * while it works, so the timeout has to cover only the longest silence: from
 * launch to the agent's first heartbeat, i.e. the NixOS boot plus the agent's
 * IMDS budget. The hook's overall limit is 100 heartbeat timeouts (or 48 h),
 * which has to cover the agent's whole worst-case run.
 */

/** A NixOS boot up to the agent's start, on a slow instance type with a cold EBS volume. */
export const BOOT_ALLOWANCE = Duration.minutes(5);

/**
 * Ten minutes: the boot allowance plus the agent's default IMDS budget (2 min)
 * with three minutes to spare. A dead agent costs at most this long before
 * the instance is abandoned and replaced.
 */
export const DEFAULT_HEARTBEAT_TIMEOUT = Duration.minutes(10);

/** EC2 Auto Scaling's bounds for HeartbeatTimeout. */
export const HEARTBEAT_TIMEOUT_RANGE = { min: Duration.seconds(30), max: Duration.hours(2) } as const;

/** A lifecycle action lasts at most 100 heartbeat timeouts or 48 hours, whichever is shorter. */
export const MAX_HEARTBEATS = 100;
export const MAX_LIFECYCLE_ACTION = Duration.hours(48);

function settingDefault(key: SettingKey): number {
  const value = SETTINGS.find((setting) => setting.key === key)?.default;
  if (typeof value !== "number") throw new Error(`agent setting ${key} has no numeric default`);
  return value;
}

/**
 * The longest a launch can take with the agent's default timeouts: IMDS,
 * evaluation, build, activation, health gate, and a rollback activation on
 * failure. (A `#!` script launch, at most `scriptTimeoutSeconds`, is shorter.)
 */
export function agentWorstCase(): Duration {
  const keys: SettingKey[] = ["imdsBudgetSeconds", "evalTimeoutSeconds", "buildTimeoutSeconds", "activationTimeoutSeconds", "healthTimeoutSeconds", "activationTimeoutSeconds"];
  const seconds = keys.reduce((sum, key) => sum + settingDefault(key), 0);
  return Duration.seconds(Math.max(seconds, settingDefault("scriptTimeoutSeconds")));
}

/** Checks a heartbeat timeout against Auto Scaling's bounds and the agent's needs. Throws `InfraPropsError`. */
export function checkHeartbeatTimeout(timeout: Duration): void {
  const seconds = timeout.toSeconds();
  const { min, max } = HEARTBEAT_TIMEOUT_RANGE;
  if (!Number.isInteger(seconds) || seconds < min.toSeconds() || seconds > max.toSeconds()) {
    throw new InfraPropsError(`heartbeatTimeout is ${seconds}s; Auto Scaling accepts whole seconds from ${min.toSeconds()} to ${max.toSeconds()}`, {
      hint: `leave it unset for ${DEFAULT_HEARTBEAT_TIMEOUT.toSeconds()}s`,
    });
  }
  const firstHeartbeat = BOOT_ALLOWANCE.toSeconds() + settingDefault("imdsBudgetSeconds");
  if (seconds < firstHeartbeat) {
    throw new InfraPropsError(`heartbeatTimeout is ${seconds}s, shorter than a boot plus the agent's IMDS budget (${firstHeartbeat}s)`, {
      hint: "instances would be abandoned before the agent's first heartbeat; raise it",
    });
  }
  const overall = Math.min(seconds * MAX_HEARTBEATS, MAX_LIFECYCLE_ACTION.toSeconds());
  const worst = agentWorstCase().toSeconds();
  if (overall < worst) {
    throw new InfraPropsError(`heartbeatTimeout ${seconds}s allows a launch ${overall}s in all; the agent's worst case is ${worst}s`, {
      hint: `raise it to at least ${Math.ceil(worst / MAX_HEARTBEATS)}s`,
    });
  }
}
