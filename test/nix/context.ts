import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createProcessRunner } from "../../agent/exec/runner.js";
import { evaluateSystem, type Evaluation } from "../../agent/nix/evaluate.js";
import { createNixStats, type NixContext } from "../../agent/nix/nix-command.js";
import { FIXTURE_ENTRY, fastClock, silent } from "../fixture/machine.js";

/** A NixContext on the real Nix of this machine. */
export function realNix(overrides: Partial<NixContext> = {}): NixContext {
  return { runner: createProcessRunner(), clock: fastClock(), logger: silent(), nixBinDir: "", stats: createNixStats(), ...overrides };
}

/** Evaluates a configuration text with the fixture entry, rooting the .drv under `rootsDir`. */
export async function evaluateText(text: string, rootsDir: string, ctx: NixContext = realNix()): Promise<Evaluation> {
  const candidateDir = await mkdtemp(join(tmpdir(), "nixboot-candidate-"));
  try {
    await writeFile(join(candidateDir, "configuration.nix"), text);
    await mkdir(rootsDir, { recursive: true });
    return await evaluateSystem(ctx, {
      entry: FIXTURE_ENTRY,
      includePaths: [],
      candidateDir,
      displayName: "userdata",
      gcRoot: join(rootsDir, `${Math.random().toString(16).slice(2)}.drv`),
      timeoutMs: 60_000,
    });
  } finally {
    await rm(candidateDir, { recursive: true, force: true });
  }
}
