#!/usr/bin/env node
import { runCli } from "./cli/main.js";

// Ctrl-C: exit (130) so the runner's exit hook stops the commands still running in their own groups.
process.once("SIGINT", () => process.exit(130));

const status = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
});
process.exitCode = status;
