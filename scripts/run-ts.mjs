// Runs a TypeScript entry point of this repo (bench, emulator CLI, CDK app) on Node 24:
// bundles it with esbuild into .tmp/ (packages stay external) and imports it.
// Usage: node scripts/run-ts.mjs FILE.ts [args...]
import { build } from "esbuild";
import { mkdir } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error("usage: node scripts/run-ts.mjs FILE.ts [args...]");
  process.exit(2);
}
const outdir = resolve(".tmp", "run-ts");
await mkdir(outdir, { recursive: true });
const outfile = resolve(outdir, `${basename(entry, ".ts")}-${process.pid}.mjs`);
await build({ entryPoints: [entry], outfile, bundle: true, platform: "node", format: "esm", target: "node24", packages: "external", logLevel: "warning", sourcemap: "inline" });
process.argv = [process.argv[0], entry, ...args];
await import(pathToFileURL(outfile).href);
