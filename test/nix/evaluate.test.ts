import { access, mkdir, mkdtemp, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SettingsError } from "../../agent/errors.js";
import { createProcessRunner } from "../../agent/exec/runner.js";
import { readDerivation } from "../../agent/nix/derivation.js";
import { ConfigEvalError } from "../../agent/nix/errors.js";
import { evaluateSystem, type EvaluateOptions } from "../../agent/nix/evaluate.js";
import { FIXTURE_ENTRY, freshConfig } from "../fixture/machine.js";
import { realNix } from "./context.js";

// NIX_PATH empty: `<nixpkgs>` must not resolve through the machine's channels.
const nix = () => realNix({ runner: createProcessRunner({ env: { ...process.env, NIX_PATH: "" } }) });

let base: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "nixboot-eval-"));
  await writeFile(join(base, "outside.nix"), '{ networking.hostName = "outside"; }');
});
afterAll(() => rm(base, { recursive: true, force: true }));

async function evaluate(text: string, overrides: Partial<EvaluateOptions> = {}) {
  const candidateDir = await mkdtemp(join(base, "candidate-"));
  await writeFile(join(candidateDir, "configuration.nix"), text);
  const ctx = nix();
  const options: EvaluateOptions = {
    entry: FIXTURE_ENTRY,
    includePaths: [],
    candidateDir,
    displayName: "userdata",
    gcRoot: join(base, "roots", `${Math.random().toString(16).slice(2)}.drv`),
    timeoutMs: 60_000,
    ...overrides,
  };
  await mkdir(dirname(options.gcRoot), { recursive: true });
  return { ctx, options, result: evaluateSystem(ctx, options) };
}

async function evalError(text: string): Promise<ConfigEvalError> {
  const { result } = await evaluate(text);
  const error = await result.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConfigEvalError);
  return error as ConfigEvalError;
}

describe("evaluateSystem", () => {
  it("instantiates the system once, roots the .drv and knows its output path", async () => {
    const { ctx, options, result } = await evaluate(freshConfig());
    const evaluation = await result;
    expect(evaluation.drvPath).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-system-web\.drv$/);
    await access(evaluation.drvPath);
    expect(await readlink(options.gcRoot)).toBe(evaluation.drvPath);
    expect((await readDerivation(evaluation.drvPath)).outputs.out?.path).toBe(evaluation.outPath);
    expect(ctx.stats).toMatchObject({ evaluations: 1, commands: 1 });
  });

  it("accepts the entry as a search-path entry from includePaths, and as a file", async () => {
    const bySearchPath = await evaluate(freshConfig(), { entry: "<fixture/nixos>", includePaths: [`fixture=${dirname(FIXTURE_ENTRY)}`] });
    await expect(bySearchPath.result).resolves.toMatchObject({ outPath: expect.stringMatching(/nixos-system-web$/) });
    const byFile = await evaluate(freshConfig(), { entry: join(FIXTURE_ENTRY, "default.nix") });
    await expect(byFile.result).resolves.toMatchObject({ outPath: expect.stringMatching(/nixos-system-web$/) });
  });

  it("says the entry point is missing from the search path as a settings problem, not the configuration's", async () => {
    const { result } = await evaluate(freshConfig(), { entry: "<nixboot-absent-channel/nixos>" });
    const error = await result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SettingsError);
    expect((error as SettingsError).message).toBe("the NixOS entry point <nixboot-absent-channel/nixos> is not on the Nix search path");
    expect((error as SettingsError).hint).toContain("NIX_PATH");
  });

  it("rejects an entry that is neither <...> nor absolute", async () => {
    const { result } = await evaluate(freshConfig(), { entry: "nixos/default.nix" });
    await expect(result).rejects.toBeInstanceOf(SettingsError);
  });

  it("reports an unknown option with the module system's message", async () => {
    const error = await evalError("{ services.nginx.enable = true; }");
    expect(error.message).toContain("The option `services.nginx' does not exist.");
    expect(error.restricted).toBe(false);
    expect(error.code).toBe("CONFIG_INVALID");
  });

  it("reports a value of the wrong type", async () => {
    const error = await evalError("{ networking.hostName = 42; }");
    expect(error.message).toContain("A definition for option `networking.hostName' is not of type `string'.");
  });

  it("keeps NixOS's definition values (maybe secrets) out of the message", async () => {
    const nixos = String.raw`throw "A definition for option ${"`"}x' is not of type ${"`"}string'. Definition values:\n- In ${"`"}/etc/nixos/configuration.nix': \"s3cret\""`;
    const error = await evalError(`{ networking.hostName = ${nixos}; }`);
    expect(error.message).toContain("A definition for option `x' is not of type `string'.");
    expect(error.message).not.toContain("s3cret");
  });

  it("reports a Nix type error at the candidate's line and column, under its display name", async () => {
    const error = await evalError('{ config, ... }:\n{\n  networking.hostName = 1 + "a";\n}\n');
    expect(error.location).toEqual({ file: "userdata", line: 3, column: 29 });
    expect(error.message).toContain("cannot add a string to an integer");
    expect(error.message).not.toMatch(/\d+\|/);
  });

  it.each([
    ["builtins.fetchurl", 'builtins.readFile (builtins.fetchurl "http://127.0.0.1:9/x")', /access to URI 'http:\/\/127\.0\.0\.1:9\/x' is forbidden in restricted mode/],
    ["builtins.fetchTarball", 'toString (builtins.fetchTarball "https://example.com/x.tar.gz")', /access to URI .* is forbidden in restricted mode/],
    ["an absolute path outside", 'builtins.readFile "/etc/passwd"', /access to absolute path '\/etc\/passwd' is forbidden in restricted mode/],
    ["a file next to the candidate's copy", "(import ../outside.nix).networking.hostName", /forbidden in restricted mode/],
    ["import-from-derivation", 'import (derivation { name = "ifd"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo x > $out" ]; })', /allow-import-from-derivation/],
  ])("refuses %s during evaluation", async (_, expression, message) => {
    const error = await evalError(`{ networking.hostName = ${expression}; }`);
    expect(error.message).toMatch(message);
    expect(error.restricted).toBe(true);
    expect(error.hint).toMatch(/restricted/);
  });

  it("cannot reach <nixpkgs> when the search path does not hold it", async () => {
    const error = await evalError("{ imports = [ <nixpkgs/nixos/modules/virtualisation/amazon-image.nix> ]; }");
    expect(error.message).toContain("file 'nixpkgs/nixos/modules/virtualisation/amazon-image.nix' was not found in the Nix search path");
  });
});
