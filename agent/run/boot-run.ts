import type { Clock } from "../clock.js";
import { InternalError, isNixbootError, type NixbootError } from "../errors.js";
import type { CommandRunner } from "../exec/runner.js";
import type { ImdsClient } from "../intake/imds-client.js";
import { readUserdata, type Intake } from "../intake/index.js";
import {
  createSdkLifecycleApi,
  createSdkTagsApi,
  startLifecycle,
  type LifecycleSession,
  type LifecycleApi,
  type LifecycleReport,
  type SdkApiOptions,
  type StartLifecycleOptions,
  type TagsApi,
} from "../lifecycle/index.js";
import type { Logger } from "../log/logger.js";
import { apply, effectiveSettings, recover, type ApplyReport, type StepEvent } from "../pipeline/index.js";
import type { Settings } from "../settings/definitions.js";
import { exitStatusFor, ExitStatus } from "../cli/exit-status.js";
import { applyChannels } from "./channels.js";
import { runUserdataScript } from "./script.js";
import { writeStatus, type RunStatus, type StepTiming } from "./status.js";

/** Time the final lifecycle report gets, whatever happened before (SIGTERM included). */
const REPORT_BUDGET_MS = 60_000;

/** What the run did with the userdata, by class; `failed` when it stopped with an error. */
export type BootOutcome = ApplyReport["outcome"] | "nothing-to-apply" | "script-succeeded" | "failed";

export interface BootRunDeps {
  settings: Settings;
  imds: ImdsClient;
  runner: CommandRunner;
  clock: Clock;
  logger: Logger;
  /** Injected Auto Scaling / EC2 APIs (tests); default: the AWS SDK clients, loaded lazily. */
  lifecycleApi?: LifecycleApi;
  tagsApi?: TagsApi | null;
  /** Endpoint and credentials for the default SDK clients (tests, the demo); normally the SDK's own resolution. */
  sdk?: BootRunSdkOptions;
  /** Heartbeat pacing (tests: a fraction of a tiny heartbeat timeout); default a third of the hook's timeout, at least 5 s. */
  heartbeat?: StartLifecycleOptions["heartbeat"];
  /** Backoff of retried Auto Scaling / EC2 calls (tests: milliseconds); default `DEFAULT_RETRY`. */
  retry?: StartLifecycleOptions["retry"];
  /** When the instance booted (clock ms): heartbeats are scheduled from it. */
  bootedAt?: number;
  systemctlPath?: string;
  /** Aborted on SIGTERM: the run stops waiting and reports ABANDON within its own budget. */
  signal?: AbortSignal;
}

/** Options of the default SDK clients; `endpoints` overrides `endpoint` per service (the CLI passes AWS_ENDPOINT_URL_* from its environment). */
export type BootRunSdkOptions = Omit<SdkApiOptions, "region"> & { endpoints?: { autoScaling?: string; ec2?: string } };

export interface BootRunReport {
  outcome: BootOutcome;
  exitStatus: ExitStatus;
  instanceId?: string;
  userdata?: { class: Intake["class"]; sha256: string; sizeBytes: number };
  apply?: ApplyReport;
  lifecycle?: LifecycleReport;
  steps: StepTiming[];
  error?: NixbootError;
  lifecycleError?: NixbootError;
}

/**
 * `nixboot run`, the job of the boot unit: IMDS → intake → (nix) validate, plan, build,
 * trial-activate, health, commit or roll back → report to the lifecycle hook. The status
 * file tracks every step; the lifecycle result is always reported, on its own budget.
 */
export async function bootRun(deps: BootRunDeps): Promise<BootRunReport> {
  const { settings, clock, logger } = deps;
  const steps: StepTiming[] = [];
  const status: RunStatus = { version: 1, phase: "running", startedAt: new Date(clock.now()).toISOString(), steps };
  // One write at a time, in order: step events save without waiting, and two writes at once
  // would race on the file (the last one to land must be the latest status).
  let saving = Promise.resolve();
  const saveStatus = (): Promise<void> =>
    (saving = saving.then(() => writeStatus(settings.stateDir, status).catch((error: unknown) => logger.warn({ err: error }, "cannot write the status file"))));
  await saveStatus();

  const timedStep = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const start = clock.now();
    try {
      const value = await work();
      steps.push({ name, durationMs: clock.now() - start, ok: true });
      return value;
    } catch (error) {
      steps.push({ name, durationMs: clock.now() - start, ok: false });
      throw error;
    }
  };

  const report: BootRunReport = { outcome: "failed", exitStatus: ExitStatus.Internal, steps };
  // Both settle: when only the userdata fails, the instance id is known and ABANDON can go out now.
  const imdsStart = clock.now();
  const [identityResult, userdata] = await Promise.allSettled([deps.imds.getIdentity(), deps.imds.getUserdata()]);
  steps.push({ name: "imds", durationMs: clock.now() - imdsStart, ok: identityResult.status === "fulfilled" && userdata.status === "fulfilled" });
  if (identityResult.status === "rejected") {
    // Without the instance id nothing can be reported to Auto Scaling;
    // the hook's default result (ABANDON in nixboot's stacks) applies when it times out.
    return finish(report, status, asError(identityResult.reason), saveStatus, clock);
  }
  const identity = identityResult.value;
  report.instanceId = identity.instanceId;
  status.instanceId = identity.instanceId;
  logger.info({ instanceId: identity.instanceId, region: identity.region, group: identity.groupName, targetLifecycleState: identity.targetLifecycleState }, "instance identity");

  // Loading the AWS SDK blocks the event loop for a while, so discovery starts once the first Nix
  // command is running (or at once when there is no Nix work): off the critical path to Nix.
  let session: Promise<LifecycleSession> | undefined;
  const beginLifecycle = (): Promise<LifecycleSession> => {
    if (session) return session;
    session = startLifecycle({
      instanceId: identity.instanceId,
      region: identity.region,
      stateDir: settings.stateDir,
      logger,
      enabled: settings.report,
      hookName: settings.hookName,
      ...(identity.groupName ? { groupFromImds: identity.groupName } : {}),
      ...(identity.targetLifecycleState ? { targetLifecycleState: identity.targetLifecycleState } : {}),
      ...(deps.bootedAt !== undefined ? { waitStartedAt: deps.bootedAt } : {}),
      ...lifecycleApis(deps, identity.region),
      ...(deps.heartbeat ? { heartbeat: deps.heartbeat } : {}),
      ...(deps.retry ? { retry: deps.retry } : {}),
      clock,
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
    session.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    return session;
  };

  let error: NixbootError | undefined;
  try {
    await abortable(deps.signal, async () => {
      if (userdata.status === "rejected") throw userdata.reason;
      const raw = userdata.value;
      const intake = await timedStep("intake", async () => readUserdata(raw));
      report.userdata = { class: intake.class, sha256: intake.sha256, sizeBytes: intake.sizeBytes };
      status.userdata = report.userdata;
      logger.info({ class: intake.class, sizeBytes: intake.sizeBytes, sha256: intake.sha256, encodings: intake.encodings, reasons: intake.reasons }, "userdata classified");
      await saveStatus();
      report.outcome = await applyIntake(intake, deps, timedStep, report, saveStatus, beginLifecycle);
    });
  } catch (caught) {
    error = asError(caught);
  }
  error ??= report.apply?.error;

  const action = error === undefined ? "CONTINUE" : "ABANDON";
  try {
    const lifecycle = await (await beginLifecycle()).report(action, { budgetMs: REPORT_BUDGET_MS });
    report.lifecycle = lifecycle;
    status.lifecycle = { ...(lifecycle.group ? { group: lifecycle.group } : {}), ...(lifecycle.hook ? { hook: lifecycle.hook } : {}), result: lifecycle.result, action: lifecycle.action, heartbeats: lifecycle.heartbeats };
    logger.info({ ...lifecycle }, lifecycle.result === "completed" ? `lifecycle action completed: ${action}` : `lifecycle: ${lifecycle.result}`);
  } catch (caught) {
    report.lifecycleError = asError(caught);
    status.lifecycle = { result: "failed", action };
    logger.error({ err: report.lifecycleError.toJSON() }, "cannot report to the lifecycle hook");
  }
  return finish(report, status, error, saveStatus, clock);
}

/** The injected APIs, else SDK clients per service when endpoints are given per service, else startLifecycle's defaults. */
function lifecycleApis(deps: BootRunDeps, region: string): Pick<StartLifecycleOptions, "api" | "tags" | "sdk"> {
  const injected = { ...(deps.lifecycleApi ? { api: deps.lifecycleApi } : {}), ...(deps.tagsApi !== undefined ? { tags: deps.tagsApi } : {}) };
  if (!deps.sdk) return injected;
  const { endpoints, ...shared } = deps.sdk;
  if (!endpoints) return { ...injected, sdk: shared };
  const options = (endpoint: string | undefined): SdkApiOptions => ({ region, ...shared, ...(endpoint !== undefined ? { endpoint } : {}) });
  return {
    api: deps.lifecycleApi ?? createSdkLifecycleApi(options(endpoints.autoScaling ?? shared.endpoint)),
    tags: deps.tagsApi !== undefined ? deps.tagsApi : createSdkTagsApi(options(endpoints.ec2 ?? shared.endpoint)),
  };
}

async function applyIntake(
  intake: Intake,
  deps: BootRunDeps,
  timedStep: <T>(name: string, work: () => Promise<T>) => Promise<T>,
  report: BootRunReport,
  saveStatus: () => Promise<void>,
  beginLifecycle: () => Promise<LifecycleSession>,
): Promise<BootOutcome> {
  const { settings, logger } = deps;
  if (intake.class !== "nix") {
    // `apply` recovers an interrupted switch itself; without a configuration to apply, do it here,
    // so a switch cut short on an earlier boot is completed or rolled back whatever this launch carries.
    const recovery = await timedStep("recover", () =>
      recover({ settings, runner: deps.runner, clock: deps.clock, logger, ...(deps.systemctlPath ? { systemctlPath: deps.systemctlPath } : {}) }),
    );
    if (recovery.error) throw recovery.error;
    if (recovery.outcome !== "nothing-to-recover") logger.warn({ outcome: recovery.outcome, interrupted: recovery.interrupted }, "recovered a switch interrupted on an earlier run");
  }
  if (intake.class === "empty") {
    logger.info("no configuration in userdata: the baked image is the configuration");
    return "nothing-to-apply";
  }
  if (intake.class === "script") {
    void beginLifecycle(); // heartbeats while the script runs
    await timedStep("script", () =>
      runUserdataScript({ script: intake.script!, allowScripts: settings.allowScripts, stateDir: settings.stateDir, timeoutMs: settings.scriptTimeoutSeconds * 1000, runner: deps.runner, logger }),
    );
    return "script-succeeded";
  }
  const effective = effectiveSettings(settings, intake.directives);
  if (intake.channels.length > 0 && effective.policy !== "baked") void beginLifecycle(); // channel downloads take a while
  await applyChannels({ channels: intake.channels, policy: effective.policy, nixBinDir: settings.nixBinDir, runner: deps.runner, logger });
  const onStep = (event: StepEvent): void => {
    if (event.phase === "start") {
      logger.info({ step: event.name }, `step ${event.name}`);
      // setImmediate: the parse command has been spawned by then, so the SDK loads while Nix runs.
      if (event.name === "parse") setImmediate(() => void beginLifecycle());
    } else {
      report.steps.push({ name: event.name, durationMs: event.durationMs, ok: event.ok });
      void saveStatus();
    }
  };
  const applied = await apply(
    { text: intake.configuration!, label: "userdata" },
    { settings, runner: deps.runner, clock: deps.clock, logger, directives: intake.directives, onStep, ...(deps.systemctlPath ? { systemctlPath: deps.systemctlPath } : {}) },
  );
  report.apply = applied;
  return applied.outcome;
}

async function finish(report: BootRunReport, status: RunStatus, error: NixbootError | undefined, saveStatus: () => Promise<void>, clock: Clock): Promise<BootRunReport> {
  if (error) {
    report.error = error;
    if (report.outcome !== "rolled-back" && report.outcome !== "rollback-failed") report.outcome = "failed";
  }
  report.exitStatus = error ? exitStatusFor(error) : report.lifecycleError ? exitStatusFor(report.lifecycleError) : ExitStatus.Ok;
  status.phase = error || report.lifecycleError ? "error" : "done";
  status.finishedAt = new Date(clock.now()).toISOString();
  status.outcome = report.outcome;
  status.exitStatus = report.exitStatus;
  // Only a system the run put (or found) in place: a rolled-back or unbuilt candidate is not "the system".
  if (report.apply && report.apply.error === undefined) {
    if (report.apply.systemPath) status.systemPath = report.apply.systemPath;
    if (typeof report.apply.generation === "number") status.generation = report.apply.generation;
  }
  const shown = error ?? report.lifecycleError;
  if (shown) status.error = { code: shown.code, message: shown.message, ...(shown.hint ? { hint: shown.hint } : {}) };
  await saveStatus();
  return report;
}

function asError(error: unknown): NixbootError {
  return isNixbootError(error) ? error : new InternalError(error instanceof Error ? error.message : String(error), { cause: error });
}

/** Runs `work`, but gives up waiting for it when `signal` aborts (SIGTERM): the report must still go out. */
async function abortable(signal: AbortSignal | undefined, work: () => Promise<void>): Promise<void> {
  if (!signal) return work();
  if (signal.aborted) throw new InternalError("stopped before the run began (SIGTERM)");
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(new InternalError("stopped by SIGTERM before the switch finished; the next boot recovers from the journal"));
    signal.addEventListener("abort", onAbort, { once: true });
    work().then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
