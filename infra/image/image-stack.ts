import { CfnOutput, Stack } from "aws-cdk-lib";
import type { StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { NixosImage } from "./nixos-image.js";
import type { NixosImageProps } from "./nixos-image.js";

export interface ImageStackProps extends StackProps, Omit<NixosImageProps, "parameterName"> {
  /** SSM parameter the AMI id is published to. @default `/nixboot/<stack name>/ami-id` */
  readonly parameterName?: string;
}

/**
 * The bake stack: turns the disk image a Nix build produced into a registered
 * AMI (or takes an existing AMI id) and publishes the id to SSM, where the
 * fleet stack reads it at each deployment.
 */
export class ImageStack extends Stack {
  readonly image: NixosImage;
  /** The SSM parameter holding the AMI id. */
  readonly parameterName: string;

  constructor(scope: Construct, id: string, props: ImageStackProps) {
    super(scope, id, props);
    this.parameterName = props.parameterName ?? `/nixboot/${this.stackName}/ami-id`;
    this.image = new NixosImage(this, "Image", { ...props, parameterName: this.parameterName });

    new CfnOutput(this, "AmiId", { value: this.image.amiId, description: "The NixOS AMI" });
    new CfnOutput(this, "AmiParameterName", { value: this.parameterName, description: "SSM parameter holding the AMI id" });
    const imported = this.image.import;
    if (imported) {
      new CfnOutput(this, "ImageBucketName", { value: imported.bucket.bucketName, description: "Bucket holding the imported image file" });
      new CfnOutput(this, "AmiName", { value: imported.imageName, description: "Name the AMI is registered under" });
    }
  }
}
