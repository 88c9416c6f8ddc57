import { systemClock, type Clock } from "../clock.js";
import type { Logger } from "../log/logger.js";
import type { LifecycleApi, TagsApi } from "./api.js";
import { completeLifecycleAction } from "./complete.js";
import { Timeouts, type LifecycleActionResult } from "./constants.js";
import { resolveLifecycleTarget, type HookInfo, type ResolvedTarget } from "./discover-hook.js";
import { discoverInBackground, isRetryableDiscoveryFailure, within } from "./background-discovery.js";
import { LifecycleError } from "./errors.js";
import { startHeartbeats, type HeartbeatHandle } from "./heartbeat.js";
import type { RetryPolicy } from "./retry.js";
import { createSdkLifecycleApi, createSdkTagsApi, type SdkApiOptions } from "./sdk.js";

/**
 * What the `run` command calls: discover → heartbeats → (its work) → report.
 *
 *   const lifecycle = await startLifecycle({ instanceId, region, stateDir, logger, ... });
 *   try { await work(); action = "CONTINUE" } catch { action = "ABANDON" }
 *   finally { await lifecycle.report(action, { budgetMs }) }
 *
 * `startLifecycle` never fails the boot: a discovery failure is logged and
 * tried again by `report`, which throws `LifecycleError` only when the result
 * cannot be delivered. When the failure is one a retry can fix (throttling,
 * 5xx, network), discovery also goes on in the background during the work,
 * and heartbeats start as soon as it finds the hook; `report` waits for it
 * (within its discovery budget) before trying itself. The SDK loads in the
 * background meanwhile.
 *
 * Warm pools: the target lifecycle state from IMDS
 * (`autoscaling/target-lifecycle-state`) only marks the report `warmed`.
 * AWS pauses an instance launching into a warm pool at `Warmed:Pending:Wait`
 * and again at `Pending:Wait` when it leaves the pool, both times for the
 * group's EC2_INSTANCE_LAUNCHING hook, so each boot completes the same hook by
 * instance ID (the second boot, from `Warmed:Stopped`, finds it in the cache).
 * A pool kept `Running` or `Hibernated` does not boot again when the instance
 * leaves it, so nixboot sees only the first pause: give such hooks
 * DefaultResult CONTINUE, or use pool state Stopped.
 */

export type LifecycleResult = "completed" | "no-active-action" | "not-in-group" | "no-hook" | "disabled";

export interface LifecycleReport {
  group: string | null;
  hook: string | null;
  result: LifecycleResult;
  /** The result asked for (sent when `result` is "completed"). */
  action: LifecycleActionResult;
  /** AWS requests made by this session, retries included. */
  apiCalls: number;
  heartbeats: number;
  /** The instance is (launching into) a warm pool. */
  warmed: boolean;
}

export interface StartLifecycleOptions {
  instanceId: string;
  region: string;
  /** Where the group/hook cache lives (settings.stateDir). */
  stateDir: string;
  logger: Logger;
  /** settings.report; false makes every report "disabled" without any call. */
  enabled?: boolean;
  /** settings.hookName; empty: the group's EC2_INSTANCE_LAUNCHING hook. */
  hookName?: string;
  /** IMDS `tags/instance/aws:autoscaling:groupName`, when instance metadata tags are on. */
  groupFromImds?: string;
  /** IMDS `autoscaling/target-lifecycle-state` (e.g. `InService`, `Warmed:Stopped`). */
  targetLifecycleState?: string;
  /** When the wait began (clock ms), e.g. boot time; heartbeats are scheduled from it. Default: now. */
  waitStartedAt?: number;
  /** Injected API clients; default: the AWS SDK's, built lazily. `tags: null` skips DescribeTags. */
  api?: LifecycleApi;
  tags?: TagsApi | null;
  /** For the default SDK clients (both services): endpoint override and credentials. */
  sdk?: Omit<SdkApiOptions, "region">;
  clock?: Clock;
  heartbeat?: { fraction?: number; minIntervalMs?: number };
  retry?: Partial<RetryPolicy>;
  discoveryBudgetMs?: number;
  /** Aborts discovery (the background one too) and heartbeats (not the report). */
  signal?: AbortSignal;
}

export interface ReportOptions {
  /** The caller's own time budget (e.g. what is left before systemd's stop timeout). */
  budgetMs?: number;
  signal?: AbortSignal;
}

export interface LifecycleSession {
  readonly group: string | null;
  readonly hook: HookInfo | null;
  readonly warmed: boolean;
  heartbeats(): number;
  /** Stops heartbeats, awaiting an in-flight one, and keeps a later background discovery from starting them; idempotent. */
  stopHeartbeats(): Promise<void>;
  /** Stops heartbeats and completes the action. Call once, in a finally; later calls return the first report. */
  report(action: LifecycleActionResult, options?: ReportOptions): Promise<LifecycleReport>;
}

/** Counts every request made through the APIs (each p-retry attempt calls again). */
function counted<T extends object>(api: T, counter: { calls: number }): T {
  return new Proxy(api, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== "function" || key === "preload") return value;
      return (...args: unknown[]) => {
        counter.calls += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

export async function startLifecycle(options: StartLifecycleOptions): Promise<LifecycleSession> {
  const { logger, instanceId } = options;
  const clock = options.clock ?? systemClock;
  const warmedFromImds = options.targetLifecycleState?.startsWith("Warmed:") ?? false;
  const isWarmed = (target: ResolvedTarget | undefined): boolean => warmedFromImds || (target?.lifecycleState?.startsWith("Warmed:") ?? false);
  const counter = { calls: 0 };
  const report = (target: ResolvedTarget | undefined, result: LifecycleResult, action: LifecycleActionResult, heartbeats: number): LifecycleReport => ({
    group: target?.group ?? null,
    hook: target?.hook?.name ?? null,
    result,
    action,
    apiCalls: counter.calls,
    heartbeats,
    warmed: isWarmed(target),
  });

  if (options.enabled === false) {
    logger.info("lifecycle reporting is off (report=false)");
    return {
      group: null,
      hook: null,
      warmed: warmedFromImds,
      heartbeats: () => 0,
      stopHeartbeats: async () => {},
      report: async (action) => report(undefined, "disabled", action, 0),
    };
  }

  const sdkOptions: SdkApiOptions = { region: options.region, ...options.sdk };
  const rawApi = options.api ?? createSdkLifecycleApi(sdkOptions);
  const rawTags = options.tags === null ? undefined : (options.tags ?? createSdkTagsApi(sdkOptions));
  rawApi.preload?.().catch((error: unknown) => logger.debug({ err: error }, "AWS SDK preload failed; the first call will try again"));
  const api = counted(rawApi, counter);
  const tags = rawTags ? counted(rawTags, counter) : undefined;

  const resolve = (budgetMs: number, signal: AbortSignal | undefined): Promise<ResolvedTarget> =>
    resolveLifecycleTarget({
      api,
      tags,
      instanceId,
      stateDir: options.stateDir,
      hookName: options.hookName,
      groupFromImds: options.groupFromImds,
      clock,
      logger,
      deadline: clock.now() + budgetMs,
      ...(options.retry ? { retry: options.retry } : {}),
      ...(signal ? { signal } : {}),
    });

  let target: ResolvedTarget | undefined;
  let discoveryError: unknown;
  let heartbeat: HeartbeatHandle | undefined;
  /** Set by stopHeartbeats() and report(): a discovery that ends later starts none. */
  let heartbeatsOff = false;
  const begin = (found: ResolvedTarget): void => {
    target = found;
    if (!found.group || !found.hook) return;
    const timeout = found.hook.heartbeatTimeoutSeconds;
    logger.info({ group: found.group, hook: found.hook.name, heartbeatTimeoutSeconds: timeout, source: found.source, warmed: isWarmed(found) }, "lifecycle hook found");
    if (timeout === null || heartbeatsOff || options.signal?.aborted) return;
    heartbeat = startHeartbeats({
      api,
      target: { group: found.group, hook: found.hook.name, instanceId },
      heartbeatTimeoutSeconds: timeout,
      globalTimeoutSeconds: found.hook.globalTimeoutSeconds,
      clock,
      logger,
      ...(options.waitStartedAt !== undefined ? { waitStartedAt: options.waitStartedAt } : {}),
      ...options.heartbeat,
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  };

  const discoveryBudgetMs = options.discoveryBudgetMs ?? Timeouts.DISCOVERY_BUDGET_MS;
  const background = new AbortController();
  let rediscovery: Promise<void> | undefined;
  try {
    begin(await resolve(discoveryBudgetMs, options.signal));
  } catch (error) {
    if (!(error instanceof LifecycleError)) throw error;
    discoveryError = error;
    if (isRetryableDiscoveryFailure(error) && !options.signal?.aborted) {
      logger.warn({ err: error.toJSON() }, "lifecycle discovery failed; the work goes on while discovery keeps trying in the background");
      rediscovery = discoverInBackground({
        resolve,
        onFound: begin,
        onFailure: (again) => (discoveryError = again),
        clock,
        logger,
        roundBudgetMs: discoveryBudgetMs,
        // With no heartbeat, no action outlives the largest heartbeat timeout.
        until: (options.waitStartedAt ?? clock.now()) + Timeouts.MAX_HEARTBEAT_TIMEOUT_MS,
        signal: options.signal ? AbortSignal.any([options.signal, background.signal]) : background.signal,
      });
    } else {
      logger.warn({ err: error.toJSON() }, "lifecycle discovery failed; the work goes on and the report tries again");
    }
  }

  let reported: Promise<LifecycleReport> | undefined;
  const session: LifecycleSession = {
    get group() {
      return target?.group ?? null;
    },
    get hook() {
      return target?.hook ?? null;
    },
    get warmed() {
      return isWarmed(target);
    },
    heartbeats: () => heartbeat?.sent ?? 0,
    stopHeartbeats: async () => {
      heartbeatsOff = true;
      await heartbeat?.stop();
    },
    report: (action, reportOptions = {}) => {
      reported ??= (async () => {
        heartbeatsOff = true;
        // The caller's budget covers everything the report does: a second discovery and the completion.
        const hardDeadline = clock.now() + (reportOptions.budgetMs ?? Infinity);
        const discoveryDeadline = Math.min(hardDeadline, clock.now() + Timeouts.DISCOVERY_BUDGET_MS);
        if (rediscovery) {
          // The background discovery is this report's discovery while it lasts (within the same budget): no second caller.
          if (target === undefined) await within(clock, rediscovery, discoveryDeadline - clock.now());
          background.abort();
          await rediscovery;
        }
        await heartbeat?.stop();
        if (target === undefined) {
          try {
            target = await resolve(discoveryDeadline - clock.now(), reportOptions.signal);
          } catch (error) {
            logger.error({ err: error instanceof LifecycleError ? error.toJSON() : String(error), firstError: String(discoveryError) }, "lifecycle discovery failed again; the result cannot be reported");
            throw error;
          }
        }
        const heartbeats = heartbeat?.sent ?? 0;
        if (!target.group) return report(target, "not-in-group", action, heartbeats);
        if (!target.hook) {
          logger.info({ group: target.group }, "the group has no launch lifecycle hook: nothing to report");
          return report(target, "no-hook", action, heartbeats);
        }
        const remaining = heartbeat ? heartbeat.expiresAt - clock.now() : Timeouts.COMPLETE_DEFAULT_BUDGET_MS;
        const budget = Math.min(hardDeadline - clock.now(), Math.max(Timeouts.COMPLETE_MIN_BUDGET_MS, remaining));
        const outcome = await completeLifecycleAction({
          api,
          target: { group: target.group, hook: target.hook.name, instanceId },
          result: action,
          clock,
          logger,
          deadline: clock.now() + budget,
          ...(options.retry ? { retry: options.retry } : {}),
          ...(reportOptions.signal ? { signal: reportOptions.signal } : {}),
        });
        return report(target, outcome.result, action, heartbeats);
      })();
      return reported;
    },
  };
  return session;
}
