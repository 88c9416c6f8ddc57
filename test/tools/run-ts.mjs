// Runs a TypeScript entry point of this repo (bench, emulator CLI, CDK app) on Node 24:
// bundles it with esbuild into .tmp/ (packages stay external) and imports it.
// Usage: node test/tools/run-ts.mjs FILE.ts [args...]
import { build } from "esbuild";
import { mkdir, readFile } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error("usage: node test/tools/run-ts.mjs FILE.ts [args...]");
  process.exit(2);
}
const outdir = resolve(".tmp", "run-ts");
await mkdir(outdir, { recursive: true });
const outfile = resolve(outdir, `${basename(entry, ".ts")}-${process.pid}.mjs`);
// Each source keeps its own import.meta.url, so files that locate fixtures next to themselves still work.
const keepModuleUrls = {
  name: "keep-module-urls",
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      return { contents: source.replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href)), loader: "ts" };
    });
  },
};
await build({ entryPoints: [entry], outfile, bundle: true, platform: "node", format: "esm", target: "node24", packages: "external", logLevel: "warning", sourcemap: "inline", plugins: [keepModuleUrls] });
process.argv = [process.argv[0], entry, ...args];
await import(pathToFileURL(outfile).href);
