// Bundles the agent into one executable ESM file (dist/nixboot.mjs) that starts
// without node_modules, plus the local emulator (dist/emulator.mjs) for the demo.
import { build } from "esbuild";
import { chmod, mkdir } from "node:fs/promises";

// Some CommonJS dependencies call require() for Node built-ins; give the ESM bundle one.
const requireShim = "import { createRequire as __nixbootCreateRequire } from 'node:module'; const require = __nixbootCreateRequire(import.meta.url);";

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node24",
  // One file: dynamic imports (the AWS SDK clients) are inlined but evaluated lazily.
  splitting: false,
  sourcemap: false,
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: "none",
  logLevel: "warning",
  banner: { js: requireShim },
};

await mkdir("dist", { recursive: true });
// esbuild keeps the entry's `#!/usr/bin/env node` line at the top of the bundle.
await build({ ...common, entryPoints: ["agent/main.ts"], outfile: "dist/nixboot.mjs" });
await chmod("dist/nixboot.mjs", 0o755);
await build({ ...common, entryPoints: ["test/emulator/cli.ts"], outfile: "dist/emulator.mjs" });
console.log("built dist/nixboot.mjs and dist/emulator.mjs");
