import { ErrorCode, NixbootError, type NixbootErrorOptions } from "../errors.js";
import type { ApiFailure } from "./api.js";

/**
 * Thrown when the lifecycle stage cannot do its part: the group or hook cannot
 * be determined, or Auto Scaling refused or kept failing CompleteLifecycleAction
 * within its time budget.
 */
export class LifecycleError extends NixbootError {
  readonly code = ErrorCode.LifecycleFailed;
}

/**
 * Thrown when one AWS call failed for good: refused (access denied, invalid),
 * or still failing (throttling, 5xx, network) when its retries or time budget
 * ran out. Carries the classified failure and the number of attempts.
 */
export class ApiCallError extends LifecycleError {
  readonly failure: ApiFailure;
  readonly attempts: number;
  readonly operation: string;

  constructor(operation: string, failure: ApiFailure, attempts: number, options: NixbootErrorOptions = {}) {
    const tries = attempts > 1 ? ` after ${attempts} attempts` : "";
    super(`${operation} failed${tries}: ${failure.code}${failure.httpStatus ? ` (HTTP ${failure.httpStatus})` : ""}: ${failure.message}`, {
      hint: hintFor(operation, failure),
      ...options,
      details: { operation, awsCode: failure.code, httpStatus: failure.httpStatus, kind: failure.kind, attempts, ...options.details },
    });
    this.failure = failure;
    this.attempts = attempts;
    this.operation = operation;
  }
}

/** The IAM permissions nixboot's instance role needs, for hints. */
export const IAM_ACTIONS =
  "autoscaling:CompleteLifecycleAction, autoscaling:RecordLifecycleActionHeartbeat, autoscaling:DescribeLifecycleHooks, " +
  "autoscaling:DescribeAutoScalingInstances and ec2:DescribeTags";

function hintFor(operation: string, failure: ApiFailure): string {
  switch (failure.kind) {
    case "denied":
      return `the instance role is not allowed to call ${operation}: its IAM policy must allow ${IAM_ACTIONS} (on the group's ARN for the autoscaling: actions)`;
    case "credentials":
      return "the instance has no usable AWS credentials: attach an instance profile (IAM role), or turn reporting off (--no-report) outside Auto Scaling";
    case "invalid":
      return "check the group and hook names (the hookName setting, NIXBOOT_HOOK_NAME) and the region";
    case "throttled":
    case "contention":
    case "server":
    case "network":
      return "Auto Scaling kept failing within the time budget; the hook's default result applies when its heartbeat timeout ends";
    default:
      return "see the journal for the calls made: journalctl -u nixboot";
  }
}
