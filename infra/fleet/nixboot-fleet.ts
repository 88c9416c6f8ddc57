import { Duration } from "aws-cdk-lib";
import * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
import { InfraPropsError } from "../errors.js";
import { acknowledge } from "../nag.js";
import { ROOT_DEVICE_NAME } from "../image/import-requests.js";
import { agentPolicyStatements } from "./agent-policy.js";
import { checkHeartbeatTimeout, DEFAULT_HEARTBEAT_TIMEOUT } from "./timeouts.js";
import { encodeUserdata } from "./userdata.js";
import type { EncodedUserdata } from "./userdata.js";

export interface NixbootFleetProps {
  /** The text of the `configuration.nix` every instance applies at boot (its userdata). */
  readonly configuration: string;
  /** The AMI: an id, or the name of an SSM parameter holding one (read at each deployment). Exactly one. */
  readonly amiId?: string;
  readonly amiParameterName?: string;
  readonly vpc: ec2.IVpc;
  /** @default - the VPC's private subnets with egress */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Auto Scaling group name; the instance role is scoped to it. */
  readonly groupName: string;
  /** @default "nixboot-launch" */
  readonly hookName?: string;
  /** @default 10 minutes (see `timeouts.ts`) */
  readonly heartbeatTimeout?: Duration;
  /** @default t3.medium */
  readonly instanceType?: ec2.InstanceType;
  /** @default 1 */
  readonly minCapacity?: number;
  /** Must exceed minCapacity: a rolling update launches the replacement before it terminates. @default minCapacity + 1 */
  readonly maxCapacity?: number;
  /** Root volume size; at least the image's disk size. @default 30 GiB */
  readonly rootVolumeGiB?: number;
  /** Gzip the configuration when it is larger than this (bytes). @default 16384: only when it does not fit as plain text */
  readonly compressAboveBytes?: number;
  /** @default - a group with no ingress and all egress (the agent reaches AWS APIs and binary caches) */
  readonly securityGroup?: ec2.ISecurityGroup;
}

export const DEFAULT_HOOK_NAME = "nixboot-launch";
const LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING";

/**
 * An immutable NixOS fleet: a launch template carrying the configuration as
 * userdata, IMDSv2 only (hop limit 1: containers on the host cannot reach
 * IMDS) with instance tags in metadata (the agent finds its group there), an
 * Auto Scaling group whose launch hook holds every new instance until the
 * agent reports CONTINUE (or ABANDON, the default when it goes silent), and
 * a rolling replacement whenever the launch template changes.
 */
export class NixbootFleet extends Construct {
  readonly launchTemplate: ec2.LaunchTemplate;
  readonly group: autoscaling.AutoScalingGroup;
  readonly role: iam.Role;
  readonly userdata: EncodedUserdata;
  readonly groupName: string;
  readonly hookName: string;

  constructor(scope: Construct, id: string, props: NixbootFleetProps) {
    super(scope, id);
    const minCapacity = props.minCapacity ?? 1;
    const maxCapacity = props.maxCapacity ?? minCapacity + 1;
    checkCapacities(minCapacity, maxCapacity);
    const heartbeatTimeout = props.heartbeatTimeout ?? DEFAULT_HEARTBEAT_TIMEOUT;
    checkHeartbeatTimeout(heartbeatTimeout);
    if (!/^[A-Za-z0-9_.-]{1,255}$/.test(props.groupName)) {
      throw new InfraPropsError(`groupName ${JSON.stringify(props.groupName)} is not a usable group name`, { hint: "use letters, digits, '-', '_' and '.'" });
    }
    this.groupName = props.groupName;
    this.hookName = props.hookName ?? DEFAULT_HOOK_NAME;
    this.userdata = encodeUserdata(props.configuration, { compressAboveBytes: props.compressAboveBytes });

    this.role = new iam.Role(this, "InstanceRole", {
      assumedBy: new iam.ServicePrincipal("ec2.amazonaws.com"),
      description: `nixboot agent on ${this.groupName}: lifecycle hook and discovery only`,
    });
    for (const statement of agentPolicyStatements(this, this.groupName)) this.role.addToPolicy(statement);
    acknowledge(
      this.role,
      "Describe actions the agent needs (DescribeAutoScalingInstances, DescribeLifecycleHooks, ec2:DescribeTags) support only '*'; lifecycle actions are scoped to this group by name, the group ARN's UUID being unknown before creation.",
      "AwsSolutions-IAM5[Resource::*]",
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/${this.groupName}]`,
    );

    const securityGroup =
      props.securityGroup ??
      new ec2.SecurityGroup(this, "SecurityGroup", { vpc: props.vpc, allowAllOutbound: true, description: `nixboot fleet ${this.groupName}: no ingress` });

    this.launchTemplate = new ec2.LaunchTemplate(this, "LaunchTemplate", {
      machineImage: machineImage(props),
      instanceType: props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.MEDIUM),
      role: this.role,
      securityGroup,
      requireImdsv2: true,
      httpEndpoint: true,
      httpPutResponseHopLimit: 1,
      instanceMetadataTags: true,
      detailedMonitoring: true,
      blockDevices: [
        {
          deviceName: ROOT_DEVICE_NAME,
          volume: ec2.BlockDeviceVolume.ebs(props.rootVolumeGiB ?? 30, { volumeType: ec2.EbsDeviceVolumeType.GP3, encrypted: true, deleteOnTermination: true }),
        },
      ],
    });
    // The userdata is written as the base64 of its exact bytes (EC2 decodes
    // it and IMDS serves those bytes). The L2's `userData` renders
    // `Fn::Base64` of a string, which cannot carry gzip bytes; left unset it
    // would be the image's default `#!/bin/bash` script.
    const cfnTemplate = this.launchTemplate.node.defaultChild as ec2.CfnLaunchTemplate;
    cfnTemplate.addPropertyOverride("LaunchTemplateData.UserData", this.userdata.base64);

    this.group = new autoscaling.AutoScalingGroup(this, "Group", {
      autoScalingGroupName: this.groupName,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      launchTemplate: this.launchTemplate,
      minCapacity,
      maxCapacity,
      healthChecks: autoscaling.HealthChecks.ec2({ gracePeriod: Duration.minutes(5) }),
      // A launch template change replaces instances one at a time, never
      // going below minCapacity in service. A new instance is in service only
      // after the agent completes its launch hook with CONTINUE; one that is
      // abandoned never counts, so a configuration that does not come up
      // stalls the update until CloudFormation fails it and rolls back.
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({ maxBatchSize: 1, minInstancesInService: minCapacity }),
    });
    // Declared on the group itself, so the hook holds the very first
    // instances too (a separate AWS::AutoScaling::LifecycleHook resource
    // exists only after the group has launched them).
    const cfnGroup = this.group.node.defaultChild as autoscaling.CfnAutoScalingGroup;
    cfnGroup.lifecycleHookSpecificationList = [
      { lifecycleHookName: this.hookName, lifecycleTransition: LAUNCHING, defaultResult: "ABANDON", heartbeatTimeout: heartbeatTimeout.toSeconds() },
    ];
    acknowledge(
      this.group,
      "Launch outcomes are the agent's CONTINUE/ABANDON lifecycle results, recorded in the group's activity history and sent to EventBridge (EC2 Instance Launch Successful/Unsuccessful), where operators subscribe; an SNS topic here would have no subscriber.",
      "AwsSolutions-AS3",
    );
  }
}

function machineImage(props: NixbootFleetProps): ec2.IMachineImage {
  if ((props.amiId === undefined) === (props.amiParameterName === undefined)) {
    throw new InfraPropsError("give exactly one of amiId and amiParameterName", { hint: "pass the image stack's parameterName, or an AMI id" });
  }
  // Never rendered: the launch template's UserData is overridden with the configuration.
  const userData = ec2.UserData.custom("");
  const imageId = props.amiId;
  if (imageId === undefined) {
    return ec2.MachineImage.fromSsmParameter(props.amiParameterName as string, { os: ec2.OperatingSystemType.LINUX, userData });
  }
  if (!/^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$/.test(imageId)) {
    throw new InfraPropsError(`amiId ${JSON.stringify(imageId)} is not an AMI id`, { hint: "pass an id like ami-0123456789abcdef0" });
  }
  // The same id in whichever region the stack deploys to.
  return { getImage: () => ({ imageId, osType: ec2.OperatingSystemType.LINUX, userData }) };
}

function checkCapacities(min: number, max: number): void {
  if (!Number.isInteger(min) || min < 0 || !Number.isInteger(max) || max <= min) {
    throw new InfraPropsError(`capacities min ${min}, max ${max}: need whole numbers with max > min`, {
      hint: "a rolling update launches each replacement before terminating the old instance, so the group needs room for one more",
    });
  }
}
