import { describe, expect, it } from "vitest";
import { VERSION } from "../../agent/cli/main.js";
import { COMMANDS } from "../../agent/cli/commands/index.js";
import { SETTINGS, type SettingDefinition } from "../../agent/settings/definitions.js";
import { cli, onlyJsonObject, tempDir, tempFile } from "./helpers.js";

/** Flags each command must offer, written out here so a dropped flag fails even if the tables drop it too. */
const EXPECTED_FLAGS: Record<string, string[]> = {
  fetch: ["--show-body", "--imds-endpoint", "--imds-budget", "--imds-timeout"],
  classify: [],
  status: ["--wait", "--timeout", "--state-dir"],
  validate: ["--nixos-entry", "--include", "--nix-bin-dir", "--eval-timeout", "--policy", "--state-dir"],
  plan: ["--nixos-entry", "--policy", "--state-dir"],
  apply: ["--mode", "--config-path", "--system-profile", "--current-system", "--health-check", "--health-timeout", "--allow-degraded", "--build-timeout", "--lock-wait", "--policy", "--state-dir"],
  run: ["--imds-endpoint", "--imds-budget", "--hook-name", "--report", "--allow-scripts", "--script-timeout", "--mode", "--policy", "--health-check", "--state-dir"],
};
const GLOBAL_FLAGS = ["--json", "--settings", "--log-level", "--help"];

describe("help", () => {
  it("nixboot --help lists every command and the exit statuses", async () => {
    const out = await cli(["--help"]);
    expect(out.status).toBe(0);
    for (const command of COMMANDS) expect(out.stdout).toMatch(new RegExp(`^  ${command.name} +\\S`, "m"));
    expect(out.stdout).toMatch(/^ +10 +IMDS unreachable/m);
    expect(out.stderr).toBe("");
  });

  it("without a command prints the help and exits 2", async () => {
    const out = await cli([]);
    expect(out.status).toBe(2);
    expect(out.stdout).toContain("Usage: nixboot COMMAND");
  });

  it("knows every command the expectations name, and no other", () => {
    expect(COMMANDS.map((command) => command.name).sort()).toEqual(Object.keys(EXPECTED_FLAGS).sort());
  });

  for (const command of COMMANDS) {
    it(`nixboot ${command.name} --help lists its flags`, async () => {
      const out = await cli([command.name, "--help"]);
      expect(out.status).toBe(0);
      expect(out.stdout).toContain(`Usage: nixboot ${command.name} `);
      const fromTables = [
        ...Object.keys(command.options ?? {}).map((flag) => `--${flag}`),
        ...(SETTINGS as readonly SettingDefinition[]).filter((def) => (command.settings as readonly string[]).includes(def.key)).map((def) => `--${def.flag}`),
      ];
      for (const flag of new Set([...(EXPECTED_FLAGS[command.name] ?? []), ...fromTables, ...GLOBAL_FLAGS])) {
        expect(out.stdout, flag).toMatch(new RegExp(`^  (-h, )?${flag}\\b`, "m"));
      }
    });
  }

  it("--version prints the version", async () => {
    const out = await cli(["--version"]);
    expect(out.status).toBe(0);
    expect(out.stdout).toBe(`nixboot ${VERSION}\n`);
  });
});

describe("usage errors exit 2", () => {
  it("unknown command", async () => {
    const out = await cli(["frobnicate"]);
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('unknown command "frobnicate"');
    expect(out.stderr).toContain("nixboot --help");
    expect(out.stdout).toBe("");
  });

  it("unknown flag, naming the flag and where help is", async () => {
    const out = await cli(["status", "--bogus"]);
    expect(out.status).toBe(2);
    expect(out.stderr).toContain("nixboot status:");
    expect(out.stderr).toContain("--bogus");
    expect(out.stderr).toContain("nixboot status --help");
    expect(out.stdout).toBe("");
  });

  it("a flag that belongs to another command", async () => {
    const out = await cli(["classify", "--imds-endpoint", "http://127.0.0.1:1", "x.nix"]);
    expect(out.status).toBe(2);
    expect(out.stderr).toContain("--imds-endpoint");
  });

  it("missing or extra positional arguments", async () => {
    const missing = await cli(["classify"]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("classify expects exactly one FILE");
    const extra = await cli(["status", "surplus"]);
    expect(extra.status).toBe(2);
    expect(extra.stderr).toContain("status takes no arguments, got 1");
  });

  it("with --json, the usage error is the one JSON object on stdout", async () => {
    const out = await cli(["status", "--json", "--bogus"]);
    expect(out.status).toBe(2);
    const report = onlyJsonObject(out.stdout);
    expect(report).toMatchObject({ ok: false, exitStatus: 2, error: { code: "USAGE" } });
    expect(String((report.error as { message: string }).message)).toContain("--bogus");
  });
});

describe("settings", () => {
  async function stateDirSeen(argv: string[], env: Record<string, string> = {}): Promise<unknown> {
    const out = await cli(["status", "--json", ...argv], { env });
    expect(out.status, out.stdout + out.stderr).toBe(0);
    return onlyJsonObject(out.stdout).stateDir;
  }

  it("precedence: flag > environment > settings file > default", async () => {
    const [fromFile, fromEnv, fromFlag] = [await tempDir(), await tempDir(), await tempDir()];
    const file = await tempFile("settings.json", JSON.stringify({ stateDir: fromFile }));
    expect(await stateDirSeen([])).toBe("/var/lib/nixboot");
    expect(await stateDirSeen(["--settings", file])).toBe(fromFile);
    expect(await stateDirSeen(["--settings", file], { NIXBOOT_STATE_DIR: fromEnv })).toBe(fromEnv);
    expect(await stateDirSeen(["--settings", file, "--state-dir", fromFlag], { NIXBOOT_STATE_DIR: fromEnv })).toBe(fromFlag);
  });

  it("NIXBOOT_SETTINGS_FILE names the settings file; --settings wins over it", async () => {
    const [a, b] = [await tempDir(), await tempDir()];
    const fileA = await tempFile("a.json", JSON.stringify({ stateDir: a }));
    const fileB = await tempFile("b.json", JSON.stringify({ stateDir: b }));
    expect(await stateDirSeen([], { NIXBOOT_SETTINGS_FILE: fileA })).toBe(a);
    expect(await stateDirSeen(["--settings", fileB], { NIXBOOT_SETTINGS_FILE: fileA })).toBe(b);
  });

  it("an unknown settings-file key exits 3 and names the key", async () => {
    const file = await tempFile("settings.json", JSON.stringify({ stateDir: "/tmp", stateDirectory: "/tmp" }));
    const out = await cli(["status", "--settings", file]);
    expect(out.status).toBe(3);
    expect(out.stderr).toContain("unknown key(s): stateDirectory");
    expect(out.stderr).toContain(file);
    const json = await cli(["status", "--json", "--settings", file]);
    expect(json.status).toBe(3);
    expect(onlyJsonObject(json.stdout)).toMatchObject({ ok: false, exitStatus: 3, error: { code: "SETTINGS_INVALID" } });
  });

  it("a named settings file that does not exist exits 3", async () => {
    const out = await cli(["status", "--settings", "/nonexistent/nixboot/settings.json"]);
    expect(out.status).toBe(3);
    expect(out.stderr).toContain("/nonexistent/nixboot/settings.json");
  });

  it("a bad enum value exits 3, from a flag, the environment or the settings file", async () => {
    const flag = await cli(["status", "--log-level", "loud"]);
    expect(flag.status).toBe(3);
    expect(flag.stderr).toContain("flag --log-level: expected one of trace, debug, info, warn, error, fatal, silent");
    const env = await cli(["status"], { env: { NIXBOOT_LOG_LEVEL: "loud" } });
    expect(env.status).toBe(3);
    expect(env.stderr).toContain("environment variable NIXBOOT_LOG_LEVEL");
    const file = await tempFile("settings.json", JSON.stringify({ logLevel: "loud" }));
    const fromFile = await cli(["status", "--settings", file]);
    expect(fromFile.status).toBe(3);
    expect(fromFile.stderr).toContain('key "logLevel"');
  });

  it("a value of the wrong type exits 3", async () => {
    const out = await cli(["fetch", "--imds-budget", "soon"]);
    expect(out.status).toBe(3);
    expect(out.stderr).toContain("flag --imds-budget: expected a number of seconds");
  });
});

describe("global flags before the command", () => {
  it("nixboot --json status works like nixboot status --json", async () => {
    const dir = await tempDir();
    const out = await cli(["--json", "status", "--state-dir", dir]);
    expect(out.status).toBe(0);
    expect(onlyJsonObject(out.stdout)).toMatchObject({ phase: "not-run" });
  });
});
