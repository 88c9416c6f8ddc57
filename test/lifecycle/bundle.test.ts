import { build } from "esbuild";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const REPO = resolve(import.meta.dirname, "../..");

/**
 * The agent bundle must not carry @aws-sdk/client-ec2 (1.6 MB, ~100 ms of
 * start-up): DescribeTags goes through agent/lifecycle/ec2-query.ts. Bundled
 * in memory with test/tools/build.mjs's settings, so the test sees the
 * current sources and never races another test reading dist/.
 */
describe("the agent bundle", () => {
  it("contains no EC2 client, and the EC2 Query client instead", async () => {
    const result = await build({
      absWorkingDir: REPO,
      entryPoints: ["agent/main.ts"],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node24",
      splitting: false,
      write: false,
      metafile: true,
      minifyWhitespace: true,
      minifySyntax: true,
      legalComments: "none",
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((path) => /node_modules\/@aws-sdk\/(client-ec2|middleware-sdk-ec2)\//.test(path))).toEqual([]);
    expect(inputs).toContain("agent/lifecycle/ec2-query.ts");
    expect(inputs.some((path) => path.includes("node_modules/@aws-sdk/client-auto-scaling/"))).toBe(true);
    const text = result.outputFiles[0]!.text;
    expect(text.includes("EC2Client"), "the bundle mentions EC2Client").toBe(false);
    expect(text.includes("http://ec2.amazonaws.com/doc/"), "the EC2 client's protocol settings (xmlNamespace) are bundled").toBe(false);
  });
});
