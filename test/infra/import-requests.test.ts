import { describe, expect, it } from "vitest";
import { ImageImportError } from "../../infra/errors.js";
import { importClientToken } from "../../infra/image/image-info.js";
import { gibibytesFor, importSnapshotInput, readImportProperties, registerImageInput, toResourceProperties } from "../../infra/image/import-requests.js";
import type { ImportProperties } from "../../infra/image/import-requests.js";

const props: ImportProperties = {
  imageName: "nixboot-25.05.20250601.abcdef0-x86_64-linux-0a1b2c3d",
  bucket: "nixbootimage-bucket",
  key: "images/0a1b2c3d.vhd",
  format: "VHD",
  bootMode: "uefi",
  architecture: "x86_64",
  roleName: "NixbootImage-VmImportRole",
  volumeSizeGiB: 3,
  encrypted: true,
};

describe("import requests", () => {
  it("ImportSnapshot: the bucket's image file, idempotent by the image name, through the service role", () => {
    expect(importSnapshotInput(props)).toEqual({
      ClientToken: importClientToken(props.imageName),
      Description: props.imageName,
      RoleName: "NixbootImage-VmImportRole",
      Encrypted: true,
      DiskContainer: { Description: props.imageName, Format: "VHD", UserBucket: { S3Bucket: "nixbootimage-bucket", S3Key: "images/0a1b2c3d.vhd" } },
    });
  });

  it("RegisterImage: HVM, ENA, IMDSv2 only, gp3 root from the snapshot, the image's boot mode and architecture", () => {
    expect(registerImageInput(props, "snap-0123456789abcdef0")).toEqual({
      Name: props.imageName,
      Description: `NixOS image ${props.imageName}, imported by nixboot`,
      Architecture: "x86_64",
      BootMode: "uefi",
      VirtualizationType: "hvm",
      RootDeviceName: "/dev/xvda",
      EnaSupport: true,
      SriovNetSupport: "simple",
      ImdsSupport: "v2.0",
      BlockDeviceMappings: [{ DeviceName: "/dev/xvda", Ebs: { SnapshotId: "snap-0123456789abcdef0", VolumeType: "gp3", DeleteOnTermination: true, VolumeSize: 3 } }],
      TagSpecifications: [{ ResourceType: "image", Tags: [{ Key: "nixboot:image-name", Value: props.imageName }] }],
    });
  });

  it("RegisterImage for arm64 legacy-free images, sized by the snapshot when no size is known", () => {
    const input = registerImageInput({ ...props, architecture: "arm64", volumeSizeGiB: undefined }, "snap-1");
    expect(input.Architecture).toBe("arm64");
    expect(input.BlockDeviceMappings?.[0]?.Ebs).toEqual({ SnapshotId: "snap-1", VolumeType: "gp3", DeleteOnTermination: true });
  });

  it("round-trips through CloudFormation's all-strings resource properties", () => {
    const wire = toResourceProperties(props);
    expect(Object.values(wire).every((v) => typeof v === "string")).toBe(true);
    expect(readImportProperties(wire)).toEqual(props);
    const unsized = toResourceProperties({ ...props, volumeSizeGiB: undefined, encrypted: false });
    expect(readImportProperties(unsized)).toEqual({ ...props, volumeSizeGiB: undefined, encrypted: false });
  });

  it.each([
    ["Format", "QCOW2"],
    ["BootMode", "bios"],
    ["Architecture", "i386"],
    ["VolumeSizeGiB", "0"],
    ["Encrypted", "yes"],
    ["ImageName", ""],
  ])("names a bad %s property", (name, value) => {
    expect(() => readImportProperties({ ...toResourceProperties(props), [name]: value })).toThrow(ImageImportError);
    expect(() => readImportProperties({ ...toResourceProperties(props), [name]: value })).toThrow(name);
  });

  it("rounds a byte count up to whole GiB", () => {
    expect(gibibytesFor(3221225472)).toBe(3);
    expect(gibibytesFor(3221225473)).toBe(4);
  });
});
