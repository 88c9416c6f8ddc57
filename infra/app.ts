// CDK app entry (cdk.json): `npx cdk synth -c nixboot:amiId=ami-…` or `-c nixboot:imageInfo=./result`.
// Context keys: infra/context.ts. Node runs this file directly, types stripped (see ts-resolve.mjs).
import { App } from "aws-cdk-lib";
import { addNixbootStacks } from "./nixboot-app.js";

addNixbootStacks(new App());
