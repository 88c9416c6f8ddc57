export { startAwsEmulator, type AwsEmulator, type AwsEmulatorOptions } from "./server.js";
export { AwsEmulatorState, type StateOptions } from "./state.js";
export {
  GROUP_TAG,
  LAUNCHING,
  TERMINATING,
  MAX_GLOBAL_TIMEOUT_SECONDS,
  type ActionStatus,
  type CompletionRecord,
  type Ending,
  type GroupSpec,
  type HeartbeatRecord,
  type Hook,
  type HookSpec,
  type Instance,
  type InstanceSpec,
  type LifecycleAction,
  type LifecycleActionResult,
  type RequestRecord,
} from "./model.js";
export { FAULT_KINDS, type FaultHandle, type FaultKind, type FaultSpec, type RateLimit } from "./faults.js";
export { AUTOSCALING_VERSION, EC2_VERSION } from "./xml.js";
