import { randomUUID } from "node:crypto";
import { Faults, type FaultHandle, type FaultSpec, type RateLimit } from "./faults.js";
import {
  GROUP_TAG,
  LAUNCHING,
  MAX_GLOBAL_TIMEOUT_SECONDS,
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

/**
 * What the emulated account holds: groups with instances and hooks, EC2 tags,
 * lifecycle actions, and the record of everything that happened to them.
 * Tests and the demo build it directly; agents see it only through the API.
 */

export interface StateOptions {
  now: () => number;
  /** Reject heartbeats past this count per action (an emulator knob; AWS limits time, not count). */
  maxHeartbeatsPerAction?: number;
}

export class AwsEmulatorState {
  readonly faults: Faults;
  readonly maxHeartbeatsPerAction: number;
  #now: () => number;
  #groups = new Map<string, { name: string; hooks: Map<string, Hook> }>();
  #instances = new Map<string, Instance>();
  #tags = new Map<string, Map<string, string>>();
  #actions: LifecycleAction[] = [];
  #completions: CompletionRecord[] = [];
  #heartbeats: HeartbeatRecord[] = [];
  #requests: RequestRecord[] = [];

  constructor(options: StateOptions) {
    this.#now = options.now;
    this.faults = new Faults(options.now);
    this.maxHeartbeatsPerAction = options.maxHeartbeatsPerAction ?? Infinity;
  }

  now(): number {
    return this.#now();
  }

  addGroup(spec: GroupSpec): void {
    if (this.#groups.has(spec.name)) throw new Error(`group ${spec.name} exists`);
    this.#groups.set(spec.name, { name: spec.name, hooks: new Map() });
    for (const hook of spec.hooks ?? []) this.addHook(spec.name, hook);
    for (const instance of spec.instances ?? []) {
      this.addInstance(spec.name, typeof instance === "string" ? { instanceId: instance } : instance, spec.tagInstances ?? true);
    }
  }

  addHook(group: string, spec: HookSpec): Hook {
    const g = this.#group(group);
    const heartbeatTimeoutSeconds = spec.heartbeatTimeoutSeconds ?? 3600;
    const hook: Hook = {
      group,
      name: spec.name,
      transition: spec.transition ?? LAUNCHING,
      heartbeatTimeoutSeconds,
      defaultResult: spec.defaultResult ?? "ABANDON",
      globalTimeoutSeconds: spec.globalTimeoutSeconds ?? Math.min(MAX_GLOBAL_TIMEOUT_SECONDS, 100 * heartbeatTimeoutSeconds),
    };
    g.hooks.set(hook.name, hook);
    return hook;
  }

  addInstance(group: string, spec: InstanceSpec, tag = true): Instance {
    this.#group(group);
    const instance: Instance = {
      group,
      instanceId: spec.instanceId,
      availabilityZone: spec.availabilityZone ?? "us-east-1a",
      instanceType: spec.instanceType ?? "t3.micro",
      lifecycleState: spec.lifecycleState ?? "InService",
      healthStatus: "HEALTHY",
    };
    this.#instances.set(instance.instanceId, instance);
    if (tag) this.setTags(instance.instanceId, { [GROUP_TAG]: group });
    return instance;
  }

  /** Adds or replaces EC2 tags of a resource (any instance ID, in a group or not). */
  setTags(resourceId: string, tags: Record<string, string>): void {
    const current = this.#tags.get(resourceId) ?? new Map<string, string>();
    for (const [key, value] of Object.entries(tags)) current.set(key, value);
    this.#tags.set(resourceId, current);
  }

  tags(): Array<{ resourceId: string; key: string; value: string }> {
    return [...this.#tags].flatMap(([resourceId, tags]) => [...tags].map(([key, value]) => ({ resourceId, key, value })));
  }

  group(name: string): { name: string; hooks: Hook[]; instances: Instance[] } | undefined {
    const g = this.#groups.get(name);
    if (!g) return undefined;
    return { name, hooks: [...g.hooks.values()], instances: [...this.#instances.values()].filter((i) => i.group === name) };
  }

  instance(instanceId: string): Instance | undefined {
    this.sweep();
    return this.#instances.get(instanceId);
  }

  /**
   * Puts the instance in a wait state for a hook, as Auto Scaling does at
   * launch (`Pending:Wait`) or when launching into a warm pool (`Warmed:Pending:Wait`).
   * The hook defaults to the group's only launch hook.
   */
  startLifecycleAction(instanceId: string, options: { hook?: string; warmed?: boolean } = {}): LifecycleAction {
    const instance = this.#instances.get(instanceId);
    if (!instance) throw new Error(`instance ${instanceId} is in no group`);
    const hooks = [...this.#group(instance.group).hooks.values()];
    const hook = options.hook ? hooks.find((h) => h.name === options.hook) : hooks.find((h) => h.transition === LAUNCHING);
    if (!hook) throw new Error(`group ${instance.group} has no hook ${options.hook ?? "for launches"}`);
    const now = this.#now();
    const action: LifecycleAction = {
      token: randomUUID(),
      instanceId,
      group: instance.group,
      hook: hook.name,
      warmed: options.warmed ?? false,
      startedAt: now,
      deadline: now + hook.heartbeatTimeoutSeconds * 1000,
      globalDeadline: now + hook.globalTimeoutSeconds * 1000,
      heartbeats: 0,
      status: "pending",
    };
    this.#actions.push(action);
    instance.lifecycleState = action.warmed ? "Warmed:Pending:Wait" : "Pending:Wait";
    return action;
  }

  /** The instance's latest lifecycle action, pending or not. */
  action(instanceId: string): LifecycleAction | undefined {
    this.sweep();
    return this.#actions.filter((a) => a.instanceId === instanceId).at(-1);
  }

  actions(): LifecycleAction[] {
    this.sweep();
    return [...this.#actions];
  }

  completions(): CompletionRecord[] {
    this.sweep();
    return [...this.#completions];
  }

  heartbeats(instanceId?: string): HeartbeatRecord[] {
    return this.#heartbeats.filter((h) => instanceId === undefined || h.instanceId === instanceId);
  }

  requests(action?: string): RequestRecord[] {
    return this.#requests.filter((r) => action === undefined || r.action === action);
  }

  requestCount(action?: string): number {
    return this.requests(action).length;
  }

  injectFault(spec: FaultSpec): FaultHandle {
    return this.faults.inject(spec);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  setRateLimit(limit: RateLimit | undefined): void {
    this.faults.setRateLimit(limit);
  }

  /** Applies the default result to every action whose heartbeat or global timeout ran out. */
  sweep(): void {
    const now = this.#now();
    for (const action of this.#actions) {
      if (action.status !== "pending") continue;
      if (now >= action.globalDeadline) this.#end(action, this.#hookOf(action).defaultResult, "global-timeout", now);
      else if (now >= action.deadline) this.#end(action, this.#hookOf(action).defaultResult, "heartbeat-timeout", now);
    }
  }

  // --- used by the API handlers ---

  logRequest(record: RequestRecord): void {
    this.#requests.push(record);
  }

  findPending(group: string, hook: string, instanceId: string | undefined, token: string | undefined): LifecycleAction | undefined {
    this.sweep();
    return this.#actions.find(
      (a) =>
        a.status === "pending" &&
        a.group === group &&
        a.hook === hook &&
        (instanceId === undefined || a.instanceId === instanceId) &&
        (token === undefined || a.token === token),
    );
  }

  complete(action: LifecycleAction, result: LifecycleActionResult): void {
    this.#end(action, result, "api", this.#now());
  }

  /** Records a heartbeat; false when the emulator's heartbeat-count knob refuses it. */
  heartbeat(action: LifecycleAction): boolean {
    if (action.heartbeats >= this.maxHeartbeatsPerAction) return false;
    const now = this.#now();
    action.heartbeats += 1;
    action.deadline = Math.min(action.globalDeadline, now + this.#hookOf(action).heartbeatTimeoutSeconds * 1000);
    this.#heartbeats.push({ at: now, instanceId: action.instanceId, group: action.group, hook: action.hook, token: action.token, number: action.heartbeats });
    return true;
  }

  hooksOf(group: string): Hook[] | undefined {
    const g = this.#groups.get(group);
    return g ? [...g.hooks.values()] : undefined;
  }

  allInstances(): Instance[] {
    this.sweep();
    return [...this.#instances.values()];
  }

  #end(action: LifecycleAction, result: LifecycleActionResult, via: Ending, at: number): void {
    action.status = via === "api" ? "completed" : "expired";
    action.result = result;
    action.endedAt = at;
    action.endedBy = via;
    this.#completions.push({ at, instanceId: action.instanceId, group: action.group, hook: action.hook, token: action.token, result, via });
    const instance = this.#instances.get(action.instanceId);
    if (instance) {
      if (action.warmed) instance.lifecycleState = result === "CONTINUE" ? "Warmed:Stopped" : "Warmed:Terminated";
      else instance.lifecycleState = result === "CONTINUE" ? "InService" : "Terminated";
    }
  }

  #hookOf(action: LifecycleAction): Hook {
    const hook = this.#groups.get(action.group)?.hooks.get(action.hook);
    if (!hook) throw new Error(`hook ${action.hook} of ${action.group} vanished`);
    return hook;
  }

  #group(name: string): { name: string; hooks: Map<string, Hook> } {
    const g = this.#groups.get(name);
    if (!g) throw new Error(`no group ${name}`);
    return g;
  }
}
