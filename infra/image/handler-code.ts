import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AssetHashType, DockerImage } from "aws-cdk-lib";
import { Code } from "aws-cdk-lib/aws-lambda";
import { buildSync } from "esbuild";

/**
 * The handler's source: beside this file when Node runs the sources as they
 * are (cdk.json's app command, vitest); from the repository root when this
 * module was bundled elsewhere (test/tools/run-ts.mjs), where import.meta.url
 * names the bundle.
 */
function handlerEntry(): string {
  const candidates = [fileURLToPath(new URL("./import-handler.ts", import.meta.url)), resolve("infra/image/import-handler.ts")];
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error(`the AMI import handler source is not at ${candidates.join(" or ")}`);
  return found;
}

/** Node.js major the handler is bundled for; matches the function's runtime. */
export const HANDLER_NODE_TARGET = "node24";

/**
 * The import handler as Lambda code: bundled at synth with esbuild's API, in
 * process, so synth needs neither Docker nor the network. The AWS SDK client
 * is bundled too (the version the tests ran against), not taken from the
 * runtime. The asset hash is the bundle's, so a change in any imported file
 * makes a new asset.
 */
export function importHandlerCode(): Code {
  const entry = handlerEntry();
  return Code.fromAsset(dirname(entry), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never pulled: local bundling below always succeeds, and CDK only
      // falls back to the image when `tryBundle` returns false.
      image: DockerImage.fromRegistry("public.ecr.aws/sam/build-nodejs24.x"),
      local: {
        tryBundle(outputDir: string): boolean {
          buildSync({
            entryPoints: [entry],
            outfile: join(outputDir, "index.js"),
            bundle: true,
            platform: "node",
            format: "cjs",
            target: HANDLER_NODE_TARGET,
            minify: true,
            keepNames: true, // error class names in the function's logs
            legalComments: "none",
            logLevel: "warning",
          });
          return true;
        },
      },
    },
  });
}
