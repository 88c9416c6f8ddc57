import { createHash } from "node:crypto";
import { dirname, extname, isAbsolute, resolve } from "node:path";
import { ImageInfoError } from "../errors.js";

/**
 * Facts about a disk image built by nixpkgs' Amazon image module
 * (`config.system.build.amazonImage`), taken from the
 * `nix-support/image-info.json` it writes next to the image:
 *
 *   { "label": "25.05.20250601.abcdef0", "system": "x86_64-linux",
 *     "boot_mode": "uefi" | "legacy-bios", "file": "/nix/store/…/nixos-amazon-image-….vhd",
 *     "logical_bytes": "3221225472", "disks": { "root": { "file": …, "logical_bytes": … } },
 *     "format": "raw" }                  // `format` only in some builds (NixOS/amis' repart image)
 *
 * Two-disk images (`disks.boot` + `disks.root`, the ZFS variant) are refused:
 * the import here registers one root volume.
 */

export const BOOT_MODES = ["uefi", "legacy-bios"] as const;
export type BootMode = (typeof BOOT_MODES)[number];

/** Nix system → EC2 architecture, as NixOS' own upload tool maps them. */
export const ARCHITECTURES = { "x86_64-linux": "x86_64", "aarch64-linux": "arm64" } as const;
export type NixSystem = keyof typeof ARCHITECTURES;
export type Architecture = (typeof ARCHITECTURES)[NixSystem];

/** ImportSnapshot disk formats, and the names Nix builds and files use for them. */
export const DISK_FORMATS = { vpc: "VHD", vhd: "VHD", raw: "RAW", img: "RAW", vmdk: "VMDK" } as const;
export type DiskFormat = (typeof DISK_FORMATS)[keyof typeof DISK_FORMATS];

export interface ImageFacts {
  readonly label: string;
  readonly system: NixSystem;
  readonly architecture: Architecture;
  readonly bootMode: BootMode;
  /** Absolute path of the image file. */
  readonly file: string;
  readonly format: DiskFormat;
  /** Virtual disk size; the registered root volume is at least this big. */
  readonly logicalBytes: number | undefined;
}

export interface ParseOptions {
  /** Where the JSON came from: named in messages, and the base of a relative `file`. */
  readonly source: string;
  /** Boot mode to use when image-info.json has none (images from older nixpkgs). */
  readonly bootMode?: BootMode;
}

/** Parses and checks the text of an image-info.json. Throws `ImageInfoError`. */
export function parseImageInfo(text: string, options: ParseOptions): ImageFacts {
  const { source } = options;
  const fail = (message: string, hint: string): never => {
    throw new ImageInfoError(`${source}: ${message}`, { hint, details: { source } });
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ImageInfoError(`${source}: not valid JSON`, { cause, hint: "point at the nix-support/image-info.json of an Amazon image build", details: { source } });
  }
  if (!isRecord(json)) return fail("not a JSON object", "point at the nix-support/image-info.json of an Amazon image build");

  const disks = isRecord(json["disks"]) ? json["disks"] : {};
  if (disks["boot"] !== undefined) {
    fail("describes a two-disk image (disks.boot and disks.root)", "build a single-disk image (ec2.zfs.enable = false); the import registers one root volume");
  }
  const root = isRecord(disks["root"]) ? disks["root"] : {};

  const label = json["label"];
  if (typeof label !== "string" || label === "") return fail("`label` is missing", "rebuild with nixpkgs' amazon-image module, which writes it");

  const system = json["system"];
  if (typeof system !== "string" || !(system in ARCHITECTURES)) {
    return fail(`\`system\` is ${JSON.stringify(system)}; EC2 images are x86_64-linux or aarch64-linux`, "build the image for x86_64-linux or aarch64-linux");
  }
  const nixSystem = system as NixSystem;

  const rawBootMode = json["boot_mode"] ?? options.bootMode;
  if (!BOOT_MODES.includes(rawBootMode as BootMode)) {
    return fail(`\`boot_mode\` is ${JSON.stringify(rawBootMode)}; expected "uefi" or "legacy-bios"`, "set the construct's bootMode for images whose image-info.json has none");
  }
  const bootMode = rawBootMode as BootMode;
  if (nixSystem === "aarch64-linux" && bootMode !== "uefi") {
    fail("aarch64-linux images must boot with uefi on EC2", "build the arm64 image with ec2.efi = true");
  }

  const rawFile = root["file"] ?? json["file"];
  if (typeof rawFile !== "string" || rawFile === "") return fail("neither `disks.root.file` nor `file` names the image file", "rebuild with nixpkgs' amazon-image module, which writes them");
  // A relative path is relative to the build result (the parent of nix-support/).
  const file = isAbsolute(rawFile) ? rawFile : resolve(dirname(dirname(resolve(source))), rawFile);

  const format = diskFormat(json["format"], file, fail);

  const rawBytes = root["logical_bytes"] ?? json["logical_bytes"];
  let logicalBytes: number | undefined;
  if (rawBytes !== undefined) {
    // jq --arg writes it as a string.
    logicalBytes = typeof rawBytes === "string" && /^[0-9]+$/.test(rawBytes) ? Number(rawBytes) : typeof rawBytes === "number" ? rawBytes : Number.NaN;
    if (!Number.isSafeInteger(logicalBytes) || logicalBytes <= 0) fail(`\`logical_bytes\` is ${JSON.stringify(rawBytes)}, not a positive byte count`, "rebuild the image");
  }

  return { label, system: nixSystem, architecture: ARCHITECTURES[nixSystem], bootMode, file, format, logicalBytes };
}

function diskFormat(declared: unknown, file: string, fail: (message: string, hint: string) => never): DiskFormat {
  const hint = 'build the image as VHD (amazonImage.format = "vpc", the default) or raw';
  if (declared !== undefined) {
    const key = typeof declared === "string" ? declared.toLowerCase() : "";
    if (key in DISK_FORMATS) return DISK_FORMATS[key as keyof typeof DISK_FORMATS];
    return fail(`\`format\` is ${JSON.stringify(declared)}; EC2 imports VHD, RAW or VMDK`, hint);
  }
  const extension = extname(file).slice(1).toLowerCase();
  if (extension in DISK_FORMATS) return DISK_FORMATS[extension as keyof typeof DISK_FORMATS];
  return fail(`cannot tell the disk format of ${file} from its extension; EC2 imports VHD, RAW or VMDK`, hint);
}

/** The 32-character hash of a Nix store path, or undefined for other paths. */
export function storePathHash(file: string): string | undefined {
  return /^\/nix\/store\/([0-9a-df-np-sv-z]{32})-/.exec(file)?.[1];
}

export interface ImageNameParts {
  readonly prefix: string;
  readonly facts: Pick<ImageFacts, "label" | "system">;
  /** What tells two builds with the same label apart: the store path hash, or the file's content hash. */
  readonly identity: string;
}

/**
 * The AMI name: NixOS' own `<prefix><label>-<system>` plus 32 characters of
 * the build's identity, because two configurations built from the same
 * nixpkgs share a label. Names are unique per account and region, which is
 * what makes registration idempotent. EC2 allows 3–128 characters from
 * `[A-Za-z0-9()./_ '@-]`; anything else becomes `-`.
 */
export function imageName({ prefix, facts, identity }: ImageNameParts): string {
  if (!/^[0-9a-z]{8,}$/i.test(identity)) {
    throw new ImageInfoError(`image identity ${JSON.stringify(identity)} is not a hash`, { hint: "pass a store path hash or a content hash" });
  }
  const name = `${prefix}${facts.label}-${facts.system}-${identity.slice(0, 32)}`.replace(/[^A-Za-z0-9()./_ '@-]/g, "-");
  if (name.length > 128) {
    throw new ImageInfoError(`the AMI name would be ${name.length} characters; EC2 allows 128`, { hint: "use a shorter name prefix", details: { name } });
  }
  return name;
}

/**
 * The ImportSnapshot client token: sha256 of the image name (64 hex
 * characters, EC2's maximum). A retried import of the same image joins the
 * running or finished task instead of starting another.
 */
export function importClientToken(name: string): string {
  return createHash("sha256").update(`nixboot-import:${name}`).digest("hex");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
