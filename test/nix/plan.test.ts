import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PolicyRefusedError } from "../../agent/nix/errors.js";
import { decide, planRealisation } from "../../agent/nix/plan.js";
import { buildFixtureSystem, freshConfig } from "../fixture/machine.js";
import { evaluateText, realNix } from "./context.js";

let roots: string;
beforeAll(async () => {
  roots = await mkdtemp(join(tmpdir(), "nixboot-plan-"));
});
afterAll(() => rm(roots, { recursive: true, force: true }));

const plan = async (text: string, policy: "baked" | "substitute" | "any") => {
  const ctx = realNix();
  const evaluation = await evaluateText(text, roots, ctx);
  return { ctx, evaluation, plan: await planRealisation(ctx, { ...evaluation, policy, timeoutMs: 60_000 }) };
};

describe("planRealisation on real Nix", () => {
  it("says a system already in the store is built, and allows it", async () => {
    const text = freshConfig();
    const built = await buildFixtureSystem(text, join(roots, "prebuilt"));
    const { ctx, plan: result } = await plan(text, "baked");
    expect(result).toMatchObject({ outPath: built, alreadyBuilt: true, toBuild: [], toFetch: [], allowed: true, policy: "baked" });
    expect(result.refusal).toBeUndefined();
    expect(ctx.stats.commands).toBe(2); // the evaluation and the dry run
  });

  it("lists the local builds a new configuration needs and allows them under baked", async () => {
    const { evaluation, plan: result } = await plan(freshConfig(), "baked");
    expect(result.alreadyBuilt).toBe(false);
    expect(result.toBuild).toContain(evaluation.drvPath);
    expect(result.toFetch).toEqual([]);
    expect(result.fixedOutput).toEqual([]);
    expect(result.allowed).toBe(true);
  });

  it("refuses under baked a system that needs a download, naming it", async () => {
    const salt = randomBytes(6).toString("hex");
    const { plan: result } = await plan(freshConfig(`  fixture.fetchSource = "${salt}";`), "baked");
    expect(result.allowed).toBe(false);
    expect(result.fixedOutput).toEqual([expect.stringMatching(new RegExp(`-fixture-source-${salt}\\.drv$`))]);
    expect(result.refusal).toBeInstanceOf(PolicyRefusedError);
    expect(result.refusal?.message).toContain(`fixture-source-${salt}.drv`);
    expect(result.refusal?.message).toMatch(/^policy "baked" refuses this system: 1 download to build/);
    expect(result.refusal?.details).toMatchObject({ policy: "baked", missing: { fixedOutput: result.fixedOutput } });
  });

  it("refuses the same under substitute and allows it under any", async () => {
    const text = freshConfig(`  fixture.fetchSource = "${randomBytes(6).toString("hex")}";`);
    expect((await plan(text, "substitute")).plan.allowed).toBe(false);
    const any = await plan(text, "any");
    expect(any.plan.allowed).toBe(true);
    expect(any.plan.fixedOutput).toHaveLength(1);
  });
});

describe("decide", () => {
  const base = { drvPath: "/nix/store/x.drv", outPath: "/nix/store/x", alreadyBuilt: false, toBuild: [], fixedOutput: [], unknown: [] };
  const fetch = ["/nix/store/pppppppppppppppppppppppppppppppp-glibc-2.40"];

  it("refuses fetching under baked only", () => {
    expect(decide({ ...base, toFetch: fetch, policy: "baked" })?.message).toContain("1 path to fetch from a binary cache (glibc-2.40)");
    expect(decide({ ...base, toFetch: fetch, policy: "substitute" })).toBeUndefined();
    expect(decide({ ...base, toFetch: fetch, policy: "any" })).toBeUndefined();
  });

  it("refuses what nothing can produce under every policy", () => {
    expect(decide({ ...base, toFetch: [], unknown: fetch, policy: "any" })).toBeInstanceOf(PolicyRefusedError);
  });
});
