import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createImdsClient } from "../../agent/intake/imds-client.js";
import { systemClock } from "../../agent/clock.js";
import { silentLogger } from "../../agent/log/logger.js";

// The emulator as a process (`npm run emulator`, dist/emulator.mjs): what an operator starts by hand.
const REPO = resolve(import.meta.dirname, "..", "..");
const BUNDLE = join(REPO, "dist", "emulator.mjs");

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGTERM");
});

beforeAll(async () => {
  if (!existsSync(BUNDLE)) {
    const build = spawn(process.execPath, ["test/tools/build.mjs"], { cwd: REPO, stdio: "ignore" });
    await new Promise((done) => build.on("close", done));
  }
});

async function startEmulatorProcess(args: string[]): Promise<{ imds: string; aws: string; admin: string }> {
  const child = spawn(process.execPath, [BUNDLE, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  const firstLine = await new Promise<string>((done, fail) => {
    createInterface({ input: child.stdout! }).once("line", done);
    child.once("exit", (code) => fail(new Error(`emulator exited with ${code}`)));
  });
  return JSON.parse(firstLine) as { imds: string; aws: string; admin: string };
}

describe("emulator CLI", () => {
  it("serves the userdata file over IMDSv2 and exposes what Auto Scaling recorded", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nixboot-emulator-cli-"));
    const userdata = join(dir, "configuration.nix");
    await writeFile(userdata, "{ networking.hostName = \"cli\"; }\n");
    const urls = await startEmulatorProcess(["--userdata", userdata, "--instance-id", "i-0cli0000000000001", "--group", "cli-group", "--pending"]);

    const imds = createImdsClient({ endpoint: urls.imds, requestTimeoutMs: 1_000, budgetMs: 3_000, clock: systemClock, logger: silentLogger() });
    expect(await imds.getIdentity()).toMatchObject({ instanceId: "i-0cli0000000000001", groupName: "cli-group" });
    expect((await imds.getUserdata())?.toString()).toContain('hostName = "cli"');

    const state = (await (await fetch(`${urls.admin}/state`)).json()) as { actions: { instanceId: string; status: string }[] };
    expect(state.actions).toEqual([expect.objectContaining({ instanceId: "i-0cli0000000000001", status: "pending" })]);
  });

  it("without --userdata has none: IMDS answers 404, which the agent reads as no userdata", async () => {
    const urls = await startEmulatorProcess(["--no-group"]);
    const imds = createImdsClient({ endpoint: urls.imds, requestTimeoutMs: 1_000, budgetMs: 3_000, clock: systemClock, logger: silentLogger() });
    expect(await imds.getUserdata()).toBeNull();
    expect(await imds.getAutoScalingGroupTag()).toBeNull();
  });
});
