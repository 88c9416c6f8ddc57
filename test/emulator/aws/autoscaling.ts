import { numberedList, type Params } from "./query.js";
import type { Hook, Instance, LifecycleAction } from "./model.js";
import type { AwsEmulatorState } from "./state.js";
import { leaf, memberList, node } from "./xml.js";

/** A deliberate API error: HTTP status, error code and message as the service sends them. */
export class ApiFailure extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const validation = (message: string): ApiFailure => new ApiFailure(400, "ValidationError", message);

/** Required members, checked the way Auto Scaling (Coral) reports them. */
function requireParams(params: Params, names: readonly string[]): void {
  const missing = names.filter((name) => !params.get(name));
  if (missing.length === 0) return;
  const each = missing.map((name) => `Value null at '${name[0]!.toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`);
  throw validation(`${missing.length} validation error${missing.length > 1 ? "s" : ""} detected: ${each.join("; ")}`);
}

function listParam(params: Params, prefix: string, max: number, what: string): string[] {
  const values = numberedList(params, `${prefix}.member`);
  if (values.length > max) throw validation(`The number of ${what} that may be passed in is limited to ${max}`);
  return values;
}

function instanceXml(instance: Instance): string {
  return (
    leaf("InstanceId", instance.instanceId) +
    leaf("InstanceType", instance.instanceType) +
    leaf("AutoScalingGroupName", instance.group) +
    leaf("AvailabilityZone", instance.availabilityZone) +
    leaf("LifecycleState", instance.lifecycleState) +
    leaf("HealthStatus", instance.healthStatus) +
    node("LaunchTemplate", leaf("LaunchTemplateId", "lt-0123456789abcdef0"), leaf("LaunchTemplateName", `${instance.group}-lt`), leaf("Version", "1")) +
    leaf("ProtectedFromScaleIn", false)
  );
}

function hookXml(hook: Hook): string {
  return (
    leaf("LifecycleHookName", hook.name) +
    leaf("AutoScalingGroupName", hook.group) +
    leaf("LifecycleTransition", hook.transition) +
    leaf("HeartbeatTimeout", hook.heartbeatTimeoutSeconds) +
    leaf("GlobalTimeout", hook.globalTimeoutSeconds) +
    leaf("DefaultResult", hook.defaultResult)
  );
}

/** The pending action a Complete/Heartbeat call names, or the real "No active Lifecycle Action" error. */
function pendingAction(params: Params, state: AwsEmulatorState): LifecycleAction {
  requireParams(params, ["AutoScalingGroupName", "LifecycleHookName"]);
  const instanceId = params.get("InstanceId") || undefined;
  const token = params.get("LifecycleActionToken") || undefined;
  if (instanceId === undefined && token === undefined) {
    throw validation("Either InstanceId or LifecycleActionToken must be specified.");
  }
  const action = state.findPending(params.get("AutoScalingGroupName")!, params.get("LifecycleHookName")!, instanceId, token);
  if (!action) {
    throw validation(token !== undefined ? `No active Lifecycle Action found with token ${token}` : `No active Lifecycle Action found with instance ID ${instanceId}`);
  }
  return action;
}

export type Handler = (params: Params, state: AwsEmulatorState) => string;

/** Auto Scaling actions: each returns the inner XML of its `<XResult>`. */
export const AUTOSCALING_HANDLERS: Record<string, Handler> = {
  DescribeAutoScalingInstances(params, state) {
    const ids = listParam(params, "InstanceIds", 50, "instance ids");
    const maxRecords = params.get("MaxRecords");
    if (maxRecords !== undefined && !(Number(maxRecords) >= 1 && Number(maxRecords) <= 50)) {
      throw validation("MaxRecords must be between 1 and 50");
    }
    const instances = state.allInstances().filter((i) => ids.length === 0 || ids.includes(i.instanceId));
    return memberList("AutoScalingInstances", instances.map(instanceXml));
  },

  DescribeLifecycleHooks(params, state) {
    requireParams(params, ["AutoScalingGroupName"]);
    const group = params.get("AutoScalingGroupName")!;
    const names = listParam(params, "LifecycleHookNames", 50, "lifecycle hook names");
    const hooks = state.hooksOf(group);
    if (hooks === undefined) throw validation(`Group ${group} not found`);
    return memberList("LifecycleHooks", hooks.filter((h) => names.length === 0 || names.includes(h.name)).map(hookXml));
  },

  CompleteLifecycleAction(params, state) {
    requireParams(params, ["AutoScalingGroupName", "LifecycleHookName", "LifecycleActionResult"]);
    const result = params.get("LifecycleActionResult")!;
    if (result !== "CONTINUE" && result !== "ABANDON") {
      throw validation(`Invalid LifecycleActionResult ${result}: valid values are CONTINUE and ABANDON`);
    }
    state.complete(pendingAction(params, state), result);
    return "";
  },

  RecordLifecycleActionHeartbeat(params, state) {
    const action = pendingAction(params, state);
    if (!state.heartbeat(action)) {
      throw validation(`Heartbeat limit of ${state.maxHeartbeatsPerAction} reached for the Lifecycle Action of instance ${action.instanceId}`);
    }
    return "";
  },
};
