import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { App } from "aws-cdk-lib";
import { afterAll, describe, expect, it } from "vitest";
import { CONTEXT_KEYS, readAppConfig } from "../../infra/context.js";
import { InfraPropsError } from "../../infra/errors.js";
import { addNixbootStacks } from "../../infra/nixboot-app.js";
import { makeImageBuild, tempOutdir } from "./helpers.js";

const REPO = new URL("../..", import.meta.url).pathname;
const build = makeImageBuild();
const outdirs: string[] = [];
afterAll(() => {
  build.cleanup();
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});
const outdir = () => {
  const dir = tempOutdir();
  outdirs.push(dir);
  return dir;
};

describe("the CDK app", () => {
  it("synthesizes both stacks offline, in process, with CloudFormation validation and cdk-nag", () => {
    const app = new App({ outdir: outdir(), context: { "nixboot:imageInfo": build.dir, "nixboot:groupName": "web", "nixboot:minCapacity": 2, "nixboot:maxCapacity": "4" } });
    const { image, fleet } = addNixbootStacks(app, REPO);
    const assembly = app.synth();
    expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual(["NixbootFleet", "NixbootImage"]);
    expect(fleet.dependencies).toContain(image);

    const fleetTemplate = assembly.getStackByName("NixbootFleet").template;
    const amiParameter = Object.values(fleetTemplate.Parameters as Record<string, { Type: string; Default: string }>).find((p) => p.Type.includes("AWS::EC2::Image::Id"));
    expect(amiParameter?.Default).toBe(image.parameterName);
    const group = Object.values(fleetTemplate.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>).find((r) => r.Type === "AWS::AutoScaling::AutoScalingGroup");
    expect(group?.Properties).toMatchObject({ AutoScalingGroupName: "web", MinSize: "2", MaxSize: "4" });

    // The sample configuration is what the fleet carries by default.
    const sample = readFileSync(join(REPO, "infra/examples/configuration.nix"));
    expect(fleet.fleet.userdata.configurationSha256).toBe(createHash("sha256").update(sample).digest("hex"));
  });

  it("synthesizes from the CLI (`cdk synth` with cdk.json's app command)", { timeout: 120_000 }, async () => {
    const out = outdir();
    const env = { ...process.env, PATH: `${join(REPO, "node_modules/.bin")}:${process.env["PATH"]}`, CDK_DISABLE_CLI_TELEMETRY: "true", CI: "true" };
    const { stdout, stderr } = await promisify(execFile)(
      join(REPO, "node_modules/.bin/cdk"),
      ["synth", "--quiet", "--no-notices", "--output", out, "--context", "nixboot:amiId=ami-0123456789abcdef0", "--context", "nixboot:subnetIds=subnet-0123456789abcdef0", "--context", "nixboot:vpcId=vpc-0123456789abcdef0"],
      { cwd: REPO, env, timeout: 110_000 },
    );
    expect(`${stdout}${stderr}`).toMatch(/Successfully synthesized/);
    for (const stack of ["NixbootImage", "NixbootFleet"]) expect(existsSync(join(out, `${stack}.template.json`))).toBe(true);
    const fleet = JSON.parse(readFileSync(join(out, "NixbootFleet.template.json"), "utf8"));
    expect(JSON.stringify(fleet)).toContain("autoscaling:EC2_INSTANCE_LAUNCHING");
  });
});

describe("context keys", () => {
  it("reads numbers and lists given as strings on the command line", () => {
    const config = readAppConfig({ "nixboot:amiId": "ami-0123456789abcdef0", "nixboot:subnetIds": "subnet-a, subnet-b", "nixboot:minCapacity": "3", "nixboot:heartbeatTimeoutSeconds": "900", "nixboot:instanceType": "m7g.large" }, REPO);
    expect(config.fleet.subnetIds).toEqual(["subnet-a", "subnet-b"]);
    expect(config.fleet.minCapacity).toBe(3);
    expect(config.fleet.heartbeatTimeout?.toSeconds()).toBe(900);
    expect(config.fleet.instanceType?.toString()).toBe("m7g.large");
    expect(config.image).toEqual({ amiId: "ami-0123456789abcdef0", imageInfoPath: undefined, namePrefix: undefined });
    expect(config.stackPrefix).toBe("Nixboot");
  });

  it("resolves paths against the working directory", () => {
    const config = readAppConfig({ "nixboot:imageInfo": "./result", "nixboot:configuration": "infra/examples/configuration.nix" }, REPO);
    expect(config.image.imageInfoPath).toBe(join(REPO, "result"));
    expect(config.fleet.configuration).toContain("system.stateVersion");
  });

  it.each([
    ["an unknown nixboot key", { "nixboot:amiId": "ami-0123456789abcdef0", "nixboot:minCapcity": "2" }, /unknown context key nixboot:minCapcity/],
    ["no image source", {}, /exactly one of nixboot:imageInfo and nixboot:amiId/],
    ["a bad number", { "nixboot:amiId": "ami-0123456789abcdef0", "nixboot:maxCapacity": "two" }, /whole number/],
    ["a bad instance type", { "nixboot:amiId": "ami-0123456789abcdef0", "nixboot:instanceType": "large" }, /not an instance type/],
    ["a missing configuration", { "nixboot:amiId": "ami-0123456789abcdef0", "nixboot:configuration": "nope.nix" }, /cannot read the configuration/],
  ])("refuses %s", (_what, context, message) => {
    expect(() => readAppConfig(context, REPO)).toThrow(InfraPropsError);
    expect(() => readAppConfig(context, REPO)).toThrow(message);
  });

  it("accepts every key it documents", () => {
    const all = Object.fromEntries(Object.values(CONTEXT_KEYS).map((key) => [key, undefined]));
    expect(() => readAppConfig({ ...all, "nixboot:amiId": "ami-0123456789abcdef0" }, REPO)).not.toThrow();
  });
});
