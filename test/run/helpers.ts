/**
 * A booting instance for `bootRun` tests: a fake machine on real Nix (test/fixture), the IMDS and
 * Auto Scaling/EC2 emulators over real HTTP, the real IMDS client and the real AWS SDK clients
 * pointed at them. Each test gets its own machine and cloud; `boot()` is one run of the boot
 * unit (a fresh IMDS client each time, as after a reboot).
 */
import { afterEach, beforeAll } from "vitest";
import { systemClock } from "../../agent/clock.js";
import { createImdsClient } from "../../agent/intake/imds-client.js";
import { preloadAwsSdk } from "../../agent/lifecycle/index.js";
import { bootRun, type BootRunDeps, type BootRunReport } from "../../agent/run/boot-run.js";
import { readStatus, type RunStatus } from "../../agent/run/status.js";
import type { Settings } from "../../agent/settings/definitions.js";
import type { GroupSpec, HookSpec } from "../emulator/aws/index.js";
import { startLocalCloud, type LocalCloud } from "../emulator/index.js";
import type { ImdsEmulatorState } from "../emulator/imds/index.js";
import { AMI_CONFIG, createMachine, FAKE_SYSTEMCTL, memoryLogger, type Machine } from "../fixture/machine.js";

export const REGION = "us-east-1";
export const INSTANCE = "i-0b00710000000001";
export const GROUP = "nixboot-fleet";
export const HOOK = "nixboot-launch";
export const CREDENTIALS = { accessKeyId: "AKIDNIXBOOTRUNTEST", secretAccessKey: "nixboot-run-test-secret" };
/** Same retry policy as production, millisecond delays. */
export const FAST_RETRY = { minTimeoutMs: 5, maxTimeoutMs: 20 };
/** Long enough that no test's work needs a heartbeat; the heartbeat test sets its own. */
export const QUIET_HEARTBEAT_TIMEOUT_SECONDS = 600;

export interface Instance {
  machine: Machine;
  cloud: LocalCloud;
  /** What the run logged (pino records). */
  logs: Array<Record<string, unknown>>;
  /** One boot: `bootRun` with the machine's settings plus `settings`, and `deps` over the defaults. */
  boot(options?: { settings?: Partial<Settings>; deps?: Partial<BootRunDeps> }): Promise<BootRunReport>;
  status(): Promise<RunStatus | null>;
  setUserdata(text: string | null): void;
  /** What runs, what is committed and configured now. */
  system(): Promise<{ current: string | null; profile: string | null; bootDefault: string | null; generations: number[]; config: string | null }>;
}

export interface InstanceOptions {
  imds?: Partial<ImdsEmulatorState>;
  /** The instance's group (with it in); default: GROUP with HOOK. `null`: the instance is in no group. */
  group?: GroupSpec | null;
  hook?: Partial<HookSpec>;
}

const instances: Instance[] = [];

/** Registers the hooks every run test file needs: the SDK loaded once, every instance torn down. */
export function useInstances(): void {
  // The SDK's first import takes a while on a busy machine: not inside a test's heartbeat window.
  beforeAll(async () => {
    await preloadAwsSdk();
  });
  afterEach(async () => {
    await Promise.all(instances.splice(0).map(async (i) => Promise.all([i.cloud.close(), i.machine.cleanup()])));
  });
}

export async function bootInstance(options: InstanceOptions = {}): Promise<Instance> {
  const hook: HookSpec = { name: HOOK, heartbeatTimeoutSeconds: QUIET_HEARTBEAT_TIMEOUT_SECONDS, defaultResult: "ABANDON", ...options.hook };
  const group = options.group === undefined ? { name: GROUP, instances: [INSTANCE], hooks: [hook] } : options.group;
  const [machine, cloud] = await Promise.all([
    createMachine(),
    startLocalCloud({
      imds: {
        state: {
          instanceId: INSTANCE,
          region: REGION,
          availabilityZone: `${REGION}a`,
          autoScalingGroupName: group?.name ?? null,
          targetLifecycleState: group ? "InService" : null,
          ...options.imds,
        },
      },
      aws: { region: REGION, credentials: [CREDENTIALS], groups: group ? [group] : [], sweepIntervalMs: 20 },
    }),
  ]);
  const { logger, records } = memoryLogger("debug");
  const instance: Instance = {
    machine,
    cloud,
    logs: records,
    boot: ({ settings = {}, deps = {} } = {}) =>
      bootRun({
        settings: { ...machine.settings, ...settings },
        imds: createImdsClient({ endpoint: cloud.imds.url, requestTimeoutMs: 1_000, budgetMs: 3_000, clock: systemClock, logger }),
        runner: machine.runner,
        clock: systemClock,
        logger,
        systemctlPath: FAKE_SYSTEMCTL,
        sdk: { endpoint: cloud.aws.url, credentials: CREDENTIALS },
        retry: FAST_RETRY,
        ...deps,
      }),
    status: () => readStatus(machine.paths.stateDir),
    setUserdata: (text) => {
      cloud.imds.state.userdata = text === null ? null : Buffer.from(text, "utf8");
    },
    system: async () => ({
      current: await machine.resolve(machine.paths.currentSystem),
      profile: await machine.resolve(machine.paths.profile),
      bootDefault: await machine.resolve(machine.paths.bootDefault),
      generations: await machine.generations(),
      config: await machine.readConfig(),
    }),
  };
  instances.push(instance);
  return instance;
}

/** The system as the fake AMI left it: running, committed (generation 1), configured. */
export function amiSystem(machine: Machine): Awaited<ReturnType<Instance["system"]>> {
  return { current: machine.amiSystem, profile: machine.amiSystem, bootDefault: machine.amiSystem, generations: [1], config: AMI_CONFIG };
}

/** The Auto Scaling API calls the emulator received, as `Action status`. */
export function apiCalls(instance: Instance): string[] {
  return instance.cloud.aws.state.requests().map((r) => `${r.action} ${r.status}`);
}
