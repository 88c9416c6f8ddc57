import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { readUserdata } from "../../agent/intake/index.js";
import { FleetStack } from "../../infra/fleet/fleet-stack.js";
import { largeConfiguration, SMALL_CONFIGURATION, testApp } from "./helpers.js";

/**
 * What an instance does with the template: EC2 base64-decodes the launch
 * template's UserData and IMDS serves the raw bytes, which the agent's
 * intake reads. It must get back the very configuration the stack was given.
 */
function userdataBytesFromTemplate(configuration: string): Uint8Array {
  const stack = new FleetStack(testApp(), "Fleet", { configuration, amiId: "ami-0123456789abcdef0", vpcId: "vpc-0123456789abcdef0", subnetIds: ["subnet-0123456789abcdef0"] });
  const [template] = Object.values(Template.fromStack(stack).findResources("AWS::EC2::LaunchTemplate")) as { Properties: { LaunchTemplateData: { UserData: unknown } } }[];
  const userData = template?.Properties.LaunchTemplateData.UserData;
  expect(typeof userData).toBe("string"); // a literal, not Fn::Base64 of something else
  return new Uint8Array(Buffer.from(userData as string, "base64"));
}

describe("userdata round trip through the agent's intake", () => {
  it.each([
    ["plain", SMALL_CONFIGURATION, []],
    ["gzip-compressed", largeConfiguration(400), ["gzip"]],
  ])("reads a %s configuration back as class nix, unchanged", (_what, configuration, encodings) => {
    const intake = readUserdata(userdataBytesFromTemplate(configuration));
    expect(intake.class).toBe("nix");
    expect(intake.configuration).toBe(configuration);
    expect(intake.encodings).toEqual(encodings);
  });

  it("keeps the agent's per-launch directives and channel lines working", () => {
    const configuration = `### https://nixos.org/channels/nixos-25.05 nixos\n# nixboot: health-timeout=120\n${SMALL_CONFIGURATION}`;
    const intake = readUserdata(userdataBytesFromTemplate(configuration));
    expect(intake.class).toBe("nix");
    expect(intake.channels).toEqual([{ url: "https://nixos.org/channels/nixos-25.05", name: "nixos" }]);
    expect(intake.directives).toMatchObject({ healthTimeoutSeconds: 120 });
  });
});
