import { ArnFormat, Stack } from "aws-cdk-lib";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IConstruct } from "constructs";

/**
 * What the nixboot agent calls on an instance, and so everything its
 * instance role may do (IMDS needs no IAM):
 *
 * - complete the launch hook and record heartbeats: only on this group.
 *   The group's ARN carries a random UUID CloudFormation does not expose, so
 *   the ARN is matched with `autoScalingGroup:*:autoScalingGroupName/<name>`,
 *   which the group's explicit name makes exact.
 * - discover the group and the hook: `DescribeLifecycleHooks`,
 *   `DescribeAutoScalingInstances` (fallback when the instance's tags do not
 *   name its group) and `ec2:DescribeTags` (fallback when instance metadata
 *   tags are off). These Describe actions support no resource-level
 *   permissions: IAM accepts only `"*"` for them.
 */
export function agentPolicyStatements(scope: IConstruct, groupName: string): PolicyStatement[] {
  const groupArn = Stack.of(scope).formatArn({
    service: "autoscaling",
    resource: "autoScalingGroup",
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    resourceName: `*:autoScalingGroupName/${groupName}`,
  });
  return [
    new PolicyStatement({
      sid: "CompleteOwnLaunchHook",
      actions: ["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"],
      resources: [groupArn],
    }),
    new PolicyStatement({
      sid: "DiscoverGroupAndHook",
      actions: ["autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeLifecycleHooks", "ec2:DescribeTags"],
      resources: ["*"],
    }),
  ];
}
