import { describe, expect, it } from "vitest";
import { ImageInfoError } from "../../infra/errors.js";
import { imageName, importClientToken, parseImageInfo, storePathHash } from "../../infra/image/image-info.js";

const STORE_FILE = "/nix/store/1b8m0r3w9zq4s7k2f6h5a0c3d9g1l2p4-nixos-amazon-image-25.05.20250601.abcdef0-x86_64-linux/nixos-amazon-image-25.05.20250601.abcdef0-x86_64-linux.vhd";
const source = "/build/result/nix-support/image-info.json";
const parse = (info: Record<string, unknown>, options = {}) => parseImageInfo(JSON.stringify(info), { source, ...options });

describe("parseImageInfo", () => {
  it("reads what nixpkgs' amazon-image build writes (VHD, uefi, x86_64)", () => {
    const facts = parse({
      label: "25.05.20250601.abcdef0",
      boot_mode: "uefi",
      system: "x86_64-linux",
      logical_bytes: "3221225472",
      file: STORE_FILE,
      disks: { root: { logical_bytes: "3221225472", file: STORE_FILE } },
    });
    expect(facts).toEqual({
      label: "25.05.20250601.abcdef0",
      system: "x86_64-linux",
      architecture: "x86_64",
      bootMode: "uefi",
      file: STORE_FILE,
      format: "VHD",
      logicalBytes: 3221225472,
    });
  });

  it("reads an arm64 raw image with a declared format and no logical size (NixOS/amis' repart build)", () => {
    const facts = parse({ boot_mode: "uefi", format: "raw", label: "25.11pre", system: "aarch64-linux", file: "/nix/store/x/image.raw" });
    expect(facts).toMatchObject({ architecture: "arm64", format: "RAW", bootMode: "uefi", logicalBytes: undefined });
  });

  it("prefers disks.root over the legacy top-level fields, and maps legacy-bios", () => {
    const facts = parse({ label: "l", system: "x86_64-linux", boot_mode: "legacy-bios", file: "/old.vhd", disks: { root: { file: "/new.vmdk", logical_bytes: "1024" } } });
    expect(facts).toMatchObject({ file: "/new.vmdk", format: "VMDK", bootMode: "legacy-bios", logicalBytes: 1024 });
  });

  it("resolves a relative file against the build result", () => {
    expect(parse({ label: "l", system: "x86_64-linux", boot_mode: "uefi", file: "disk.vhd" }).file).toBe("/build/result/disk.vhd");
  });

  it("takes a boot mode from the options only when the file has none", () => {
    expect(parse({ label: "l", system: "x86_64-linux", file: "/d.vhd" }, { bootMode: "legacy-bios" }).bootMode).toBe("legacy-bios");
    expect(parse({ label: "l", system: "x86_64-linux", file: "/d.vhd", boot_mode: "uefi" }, { bootMode: "legacy-bios" }).bootMode).toBe("uefi");
  });

  it.each([
    ["not JSON", "{", /not valid JSON/],
    ["two disks (ZFS)", JSON.stringify({ label: "l", system: "x86_64-linux", boot_mode: "uefi", disks: { boot: { file: "/b.vhd" }, root: { file: "/r.vhd" } } }), /two-disk image/],
    ["an unknown system", JSON.stringify({ label: "l", system: "riscv64-linux", boot_mode: "uefi", file: "/d.vhd" }), /x86_64-linux or aarch64-linux/],
    ["no boot mode", JSON.stringify({ label: "l", system: "x86_64-linux", file: "/d.vhd" }), /boot_mode/],
    ["arm64 with legacy boot", JSON.stringify({ label: "l", system: "aarch64-linux", boot_mode: "legacy-bios", file: "/d.vhd" }), /must boot with uefi/],
    ["a qcow2 image", JSON.stringify({ label: "l", system: "x86_64-linux", boot_mode: "uefi", file: "/d.qcow2" }), /cannot tell the disk format/],
    ["a qcow2 declared format", JSON.stringify({ label: "l", system: "x86_64-linux", boot_mode: "uefi", format: "qcow2", file: "/d.img" }), /EC2 imports VHD, RAW or VMDK/],
    ["no file", JSON.stringify({ label: "l", system: "x86_64-linux", boot_mode: "uefi" }), /names the image file/],
    ["a bad logical size", JSON.stringify({ label: "l", system: "x86_64-linux", boot_mode: "uefi", file: "/d.vhd", logical_bytes: "big" }), /logical_bytes/],
  ])("refuses %s", (_what, text, message) => {
    expect(() => parseImageInfo(text, { source })).toThrow(ImageInfoError);
    expect(() => parseImageInfo(text, { source })).toThrow(message);
  });
});

describe("image naming", () => {
  it("finds the store hash of a store path only", () => {
    expect(storePathHash(STORE_FILE)).toBe("1b8m0r3w9zq4s7k2f6h5a0c3d9g1l2p4");
    expect(storePathHash("/tmp/nixos.vhd")).toBeUndefined();
  });

  it("names the AMI <prefix><label>-<system>-<identity>", () => {
    const facts = { label: "25.05.20250601.abcdef0", system: "x86_64-linux" } as const;
    expect(imageName({ prefix: "nixboot-", facts, identity: "1b8m0r3w9zq4s7k2f6h5a0c3d9g1l2p4" })).toBe("nixboot-25.05.20250601.abcdef0-x86_64-linux-1b8m0r3w9zq4s7k2f6h5a0c3d9g1l2p4");
    expect(imageName({ prefix: "a b+c:", facts, identity: "f".repeat(64) })).toBe(`a b-c-25.05.20250601.abcdef0-x86_64-linux-${"f".repeat(32)}`);
    expect(() => imageName({ prefix: "x".repeat(100), facts, identity: "f".repeat(32) })).toThrow(/128/);
  });

  it("derives a 64-character client token from the name alone", () => {
    const token = importClientToken("nixboot-25.05-x86_64-linux-abc");
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(importClientToken("nixboot-25.05-x86_64-linux-abc")).toBe(token);
    expect(importClientToken("nixboot-25.05-x86_64-linux-abd")).not.toBe(token);
  });
});
