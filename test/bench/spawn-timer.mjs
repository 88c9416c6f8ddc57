// Preloaded into the bundled agent by test/bench/boot-run.ts (`node --import THIS dist/nixboot.mjs ...`):
// times every child process the agent starts (child_process.spawn, which the agent's runner
// uses) and, at exit, writes to $NIXBOOT_BENCH_SPAWN_LOG one JSON object:
//   { loadedAt, exitAt, maxRssKiB, children: [{ file, start, end }] }
// Times are epoch ms (performance.timeOrigin + performance.now()); maxRssKiB is this process's
// own peak RSS (getrusage RUSAGE_SELF), without its children. Plain JS: it must load without a build.
import childProcess from "node:child_process";
import { writeFileSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";

const out = process.env.NIXBOOT_BENCH_SPAWN_LOG;
const now = () => performance.timeOrigin + performance.now();
const loadedAt = now();
const children = [];

if (out) {
  const original = childProcess.spawn;
  childProcess.spawn = function spawn(file, ...rest) {
    const record = { file: String(file), start: now(), end: null };
    children.push(record);
    const child = original.call(this, file, ...rest);
    child.once("close", () => {
      record.end = now();
    });
    return child;
  };
  // The agent imports `spawn` as an ESM named export of node:child_process: update that binding too.
  syncBuiltinESMExports();
  process.once("exit", () => {
    writeFileSync(out, JSON.stringify({ loadedAt, exitAt: now(), maxRssKiB: process.resourceUsage().maxRSS, children }));
  });
}
