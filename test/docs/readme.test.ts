import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { COMMANDS } from "../../agent/cli/commands/index.js";
import { EXIT_STATUS_MEANING } from "../../agent/cli/exit-status.js";
import { SETTINGS } from "../../agent/settings/definitions.js";

// The README's reference tables are written for people; these checks keep them true to the code.
const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
const packageJson = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> };

describe("README", () => {
  it("documents every setting with its flag and environment variable", () => {
    for (const def of SETTINGS) expect(readme, def.key).toContain(`| \`${def.key}\` | \`--${def.flag}\` | \`${def.env}\` |`);
  });

  it("lists every exit status with the meaning the CLI prints", () => {
    for (const [status, meaning] of Object.entries(EXIT_STATUS_MEANING)) expect(readme, status).toContain(`| ${status} | ${meaning} |`);
  });

  it("names every command", () => {
    for (const command of COMMANDS) expect(readme, command.name).toContain(`\`nixboot ${command.name}`);
  });

  it("quick start commands exist as npm scripts", () => {
    expect(readme).toContain("npm ci && npm run demo");
    expect(readme).toContain("npm ci && npm test");
    expect(packageJson.scripts.demo).toBeDefined();
    expect(packageJson.scripts.test).toBeDefined();
  });
});
