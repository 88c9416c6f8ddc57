import { Stack, Validations } from "aws-cdk-lib";
import type { App, CfnResource, Stage } from "aws-cdk-lib";
import type { IConstruct } from "constructs";
import { AwsSolutionsChecks } from "cdk-nag";

/**
 * cdk-nag 3: the AWS Solutions pack runs as a CDK policy-validation plugin,
 * so an unacknowledged error fails `cdk synth` (and `app.synth()`).
 * Acknowledgments are made where the resource is created, each with its reason.
 */
export function addNagChecks(app: App | Stage): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

/** `Resource::<LogicalId.Arn>…`: how cdk-nag names a finding on a resource's ARN. */
export function arnFinding(resource: IConstruct, suffix = ""): string {
  const cfn = (resource.node.defaultChild ?? resource) as CfnResource;
  return `Resource::<${Stack.of(resource).getLogicalId(cfn)}.Arn>${suffix}`;
}

export function acknowledge(scope: IConstruct, reason: string, ...ids: string[]): void {
  for (const id of ids) Validations.of(scope).acknowledge({ id, reason });
}

/** The managed policy aws-cdk-lib gives the Lambda functions it generates. */
export const LAMBDA_BASIC_EXECUTION = "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]";
