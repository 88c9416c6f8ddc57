import { existsSync, statSync } from "node:fs";
import { basename } from "node:path";
import { AssetHashType, CustomResource, Duration, Size, Stack, Token } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Asset } from "aws-cdk-lib/aws-s3-assets";
import * as s3deploy from "aws-cdk-lib/aws-s3-deployment";
import { LogLevel } from "aws-cdk-lib/aws-stepfunctions";
import { Provider } from "aws-cdk-lib/custom-resources";
import { Construct } from "constructs";
import { ImageInfoError, InfraPropsError } from "../errors.js";
import { acknowledge, arnFinding } from "../nag.js";
import { acknowledgeBucketDeployment, acknowledgeProvider } from "./cdk-generated.js";
import { importHandlerCode } from "./handler-code.js";
import { ATTRIBUTES } from "./import-handler.js";
import { gibibytesFor, toResourceProperties } from "./import-requests.js";
import { imageName, storePathHash } from "./image-info.js";
import type { ImageFacts } from "./image-info.js";

export interface NixosAmiImportProps {
  /** The image, as read from its image-info.json. */
  readonly facts: ImageFacts;
  /** @default "nixboot-" */
  readonly namePrefix?: string;
  /** @default - a name CloudFormation generates */
  readonly serviceRoleName?: string;
  /** @default true */
  readonly encryptSnapshot?: boolean;
  /** @default 1 hour, the most a custom resource can wait */
  readonly importTimeout?: Duration;
}

/**
 * The image file is copied into the bucket by a BucketDeployment function,
 * which stages it in its ephemeral storage: at most 10 GiB (Lambda's limit).
 */
const MAX_IMAGE_FILE_BYTES = 10 * 1024 ** 3 - 256 * 1024 ** 2;

/** How often the Provider framework asks the import handler whether the AMI is ready. */
const IMPORT_POLL_INTERVAL = Duration.seconds(30);

/** Where in the bucket image files go (and all the VM Import role may read). */
const KEY_PREFIX = "images/";

/**
 * A Nix-built disk image made into an AMI the way NixOS' own AMI uploads do
 * it: the file goes to an S3 bucket (as a CDK asset, copied into the image
 * bucket), VM Import's `ImportSnapshot` turns it into a snapshot through the
 * service role, and `RegisterImage` registers the AMI (see import-handler.ts).
 */
export class NixosAmiImport extends Construct {
  readonly amiId: string;
  readonly imageName: string;
  readonly bucket: s3.Bucket;
  readonly serviceRole: iam.Role;

  constructor(scope: Construct, id: string, props: NixosAmiImportProps) {
    super(scope, id);
    const { facts } = props;
    const fileBytes = imageFileSize(facts.file);

    // The store path hash names the build; outside the store, CDK's content hash does.
    const storeHash = storePathHash(facts.file);
    const file = new Asset(this, "ImageFile", {
      path: facts.file,
      ...(storeHash ? { assetHash: storeHash, assetHashType: AssetHashType.CUSTOM } : {}),
    });
    this.imageName = imageName({ prefix: props.namePrefix ?? "nixboot-", facts, identity: storeHash ?? file.assetHash });

    this.bucket = new s3.Bucket(this, "Bucket", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });
    acknowledge(
      this.bucket,
      "Holds only image files written by this stack's deployment and read by VM Import; CloudTrail records the API calls, and server access logs would need a second bucket for no added audit value.",
      "AwsSolutions-S1",
    );

    if (Token.isUnresolved(file.s3ObjectKey)) {
      throw new InfraPropsError("the image file's asset key is only known at deploy time", { hint: "use the DefaultStackSynthesizer for the image stack" });
    }
    // BucketDeployment with extract: false writes <prefix><basename of the asset key>.
    const key = KEY_PREFIX + basename(file.s3ObjectKey);
    const upload = new s3deploy.BucketDeployment(this, "Upload", {
      sources: [s3deploy.Source.bucket(file.bucket, file.s3ObjectKey)],
      destinationBucket: this.bucket,
      destinationKeyPrefix: KEY_PREFIX,
      extract: false,
      prune: false,
      retainOnDelete: true,
      memoryLimit: 1024,
      // The function stages the file in /tmp before copying it on.
      ephemeralStorageSize: Size.mebibytes(Math.min(10240, Math.max(1024, Math.ceil(fileBytes / 1024 ** 2) + 512))),
    });
    acknowledgeBucketDeployment(upload, file, this.bucket);

    this.serviceRole = this.vmImportRole(props.serviceRoleName);
    const handlerRole = this.handlerRole(key);
    const code = importHandlerCode();
    const logGroup = new logs.LogGroup(this, "HandlerLogs", { retention: logs.RetentionDays.THREE_MONTHS });
    logGroup.grantWrite(handlerRole);
    acknowledge(handlerRole, "Log streams of the handler's own log group.", `AwsSolutions-IAM5[${arnFinding(logGroup, ":*")}]`);
    const handler = (handlerId: string, entry: "onEvent" | "isComplete") =>
      new lambda.Function(this, handlerId, {
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.ARM_64,
        code,
        handler: `index.${entry}`,
        role: handlerRole,
        logGroup,
        memorySize: 256,
        // One EC2 API round trip or two per call; the waiting is the Provider's.
        timeout: Duration.minutes(1),
        description: `nixboot AMI import: ${entry}`,
      });
    const onEvent = handler("OnEvent", "onEvent");
    const isComplete = handler("IsComplete", "isComplete");

    const totalTimeout = props.importTimeout ?? Duration.hours(1);
    if (totalTimeout.toSeconds() > 3600) {
      throw new InfraPropsError(`importTimeout is ${totalTimeout.toHumanString()}; a custom resource can wait at most 1 hour`, {
        hint: "leave it unset; a deployment that times out resumes the same import when run again",
      });
    }
    const provider = new Provider(this, "Provider", {
      onEventHandler: onEvent,
      isCompleteHandler: isComplete,
      queryInterval: IMPORT_POLL_INTERVAL,
      totalTimeout,
      logGroup: new logs.LogGroup(this, "ProviderLogs", { retention: logs.RetentionDays.THREE_MONTHS }),
      disableWaiterStateMachineLogging: false,
      waiterStateMachineLogOptions: {
        destination: new logs.LogGroup(this, "WaiterLogs", { retention: logs.RetentionDays.THREE_MONTHS }),
        level: LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    acknowledgeProvider(provider, [onEvent, isComplete]);

    const ami = new CustomResource(this, "Ami", {
      serviceToken: provider.serviceToken,
      resourceType: "Custom::NixosAmiImport",
      properties: toResourceProperties({
        imageName: this.imageName,
        bucket: this.bucket.bucketName,
        key,
        format: facts.format,
        bootMode: facts.bootMode,
        architecture: facts.architecture,
        roleName: this.serviceRole.roleName,
        volumeSizeGiB: facts.logicalBytes === undefined ? undefined : gibibytesFor(facts.logicalBytes),
        encrypted: props.encryptSnapshot ?? true,
      }),
    });
    ami.node.addDependency(upload, this.serviceRole);
    this.amiId = ami.getAttString(ATTRIBUTES.imageId);
  }

  /**
   * The VM Import service role. AWS documents it under the name `vmimport`,
   * but that name is account-wide and often taken; ImportSnapshot takes the
   * role by name, so a generated one works and two stacks never collide.
   */
  private vmImportRole(roleName: string | undefined): iam.Role {
    const role = new iam.Role(this, "VmImportRole", {
      ...(roleName ? { roleName } : {}),
      description: "VM Import service role: reads the NixOS image file for ImportSnapshot",
      assumedBy: new iam.ServicePrincipal("vmie.amazonaws.com", { conditions: { StringEquals: { "sts:Externalid": "vmimport" } } }),
    });
    // The service role policy AWS documents for VM Import, narrowed to this bucket's image files.
    role.addToPolicy(new iam.PolicyStatement({ actions: ["s3:GetBucketLocation", "s3:ListBucket"], resources: [this.bucket.bucketArn] }));
    role.addToPolicy(new iam.PolicyStatement({ actions: ["s3:GetObject"], resources: [this.bucket.arnForObjects(`${KEY_PREFIX}*`)] }));
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ["ec2:ModifySnapshotAttribute", "ec2:CopySnapshot", "ec2:RegisterImage", "ec2:Describe*"], resources: ["*"] }),
    );
    acknowledge(
      role,
      "The VM Import service role policy as AWS documents it: reads of this bucket's images/ files, and EC2 snapshot actions that support no resource scoping.",
      "AwsSolutions-IAM5[Action::ec2:Describe*]",
      "AwsSolutions-IAM5[Resource::*]",
      `AwsSolutions-IAM5[${arnFinding(this.bucket, `/${KEY_PREFIX}*`)}]`,
    );
    return role;
  }

  /** The import handler's role: the EC2 calls it makes, passing the service role, reading the image file. */
  private handlerRole(key: string): iam.Role {
    const role = new iam.Role(this, "HandlerRole", {
      description: "nixboot AMI import handler: ImportSnapshot and RegisterImage",
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["ec2:DescribeImages", "ec2:DescribeImportSnapshotTasks", "ec2:ImportSnapshot", "ec2:RegisterImage"],
        resources: ["*"],
      }),
    );
    const images = Stack.of(this).formatArn({ service: "ec2", account: "", resource: "image", resourceName: "*" });
    role.addToPolicy(new iam.PolicyStatement({ actions: ["ec2:CreateTags"], resources: [images], conditions: { StringEquals: { "ec2:CreateAction": "RegisterImage" } } }));
    role.addToPolicy(new iam.PolicyStatement({ actions: ["iam:PassRole"], resources: [this.serviceRole.roleArn] }));
    role.addToPolicy(new iam.PolicyStatement({ actions: ["s3:GetBucketLocation"], resources: [this.bucket.bucketArn] }));
    role.addToPolicy(new iam.PolicyStatement({ actions: ["s3:GetObject"], resources: [this.bucket.arnForObjects(key)] }));
    acknowledge(
      role,
      "EC2's Describe actions, ImportSnapshot and RegisterImage accept only '*'; CreateTags is limited to images being registered.",
      "AwsSolutions-IAM5[Resource::*]",
      "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>::image/*]",
    );
    return role;
  }
}

function imageFileSize(file: string): number {
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new ImageInfoError(`the image file ${file} is not on this machine`, {
      hint: "synthesize on the machine that built the image, or copy the build result here (nix copy)",
    });
  }
  const bytes = statSync(file).size;
  if (bytes > MAX_IMAGE_FILE_BYTES) {
    throw new ImageInfoError(`the image file is ${bytes} bytes; the upload step can carry at most ${MAX_IMAGE_FILE_BYTES}`, {
      hint: 'build a VHD (amazonImage.format = "vpc"), which stores only the used blocks, or a smaller disk',
    });
  }
  return bytes;
}
