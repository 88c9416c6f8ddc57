import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { UserdataBuildError } from "../../infra/errors.js";
import { EC2_USERDATA_LIMIT_BYTES, encodeUserdata } from "../../infra/fleet/userdata.js";
import { incompressibleConfiguration, largeConfiguration, SMALL_CONFIGURATION } from "./helpers.js";

describe("encodeUserdata", () => {
  it("keeps a configuration that fits as plain text", () => {
    const out = encodeUserdata(SMALL_CONFIGURATION);
    expect(out.compressed).toBe(false);
    expect(new TextDecoder().decode(out.bytes)).toBe(SMALL_CONFIGURATION);
    expect(Buffer.from(out.base64, "base64").equals(Buffer.from(out.bytes))).toBe(true);
    expect(out.configurationBytes).toBe(Buffer.byteLength(SMALL_CONFIGURATION));
    expect(out.configurationSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("gzips a configuration over the limit, and the gzip holds the configuration", () => {
    const configuration = largeConfiguration(400);
    expect(Buffer.byteLength(configuration)).toBeGreaterThan(EC2_USERDATA_LIMIT_BYTES);
    const out = encodeUserdata(configuration);
    expect(out.compressed).toBe(true);
    expect([out.bytes[0], out.bytes[1]]).toEqual([0x1f, 0x8b]);
    expect(out.bytes.length).toBeLessThanOrEqual(EC2_USERDATA_LIMIT_BYTES);
    expect(gunzipSync(out.bytes).toString("utf8")).toBe(configuration);
  });

  it("gzips above a lower threshold when asked", () => {
    expect(encodeUserdata(SMALL_CONFIGURATION, { compressAboveBytes: 16 }).compressed).toBe(true);
    expect(encodeUserdata(SMALL_CONFIGURATION, { compressAboveBytes: 4096 }).compressed).toBe(false);
  });

  it("writes the same bytes every time (no gzip timestamp), so the launch template is stable", () => {
    const configuration = largeConfiguration(400);
    expect(encodeUserdata(configuration).base64).toBe(encodeUserdata(configuration).base64);
  });

  it("refuses a configuration over 16 KiB even compressed, naming both sizes", () => {
    const configuration = incompressibleConfiguration(60_000);
    const error = (() => {
      try {
        encodeUserdata(configuration);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UserdataBuildError);
    expect((error as UserdataBuildError).message).toMatch(/gzip-compressed: over EC2's userdata limit of 16384 bytes/);
    expect((error as UserdataBuildError).code).toBe("USERDATA_INVALID");
    expect((error as UserdataBuildError).hint).toMatch(/bake/);
  });

  it("refuses userdata the agent would not take as a Nix configuration", () => {
    expect(() => encodeUserdata("   \n")).toThrow(/empty/);
    expect(() => encodeUserdata("#!/bin/sh\necho hi\n")).toThrow(/script/);
    expect(() => encodeUserdata("# only a comment\n")).toThrow(/the agent would read this userdata as empty/);
    expect(() => encodeUserdata("Content-Type: multipart/mixed\n\n{ }\n")).toThrow(/agent would refuse this userdata/);
  });

  it("rejects a threshold EC2 could not honour", () => {
    expect(() => encodeUserdata(SMALL_CONFIGURATION, { compressAboveBytes: 20_000 })).toThrow(/compressAboveBytes/);
  });
});
