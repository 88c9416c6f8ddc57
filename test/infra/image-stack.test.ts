import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageInfoError, InfraPropsError } from "../../infra/errors.js";
import { ImageStack } from "../../infra/image/image-stack.js";
import type { ImageStackProps } from "../../infra/image/image-stack.js";
import { makeImageBuild, testApp } from "./helpers.js";

const build = makeImageBuild();
afterAll(() => build.cleanup());

function synth(props: Partial<ImageStackProps>): { template: Template; stack: ImageStack } {
  const stack = new ImageStack(testApp(), "NixbootImage", props as ImageStackProps);
  return { template: Template.fromStack(stack), stack };
}

describe("image stack, importing a Nix-built image", () => {
  let template: Template;
  let stack: ImageStack;
  beforeAll(() => {
    ({ template, stack } = synth({ imageInfoPath: build.dir }));
  });

  it("keeps the image file in an encrypted bucket with all public access blocked", () => {
    template.resourceCountIs("AWS::S3::Bucket", 1);
    template.hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    });
  });

  it("denies every request to the bucket that is not over TLS", () => {
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Action: "s3:*", Principal: { AWS: "*" }, Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
  });

  it("creates the VM Import service role, assumable by vmie with the vmimport external id", () => {
    template.hasResourceProperties("AWS::IAM::Role", {
      AssumeRolePolicyDocument: {
        Statement: [{ Action: "sts:AssumeRole", Effect: "Allow", Principal: { Service: "vmie.amazonaws.com" }, Condition: { StringEquals: { "sts:Externalid": "vmimport" } } }],
      },
    });
  });

  it("imports with the facts from image-info.json, under a name unique to the build", () => {
    const [resource] = Object.values(template.findResources("Custom::NixosAmiImport")) as { Properties: Record<string, unknown> }[];
    expect(resource?.Properties).toMatchObject({
      Format: "VHD",
      BootMode: "uefi",
      Architecture: "x86_64",
      VolumeSizeGiB: "3",
      Encrypted: "true",
      Key: expect.stringMatching(/^images\/[0-9a-f]{64}\.vhd$/),
    });
    expect(resource?.Properties["ImageName"]).toMatch(/^nixboot-25\.05\.20250601\.abcdef0-x86_64-linux-[0-9a-f]{32}$/);
    expect(stack.image.import?.imageName).toBe(resource?.Properties["ImageName"]);
  });

  it("publishes the imported AMI id to an SSM parameter of type aws:ec2:image", () => {
    template.hasResourceProperties("AWS::SSM::Parameter", {
      Name: "/nixboot/NixbootImage/ami-id",
      Type: "String",
      DataType: "aws:ec2:image",
      Value: { "Fn::GetAtt": [Match.stringLikeRegexp("ImageImport"), "ImageId"] },
    });
  });

  it("polls the import through the Provider framework for up to an hour", () => {
    template.resourceCountIs("AWS::StepFunctions::StateMachine", 1);
    template.hasResourceProperties("AWS::Lambda::Function", { Handler: "index.onEvent", Runtime: "nodejs24.x" });
    template.hasResourceProperties("AWS::Lambda::Function", { Handler: "index.isComplete", Runtime: "nodejs24.x" });
  });

  it("lets the handler import, register and pass only this stack's service role", () => {
    const policies = Object.values(template.findResources("AWS::IAM::Policy")) as { Properties: { PolicyDocument: { Statement: { Action: unknown }[] } } }[];
    const handler = policies.find((p) => JSON.stringify(p.Properties.PolicyDocument).includes("ec2:ImportSnapshot"));
    expect(handler).toBeDefined();
    const actions = handler!.Properties.PolicyDocument.Statement.flatMap((s) => s.Action);
    expect(actions).toEqual(
      expect.arrayContaining(["ec2:DescribeImages", "ec2:DescribeImportSnapshotTasks", "ec2:ImportSnapshot", "ec2:RegisterImage", "ec2:CreateTags", "iam:PassRole"]),
    );
    expect(actions).not.toContain("ec2:*");
  });
});

describe("the import handler bundle", () => {
  it("is built at synth into a CommonJS file exporting both entry points", async () => {
    const { stack } = synth({ imageInfoPath: build.dir });
    const outdir = (stack.node.root as App).synth().directory;
    const bundles = readdirSync(outdir).map((name) => join(outdir, name, "index.js")).filter((path) => existsSync(path));
    expect(bundles).toHaveLength(1);
    const handler = createRequire(import.meta.url)(bundles[0]!) as Record<string, unknown>;
    expect(typeof handler["onEvent"]).toBe("function");
    expect(typeof handler["isComplete"]).toBe("function");
    // Offline check of the bundled code path: a malformed property fails before any EC2 call, with its real class name.
    const onEvent = handler["onEvent"] as (event: unknown) => Promise<unknown>;
    await expect(onEvent({ RequestType: "Create", ResourceProperties: {} })).rejects.toMatchObject({ name: "ImageImportError", code: "COMMAND_FAILED" });
  });
});

describe("image stack, given an existing AMI", () => {
  it("only publishes the AMI id", () => {
    const { template } = synth({ amiId: "ami-0123456789abcdef0", parameterName: "/fleet/ami" });
    template.resourceCountIs("AWS::S3::Bucket", 0);
    template.resourceCountIs("Custom::NixosAmiImport", 0);
    template.hasResourceProperties("AWS::SSM::Parameter", { Name: "/fleet/ami", Value: "ami-0123456789abcdef0", DataType: "aws:ec2:image" });
  });

  it.each([
    ["both sources", { amiId: "ami-0123456789abcdef0", imageInfoPath: build.dir }, InfraPropsError, /exactly one/],
    ["neither source", {}, InfraPropsError, /exactly one/],
    ["a malformed AMI id", { amiId: "ami-1" }, InfraPropsError, /not an AMI id/],
    ["a missing build", { imageInfoPath: "/nonexistent/result" }, ImageInfoError, /does not exist/],
  ])("refuses %s", (_what, props, type, message) => {
    expect(() => synth(props)).toThrow(type);
    expect(() => synth(props)).toThrow(message);
  });

  it("refuses an image-info.json whose image file is not on this machine", () => {
    const moved = makeImageBuild({ file: "/nix/store/1b8m0r3w9zq4s7k2f6h5a0c3d9g1l2p4-gone/nixos.vhd", disks: undefined });
    try {
      expect(() => synth({ imageInfoPath: moved.dir })).toThrow(/not on this machine/);
    } finally {
      moved.cleanup();
    }
  });
});
