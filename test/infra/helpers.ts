import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import type { Stack } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";

/** A fake Nix build result: `<dir>/nixos.<ext>` plus `nix-support/image-info.json`. */
export function makeImageBuild(info: Record<string, unknown> = {}, options: { extension?: string; bytes?: number } = {}): { dir: string; file: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "nixboot-image-"));
  const file = join(dir, `nixos-amazon-image.${options.extension ?? "vhd"}`);
  writeFileSync(file, Buffer.alloc(options.bytes ?? 4096, 7));
  mkdirSync(join(dir, "nix-support"));
  const json = { label: "25.05.20250601.abcdef0", system: "x86_64-linux", boot_mode: "uefi", logical_bytes: "3221225472", file, disks: { root: { logical_bytes: "3221225472", file } }, ...info };
  writeFileSync(join(dir, "nix-support", "image-info.json"), JSON.stringify(json));
  return { dir, file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function tempOutdir(): string {
  return mkdtempSync(join(tmpdir(), "nixboot-cdk-out-"));
}

/**
 * An app for fine-grained template assertions. CDK's built-in CloudFormation
 * schema validation (seconds per synth) is left to the app tests.
 */
export function testApp(context: Record<string, unknown> = {}): App {
  return new App({ outdir: tempOutdir(), context, builtinCloudFormationValidation: false });
}

/** cdk-nag's AWS Solutions findings (errors and warnings) that are not acknowledged. */
export function nagFindings(stack: Stack): string[] {
  const report = new AwsSolutionsChecks().validateScope(stack);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.severity} ${v.ruleName} at ${r.constructPath}`));
}

export const SMALL_CONFIGURATION = `{ pkgs, ... }:\n{\n  services.nginx.enable = true;\n  system.stateVersion = "25.05";\n}\n`;

/**
 * A configuration of `lines` distinct lines: realistic Nix that gzip
 * compresses (about 5:1) but that no fixed repetition makes trivial.
 */
export function largeConfiguration(lines: number): string {
  const body = Array.from({ length: lines }, (_, i) => `  environment.etc."nixboot/item-${i}".text = "value ${(i * 7919) % 10007} for host group ${i % 13}";`);
  return `{ config, pkgs, ... }:\n{\n${body.join("\n")}\n  system.stateVersion = "25.05";\n}\n`;
}

/** A configuration of about `bytes` bytes of hash strings, which gzip cannot shrink below half. */
export function incompressibleConfiguration(bytes: number): string {
  const lines: string[] = [];
  let total = 0;
  for (let i = 0; total < bytes; i++) {
    const line = `  environment.etc."k${i}".text = "${createHash("sha256").update(String(i)).digest("hex")}";`;
    lines.push(line);
    total += line.length + 1;
  }
  return `{ ... }:\n{\n${lines.join("\n")}\n}\n`;
}
