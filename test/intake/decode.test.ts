import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  MAX_DECOMPRESSED_BYTES,
  MAX_RAW_BYTES,
  MAX_USERDATA_BYTES,
  readUserdata,
  UserdataEncodingError,
  UserdataGzipError,
  UserdataMimeError,
  UserdataTooLargeError,
} from "../../agent/intake/index.js";
import { base64, bytes, expectUserdataError, gzip, mime, NIX_CONFIG, SCRIPT } from "./fixtures/userdata.js";

const SECRET = "hunter2-do-not-print";
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

describe("plain text and hashing", () => {
  it("passes plain text through and hashes the raw bytes", () => {
    const raw = bytes(NIX_CONFIG);
    const intake = readUserdata(raw);
    expect(intake).toMatchObject({ class: "nix", configuration: NIX_CONFIG, encodings: [], sizeBytes: raw.length, decodedBytes: raw.length, sha256: sha256(raw) });
  });

  it("hashes the raw bytes, not the decoded ones, so each encoding is its own launch key", () => {
    const raw = base64(NIX_CONFIG);
    const intake = readUserdata(raw);
    expect(intake.sha256).toBe(sha256(raw));
    expect(intake.sha256).not.toBe(readUserdata(bytes(NIX_CONFIG)).sha256);
    expect(readUserdata(raw).sha256).toBe(intake.sha256);
  });

  it("takes null (no userdata) as empty with the hash of nothing", () => {
    expect(readUserdata(null)).toMatchObject({ class: "empty", sizeBytes: 0, decodedBytes: 0, encodings: [], sha256: sha256(new Uint8Array()), channels: [], directives: {} });
  });
});

describe("base64", () => {
  it("decodes base64 of text", () => {
    const intake = readUserdata(base64(NIX_CONFIG));
    expect(intake).toMatchObject({ class: "nix", configuration: NIX_CONFIG, encodings: ["base64"], decodedBytes: bytes(NIX_CONFIG).length });
  });

  it("ignores line breaks and spaces in base64 (wrapped at 76 with CRLF)", () => {
    const raw = base64(NIX_CONFIG.repeat(5), { width: 76, eol: "\r\n" });
    expect(readUserdata(raw)).toMatchObject({ encodings: ["base64"], configuration: NIX_CONFIG.repeat(5) });
  });

  it.each([
    ["missing padding", "Zm9vYg"],
    ["padding in the middle", "Zm9=vYmFy"],
    ["base64url alphabet", "-_-_Zm9v"],
    ["non-canonical trailing bits", "Zh=="],
    ["too much padding", "Zm9vY==="],
  ])("treats malformed base64 (%s) as raw text", (_, body) => {
    const intake = readUserdata(bytes(body));
    expect(intake.encodings).toEqual([]);
    expect(intake.configuration).toBe(body);
  });

  it.each([
    ["invalid UTF-8", new Uint8Array([0xff, 0xfe, 0x80, 0x81, 0x00, 0xc3])],
    ["NUL bytes", new Uint8Array([0, 0, 0])],
  ])("treats base64 that decodes to binary (%s) as raw text, and says so", (_, junk) => {
    const raw = base64(junk);
    const intake = readUserdata(raw);
    expect(intake.encodings).toEqual([]);
    expect(intake.class).toBe("nix");
    expect(intake.configuration).toBe(new TextDecoder().decode(raw));
    expect(intake.reasons.join("\n")).toMatch(/valid base64 but decodes to binary/);
  });
});

describe("gzip", () => {
  it("decompresses gzip (magic 1f 8b)", () => {
    expect(readUserdata(gzip(NIX_CONFIG))).toMatchObject({ class: "nix", configuration: NIX_CONFIG, encodings: ["gzip"] });
  });

  it("peels base64 of gzip", () => {
    expect(readUserdata(base64(gzip(SCRIPT)))).toMatchObject({ class: "script", script: SCRIPT, encodings: ["base64", "gzip"] });
  });

  it("lets a compressed configuration exceed 16 KiB decompressed", () => {
    const big = `${NIX_CONFIG}${"# padding comment line\n".repeat(5000)}`;
    const raw = gzip(big);
    expect(raw.length).toBeLessThanOrEqual(MAX_USERDATA_BYTES);
    expect(readUserdata(raw)).toMatchObject({ class: "nix", decodedBytes: bytes(big).length, sizeBytes: raw.length });
  });

  it("accepts exactly the decompression cap", () => {
    const text = `${NIX_CONFIG}${"#".repeat(MAX_DECOMPRESSED_BYTES - bytes(NIX_CONFIG).length)}`;
    expect(readUserdata(gzip(text)).decodedBytes).toBe(MAX_DECOMPRESSED_BYTES);
  });

  it("stops a gzip bomb at the cap, also under base64", () => {
    const bomb = gzip(new Uint8Array(8 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(MAX_USERDATA_BYTES);
    for (const raw of [bomb, base64(bomb)]) {
      const error = expectUserdataError(() => readUserdata(raw), UserdataGzipError);
      expect(error.details).toMatchObject({ problem: "too-large", limit: MAX_DECOMPRESSED_BYTES });
    }
    const justOver = gzip("#".repeat(MAX_DECOMPRESSED_BYTES + 1));
    expect(expectUserdataError(() => readUserdata(justOver), UserdataGzipError).details.problem).toBe("too-large");
  });

  it("rejects corrupt and truncated gzip", () => {
    expect(expectUserdataError(() => readUserdata(new Uint8Array([0x1f, 0x8b, 1, 2, 3, 4])), UserdataGzipError).details.problem).toBe("corrupt");
    const whole = gzip(NIX_CONFIG);
    expect(expectUserdataError(() => readUserdata(whole.subarray(0, whole.length - 6)), UserdataGzipError).details.problem).toBe("corrupt");
  });

  it("rejects gzip inside gzip", () => {
    expect(expectUserdataError(() => readUserdata(gzip(gzip(NIX_CONFIG))), UserdataGzipError).details.problem).toBe("nested");
  });
});

describe("encoding and size", () => {
  it("rejects invalid UTF-8, raw or inside gzip, without quoting the body", () => {
    const invalid = new Uint8Array([...bytes(`{ x = "${SECRET}"; `), 0xc3, 0x28, ...bytes("}")]);
    expectUserdataError(() => readUserdata(invalid), UserdataEncodingError, SECRET);
    expectUserdataError(() => readUserdata(gzip(invalid)), UserdataEncodingError, SECRET);
  });

  it("accepts 16384 bytes of text and rejects 16385", () => {
    const fits = `${NIX_CONFIG}${"#".repeat(MAX_USERDATA_BYTES - bytes(NIX_CONFIG).length)}`;
    expect(readUserdata(bytes(fits)).sizeBytes).toBe(16384);
    const error = expectUserdataError(() => readUserdata(bytes(`${fits}#`)), UserdataTooLargeError);
    expect(error.details).toMatchObject({ bytes: 16385, limit: 16384 });
  });

  it("counts the limit on the bytes under base64: base64 of 16384 bytes passes, of 16385 fails", () => {
    const fits = `${NIX_CONFIG}${"#".repeat(MAX_USERDATA_BYTES - bytes(NIX_CONFIG).length)}`;
    const wrapped = base64(fits, { width: 64, eol: "\r\n" });
    expect(wrapped.length).toBeGreaterThan(MAX_USERDATA_BYTES);
    expect(wrapped.length).toBeLessThanOrEqual(MAX_RAW_BYTES);
    expect(readUserdata(wrapped)).toMatchObject({ encodings: ["base64"], decodedBytes: 16384 });
    const error = expectUserdataError(() => readUserdata(base64(`${fits}#`)), UserdataTooLargeError);
    expect(error.details).toMatchObject({ bytes: 16385 });
  });

  it("rejects a raw body past the base64-of-16-KiB bound before decoding anything", () => {
    const error = expectUserdataError(() => readUserdata(new Uint8Array(MAX_RAW_BYTES + 1).fill(0x41)), UserdataTooLargeError);
    expect(error.details).toMatchObject({ bytes: MAX_RAW_BYTES + 1, limit: MAX_RAW_BYTES });
  });
});

describe("MIME multipart", () => {
  it("takes the text/x-nix part as the configuration and the text/x-shellscript part as the script", () => {
    const doc = mime([
      { type: 'text/cloud-config; charset="us-ascii"', body: "#cloud-config\npackages: [git]\n" },
      { type: "text/x-nix", body: NIX_CONFIG },
      { type: 'text/x-shellscript; charset="us-ascii"', headers: ['Content-Disposition: attachment; filename="s.sh"'], body: SCRIPT },
    ]);
    const intake = readUserdata(bytes(doc));
    expect(intake).toMatchObject({ class: "nix", configuration: NIX_CONFIG, script: SCRIPT, encodings: ["mime"] });
    expect(intake.reasons.join("\n")).toContain("3 part(s) (1: text/cloud-config, 2: text/x-nix, 3: text/x-shellscript)");
  });

  it("decodes base64 parts, CRLF line endings, folded headers, preamble and epilogue", () => {
    const doc = [
      "MIME-Version: 1.0",
      "Content-Type: multipart/mixed;",
      '\tboundary="b0"',
      "",
      "This is a preamble.",
      "--b0",
      "Content-Type: text/x-nix; charset=utf-8",
      "Content-Transfer-Encoding: base64",
      "",
      Buffer.from(NIX_CONFIG).toString("base64"),
      "--b0  ",
      "",
      "a part without headers is text/plain and ignored",
      "--b0--",
      "epilogue",
    ].join("\r\n");
    const intake = readUserdata(bytes(doc));
    expect(intake).toMatchObject({ class: "nix", configuration: NIX_CONFIG, encodings: ["mime"] });
    expect(intake.reasons.join("\n")).toContain("2: text/plain");
  });

  it("takes a script-only MIME document as a script", () => {
    expect(readUserdata(bytes(mime([{ type: "text/x-shellscript", body: SCRIPT }])))).toMatchObject({ class: "script", script: SCRIPT });
  });

  it("lets the script decide when the text/x-nix part holds only comments", () => {
    const doc = mime([{ type: "text/x-nix", body: "# nothing yet\n" }, { type: "text/x-shellscript", body: SCRIPT }]);
    expect(readUserdata(bytes(doc))).toMatchObject({ class: "script", script: SCRIPT });
    expect(readUserdata(bytes(mime([{ type: "text/x-nix", body: "# nothing yet\n" }])))).toMatchObject({ class: "empty" });
    expect(readUserdata(bytes(mime([{ type: "text/x-nix", body: "# nothing yet\n" }]))).configuration).toBeUndefined();
  });

  it("peels gzip of MIME and base64 of gzip of MIME", () => {
    const doc = mime([{ type: "text/x-nix", body: NIX_CONFIG }]);
    expect(readUserdata(gzip(doc))).toMatchObject({ configuration: NIX_CONFIG, encodings: ["gzip", "mime"] });
    expect(readUserdata(base64(gzip(doc)))).toMatchObject({ configuration: NIX_CONFIG, encodings: ["base64", "gzip", "mime"] });
  });

  const secretNix = `{ x = "${SECRET}"; }\n`;
  it.each<[string, string, string]>([
    ["missing boundary", `Content-Type: multipart/mixed\nMIME-Version: 1.0\n\n--b\nContent-Type: text/x-nix\n\n${secretNix}--b--\n`, "missing-boundary"],
    ["no closing delimiter", mime([{ type: "text/x-nix", body: secretNix }], { close: false }), "no-closing-delimiter"],
    ["boundary never used", mime([{ type: "text/x-nix", body: secretNix }]).replaceAll("--==NIXBOOT==", "--other"), "no-delimiter"],
    ["two text/x-nix parts", mime([{ type: "text/x-nix", body: secretNix }, { type: "text/x-nix", body: secretNix }]), "duplicate-nix-part"],
    ["two script parts", mime([{ type: "text/x-shellscript", body: SCRIPT }, { type: "text/x-shellscript", body: SCRIPT }]), "duplicate-script-part"],
    ["no usable part", mime([{ type: "text/cloud-config", body: `#cloud-config\n# ${SECRET}\n` }]), "no-usable-part"],
    ["not multipart", `Content-Type: text/x-nix\nMIME-Version: 1.0\n\n${secretNix}`, "not-multipart"],
    ["only MIME-Version", `MIME-Version: 1.0\n\n${secretNix}`, "not-multipart"],
    ["headers without a body", "Content-Type: multipart/mixed; boundary=b", "no-body"],
    ["part header not a header", `Content-Type: multipart/mixed; boundary=b\n\n--b\n${secretNix}--b--\n`, "bad-header"],
    ["bad base64 part", mime([{ type: "text/x-nix", headers: ["Content-Transfer-Encoding: base64"], body: `${SECRET}!!` }]), "bad-part-base64"],
    ["quoted-printable part", mime([{ type: "text/x-nix", headers: ["Content-Transfer-Encoding: quoted-printable"], body: secretNix }]), "unsupported-transfer-encoding"],
    ["latin-1 charset", mime([{ type: "text/x-nix; charset=iso-8859-1", body: secretNix }]), "unsupported-charset"],
    ["script without #!", mime([{ type: "text/x-nix", body: secretNix }, { type: "text/x-shellscript", body: `echo ${SECRET}\n` }]), "script-without-interpreter"],
  ])("rejects malformed MIME: %s", (_, doc, problem) => {
    const error = expectUserdataError(() => readUserdata(bytes(doc)), UserdataMimeError, SECRET);
    expect(error.details.problem).toBe(problem);
  });

  it("rejects a base64 part that is not UTF-8", () => {
    const doc = mime([{ type: "text/x-nix", headers: ["Content-Transfer-Encoding: base64"], body: Buffer.from([0xff, 0xfe, 0xfd]).toString("base64") }]);
    expect(expectUserdataError(() => readUserdata(bytes(doc)), UserdataEncodingError).message).toContain("part 1 (text/x-nix)");
  });
});
