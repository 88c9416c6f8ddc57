import { Duration } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { InfraPropsError, UserdataBuildError } from "../../infra/errors.js";
import { FleetStack } from "../../infra/fleet/fleet-stack.js";
import type { FleetStackProps } from "../../infra/fleet/fleet-stack.js";
import { incompressibleConfiguration, SMALL_CONFIGURATION, testApp } from "./helpers.js";

const NETWORK = { vpcId: "vpc-0123456789abcdef0", subnetIds: ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"] };

function synth(props: Partial<FleetStackProps> = {}): Template {
  const app = testApp();
  const stack = new FleetStack(app, "Fleet", { configuration: SMALL_CONFIGURATION, amiParameterName: "/nixboot/NixbootImage/ami-id", groupName: "web-fleet", ...NETWORK, ...props });
  return Template.fromStack(stack);
}

describe("fleet stack", () => {
  let template: Template;
  beforeAll(() => {
    template = synth();
  });

  it("requires IMDSv2 with hop limit 1 and instance tags in metadata", () => {
    template.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: { HttpEndpoint: "enabled", HttpTokens: "required", HttpPutResponseHopLimit: 1, InstanceMetadataTags: "enabled" },
      }),
    });
  });

  it("carries the configuration as plain userdata, base64 of its exact bytes", () => {
    template.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({ UserData: Buffer.from(SMALL_CONFIGURATION).toString("base64") }),
    });
  });

  it("launches from the AMI in the SSM parameter, re-read at each deployment", () => {
    const parameters = template.findParameters("*", { Type: "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>", Default: "/nixboot/NixbootImage/ami-id" });
    const [name] = Object.keys(parameters);
    expect(name).toBeDefined();
    template.hasResourceProperties("AWS::EC2::LaunchTemplate", { LaunchTemplateData: Match.objectLike({ ImageId: { Ref: name } }) });
  });

  it("gives instances an encrypted gp3 root volume on the image's root device", () => {
    template.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({
        BlockDeviceMappings: [{ DeviceName: "/dev/xvda", Ebs: { DeleteOnTermination: true, Encrypted: true, VolumeSize: 30, VolumeType: "gp3" } }],
      }),
    });
  });

  it("declares the launch hook on the group: ABANDON by default, 10 minute heartbeat timeout", () => {
    template.resourceCountIs("AWS::AutoScaling::AutoScalingGroup", 1);
    template.resourceCountIs("AWS::AutoScaling::LifecycleHook", 0);
    template.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", {
      AutoScalingGroupName: "web-fleet",
      VPCZoneIdentifier: NETWORK.subnetIds,
      MinSize: "1",
      MaxSize: "2",
      LifecycleHookSpecificationList: [
        { LifecycleHookName: "nixboot-launch", LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING", DefaultResult: "ABANDON", HeartbeatTimeout: 600 },
      ],
    });
  });

  it("replaces instances one at a time when the launch template changes", () => {
    template.hasResource("AWS::AutoScaling::AutoScalingGroup", {
      UpdatePolicy: { AutoScalingRollingUpdate: Match.objectLike({ MaxBatchSize: 1, MinInstancesInService: 1 }) },
      Properties: Match.objectLike({ LaunchTemplate: { LaunchTemplateId: Match.anyValue(), Version: { "Fn::GetAtt": [Match.anyValue(), "LatestVersionNumber"] } } }),
    });
  });

  it("allows the instance role exactly the agent's calls, lifecycle actions on this group only", () => {
    const policies = template.findResources("AWS::IAM::Policy");
    expect(Object.keys(policies)).toHaveLength(1);
    const policy = Object.values(policies)[0] as { Properties: { PolicyDocument: { Statement: unknown[] } } };
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      {
        Sid: "CompleteOwnLaunchHook",
        Effect: "Allow",
        Action: ["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"],
        Resource: {
          "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":autoscaling:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, ":autoScalingGroup:*:autoScalingGroupName/web-fleet"]],
        },
      },
      {
        Sid: "DiscoverGroupAndHook",
        Effect: "Allow",
        Action: ["autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeLifecycleHooks", "ec2:DescribeTags"],
        Resource: "*",
      },
    ]);
    // Nothing else: no managed policies on the role, one instance profile for it.
    template.hasResourceProperties("AWS::IAM::Role", { AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: "ec2.amazonaws.com" } })] }), ManagedPolicyArns: Match.absent() });
    template.resourceCountIs("AWS::IAM::InstanceProfile", 1);
  });

  it("opens no ingress", () => {
    template.hasResourceProperties("AWS::EC2::SecurityGroup", { VpcId: NETWORK.vpcId, SecurityGroupIngress: Match.absent() });
  });

  it("gzips a large configuration into the launch template", () => {
    const configuration = `${SMALL_CONFIGURATION}${"# padding comment line for size\n".repeat(700)}`;
    const lt = Object.values(synth({ configuration }).findResources("AWS::EC2::LaunchTemplate"))[0] as { Properties: { LaunchTemplateData: { UserData: string } } };
    const bytes = Buffer.from(lt.Properties.LaunchTemplateData.UserData, "base64");
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
  });

  it("fails synth with a clear error when the configuration cannot fit", () => {
    expect(() => synth({ configuration: incompressibleConfiguration(60_000) })).toThrow(UserdataBuildError);
    expect(() => synth({ configuration: incompressibleConfiguration(60_000) })).toThrow(/over EC2's userdata limit of 16384 bytes/);
  });

  it("creates a VPC with private subnets and flow logs when none is given", () => {
    const created = synth({ vpcId: undefined, subnetIds: undefined });
    created.resourceCountIs("AWS::EC2::VPC", 1);
    created.resourceCountIs("AWS::EC2::NatGateway", 1);
    created.resourceCountIs("AWS::EC2::FlowLog", 1);
    created.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", { VPCZoneIdentifier: Match.arrayWith([Match.objectLike({ Ref: Match.stringLikeRegexp("VpcfleetSubnet") })]) });
  });

  it("takes a literal AMI id instead of the parameter", () => {
    synth({ amiParameterName: undefined, amiId: "ami-0123456789abcdef0" }).hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({ ImageId: "ami-0123456789abcdef0" }),
    });
  });

  it.each([
    ["no AMI", { amiParameterName: undefined }, /exactly one of amiId and amiParameterName/],
    ["a bad AMI id", { amiParameterName: undefined, amiId: "ami-xyz" }, /not an AMI id/],
    ["a subnet list without a VPC", { vpcId: undefined }, /needs a vpcId/],
    ["max not above min", { minCapacity: 2, maxCapacity: 2 }, /max > min/],
    ["a heartbeat shorter than a boot", { heartbeatTimeout: Duration.minutes(2) }, /shorter than a boot/],
    ["a heartbeat Auto Scaling refuses", { heartbeatTimeout: Duration.hours(3) }, /from 30 to 7200/],
  ])("refuses %s", (_what, props, message) => {
    expect(() => synth(props as Partial<FleetStackProps>)).toThrow(InfraPropsError);
    expect(() => synth(props as Partial<FleetStackProps>)).toThrow(message);
  });
});
