/**
 * Scale benchmark: a fleet (default 1,000 instances) launching at once against
 * ONE Auto Scaling endpoint that throttles with a token bucket. Each instance
 * is a real `startLifecycle()` session (discovery, heartbeats,
 * CompleteLifecycleAction with p-retry) over real HTTP with real SDK clients
 * pointed at the local emulator; its boot work is a random simulated
 * duration; then it reports CONTINUE. Prints figures; asserts nothing.
 *
 *   node test/tools/run-ts.mjs test/bench/scale.ts [--runs N] [--instances N] [--mode fresh|cached]
 *     [--clients shared|per-instance] [--speed F] [--burst N] [--rate R] [--bucket action|all]
 *     [--heartbeat-timeout S] [--work MIN-MAX] [--spread S] [--seed N] [--retries N|inf] [--retry-cap-ms MS]
 *     [--hook-name NAME]   (the hook is named "nixboot-launch")
 *
 * Time: agents and emulator share one `ElasticClock` (test/bench/scale-sim.ts),
 * `speed` times faster than real time but held back whenever the process
 * cannot keep up, so hooks, work and the token bucket keep their real values
 * in simulated seconds. The agents' retry waits run on that injected clock
 * too, so the retry policy is handed over unchanged.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { classifyFailure, type LifecycleApi } from "../../agent/lifecycle/api.js";
import { DEFAULT_RETRY } from "../../agent/lifecycle/constants.js";
import { LifecycleError } from "../../agent/lifecycle/errors.js";
import { writeLifecycleCache } from "../../agent/lifecycle/hook-cache.js";
import type { RetryPolicy } from "../../agent/lifecycle/retry.js";
import { startLifecycle, type LifecycleReport } from "../../agent/lifecycle/report.js";
import { createSdkLifecycleApi } from "../../agent/lifecycle/sdk.js";
import { silentLogger } from "../../agent/log/logger.js";
import { startAwsEmulator, type RateLimit } from "../emulator/aws/index.js";
import { ElasticClock, random, stats, type Stats } from "./scale-sim.js";

export interface ScaleBenchOptions {
  /** Repetitions of the whole simulation (default 1), each with its own seed. */
  runs?: number;
  /** Instances launched at once (default 1000). */
  instances?: number;
  /** `fresh`: first boot, empty state dir, group from the IMDS tag, hook by DescribeLifecycleHooks. `cached`: a reboot, group and hook from a pre-seeded lifecycle cache. */
  mode?: "fresh" | "cached";
  /** `shared`: one SDK client (one connection pool of 50 sockets) under every session; `per-instance`: one client each. */
  clients?: "shared" | "per-instance";
  /** Nominal simulated seconds per real second (default 20; the clock slows when the process cannot keep up). */
  speed?: number;
  /** The emulator's token bucket (default burst 40, 10 req/s, one bucket per action). */
  rateLimit?: RateLimit;
  /** The hook's heartbeat timeout, simulated seconds (default 300). */
  heartbeatTimeoutSeconds?: number;
  /** Simulated work per instance, uniform in [min, max] seconds (default [5, 60]). */
  workSeconds?: readonly [number, number];
  /** Agents start uniformly within this many simulated seconds of the launch (default 0: all at once). */
  spreadSeconds?: number;
  /** The hookName setting (empty: the group's launch hook, found by DescribeLifecycleHooks). */
  hookName?: string;
  /** Overrides of the agents' retry policy, simulated ms (default DEFAULT_RETRY), to try other policies. */
  retry?: Partial<RetryPolicy>;
  /** Seed of the work durations (default: the run's number). */
  seed?: number;
  /** Progress lines; default: none. */
  log?: (line: string) => void;
}

export interface ActionCalls {
  calls: number;
  perInstance: number;
  throttled: number;
  otherErrors: number;
}

export interface ScaleFigures {
  instances: number;
  mode: "fresh" | "cached";
  clients: "shared" | "per-instance";
  speed: number;
  rateLimit: Required<RateLimit>;
  heartbeatTimeoutSeconds: number;
  workSeconds: readonly [number, number];
  hookName: string | null;
  retry: RetryPolicy;
  /** Actions completed CONTINUE by CompleteLifecycleAction (emulator records `via: "api"`). */
  completedInTime: number;
  /** Actions that ran out into the hook's default result (`via` a timeout). */
  expired: number;
  /** Actions still pending when every session had ended: their agent gave up, they will expire. */
  stillPending: number;
  /** Agent-side outcomes: the report's result, or `failed:OPERATION/AWS-CODE` when report() threw. */
  agentOutcomes: Record<string, number>;
  /** Sessions whose discovery in startLifecycle failed (tried again by report). */
  discoveryFailedAtBoot: number;
  /** Simulated seconds from launch to the CONTINUE recorded by the emulator. */
  completionSeconds: Stats;
  /** Simulated seconds in startLifecycle: discovery, before the work can start. */
  startSeconds: Stats;
  /** Simulated seconds from the end of the work to the CONTINUE recorded. */
  reportSeconds: Stats;
  calls: {
    /** Requests the emulator answered (warm-up excluded). */
    total: number;
    perInstance: number;
    throttled: number;
    byAction: Record<string, ActionCalls>;
    /** Calls the agents made, and those that failed client-side (no HTTP answer: timeouts, resets), by error code. */
    agentAttempts: number;
    clientSideFailures: Record<string, number>;
  };
  /** Warnings the SDK's HTTP handler printed (e.g. a call past its requestTimeout, which it does not abort), by text. */
  sdkWarnings: Record<string, number>;
  heartbeatsRecorded: number;
  /** Simulated seconds from the launch to the last completion. */
  simulatedSeconds: number;
  wallMs: { total: number; setup: number; simulation: number };
  fidelity: {
    /** Simulated ms per real ms over the simulation (nominal: `speed`). */
    effectiveSpeed: number;
    /** Share of real time the clock held back because the process was behind. */
    heldBackFraction: number;
    /** How late the work sleeps ended, simulated seconds. */
    workOvershootSeconds: Stats;
    loopDelayP99Ms: number;
    loopDelayMaxMs: number;
  };
  peakRssMiB: number;
}

const REGION = "us-east-1";
const CREDENTIALS = { accessKeyId: "AKIDNIXBOOTSCALE", secretAccessKey: "nixboot-scale-secret" };
const GROUP = "fleet";
const HOOK = "nixboot-launch";
export const DEFAULT_RATE_LIMIT: Required<RateLimit> = { burst: 40, ratePerSecond: 10, per: "action" };

/** Counts the agent's calls and those that got no HTTP answer, around the API it is given. */
function observed(api: LifecycleApi, tally: { attempts: number; clientSide: Record<string, number> }): LifecycleApi {
  const wrap =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      tally.attempts += 1;
      try {
        return await call(...args);
      } catch (error) {
        const failure = classifyFailure(error);
        if (failure.httpStatus === undefined && failure.kind !== "aborted") tally.clientSide[failure.code] = (tally.clientSide[failure.code] ?? 0) + 1;
        throw error;
      }
    };
  return {
    describeAutoScalingInstances: wrap(api.describeAutoScalingInstances.bind(api)),
    describeLifecycleHooks: wrap(api.describeLifecycleHooks.bind(api)),
    completeLifecycleAction: wrap(api.completeLifecycleAction.bind(api)),
    recordHeartbeat: wrap(api.recordHeartbeat.bind(api)),
    ...(api.preload ? { preload: api.preload.bind(api) } : {}),
  };
}

interface Session {
  instanceId: string;
  workMs: number;
  spreadMs: number;
  startedAt?: number;
  discoveredAt?: number;
  discoveredAtBoot?: boolean;
  workEndedAt?: number;
  report?: LifecycleReport;
  error?: string;
}

export async function runScaleOnce(options: ScaleBenchOptions = {}): Promise<ScaleFigures> {
  const wallStart = performance.now();
  const count = options.instances ?? 1000;
  const mode = options.mode ?? "fresh";
  const clients = options.clients ?? "shared";
  const speed = options.speed ?? 20;
  const rateLimit: Required<RateLimit> = { ...DEFAULT_RATE_LIMIT, ...options.rateLimit };
  const heartbeatTimeoutSeconds = options.heartbeatTimeoutSeconds ?? 300;
  const workSeconds = options.workSeconds ?? ([5, 60] as const);
  const log = options.log ?? (() => {});
  const rng = random(options.seed ?? 1);
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };

  const clock = new ElasticClock(speed);
  const ids = Array.from({ length: count }, (_, i) => `i-${(0x5ca1e0000 + i).toString(16).padStart(17, "0")}`);
  // Signatures are shape-checked, not recomputed (no `credentials`): the emulator's HMACs would take CPU from the agents.
  const emulator = await startAwsEmulator({
    clock,
    region: REGION,
    groups: [{ name: GROUP, instances: ids, hooks: [{ name: HOOK, heartbeatTimeoutSeconds, defaultResult: "ABANDON" }] }],
    sweepIntervalMs: 50,
  });
  const root = await mkdtemp(join(tmpdir(), "nixboot-scale-"));
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  let peakRss = process.memoryUsage().rss;
  const originalWarn = console.warn;
  const sdkWarnings: Record<string, number> = {};
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100).unref();

  try {
    // Setup, before the launch: SDK clients built, loaded and warmed (their first-call work and connections,
    // which a real fleet pays on 1,000 machines, not on one event loop), state dirs, a seeded cache for a reboot.
    const sdk = { region: REGION, endpoint: emulator.url, credentials: CREDENTIALS };
    const shared = clients === "shared" ? createSdkLifecycleApi(sdk) : undefined;
    const raw: LifecycleApi[] = ids.map(() => shared ?? createSdkLifecycleApi(sdk));
    await Promise.all(raw.map((api) => api.preload?.()));
    const warmers = shared ? Array.from({ length: 50 }, () => shared) : raw;
    for (let i = 0; i < warmers.length; i += 100) await Promise.all(warmers.slice(i, i + 100).map((api) => api.describeLifecycleHooks(GROUP)));
    const warmupRequests = emulator.state.requestCount();
    emulator.state.setRateLimit(rateLimit);
    const tally = { attempts: 0, clientSide: {} as Record<string, number> };
    const apis = raw.map((api) => observed(api, tally));
    const hook = { name: HOOK, heartbeatTimeoutSeconds, globalTimeoutSeconds: Math.min(172_800, 100 * heartbeatTimeoutSeconds), defaultResult: "ABANDON" as const };
    await Promise.all(
      ids.map(async (instanceId) => {
        const dir = join(root, instanceId);
        await mkdir(dir, { recursive: true });
        if (mode === "cached") await writeLifecycleCache(dir, { version: 1, instanceId, group: GROUP, hook, savedAt: new Date(clock.now()).toISOString() });
      }),
    );
    const sessions: Session[] = ids.map((instanceId) => ({
      instanceId,
      workMs: (workSeconds[0] + rng() * (workSeconds[1] - workSeconds[0])) * 1000,
      spreadMs: rng() * (options.spreadSeconds ?? 0) * 1000,
    }));
    // Retry waits run on the injected (simulated) clock, so the policy applies as it is.
    const retry: Partial<RetryPolicy> = policy;
    const logger = silentLogger();
    const setupMs = performance.now() - wallStart;
    log(`scale: setup ${setupMs.toFixed(0)} ms; launching ${count} instances`);

    // The SDK's HTTP handler warns on the console (e.g. a call past requestTimeout): count instead of printing 1,000 lines.
    console.warn = (...args: unknown[]) => {
      const text = args.map(String).join(" ");
      if (!text.startsWith("@smithy/")) return originalWarn(...args);
      const key = text.replace(/\. Init client.*$/, "").replace(/^@smithy\/node-http-handler - \[WARN\] /, "");
      sdkWarnings[key] = (sdkWarnings[key] ?? 0) + 1;
    };
    loopDelay.enable();
    const simStart = performance.now();
    const clockAtStart = clock.summary();
    // Auto Scaling puts every instance in Pending:Wait at the same instant.
    const launchedAt = new Map(ids.map((id) => [id, emulator.state.startLifecycleAction(id).startedAt]));
    const progress = setInterval(() => {
      const done = sessions.filter((s) => s.report !== undefined || s.error !== undefined).length;
      log(`scale: t=${((clock.now() - launchedAt.get(ids[0]!)!) / 1000).toFixed(0)} s simulated, ${done}/${count} sessions ended, ${emulator.state.requestCount() - warmupRequests} requests`);
    }, 5_000).unref();

    await Promise.all(
      sessions.map(async (s, i) => {
        try {
          if (s.spreadMs > 0) await clock.sleep(s.spreadMs);
          s.startedAt = clock.now();
          const lifecycle = await startLifecycle({
            instanceId: s.instanceId,
            region: REGION,
            stateDir: join(root, s.instanceId),
            logger,
            groupFromImds: GROUP,
            ...(options.hookName ? { hookName: options.hookName } : {}),
            waitStartedAt: launchedAt.get(s.instanceId)!,
            api: apis[i]!,
            tags: null,
            clock,
            retry,
          });
          s.discoveredAt = clock.now();
          s.discoveredAtBoot = lifecycle.hook !== null;
          await clock.sleep(s.workMs);
          s.workEndedAt = clock.now();
          s.report = await lifecycle.report("CONTINUE");
        } catch (error) {
          const details = error instanceof LifecycleError ? error.details : {};
          s.error = details.operation !== undefined ? `${String(details.operation)}/${String(details.awsCode)}` : error instanceof Error ? error.name : String(error);
        }
      }),
    );
    clearInterval(progress);
    console.warn = originalWarn;
    const simulationMs = performance.now() - simStart;
    loopDelay.disable();
    const clockAtEnd = clock.summary();

    // What Auto Scaling recorded.
    const completions = emulator.state.completions();
    const byInstance = new Map(completions.map((c) => [c.instanceId, c]));
    const launch = Math.min(...launchedAt.values());
    const requests = emulator.state.requests().slice(warmupRequests);
    const byAction: Record<string, ActionCalls> = {};
    for (const r of requests) {
      const entry = (byAction[r.action] ??= { calls: 0, perInstance: 0, throttled: 0, otherErrors: 0 });
      entry.calls += 1;
      if (r.errorCode === "Throttling") entry.throttled += 1;
      else if (r.status !== 200) entry.otherErrors += 1;
    }
    for (const entry of Object.values(byAction)) entry.perInstance = entry.calls / count;
    const agentOutcomes: Record<string, number> = {};
    for (const s of sessions) {
      const key = s.report ? s.report.result : `failed:${s.error ?? "?"}`;
      agentOutcomes[key] = (agentOutcomes[key] ?? 0) + 1;
    }
    const realMs = clockAtEnd.realMs - clockAtStart.realMs;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);

    return {
      instances: count,
      mode,
      clients,
      speed,
      rateLimit,
      heartbeatTimeoutSeconds,
      workSeconds,
      hookName: options.hookName || null,
      retry: policy,
      completedInTime: completions.filter((c) => c.via === "api" && c.result === "CONTINUE").length,
      expired: completions.filter((c) => c.via !== "api").length,
      stillPending: emulator.state.actions().filter((a) => a.status === "pending").length,
      agentOutcomes,
      discoveryFailedAtBoot: sessions.filter((s) => s.discoveredAtBoot === false).length,
      completionSeconds: stats(completions.filter((c) => c.via === "api").map((c) => (c.at - launchedAt.get(c.instanceId)!) / 1000)),
      startSeconds: stats(sessions.flatMap((s) => (s.discoveredAt !== undefined && s.startedAt !== undefined ? [(s.discoveredAt - s.startedAt) / 1000] : []))),
      reportSeconds: stats(
        sessions.flatMap((s) => {
          const c = byInstance.get(s.instanceId);
          return c?.via === "api" && s.workEndedAt !== undefined ? [(c.at - s.workEndedAt) / 1000] : [];
        }),
      ),
      calls: {
        total: requests.length,
        perInstance: requests.length / count,
        throttled: requests.filter((r) => r.errorCode === "Throttling").length,
        byAction,
        agentAttempts: tally.attempts,
        clientSideFailures: tally.clientSide,
      },
      sdkWarnings,
      heartbeatsRecorded: emulator.state.heartbeats().length,
      simulatedSeconds: (Math.max(launch, ...completions.map((c) => c.at)) - launch) / 1000,
      wallMs: { total: performance.now() - wallStart, setup: setupMs, simulation: simulationMs },
      fidelity: {
        effectiveSpeed: realMs > 0 ? (clock.now() - launch) / realMs : speed,
        heldBackFraction: realMs > 0 ? (clockAtEnd.heldBackFraction * clockAtEnd.realMs - clockAtStart.heldBackFraction * clockAtStart.realMs) / realMs : 0,
        workOvershootSeconds: stats(
          sessions.flatMap((s) => (s.workEndedAt !== undefined && s.discoveredAt !== undefined ? [(s.workEndedAt - s.discoveredAt - s.workMs) / 1000] : [])),
        ),
        loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
        loopDelayMaxMs: loopDelay.max / 1e6,
      },
      peakRssMiB: peakRss / 1024 / 1024,
    };
  } finally {
    console.warn = originalWarn;
    clearInterval(rssTimer);
    loopDelay.disable();
    clock.stop();
    await emulator.close();
    await rm(root, { recursive: true, force: true });
  }
}

const isDefaultRetry = (r: RetryPolicy): boolean =>
  r.retries === DEFAULT_RETRY.retries && r.minTimeoutMs === DEFAULT_RETRY.minTimeoutMs && r.maxTimeoutMs === DEFAULT_RETRY.maxTimeoutMs;
const f1 = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : "-");
const statLine = (s: Stats): string => `p50 ${f1(s.p50)}  p99 ${f1(s.p99)}  max ${f1(s.max)}  (n=${s.n})`;
const pct = (part: number, whole: number): string => `${((100 * part) / Math.max(1, whole)).toFixed(0)}%`;

/** The figures as text. */
export function formatScale(f: ScaleFigures): string {
  const rl = f.rateLimit;
  const actions = Object.entries(f.calls.byAction).sort((a, b) => b[1].calls - a[1].calls);
  const width = Math.max(6, ...actions.map(([name]) => name.length));
  const fd = f.fidelity;
  const clientSide = Object.values(f.calls.clientSideFailures).reduce((a, b) => a + b, 0);
  return [
    `scale: ${f.instances} instances launched at once; ${
      f.mode === "fresh"
        ? `fresh launch (group from the IMDS tag, hook ${f.hookName ? `${f.hookName} (hookName set)` : "found"} by DescribeLifecycleHooks, an empty state dir each)`
        : "reboot (group and hook from a pre-seeded lifecycle cache: no describe call)"
    }`,
    `  assumption: Auto Scaling throttles with a token bucket of ${rl.burst} requests refilled at ${rl.ratePerSecond}/s ${
      rl.per === "action" ? "per API action" : "shared by all actions"
    }, for the whole fleet (AWS does not publish its figures); throttled = HTTP 400 Throttling`,
    `  hook: heartbeat timeout ${f.heartbeatTimeoutSeconds} s, default ABANDON; work ${f.workSeconds[0]}-${f.workSeconds[1]} s; times in simulated seconds; agent retries: ` +
      `${f.retry.retries} after ${f.retry.minTimeoutMs} ms doubling, full jitter, capped at ${f.retry.maxTimeoutMs} ms${isDefaultRetry(f.retry) ? " (DEFAULT_RETRY)" : ""}`,
    `  ${
      f.clients === "shared"
        ? "per-instance sessions (own state dir, retries, heartbeats) over ONE shared SDK client: one connection pool of 50 sockets"
        : "one SDK client (own connection pool) per instance"
    }`,
    `completed CONTINUE inside the heartbeat timeout: ${f.completedInTime}/${f.instances}; expired into the default result: ${f.expired}; still pending after the agents gave up (they expire into ABANDON): ${f.stillPending}`,
    `  agent outcomes: ${Object.entries(f.agentOutcomes).map(([k, v]) => `${k} ${v}`).join(", ")}; discovery failed in startLifecycle (retried by report): ${f.discoveryFailedAtBoot}`,
    `launch -> CONTINUE recorded:  ${statLine(f.completionSeconds)}`,
    `  startLifecycle (discovery):  ${statLine(f.startSeconds)}`,
    `  work end -> CONTINUE:        ${statLine(f.reportSeconds)}`,
    `API calls answered: ${f.calls.total} (${f.calls.perInstance.toFixed(2)}/instance), throttled ${f.calls.throttled} (${pct(f.calls.throttled, f.calls.total)}); ` +
      `agent attempts ${f.calls.agentAttempts}; heartbeats recorded ${f.heartbeatsRecorded}`,
    `  ${"action".padEnd(width)}  ${"calls".padStart(6)}  ${"/inst".padStart(6)}  ${"throttled".padStart(9)}  ${"other err".padStart(9)}`,
    ...actions.map(
      ([name, a]) => `  ${name.padEnd(width)}  ${String(a.calls).padStart(6)}  ${a.perInstance.toFixed(2).padStart(6)}  ${String(a.throttled).padStart(9)}  ${String(a.otherErrors).padStart(9)}`,
    ),
    ...(clientSide > 0
      ? [`  ${clientSide} attempts got no HTTP answer (${Object.entries(f.calls.clientSideFailures).map(([k, v]) => `${k} ${v}`).join(", ")}): local queueing or event-loop stalls, not Auto Scaling`]
      : []),
    ...Object.entries(f.sdkWarnings).map(([text, n]) => `  SDK warned ${n}x: ${text}`),
    `wall: ${(f.wallMs.total / 1000).toFixed(1)} s (setup ${(f.wallMs.setup / 1000).toFixed(1)} s, simulation ${(f.wallMs.simulation / 1000).toFixed(1)} s for ${f.simulatedSeconds.toFixed(0)} simulated s); ` +
      `peak RSS ${f.peakRssMiB.toFixed(0)} MiB; ${cpus().length} CPUs`,
    `fidelity: clock ${f.speed}x nominal, ${fd.effectiveSpeed.toFixed(1)}x effective (held back ${pct(fd.heldBackFraction, 1)} of real time while the process was behind); ` +
      `work sleeps late by ${statLine(fd.workOvershootSeconds)} s; event-loop delay p99 ${fd.loopDelayP99Ms.toFixed(0)} ms, max ${fd.loopDelayMaxMs.toFixed(0)} ms real`,
  ].join("\n");
}

/** The bench-module entry `test/bench/index.ts` calls: simulate `runs` times (default 1), print, return the figures. */
export async function run(options: ScaleBenchOptions = {}): Promise<ScaleFigures[]> {
  const runs = Math.max(1, Math.floor(options.runs ?? 1));
  const figures: ScaleFigures[] = [];
  for (let i = 0; i < runs; i += 1) {
    if (runs > 1) console.log(`-- run ${i + 1}/${runs}`);
    const one = await runScaleOnce({ ...options, seed: options.seed ?? i + 1 });
    console.log(formatScale(one));
    figures.push(one);
  }
  return figures;
}

// Run directly: node test/tools/run-ts.mjs test/bench/scale.ts [flags] (run-ts puts the entry in argv[1]).
if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve("test/bench/scale.ts")) {
  const flag = { type: "string" } as const;
  const { values } = parseArgs({
    options: {
      runs: flag,
      instances: flag,
      mode: flag,
      clients: flag,
      speed: flag,
      burst: flag,
      rate: flag,
      bucket: flag,
      "heartbeat-timeout": flag,
      work: flag,
      spread: flag,
      seed: flag,
      retries: flag,
      "retry-cap-ms": flag,
      "hook-name": flag,
    },
  });
  const options: ScaleBenchOptions = {
    log: (line) => process.stderr.write(`${line}\n`),
    rateLimit: {
      burst: Number(values.burst ?? DEFAULT_RATE_LIMIT.burst),
      ratePerSecond: Number(values.rate ?? DEFAULT_RATE_LIMIT.ratePerSecond),
      per: values.bucket === "all" ? "all" : "action",
    },
  };
  if (values.runs !== undefined) options.runs = Number(values.runs);
  if (values.instances !== undefined) options.instances = Number(values.instances);
  if (values.mode === "fresh" || values.mode === "cached") options.mode = values.mode;
  if (values.clients === "shared" || values.clients === "per-instance") options.clients = values.clients;
  if (values.speed !== undefined) options.speed = Number(values.speed);
  if (values["heartbeat-timeout"] !== undefined) options.heartbeatTimeoutSeconds = Number(values["heartbeat-timeout"]);
  const work = values.work?.split("-").map(Number);
  if (work?.length === 2 && work.every(Number.isFinite)) options.workSeconds = [work[0]!, work[1]!];
  if (values.spread !== undefined) options.spreadSeconds = Number(values.spread);
  if (values.seed !== undefined) options.seed = Number(values.seed);
  if (values["hook-name"] !== undefined) options.hookName = values["hook-name"];
  if (values.retries !== undefined || values["retry-cap-ms"] !== undefined) {
    options.retry = {
      ...(values.retries !== undefined ? { retries: values.retries === "inf" ? Infinity : Number(values.retries) } : {}),
      ...(values["retry-cap-ms"] !== undefined ? { maxTimeoutMs: Number(values["retry-cap-ms"]) } : {}),
    };
  }
  await run(options);
}
