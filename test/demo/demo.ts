// `npm run demo`: the boot run end to end. A fake machine on real Nix (the fixture's NixOS-like
// entry point, a profile, a current-system link, a baked "AMI" system), the local IMDS and Auto
// Scaling emulators over real HTTP, and the bundled agent `dist/nixboot.mjs run` as a real process.
import { spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { formatLine } from "../../agent/log/pretty.js";
import { startLocalCloud, type LocalCloud } from "../emulator/index.js";
import { createMachine, type Machine } from "../fixture/machine.js";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..", "..");
const agent = join(repo, "dist", "nixboot.mjs");
const INSTANCE = "i-0d3e0000000000001";
const GROUP = "nixboot-demo";
const HOOK = "nixboot-launch";

const bold = (text: string): string => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const say = (text = ""): void => void process.stdout.write(`${text}\n`);

interface RunResult {
  exitStatus: number;
  report: Record<string, unknown>;
}

/** Runs the bundled agent like the systemd unit does, with the machine's paths and the emulators' endpoints. */
function runAgent(machine: Machine, cloud: LocalCloud): Promise<RunResult> {
  const args = [agent, "run", "--json"];
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, {
      env: {
        ...process.env,
        ...cloud.env,
        NIXBOOT_FIXTURE_ROOT: machine.root,
        NIXBOOT_SETTINGS_FILE: settingsFile(machine),
        // No systemd runs here: `systemctl` is the fixture's stand-in, answering from what the
        // fixture's activation wrote under the machine root.
        PATH: `${join(repo, "test", "fixture", "bin")}${delimiter}${process.env.PATH ?? ""}`,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let partial = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) if (line.trim() !== "") say(`    ${formatLine(line)}`);
    });
    child.on("error", fail);
    child.on("close", (code) => {
      try {
        done({ exitStatus: code ?? -1, report: JSON.parse(stdout) as Record<string, unknown> });
      } catch {
        fail(new Error(`the agent printed no JSON report (exit ${code}):\n${stdout}`));
      }
    });
  });
}

function settingsFile(machine: Machine): string {
  return join(machine.root, "etc", "nixboot", "settings.json");
}

/** The settings file the NixOS module would write, pointing the agent at the fake machine's paths. */
async function writeSettings(machine: Machine): Promise<void> {
  const settings = {
    nixosEntry: machine.settings.nixosEntry,
    stateDir: machine.paths.stateDir,
    systemProfile: machine.paths.profile,
    configPath: machine.paths.config,
    currentSystem: machine.paths.currentSystem,
    healthTimeoutSeconds: 20,
    imdsBudgetSeconds: 10,
  };
  await mkdir(dirname(settingsFile(machine)), { recursive: true });
  await writeFile(settingsFile(machine), `${JSON.stringify(settings, null, 2)}\n`);
}

function printRun(result: RunResult, cloud: LocalCloud): void {
  if (!Array.isArray(result.report.steps)) {
    say(`  the agent failed before the run began (exit status ${result.exitStatus}): ${JSON.stringify(result.report.error ?? result.report)}`);
    return;
  }
  const report = result.report as {
    outcome: string;
    steps: { name: string; durationMs: number; ok: boolean }[];
    apply?: { systemPath?: string; generation?: number; evaluations?: number; nixCommandMs?: number; error?: { message: string } };
    lifecycle?: { result: string; action: string; apiCalls: number; heartbeats: number };
    error?: { message: string; hint?: string };
  };
  say();
  say(`  ${"step".padEnd(10)} ${"ms".padStart(7)}`);
  for (const step of report.steps) say(`  ${step.name.padEnd(10)} ${String(Math.round(step.durationMs)).padStart(7)}  ${step.ok ? "ok" : "FAILED"}`);
  say();
  say(`  outcome:     ${bold(report.outcome)} (exit status ${result.exitStatus})`);
  if (report.apply?.systemPath) say(`  system:      ${report.apply.systemPath}${report.apply.generation ? ` (generation ${report.apply.generation})` : ""}`);
  if (report.apply) say(`  evaluations: ${report.apply.evaluations ?? 0}, time inside nix: ${report.apply.nixCommandMs ?? 0} ms`);
  const error = report.error ?? report.apply?.error;
  if (error) say(`  error:       ${error.message}`);
  if (report.lifecycle) say(`  lifecycle:   ${report.lifecycle.result} ${report.lifecycle.action} (${report.lifecycle.apiCalls} API calls, ${report.lifecycle.heartbeats} heartbeats)`);
  const recorded = cloud.aws.state.completions().filter((completion) => completion.instanceId === INSTANCE);
  say(`  Auto Scaling recorded: ${recorded.length === 0 ? "no completion" : recorded.map((completion) => `${completion.result} via ${completion.via}`).join(", ")}`);
}

async function launch(title: string, machine: Machine, userdataFile: string, pending: boolean): Promise<void> {
  say();
  say(bold(`== ${title}`));
  const userdata = await readFile(join(here, userdataFile));
  const cloud = await startLocalCloud({
    imds: { state: { userdata, instanceId: INSTANCE, region: "eu-west-1", autoScalingGroupName: GROUP, targetLifecycleState: "InService" } },
    aws: { region: "eu-west-1", groups: [{ name: GROUP, instances: [INSTANCE], hooks: [{ name: HOOK, heartbeatTimeoutSeconds: 300, defaultResult: "ABANDON" }] }] },
  });
  try {
    if (pending) cloud.aws.state.startLifecycleAction(INSTANCE, { hook: HOOK });
    say(`  userdata: test/demo/${userdataFile} (${userdata.length} bytes); IMDS ${cloud.imds.url}, Auto Scaling ${cloud.aws.url}`);
    say(`  lifecycle action pending: ${pending ? "yes (launch)" : "no (a reboot)"}`);
    printRun(await runAgent(machine, cloud), cloud);
  } finally {
    await cloud.close();
  }
}

say(bold("nixboot demo: the boot run against the local IMDS / Auto Scaling emulator and real Nix"));
say("  baking the AMI's system into the local store (the fixture's NixOS-like entry point)...");
const machine = await createMachine();
try {
  await writeSettings(machine);
  say(`  machine root ${machine.root}; running system ${machine.amiSystem}`);
  say(`  agent settings (as the NixOS module writes them): ${settingsFile(machine)}`);
  await launch("1. launch with a configuration.nix as userdata", machine, "configuration.nix", true);
  await launch("2. reboot: same userdata, already applied", machine, "configuration.nix", false);
  await launch("3. launch with a broken configuration", machine, "broken.nix", true);
  say();
  say(bold("== the machine afterwards"));
  say(`  running system: ${await machine.resolve(machine.paths.currentSystem)}`);
  say(`  profile generations: ${(await machine.generations()).join(", ")}`);
  say(`  /etc/nixos/configuration.nix is the one from launch 1: ${(await machine.readConfig())?.includes("web-1") === true}`);
} finally {
  await machine.cleanup();
}
