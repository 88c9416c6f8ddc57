import { Stack, Validations } from "aws-cdk-lib";
import { Bucket } from "aws-cdk-lib/aws-s3";
import { afterAll, describe, expect, it } from "vitest";
import { addNagChecks } from "../../infra/nag.js";
import { addNixbootStacks } from "../../infra/nixboot-app.js";
import { makeImageBuild, nagFindings, testApp } from "./helpers.js";

const REPO = new URL("../..", import.meta.url).pathname;
const build = makeImageBuild();
afterAll(() => build.cleanup());

describe("cdk-nag AWS Solutions checks", () => {
  it.each([
    ["importing a Nix-built image, in a new VPC", { "nixboot:imageInfo": build.dir }],
    ["an existing AMI, in an existing VPC", { "nixboot:amiId": "ami-0123456789abcdef0", "nixboot:vpcId": "vpc-0123456789abcdef0", "nixboot:subnetIds": "subnet-0123456789abcdef0" }],
  ])("find nothing unacknowledged in either stack: %s", (_what, context) => {
    const app = testApp(context);
    const { image, fleet } = addNixbootStacks(app, REPO);
    expect(nagFindings(image)).toEqual([]);
    expect(nagFindings(fleet)).toEqual([]);
    // The pack is attached to the app: synth runs it and passes.
    expect(() => app.synth()).not.toThrow();
  });

  it("give every acknowledgment a reason", () => {
    const app = testApp({ "nixboot:imageInfo": build.dir });
    addNixbootStacks(app, REPO);
    const reasons = app.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .filter(([id]) => id.replace(/^annotation::/i, "").startsWith("AwsSolutions-"));
    expect(reasons.length).toBeGreaterThan(10);
    for (const [id, reason] of reasons) expect(reason.length, id).toBeGreaterThan(40);
  });

  it("fail synth on an unacknowledged error (the checks are live)", () => {
    const app = testApp();
    addNagChecks(app);
    new Bucket(new Stack(app, "Careless"), "Plain");
    expect(() => app.synth()).toThrow(/server access logs/);
  });
});
