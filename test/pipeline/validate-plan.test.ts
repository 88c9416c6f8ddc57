import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigEvalError, PolicyRefusedError } from "../../agent/nix/errors.js";
import { apply, plan, validate } from "../../agent/pipeline/index.js";
import { AMI_CONFIG, createMachine, freshConfig, recordingRunner, type Machine } from "../fixture/machine.js";

let m: Machine;
beforeAll(async () => {
  m = await createMachine();
});
afterAll(() => m.cleanup());

const gcroots = () => readdir(join(m.paths.stateDir, "gcroots")).catch(() => [] as string[]);

describe("validate", () => {
  it("parses and evaluates, builds and changes nothing, and leaves no GC root behind", async () => {
    const runner = recordingRunner(m.runner);
    const report = await validate({ text: freshConfig() }, m.deps({ runner }));
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ ok: true, evaluations: 1, candidate: { label: "userdata", sizeBytes: expect.any(Number) } });
    expect(report.drvPath).toMatch(/\.drv$/);
    expect(report.steps.map((s) => s.name)).toEqual(["parse", "evaluate"]);
    expect(runner.programs()).toEqual(["nix-instantiate", "nix-instantiate"]);
    expect((await gcroots()).filter((name) => name.startsWith("eval-"))).toEqual([]);
    expect(await m.resolve(m.paths.currentSystem)).toBe(m.amiSystem);
    expect(await m.readConfig()).toBe(AMI_CONFIG);
  });

  it("reports an invalid configuration in `error`, never by throwing", async () => {
    const report = await validate({ text: "{ networking.hostName = true; }" }, m.deps());
    expect(report.ok).toBe(false);
    expect(report.error).toBeInstanceOf(ConfigEvalError);
    expect(report.steps.map((s) => [s.name, s.ok])).toEqual([["parse", true], ["evaluate", false]]);
  });
});

describe("plan", () => {
  it("says what a new configuration needs built, and that the policy allows it", async () => {
    const report = await plan({ text: freshConfig() }, m.deps());
    expect(report.error).toBeUndefined();
    expect(report.plan).toMatchObject({ alreadyBuilt: false, allowed: true, policy: "baked", toFetch: [] });
    expect(report.plan!.toBuild).toContain(report.plan!.drvPath);
  });

  it("says an applied configuration is already built", async () => {
    const text = freshConfig();
    expect((await apply({ text }, m.deps())).outcome).toBe("applied");
    const report = await plan({ text }, m.deps());
    expect(report.plan).toMatchObject({ alreadyBuilt: true, toBuild: [], allowed: true });
  });

  it("carries a refusal as the plan's and the report's error", async () => {
    const report = await plan({ text: freshConfig(`  fixture.fetchSource = "${Math.random().toString(16).slice(2)}";`) }, m.deps());
    expect(report.plan?.allowed).toBe(false);
    expect(report.error).toBeInstanceOf(PolicyRefusedError);
    expect(report.error).toBe(report.plan?.refusal);
  });
});
