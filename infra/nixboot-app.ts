import type { App } from "aws-cdk-lib";
import { readAppConfig } from "./context.js";
import { FleetStack } from "./fleet/fleet-stack.js";
import { ImageStack } from "./image/image-stack.js";
import { addNagChecks } from "./nag.js";

export interface NixbootApp {
  readonly image: ImageStack;
  readonly fleet: FleetStack;
}

/**
 * Adds the two stacks to an app, configured from its `nixboot:*` context
 * (see `context.ts`), with the cdk-nag AWS Solutions checks: `<prefix>Image`
 * publishes the AMI id to SSM, `<prefix>Fleet` launches from it and is
 * deployed after it.
 */
export function addNixbootStacks(app: App, cwd: string = process.cwd()): NixbootApp {
  const config = readAppConfig(app.node.getAllContext(), cwd);
  addNagChecks(app);
  const account = process.env["CDK_DEFAULT_ACCOUNT"];
  const region = process.env["CDK_DEFAULT_REGION"];
  const env = account && region ? { account, region } : undefined;

  const image = new ImageStack(app, `${config.stackPrefix}Image`, {
    env,
    description: "nixboot: NixOS AMI (imported from a Nix-built image, or given) published to SSM",
    ...config.image,
  });
  const fleet = new FleetStack(app, `${config.stackPrefix}Fleet`, {
    env,
    description: "nixboot: NixOS Auto Scaling fleet applying configuration.nix at launch",
    ...config.fleet,
    amiParameterName: image.parameterName,
  });
  fleet.addStackDependency(image);
  return { image, fleet };
}
