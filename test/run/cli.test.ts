import { dirname } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../agent/cli/main.js";
import { FAKE_SYSTEMCTL, FIXTURE_ENTRY, freshConfig } from "../fixture/machine.js";
import { logLines, onlyJsonObject, tempFile } from "../cli/helpers.js";
import { amiSystem, bootInstance, CREDENTIALS, GROUP, HOOK, INSTANCE, useInstances, type Instance } from "./helpers.js";

useInstances();

/**
 * `nixboot run --json` in-process, as the boot unit runs it: everything from the CLI's
 * environment (`io.env`), which points at the emulators and holds static AWS keys; the host's
 * own NIXBOOT_* and AWS_* variables are left out. The fake systemctl comes first on PATH.
 */
async function nixbootRun(i: Instance, extraFlags: string[] = []): Promise<{ status: number; stdout: string; stderr: string }> {
  const { paths } = i.machine;
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("NIXBOOT_") && !key.startsWith("AWS_")));
  const env = {
    ...inherited,
    ...i.cloud.env,
    NIXBOOT_SETTINGS_FILE: await tempFile("settings.json", "{}\n"),
    NIXBOOT_FIXTURE_ROOT: i.machine.root,
    PATH: `${dirname(FAKE_SYSTEMCTL)}:${process.env.PATH ?? ""}`,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  };
  const flags = [
    "--state-dir", paths.stateDir,
    "--nixos-entry", FIXTURE_ENTRY,
    "--config-path", paths.config,
    "--system-profile", paths.profile,
    "--current-system", paths.currentSystem,
    "--imds-budget", "3",
    "--imds-timeout", "1",
    "--lock-wait", "1",
    "--health-timeout", "10",
  ];
  let stdout = "";
  let stderr = "";
  const status = await runCli(["run", ...flags, ...extraFlags, "--json"], {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    env,
  });
  return { status, stdout, stderr };
}

describe("nixboot run --json", () => {
  it("applies the userdata, completes the hook through endpoints and keys from its environment, and prints one JSON object", async () => {
    const i = await bootInstance();
    i.cloud.aws.state.startLifecycleAction(INSTANCE);
    const text = freshConfig();
    i.setUserdata(text);

    const { status, stdout, stderr } = await nixbootRun(i);

    const report = onlyJsonObject(stdout);
    expect(status).toBe(0);
    expect(report).toMatchObject({
      ok: true,
      exitStatus: 0,
      outcome: "applied",
      instanceId: INSTANCE,
      userdata: { class: "nix", sizeBytes: Buffer.byteLength(text) },
      apply: { outcome: "applied", mode: "switch", generation: 2 },
      lifecycle: { group: GROUP, hook: HOOK, result: "completed", action: "CONTINUE" },
    });
    expect(report).not.toHaveProperty("error");
    expect(report).not.toHaveProperty("lifecycleError");
    const steps = report.steps as Array<{ name: string; ok: boolean; durationMs: number }>;
    expect(steps.map((s) => s.name)).toEqual(["imds", "intake", "lock", "parse", "evaluate", "plan", "build", "activate", "health", "commit"]);
    expect(steps.every((s) => s.ok && Number.isInteger(s.durationMs))).toBe(true);

    const system = (report.apply as { systemPath: string }).systemPath;
    expect(await i.system()).toEqual({ current: system, profile: system, bootDefault: system, generations: [1, 2], config: text });
    // The SDK clients went to the emulator named by io.env, signing with io.env's keys.
    expect(i.cloud.aws.state.completions()).toEqual([expect.objectContaining({ instanceId: INSTANCE, result: "CONTINUE", via: "api" })]);
    expect(i.cloud.aws.state.requests().every((r) => r.accessKeyId === CREDENTIALS.accessKeyId)).toBe(true);
    // With --json the logs go to stderr, as JSON lines.
    expect(logLines(stderr).map((line) => line.msg)).toContain("lifecycle action completed: CONTINUE");
    expect(await i.status()).toMatchObject({ phase: "done", outcome: "applied", exitStatus: 0 });
  });

  it("exits with the class's status and reports ABANDON for a script when scripts are disabled", async () => {
    const i = await bootInstance();
    i.cloud.aws.state.startLifecycleAction(INSTANCE);
    i.setUserdata("#!/bin/sh\necho hello\n");

    const { status, stdout } = await nixbootRun(i);

    const report = onlyJsonObject(stdout);
    expect(status).toBe(36);
    expect(report).toMatchObject({
      ok: false,
      exitStatus: 36,
      outcome: "failed",
      userdata: { class: "script" },
      lifecycle: { result: "completed", action: "ABANDON" },
      error: { code: "SCRIPT_FAILED", message: "userdata is a script, and running scripts is disabled" },
    });
    expect(i.cloud.aws.state.completions()).toEqual([expect.objectContaining({ result: "ABANDON", via: "api" })]);
    expect(await i.system()).toEqual(amiSystem(i.machine));
  });
});
