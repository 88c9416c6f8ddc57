import type { ImportSnapshotCommandInput, RegisterImageCommandInput } from "@aws-sdk/client-ec2";
import { ImageImportError } from "../errors.js";
import { ARCHITECTURES, BOOT_MODES, DISK_FORMATS, importClientToken } from "./image-info.js";
import type { Architecture, BootMode, DiskFormat } from "./image-info.js";

/**
 * The import custom resource's properties, as the stack writes them and the
 * handler reads them back. CloudFormation hands custom resources every
 * property as a string, so numbers and booleans travel as strings too.
 */
export interface ImportProperties {
  readonly imageName: string;
  readonly bucket: string;
  readonly key: string;
  readonly format: DiskFormat;
  readonly bootMode: BootMode;
  readonly architecture: Architecture;
  /** The VM Import service role (`vmimport` or a stack-specific one). */
  readonly roleName: string;
  /** Root volume size; undefined: the snapshot's size. */
  readonly volumeSizeGiB: number | undefined;
  /** Import the snapshot encrypted with the account's default EBS key. */
  readonly encrypted: boolean;
}

/** Property names in the CloudFormation template (PascalCase, as CloudFormation writes them). */
export type ImportResourceProperties = {
  readonly ImageName: string;
  readonly Bucket: string;
  readonly Key: string;
  readonly Format: string;
  readonly BootMode: string;
  readonly Architecture: string;
  readonly RoleName: string;
  readonly VolumeSizeGiB?: string;
  readonly Encrypted: string;
};

/** The device the NixOS Amazon image expects its root on (as NixOS' uploads register it). */
export const ROOT_DEVICE_NAME = "/dev/xvda";

export function toResourceProperties(p: ImportProperties): ImportResourceProperties {
  return {
    ImageName: p.imageName,
    Bucket: p.bucket,
    Key: p.key,
    Format: p.format,
    BootMode: p.bootMode,
    Architecture: p.architecture,
    RoleName: p.roleName,
    ...(p.volumeSizeGiB === undefined ? {} : { VolumeSizeGiB: String(p.volumeSizeGiB) }),
    Encrypted: String(p.encrypted),
  };
}

/** Reads the properties a custom resource event carries. Throws `ImageImportError` naming the bad one. */
export function readImportProperties(raw: Record<string, unknown> | undefined): ImportProperties {
  const props = raw ?? {};
  const text = (name: keyof ImportResourceProperties): string => {
    const value = props[name];
    if (typeof value !== "string" || value === "") throw bad(name, value);
    return value;
  };
  const oneOf = <T extends string>(name: keyof ImportResourceProperties, allowed: readonly T[]): T => {
    const value = text(name);
    if (!allowed.includes(value as T)) throw bad(name, value);
    return value as T;
  };
  let volumeSizeGiB: number | undefined;
  if (props["VolumeSizeGiB"] !== undefined) {
    const value = text("VolumeSizeGiB");
    volumeSizeGiB = /^[1-9][0-9]{0,4}$/.test(value) ? Number(value) : Number.NaN;
    if (Number.isNaN(volumeSizeGiB)) throw bad("VolumeSizeGiB", value);
  }
  return {
    imageName: text("ImageName"),
    bucket: text("Bucket"),
    key: text("Key"),
    format: oneOf("Format", [...new Set(Object.values(DISK_FORMATS))]),
    bootMode: oneOf("BootMode", BOOT_MODES),
    architecture: oneOf("Architecture", Object.values(ARCHITECTURES)),
    roleName: text("RoleName"),
    volumeSizeGiB,
    encrypted: oneOf("Encrypted", ["true", "false"]) === "true",
  };
}

function bad(name: string, value: unknown): ImageImportError {
  return new ImageImportError(`the import resource property ${name} is ${JSON.stringify(value)}`, {
    hint: "the property is written by the nixboot image stack; deploy the stack rather than editing the template",
  });
}

/** ImportSnapshot: the image file in the stack's bucket becomes an EBS snapshot. */
export function importSnapshotInput(p: ImportProperties): ImportSnapshotCommandInput {
  return {
    ClientToken: importClientToken(p.imageName),
    Description: p.imageName,
    RoleName: p.roleName,
    Encrypted: p.encrypted,
    DiskContainer: {
      Description: p.imageName,
      Format: p.format,
      UserBucket: { S3Bucket: p.bucket, S3Key: p.key },
    },
  };
}

/**
 * RegisterImage, the way NixOS' own AMIs are registered: HVM, ENA and SR-IOV,
 * one gp3 root volume from the imported snapshot on /dev/xvda, the image's
 * boot mode and architecture, and IMDSv2 required for every instance.
 */
export function registerImageInput(p: ImportProperties, snapshotId: string): RegisterImageCommandInput {
  return {
    Name: p.imageName,
    Description: `NixOS image ${p.imageName}, imported by nixboot`,
    Architecture: p.architecture,
    BootMode: p.bootMode,
    VirtualizationType: "hvm",
    RootDeviceName: ROOT_DEVICE_NAME,
    EnaSupport: true,
    SriovNetSupport: "simple",
    ImdsSupport: "v2.0",
    BlockDeviceMappings: [
      {
        DeviceName: ROOT_DEVICE_NAME,
        Ebs: {
          SnapshotId: snapshotId,
          VolumeType: "gp3",
          DeleteOnTermination: true,
          ...(p.volumeSizeGiB === undefined ? {} : { VolumeSize: p.volumeSizeGiB }),
        },
      },
    ],
    TagSpecifications: [{ ResourceType: "image", Tags: [{ Key: "nixboot:image-name", Value: p.imageName }] }],
  };
}

/** Bytes → whole GiB, rounded up (as NixOS' upload script sizes the root volume). */
export function gibibytesFor(bytes: number): number {
  return Math.ceil(bytes / 1024 ** 3);
}
