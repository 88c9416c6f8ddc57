import { readFile } from "node:fs/promises";
import { UsageError } from "../../errors.js";
import { readUserdata, type Intake } from "../../intake/index.js";
import type { CommandSpec } from "../command.js";
import { ExitStatus } from "../exit-status.js";

/** The log- and print-safe summary of an intake: never the body. */
export function describeIntake(intake: Intake): Record<string, unknown> {
  return {
    class: intake.class,
    reasons: intake.reasons,
    sizeBytes: intake.sizeBytes,
    decodedBytes: intake.decodedBytes,
    encodings: intake.encodings,
    sha256: intake.sha256,
    channels: intake.channels,
    directives: intake.directives,
    hasScript: intake.script !== undefined,
  };
}

export function renderIntake(intake: Intake): string {
  const lines = [
    `class:      ${intake.class}`,
    `size:       ${intake.sizeBytes} bytes (${intake.decodedBytes} decoded${intake.encodings.length > 0 ? `, via ${intake.encodings.join(" → ")}` : ""})`,
    `sha256:     ${intake.sha256}`,
    ...intake.reasons.map((reason, index) => `${index === 0 ? "reasons:    " : "            "}${reason}`),
  ];
  if (intake.channels.length > 0) lines.push(`channels:   ${intake.channels.map((channel) => `${channel.name}=${channel.url}`).join(", ")}`);
  const directives = Object.entries(intake.directives);
  if (directives.length > 0) lines.push(`directives: ${directives.map(([key, value]) => `${key}=${Array.isArray(value) ? value.join(",") : String(value)}`).join(" ")}`);
  return lines.join("\n");
}

export const classifyCommand: CommandSpec = {
  name: "classify",
  summary: "decode and classify a userdata file offline (nix | script | empty)",
  usage: "FILE [--json]",
  description:
    "Decodes FILE the way the boot run decodes IMDS userdata (base64, gzip, MIME multipart), checks size and\n" +
    "encoding, parses `# nixboot:` directives and classifies it. Use `-` for standard input. Never prints the body.",
  positionals: { min: 1, max: 1, names: "exactly one FILE" },
  settings: [],
  async run({ positionals }) {
    const path = positionals[0]!;
    let raw: Buffer;
    try {
      raw = path === "-" ? await readStdin() : await readFile(path);
    } catch (error) {
      throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
    const intake = readUserdata(raw);
    return { status: ExitStatus.Ok, report: { ok: true, file: path, ...describeIntake(intake) }, text: renderIntake(intake) };
  },
};

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
