import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigSyntaxError } from "../../agent/nix/errors.js";
import { parseNixError } from "../../agent/nix/messages.js";
import { parseCandidate } from "../../agent/nix/parse.js";
import { realNix } from "./context.js";

describe("parseCandidate on real Nix", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "nixboot-parse-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("accepts valid syntax", async () => {
    const path = join(dir, "configuration.nix");
    await writeFile(path, "{ config, ... }: { networking.hostName = \"a\"; }\n");
    await expect(parseCandidate(realNix(), { path, displayName: "userdata", timeoutMs: 30_000 })).resolves.toBeUndefined();
  });

  it("reports a syntax error with the operator's file name, line and column, without the code excerpt", async () => {
    const path = join(dir, "configuration.nix");
    await writeFile(path, "{ config, ... }:\n{\n  networking.hostName = \"a\"\n  services.secretThing = 1;\n}\n");
    const error = await parseCandidate(realNix(), { path, displayName: "/etc/nixos/candidate.nix", timeoutMs: 30_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigSyntaxError);
    const syntax = error as ConfigSyntaxError;
    expect(syntax.location).toEqual({ file: "/etc/nixos/candidate.nix", line: 4, column: 24 });
    expect(syntax.message).toMatch(/^\/etc\/nixos\/candidate\.nix:4:24: syntax error, unexpected/);
    expect(syntax.message).not.toContain(dir);
    expect(syntax.message).not.toContain("secretThing");
    expect(syntax.code).toBe("CONFIG_INVALID");
  });

  it("reports an unterminated string at its line", async () => {
    const path = join(dir, "configuration.nix");
    await writeFile(path, "{\n  a = \"open;\n}\n");
    const error = (await parseCandidate(realNix(), { path, displayName: "userdata", timeoutMs: 30_000 }).catch((e: unknown) => e)) as ConfigSyntaxError;
    expect(error).toBeInstanceOf(ConfigSyntaxError);
    expect(error.location?.file).toBe("userdata");
    expect(error.location?.line).toBeGreaterThanOrEqual(2);
  });
});

describe("parseNixError", () => {
  it("reads the old one-line format (Nix 2.3)", () => {
    const parsed = parseNixError("error: syntax error, unexpected ID, expecting ';', at /tmp/c/configuration.nix:3:5\n");
    expect(parsed).toEqual({ message: "syntax error, unexpected ID, expecting ';'", location: { file: "/tmp/c/configuration.nix", line: 3, column: 5 } });
  });

  it("reads the multi-line format (Nix 2.4+) and drops the code excerpt", () => {
    const stderr = [
      "error: syntax error, unexpected '=', expecting ';'",
      "",
      "       at /tmp/c/configuration.nix:4:5:",
      "",
      "            3|   a = 1",
      "            4|   password = \"hunter2\";",
      "             |     ^",
      "            5| }",
      "(use '--show-trace' to show detailed location information)",
    ].join("\n");
    const parsed = parseNixError(stderr);
    expect(parsed.message).toBe("syntax error, unexpected '=', expecting ';'");
    expect(parsed.location).toEqual({ file: "/tmp/c/configuration.nix", line: 4, column: 5 });
    expect(JSON.stringify(parsed)).not.toContain("hunter2");
  });

  it("takes the cause from a newer trace-first report", () => {
    const stderr = [
      "error:",
      "       … while calling the 'derivationStrict' builtin",
      "",
      "         at /builtin/derivation.nix:9:12: (source not available)",
      "",
      "       … while evaluating derivation 'nixos-system'",
      "",
      "       error: The option `services.foo' does not exist.",
    ].join("\n");
    expect(parseNixError(stderr)).toEqual({ message: "The option `services.foo' does not exist.", location: undefined });
  });

  it("ignores warnings and falls back to the last lines without an error: prefix", () => {
    expect(parseNixError("warning: something\nsegfault somewhere\n").message).toBe("segfault somewhere");
  });
});
