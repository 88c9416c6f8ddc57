import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { cli, onlyJsonObject, tempFile } from "./helpers.js";

const MARKER = "classify-marker-7d21";
const CONFIGURATION = `# nixboot: policy=substitute\n{ config, pkgs, ... }:\n{\n  networking.hostName = "${MARKER}";\n}\n`;
const SCRIPT = `#!/bin/sh\necho ${MARKER}\n`;

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

async function classify(name: string, content: string | Uint8Array, ...flags: string[]) {
  const path = await tempFile(name, content);
  return { path, out: await cli(["classify", ...flags, path]) };
}

describe("classify FILE", () => {
  it("a Nix configuration: class nix, directives parsed, no body in the JSON", async () => {
    const { path, out } = await classify("configuration.nix", CONFIGURATION, "--json");
    expect(out.status, out.stderr).toBe(0);
    const report = onlyJsonObject(out.stdout);
    expect(report).toMatchObject({
      ok: true,
      file: path,
      class: "nix",
      sizeBytes: Buffer.byteLength(CONFIGURATION),
      sha256: sha256(Buffer.from(CONFIGURATION)),
      encodings: [],
      directives: { policy: "substitute" },
      hasScript: false,
    });
    expect(out.stdout).not.toContain(MARKER);
  });

  it("human output names the class and the hash, not the body", async () => {
    const { out } = await classify("configuration.nix", CONFIGURATION);
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^class: +nix$/m);
    expect(out.stdout).toContain(`sha256:     ${sha256(Buffer.from(CONFIGURATION))}`);
    expect(out.stdout).toMatch(/^directives: policy=substitute$/m);
    expect(out.stdout).not.toContain(MARKER);
  });

  it("a #! script: class script", async () => {
    const { out } = await classify("userdata.sh", SCRIPT, "--json");
    expect(out.status, out.stderr).toBe(0);
    expect(onlyJsonObject(out.stdout)).toMatchObject({ class: "script", hasScript: true });
    expect(out.stdout).not.toContain(MARKER);
  });

  it("an empty file and a comment-only file: class empty", async () => {
    const empty = await classify("empty", "", "--json");
    expect(empty.out.status, empty.out.stderr).toBe(0);
    expect(onlyJsonObject(empty.out.stdout)).toMatchObject({ class: "empty", sizeBytes: 0 });
    const comments = await classify("comments.nix", "# nothing here\n\n# still nothing\n", "--json");
    expect(comments.out.status, comments.out.stderr).toBe(0);
    expect(onlyJsonObject(comments.out.stdout)).toMatchObject({ class: "empty" });
  });

  it("gzip-compressed: decoded, class nix", async () => {
    const gz = gzipSync(CONFIGURATION);
    const { out } = await classify("configuration.nix.gz", gz, "--json");
    expect(out.status, out.stderr).toBe(0);
    expect(onlyJsonObject(out.stdout)).toMatchObject({
      class: "nix",
      encodings: ["gzip"],
      sizeBytes: gz.length,
      decodedBytes: Buffer.byteLength(CONFIGURATION),
      sha256: sha256(gz),
    });
  });

  it("base64 and base64 of gzip: decoded, class nix", async () => {
    const b64 = await classify("configuration.b64", Buffer.from(CONFIGURATION).toString("base64"), "--json");
    expect(b64.out.status, b64.out.stderr).toBe(0);
    expect(onlyJsonObject(b64.out.stdout)).toMatchObject({ class: "nix", encodings: ["base64"] });
    const b64gz = await classify("configuration.gz.b64", gzipSync(SCRIPT).toString("base64"), "--json");
    expect(b64gz.out.status, b64gz.out.stderr).toBe(0);
    expect(onlyJsonObject(b64gz.out.stdout)).toMatchObject({ class: "script", encodings: ["base64", "gzip"] });
  });

  it("corrupt gzip exits 20 with what is wrong and a hint", async () => {
    const { out } = await classify("broken.gz", gzipSync(CONFIGURATION).subarray(0, 20));
    expect(out.status).toBe(20);
    expect(out.stderr).toContain("nixboot classify: gzip userdata is corrupt or truncated (20 bytes)");
    expect(out.stderr).toContain("hint: recreate it with `gzip -c configuration.nix`");
  });

  it("an unknown directive exits 20 naming the line and the key", async () => {
    const { out } = await classify("directive.nix", `# nixboot: colour=blue\n{ }\n`, "--json");
    expect(out.status).toBe(20);
    const report = onlyJsonObject(out.stdout);
    expect(report).toMatchObject({ ok: false, exitStatus: 20, error: { code: "USERDATA_INVALID", details: { line: 1 } } });
    expect((report.error as { message: string }).message).toBe('userdata, line 1: unknown directive key "colour"');
  });

  it("binary that is not UTF-8 exits 20", async () => {
    const { out } = await classify("binary", Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]));
    expect(out.status).toBe(20);
    expect(out.stderr).toContain("userdata is not valid UTF-8 text (4 bytes)");
  });

  it("larger than EC2 allows exits 20", async () => {
    const { out } = await classify("huge.nix", `{ }\n${"#".repeat(30_000)}\n`);
    expect(out.status).toBe(20);
    expect(out.stderr).toContain("EC2 allows at most 16384 bytes (16 KiB) of userdata");
  });

  it("a file that does not exist is a usage error (2) naming it", async () => {
    const out = await cli(["classify", "/nonexistent/userdata"]);
    expect(out.status).toBe(2);
    expect(out.stderr).toContain("cannot read /nonexistent/userdata: ENOENT");
  });
});
