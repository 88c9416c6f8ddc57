// `npm test`: runs vitest (arguments pass through), then prints one plain closing line,
// "tests: N passed, N failed[, N skipped]", and exits with vitest's own status.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";

const report = ".tmp/vitest-report.json";
mkdirSync(".tmp", { recursive: true });
rmSync(report, { force: true });
const vitest = spawnSync("vitest", ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...process.argv.slice(2)], { stdio: "inherit" });
let summary = "tests: no report (vitest did not finish)";
try {
  const { numPassedTests, numFailedTests, numPendingTests, numTodoTests } = JSON.parse(readFileSync(report, "utf8"));
  const skipped = numPendingTests + numTodoTests;
  summary = `tests: ${numPassedTests} passed, ${numFailedTests} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`;
} catch {
  // keep the "no report" line; vitest's status below still decides
}
console.log(summary);
process.exit(vitest.status ?? 1);
