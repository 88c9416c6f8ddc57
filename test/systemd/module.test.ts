import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SETTINGS, type SettingDefinition } from "../../agent/settings/definitions.js";
import { defaultSettings, loadSettings } from "../../agent/settings/load.js";
import { FIXTURE, nixEval, readUnit, REPO, systemdBoolean, tempDir, timespanMicroseconds, value, words, type UnitFile } from "./helpers.js";

const EVAL_MODULE = join(FIXTURE, "eval-module.nix");
const EVAL_PACKAGE = join(FIXTURE, "eval-package.nix");

/** Settings the unit fixes, so the module has no option for them (module.nix says why). */
const FIXED_BY_UNIT: Record<string, string> = { stateDir: "/var/lib/nixboot", currentSystem: "/run/current-system" };

interface OptionReport {
  type: string;
  elemType: string | null;
  values: string[] | null;
  default: unknown;
  hasDescription: boolean;
}

interface ServiceReport {
  description: string;
  wantedBy: string[];
  before: string[];
  after: string[];
  wants: string[];
  restartIfChanged: boolean;
  stopIfChanged: boolean;
  unitConfig: Record<string, unknown>;
  path: string[];
  environment: Record<string, string>;
  serviceConfig: Record<string, string | boolean | number>;
}

interface ModuleReport {
  options: Record<string, OptionReport>;
  enable: boolean;
  package: { name: string; calledFile: string };
  etc: Record<string, { text: string }>;
  systemPackages: string[];
  services: Record<string, ServiceReport>;
  amazonInitEnable: boolean | null;
}

async function evaluate(overrides: object, amazonInit = true): Promise<ModuleReport> {
  const result = await nixEval(EVAL_MODULE, { overrides: { str: JSON.stringify(overrides) }, amazonInit: { nix: String(amazonInit) } });
  if (!result.ok) throw new Error(`module evaluation failed:\n${result.outcome.stderr}`);
  return result.value as ModuleReport;
}

/** The evaluation's error message, for configurations NixOS must reject. */
async function rejection(overrides: object): Promise<string> {
  const result = await nixEval(EVAL_MODULE, { overrides: { str: JSON.stringify(overrides) }, amazonInit: { nix: "true" } });
  if (result.ok) throw new Error(`module evaluation accepted ${JSON.stringify(overrides)}`);
  return result.outcome.stderr;
}

const enabled = (settings: object = {}): object => ({ services: { nixboot: { enable: true, ...settings } } });

function settingsJson(report: ModuleReport): Record<string, unknown> {
  const file = report.etc["nixboot/settings.json"];
  if (file === undefined) throw new Error("the module wrote no /etc/nixboot/settings.json");
  return JSON.parse(file.text) as Record<string, unknown>;
}

function nixboot(report: ModuleReport): ServiceReport {
  const service = report.services.nixboot;
  if (service === undefined) throw new Error("the module declared no systemd.services.nixboot");
  return service;
}

describe("systemd/module.nix, evaluated with test/systemd/fixture/mini-lib.nix", () => {
  let defaults: ModuleReport;
  beforeAll(async () => {
    defaults = await evaluate(enabled());
  });

  it("has one option per agent setting, except those the unit fixes", () => {
    const settingOptions = Object.keys(defaults.options).filter((name) => name !== "enable" && name !== "package");
    const expected = SETTINGS.map((def) => def.key).filter((key) => !(key in FIXED_BY_UNIT));
    expect(settingOptions.sort()).toEqual([...expected].sort());
    expect(Object.values(defaults.options).every((option) => option.hasDescription)).toBe(true);
  });

  it("types each option as the agent types the setting", () => {
    for (const def of SETTINGS as readonly SettingDefinition[]) {
      const option = defaults.options[def.key];
      if (option === undefined) continue;
      const kind = def.kind;
      if (kind === "string") expect(option.type, def.key).toBe("str");
      else if (kind === "boolean") expect(option.type, def.key).toBe("bool");
      else if (kind === "list") expect([option.type, option.elemType], def.key).toEqual(["listOf", "str"]);
      else if (kind === "seconds") expect(["positiveInt", "unsignedInt"], def.key).toContain(option.type);
      else expect([option.type, option.values], def.key).toEqual(["enum", [...kind.enum]]);
    }
    expect(defaults.options.enable?.type).toBe("bool");
    expect(defaults.options.package?.type).toBe("package");
  });

  it("renders /etc/nixboot/settings.json with the agent's keys and, by default, the agent's defaults", () => {
    const json = settingsJson(defaults);
    const agentDefaults = defaultSettings() as unknown as Record<string, unknown>;
    for (const [key, rendered] of Object.entries(json)) {
      expect(SETTINGS.map((def) => def.key), key).toContain(key);
      expect(rendered, key).toEqual(agentDefaults[key]);
    }
    expect(Object.keys(json).length).toBe(SETTINGS.length - Object.keys(FIXED_BY_UNIT).length);
    for (const [key, fixed] of Object.entries(FIXED_BY_UNIT)) expect(agentDefaults[key], key).toBe(fixed);
    expect(FIXED_BY_UNIT.stateDir).toBe(`/var/lib/${String(nixboot(defaults).serviceConfig.StateDirectory)}`);
  });

  describe("a configured settings file, read by the agent's own loader", () => {
    let dir = "";
    beforeAll(async () => {
      dir = await tempDir();
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("is accepted (no unknown key) and gives the configured values", async () => {
      const report = await evaluate(
        enabled({
          policy: "substitute",
          mode: "boot",
          healthChecks: ["systemd", "http:http://127.0.0.1:8080/health"],
          healthTimeoutSeconds: 90,
          allowDegraded: true,
          hookName: "launch",
          lockWaitSeconds: 0,
          includePaths: ["/etc/nixboot/base"],
          report: false,
        }),
      );
      const file = join(dir, "settings.json");
      await writeFile(file, report.etc["nixboot/settings.json"]?.text ?? "");
      const settings = await loadSettings({ file, env: {} });
      expect(settings).toMatchObject({
        policy: "substitute",
        mode: "boot",
        healthChecks: ["systemd", "http:http://127.0.0.1:8080/health"],
        healthTimeoutSeconds: 90,
        allowDegraded: true,
        hookName: "launch",
        lockWaitSeconds: 0,
        includePaths: ["/etc/nixboot/base"],
        report: false,
        stateDir: "/var/lib/nixboot",
      });
    });
  });

  it("rejects what the agent would reject, naming the option", async () => {
    expect(await rejection(enabled({ policy: "anything" }))).toContain("services.nixboot.policy");
    expect(await rejection(enabled({ buildTimeoutSeconds: 0 }))).toContain("services.nixboot.buildTimeoutSeconds");
    expect(await rejection(enabled({ healthChecks: "systemd" }))).toContain("services.nixboot.healthChecks");
    expect(await rejection(enabled({ report: "yes" }))).toContain("services.nixboot.report");
    expect(await rejection(enabled({ stateDir: "/srv/nixboot" }))).toContain("services.nixboot.stateDir");
  });

  it("turns amazon-init off when enabled, leaves it alone otherwise, and evaluates where it does not exist", async () => {
    expect(defaults.amazonInitEnable).toBe(false);
    expect((await evaluate({ services: { nixboot: { enable: false } } })).amazonInitEnable).toBe(true);
    const withoutAmazonInit = await evaluate(enabled(), false);
    expect(withoutAmazonInit.amazonInitEnable).toBeNull();
    expect(Object.keys(withoutAmazonInit.services)).toEqual(["nixboot"]);
  });

  it("declares nothing when disabled", async () => {
    const report = await evaluate({});
    expect(report.enable).toBe(false);
    expect(report.services).toEqual({});
    expect(report.etc).toEqual({});
    expect(report.systemPackages).toEqual([]);
  });

  it("runs the package built by systemd/package.nix, also on PATH, with Nix and NIX_PATH", () => {
    const service = nixboot(defaults);
    expect(defaults.package.calledFile).toBe("package.nix");
    expect(defaults.systemPackages).toEqual([defaults.package.name]);
    expect(service.serviceConfig.ExecStart).toMatch(/^\/nix\/store\/[0-9a-z]{32}-nixboot\/bin\/nixboot run$/);
    expect(service.path.some((entry) => /-nix-[\d.]+$/.test(entry))).toBe(true);
    expect(service.environment.NIX_PATH).toContain("nixpkgs=");
    expect(service.environment.HOME).toBe("/root");
  });

  it("raises the start timeout with the configured budgets, keeping 10 minutes for the agent's own", async () => {
    const budgets = { buildTimeoutSeconds: 14_400, evalTimeoutSeconds: 900, activationTimeoutSeconds: 900, healthTimeoutSeconds: 600, imdsBudgetSeconds: 300 };
    const service = nixboot(await evaluate(enabled(budgets)));
    const startTimeout = (await timespanMicroseconds(String(service.serviceConfig.TimeoutStartSec))) / 1e6;
    const worstCase = 2 * budgets.imdsBudgetSeconds + 10 + budgets.evalTimeoutSeconds + budgets.buildTimeoutSeconds + 2 * budgets.activationTimeoutSeconds + budgets.healthTimeoutSeconds;
    expect(startTimeout).toBeGreaterThanOrEqual(worstCase + 600);
  });
});

describe("systemd/module.nix's unit is systemd/nixboot.service", () => {
  let unit: UnitFile;
  let service: ServiceReport;
  beforeAll(async () => {
    unit = await readUnit();
    service = nixboot(await evaluate(enabled()));
  });

  /** A unit-file value and a NixOS serviceConfig value mean the same to systemd. */
  async function same(key: string, fromFile: string, fromModule: string | boolean | number): Promise<boolean> {
    if (typeof fromModule === "boolean") return systemdBoolean(fromFile) === fromModule;
    if (key.endsWith("Sec")) return (await timespanMicroseconds(fromFile)) === (await timespanMicroseconds(String(fromModule)));
    return fromFile === String(fromModule);
  }

  it("has the same [Unit] ordering, description and switch-to-configuration keys", () => {
    expect(service.description).toBe(value(unit, "Unit", "Description"));
    expect([...service.wants].sort()).toEqual(words(unit, "Unit", "Wants").sort());
    expect([...service.after].sort()).toEqual(words(unit, "Unit", "After").sort());
    expect([...service.before].sort()).toEqual(words(unit, "Unit", "Before").sort());
    expect(service.wantedBy).toEqual(words(unit, "Install", "WantedBy"));
    expect(service.unitConfig["X-StopOnRemoval"]).toBe(systemdBoolean(value(unit, "Unit", "X-StopOnRemoval")));
    expect(service.restartIfChanged).toBe(systemdBoolean(value(unit, "Service", "X-RestartIfChanged")));
    expect(service.stopIfChanged).toBe(systemdBoolean(value(unit, "Service", "X-StopIfChanged")));
  });

  it("has the same [Service] settings, key by key, both ways", async () => {
    const fileKeys = [...(unit.get("Service")?.keys() ?? [])].filter((key) => !key.startsWith("X-") && key !== "Environment");
    expect(fileKeys.sort()).toEqual(Object.keys(service.serviceConfig).sort());
    for (const key of fileKeys) {
      if (key === "ExecStart") continue;
      const moduleValue = service.serviceConfig[key] as string | boolean | number;
      expect(await same(key, value(unit, "Service", key), moduleValue), `${key}: ${value(unit, "Service", key)} vs ${String(moduleValue)}`).toBe(true);
    }
    // The same command, under the package's prefix instead of /usr.
    expect(value(unit, "Service", "ExecStart").replace(/^\/usr\//, "/")).toBe(String(service.serviceConfig.ExecStart).replace(/^\/nix\/store\/[^/]+\//, "/"));
    // The module's environment adds NIX_PATH from nix.nixPath (the unit's comment says so).
    const fileEnvironment = Object.fromEntries((unit.get("Service")?.get("Environment") ?? []).map((entry) => entry.split("=", 2) as [string, string]));
    expect(fileEnvironment).toEqual(Object.fromEntries(Object.entries(service.environment).filter(([name]) => name !== "NIX_PATH")));
  });
});

describe("systemd/package.nix, called with stand-ins for its nixpkgs arguments", () => {
  it("installs dist/nixboot.mjs and wraps it with Node.js 24, at package.json's version", async () => {
    const result = await nixEval(EVAL_PACKAGE);
    if (!result.ok) throw new Error(result.outcome.stderr);
    const attrs = result.value as Record<string, unknown>;
    const packageJson = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { version: string };
    expect(attrs.pname).toBe("nixboot");
    expect(attrs.version).toBe(packageJson.version);
    expect(attrs.src).toBe(join(REPO, "dist", "nixboot.mjs"));
    expect(attrs.dontUnpack).toBe(true);
    expect(attrs.installPhase).toContain('install -D -m 0444 "$src" "$out/lib/nixboot/nixboot.mjs"');
    expect(attrs.installPhase).toMatch(/makeWrapper \/nix\/store\/[0-9a-z]{32}-nodejs-24[^ ]*\/bin\/node "\$out\/bin\/nixboot"/);
    expect(attrs.installPhase).toContain('--add-flags "$out/lib/nixboot/nixboot.mjs"');
    expect(attrs.nativeBuildInputs).toEqual(["make-binary-wrapper-hook"]);
    expect(attrs.mainProgram).toBe("nixboot");
  });
});
