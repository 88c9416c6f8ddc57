import { CfnOutput, Fn, Stack } from "aws-cdk-lib";
import type { StackProps } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { InfraPropsError } from "../errors.js";
import { NixbootFleet } from "./nixboot-fleet.js";
import type { NixbootFleetProps } from "./nixboot-fleet.js";

export interface FleetStackProps extends StackProps, Omit<NixbootFleetProps, "vpc" | "vpcSubnets" | "groupName"> {
  /**
   * An existing VPC and the subnets to launch in (synth stays offline: no
   * lookup). Give both or neither; with neither, the stack creates a VPC
   * with private subnets behind one NAT gateway.
   */
  readonly vpcId?: string;
  readonly subnetIds?: readonly string[];
  /** @default `<stack name>-group` */
  readonly groupName?: string;
}

/** The group stack: a nixboot fleet in a given or new VPC. */
export class FleetStack extends Stack {
  readonly fleet: NixbootFleet;
  readonly vpc: ec2.IVpc;

  constructor(scope: Construct, id: string, props: FleetStackProps) {
    super(scope, id, props);
    const { vpcId, subnetIds, groupName, ...fleetProps } = props;
    let vpcSubnets: ec2.SubnetSelection | undefined;
    if (vpcId !== undefined || subnetIds !== undefined) {
      if (!vpcId?.startsWith("vpc-") || !subnetIds?.length || !subnetIds.every((s) => s.startsWith("subnet-"))) {
        throw new InfraPropsError(`an existing network needs a vpcId (vpc-…) and at least one subnet id (subnet-…); got ${JSON.stringify({ vpcId, subnetIds })}`, {
          hint: "give both vpcId and subnetIds, or neither to create a VPC",
        });
      }
      // Only the id is used: the subnets are given by id, so the zones never are.
      this.vpc = ec2.Vpc.fromVpcAttributes(this, "Vpc", { vpcId, availabilityZones: Fn.getAzs() });
      vpcSubnets = { subnets: subnetIds.map((subnetId, i) => ec2.Subnet.fromSubnetId(this, `Subnet${i}`, subnetId)) };
    } else {
      this.vpc = createVpc(this);
    }

    this.fleet = new NixbootFleet(this, "Fleet", {
      ...fleetProps,
      vpc: this.vpc,
      ...(vpcSubnets ? { vpcSubnets } : {}),
      groupName: groupName ?? `${this.stackName}-group`,
    });

    new CfnOutput(this, "GroupName", { value: this.fleet.groupName, description: "Auto Scaling group" });
    new CfnOutput(this, "LaunchHookName", { value: this.fleet.hookName, description: "Launch lifecycle hook the agent completes" });
    new CfnOutput(this, "UserdataSha256", { value: this.fleet.userdata.configurationSha256, description: "sha256 of the configuration in the launch template" });
  }
}

function createVpc(scope: Construct): ec2.Vpc {
  const vpc = new ec2.Vpc(scope, "Vpc", {
    maxAzs: 2,
    natGateways: 1,
    subnetConfiguration: [
      { name: "public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
      { name: "fleet", subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
    ],
  });
  vpc.addFlowLog("FlowLog", {
    destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(scope, "FlowLogs", { retention: logs.RetentionDays.THREE_MONTHS })),
    trafficType: ec2.FlowLogTrafficType.REJECT,
  });
  return vpc;
}
