/** The emulated account's data: groups, hooks, instances, lifecycle actions and the records kept about them. */

export const LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING";
export const TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING";
export const GROUP_TAG = "aws:autoscaling:groupName";
/** The longest a wait state can last, whatever the heartbeats: 48 h (AWS: min(48 h, 100 × heartbeat timeout)). */
export const MAX_GLOBAL_TIMEOUT_SECONDS = 172_800;

export type LifecycleActionResult = "CONTINUE" | "ABANDON";

export interface HookSpec {
  name: string;
  transition?: typeof LAUNCHING | typeof TERMINATING;
  /** Seconds; AWS allows 30–7200, default 3600. The emulator accepts any positive value. */
  heartbeatTimeoutSeconds?: number;
  defaultResult?: LifecycleActionResult;
  /** Seconds; default min(172800, 100 × heartbeat timeout), as AWS computes it. */
  globalTimeoutSeconds?: number;
}

export interface Hook extends Required<HookSpec> {
  group: string;
}

export interface InstanceSpec {
  instanceId: string;
  availabilityZone?: string;
  instanceType?: string;
  lifecycleState?: string;
}

export interface Instance extends Required<InstanceSpec> {
  group: string;
  healthStatus: string;
}

export interface GroupSpec {
  name: string;
  instances?: ReadonlyArray<string | InstanceSpec>;
  hooks?: readonly HookSpec[];
  /** Tag instances with `aws:autoscaling:groupName` in EC2, as Auto Scaling does (default true). */
  tagInstances?: boolean;
}

export type ActionStatus = "pending" | "completed" | "expired";
export type Ending = "api" | "heartbeat-timeout" | "global-timeout";

export interface LifecycleAction {
  token: string;
  instanceId: string;
  group: string;
  hook: string;
  warmed: boolean;
  startedAt: number;
  /** When the heartbeat timeout runs out (moved by heartbeats, never past `globalDeadline`). */
  deadline: number;
  globalDeadline: number;
  heartbeats: number;
  status: ActionStatus;
  result?: LifecycleActionResult;
  endedAt?: number;
  endedBy?: Ending;
}

export interface CompletionRecord {
  at: number;
  instanceId: string;
  group: string;
  hook: string;
  token: string;
  result: LifecycleActionResult;
  /** `api` for CompleteLifecycleAction, otherwise the timeout that applied the hook's default result. */
  via: Ending;
}

export interface HeartbeatRecord {
  at: number;
  instanceId: string;
  group: string;
  hook: string;
  token: string;
  /** 1 for the action's first heartbeat. */
  number: number;
}

export interface RequestRecord {
  at: number;
  requestId: string;
  service: "autoscaling" | "ec2" | "unknown";
  action: string;
  /** Query parameters as sent (the Authorization header is never part of them). */
  params: Record<string, string>;
  status: number;
  errorCode?: string;
  accessKeyId?: string;
}
