import type { Clock } from "../clock.js";
import type { Logger } from "../log/logger.js";
import type { LifecycleApi, TagsApi } from "./api.js";
import { LAUNCH_TRANSITION } from "./constants.js";
import { discoverGroup, type GroupSource } from "./discover-group.js";
import { ApiCallError, LifecycleError } from "./errors.js";
import { readLifecycleCache, writeLifecycleCache, type HookInfo } from "./hook-cache.js";
import type { RetryPolicy } from "./retry.js";
import { withRetry } from "./retry.js";

/**
 * The hook to complete: the configured name, or the group's one
 * `autoscaling:EC2_INSTANCE_LAUNCHING` hook. Warm pools need nothing else:
 * AWS pauses a warm-pool launch at `Warmed:Pending:Wait` and again at
 * `Pending:Wait` when the instance leaves the pool, both for the same
 * EC2_INSTANCE_LAUNCHING hook, completed the same way.
 */

export type { HookInfo } from "./hook-cache.js";

export interface DiscoverHookOptions {
  api: LifecycleApi;
  group: string;
  /** The configured hook name (setting `hookName`); empty or absent means "the group's launch hook". */
  hookName?: string | undefined;
  clock: Clock;
  logger: Logger;
  deadline: number;
  retry?: Partial<RetryPolicy>;
  signal?: AbortSignal;
}

/** The hook, or null when the group has no launch hook (nothing to report). */
export async function discoverHook(options: DiscoverHookOptions): Promise<HookInfo | null> {
  const { api, group, logger } = options;
  const wanted = options.hookName?.trim() || undefined;
  let hooks;
  try {
    ({ value: hooks } = await withRetry(() => api.describeLifecycleHooks(group, wanted ? [wanted] : undefined, options.signal ? { signal: options.signal } : {}), {
      operation: "DescribeLifecycleHooks",
      clock: options.clock,
      deadline: options.deadline,
      logger,
      ...(options.retry ? { policy: options.retry } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    }));
  } catch (error) {
    if (!(error instanceof ApiCallError) || error.failure.kind === "aborted") throw error;
    if (wanted) {
      logger.warn({ hook: wanted, awsCode: error.failure.code }, "DescribeLifecycleHooks failed: completing the configured hook without heartbeats (its timeout is unknown)");
      return { name: wanted, heartbeatTimeoutSeconds: null, globalTimeoutSeconds: null, defaultResult: null };
    }
    throw new LifecycleError(`cannot find the launch lifecycle hook of group ${group}: ${error.message}`, {
      cause: error,
      hint: `${error.hint ?? ""}; or name the hook (hookName setting, NIXBOOT_HOOK_NAME) so it can be completed without describing it`,
      details: error.details,
    });
  }

  const toInfo = (h: (typeof hooks)[number]): HookInfo => ({
    name: h.name,
    heartbeatTimeoutSeconds: h.heartbeatTimeoutSeconds,
    globalTimeoutSeconds: h.globalTimeoutSeconds,
    defaultResult: h.defaultResult,
  });
  if (wanted) {
    const hook = hooks.find((h) => h.name === wanted);
    if (!hook) {
      throw new LifecycleError(`lifecycle hook ${wanted} does not exist on group ${group}`, {
        hint: "fix the hookName setting (NIXBOOT_HOOK_NAME), or leave it empty to use the group's EC2_INSTANCE_LAUNCHING hook",
        details: { group, hook: wanted },
      });
    }
    return toInfo(hook);
  }
  const launching = hooks.filter((h) => h.transition === LAUNCH_TRANSITION);
  if (launching.length === 0) return null;
  if (launching.length > 1) {
    const names = launching.map((h) => h.name);
    throw new LifecycleError(`group ${group} has ${launching.length} launch lifecycle hooks (${names.join(", ")}); nixboot does not know which one is its own`, {
      hint: "set the hookName setting (NIXBOOT_HOOK_NAME, services.nixboot.hookName) to the hook nixboot completes",
      details: { group, hooks: names },
    });
  }
  return toInfo(launching[0]!);
}

export interface ResolveTargetOptions extends Omit<DiscoverHookOptions, "group"> {
  instanceId: string;
  stateDir: string;
  groupFromImds?: string | undefined;
  tags?: TagsApi | undefined;
}

export interface ResolvedTarget {
  group: string | null;
  hook: HookInfo | null;
  source: GroupSource | "none";
  lifecycleState?: string;
}

/** Group and hook, from the cache when it is this instance's and matches the settings, else by discovery (then cached). */
export async function resolveLifecycleTarget(options: ResolveTargetOptions): Promise<ResolvedTarget> {
  const { logger, instanceId, stateDir } = options;
  const wanted = options.hookName?.trim() || undefined;
  const imdsGroup = options.groupFromImds?.trim() || undefined;
  const cached = await readLifecycleCache(stateDir, logger);
  if (cached && cached.instanceId === instanceId && (!wanted || cached.hook.name === wanted) && (!imdsGroup || cached.group === imdsGroup)) {
    logger.debug({ group: cached.group, hook: cached.hook.name }, "group and hook from the lifecycle cache");
    return { group: cached.group, hook: cached.hook, source: "cache" };
  }

  const found = await discoverGroup({ ...options, groupFromImds: imdsGroup });
  if (found.group === null) return { group: null, hook: null, source: found.source };
  const hook = await discoverHook({ ...options, group: found.group });
  if (hook && hook.heartbeatTimeoutSeconds !== null) {
    try {
      await writeLifecycleCache(stateDir, { version: 1, instanceId, group: found.group, hook, savedAt: new Date(options.clock.now()).toISOString() });
    } catch (error) {
      logger.warn({ err: error, stateDir }, "could not write the lifecycle cache; the next boot will describe again");
    }
  }
  return { group: found.group, hook, source: found.source, ...(found.lifecycleState ? { lifecycleState: found.lifecycleState } : {}) };
}
