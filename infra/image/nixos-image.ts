import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Duration } from "aws-cdk-lib";
import * as ssm from "aws-cdk-lib/aws-ssm";
import { Construct } from "constructs";
import { ImageInfoError, InfraPropsError } from "../errors.js";
import { NixosAmiImport } from "./ami-import.js";
import { parseImageInfo } from "./image-info.js";
import type { BootMode } from "./image-info.js";

export interface NixosImageProps {
  /**
   * The image to import: the `nix-support/image-info.json` written by
   * nixpkgs' Amazon image build, or the build result directory holding it.
   * Exactly one of `imageInfoPath` and `amiId`.
   */
  readonly imageInfoPath?: string;
  /** An existing AMI to publish instead of importing one. Exactly one of `imageInfoPath` and `amiId`. */
  readonly amiId?: string;
  /** SSM parameter the AMI id is published to (data type `aws:ec2:image`). */
  readonly parameterName: string;
  /** Prefix of the AMI name. @default "nixboot-" */
  readonly namePrefix?: string;
  /** Boot mode for an image-info.json that has none (older nixpkgs). @default - from image-info.json */
  readonly bootMode?: BootMode;
  /** Name of the VM Import service role. @default - a name CloudFormation generates (see ami-import.ts) */
  readonly serviceRoleName?: string;
  /** Import the snapshot encrypted with the account's default EBS key. @default true */
  readonly encryptSnapshot?: boolean;
  /** How long the import may take before the deployment fails (at most 1 hour). @default 1 hour */
  readonly importTimeout?: Duration;
}

/** AMI ids as EC2 issues them. */
export const AMI_ID = /^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/**
 * A NixOS AMI published to an SSM parameter: imported from a disk image
 * built by Nix (`NixosAmiImport`), or an existing AMI id passed through.
 */
export class NixosImage extends Construct {
  /** The AMI id (a deploy-time token when imported). */
  readonly amiId: string;
  readonly parameter: ssm.StringParameter;
  /** Set when importing. */
  readonly import: NixosAmiImport | undefined;

  constructor(scope: Construct, id: string, props: NixosImageProps) {
    super(scope, id);
    if ((props.imageInfoPath === undefined) === (props.amiId === undefined)) {
      throw new InfraPropsError("give exactly one of imageInfoPath (import a Nix-built image) and amiId (use an existing AMI)", {
        hint: "build the image with nixpkgs' amazon-image module and pass its result, or pass an AMI id",
      });
    }
    if (props.amiId !== undefined) {
      if (!AMI_ID.test(props.amiId)) {
        throw new InfraPropsError(`amiId ${JSON.stringify(props.amiId)} is not an AMI id`, { hint: "pass an id like ami-0123456789abcdef0" });
      }
      this.import = undefined;
      this.amiId = props.amiId;
    } else {
      const source = resolveImageInfoPath(props.imageInfoPath as string);
      const facts = parseImageInfo(readFileSync(source, "utf8"), { source, bootMode: props.bootMode });
      const { namePrefix, serviceRoleName, encryptSnapshot, importTimeout } = props;
      this.import = new NixosAmiImport(this, "Import", { facts, namePrefix, serviceRoleName, encryptSnapshot, importTimeout });
      this.amiId = this.import.amiId;
    }

    this.parameter = new ssm.StringParameter(this, "AmiParameter", {
      parameterName: props.parameterName,
      stringValue: this.amiId,
      dataType: ssm.ParameterDataType.AWS_EC2_IMAGE,
      description: "AMI id of the NixOS image for nixboot fleets",
    });
  }
}

/** The image-info.json path: as given, or `nix-support/image-info.json` under a build result. */
function resolveImageInfoPath(path: string): string {
  const absolute = resolve(path);
  if (!existsSync(absolute)) {
    throw new ImageInfoError(`${absolute} does not exist`, { hint: "build the image first (nix-build … -A config.system.build.amazonImage) and pass its result" });
  }
  return statSync(absolute).isDirectory() ? resolveImageInfoPath(join(absolute, "nix-support", "image-info.json")) : absolute;
}
