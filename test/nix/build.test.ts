import { access, mkdtemp, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSystem } from "../../agent/nix/build.js";
import { BuildFailedError } from "../../agent/nix/errors.js";
import { freshConfig, isValidPath, memoryLogger, recordingRunner } from "../fixture/machine.js";
import { createProcessRunner } from "../../agent/exec/runner.js";
import { evaluateText, realNix } from "./context.js";

let roots: string;
beforeAll(async () => {
  roots = await mkdtemp(join(tmpdir(), "nixboot-build-"));
});
afterAll(() => rm(roots, { recursive: true, force: true }));

describe("buildSystem on real Nix", () => {
  it("builds the system, roots it, streams progress to the logger, without binary caches under baked", async () => {
    const { logger, records } = memoryLogger();
    const runner = recordingRunner(createProcessRunner());
    const ctx = realNix({ logger, runner });
    const evaluation = await evaluateText(freshConfig("  fixture.slowBuildSeconds = 1;"), roots, ctx);
    const gcRoot = join(roots, "system");
    const result = await buildSystem(ctx, { ...evaluation, policy: "baked", gcRoot, timeoutMs: 120_000 });
    expect(result.outPath).toBe(evaluation.outPath);
    expect(result.built).toContain(evaluation.drvPath);
    expect(await readlink(gcRoot)).toBe(evaluation.outPath);
    expect(await isValidPath(evaluation.outPath)).toBe(true);
    await access(join(evaluation.outPath, "bin", "switch-to-configuration"));
    expect(records).toContainEqual(expect.objectContaining({ msg: "building", drv: evaluation.drvPath }));
    expect(records).toContainEqual(expect.objectContaining({ msg: "build output", line: "fixture: building slowly, 1 of 1 s" }));
    const realise = runner.calls.find((argv) => argv.includes("--realise"))!;
    expect(realise.join(" ")).toContain("--option substituters ");
  });

  it("names the failing derivation and carries its log's tail", async () => {
    const ctx = realNix();
    const evaluation = await evaluateText(freshConfig("  fixture.failBuild = true;"), roots, ctx);
    const error = await buildSystem(ctx, { ...evaluation, policy: "baked", gcRoot: join(roots, "failed"), timeoutMs: 120_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildFailedError);
    const failed = error as BuildFailedError;
    expect(failed.message).toMatch(/^building fixture-broken-package failed \(\/nix\/store\/[a-z0-9]{32}-fixture-broken-package\.drv\): fixture: this build fails on purpose/);
    expect(failed.details.failedDrv).toMatch(/-fixture-broken-package\.drv$/);
    expect(failed.details.logTail).toEqual(["compiling fixture-broken-package", "fixture: this build fails on purpose (fixture.failBuild = true)"]);
    expect(failed.hint).toContain("nix-store --read-log");
    expect(await isValidPath(evaluation.outPath)).toBe(false);
  });
});
