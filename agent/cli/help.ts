import { SETTINGS, type SettingDefinition } from "../settings/definitions.js";
import type { CommandSpec } from "./command.js";

export function renderMainHelp(commands: readonly CommandSpec[], exitMeaning: Record<number, string>): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    "nixboot — validate, switch and health-check a NixOS configuration from EC2 userdata, then report to Auto Scaling",
    "",
    "Usage: nixboot COMMAND [options]",
    "",
    "Commands:",
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    "",
    "Global options:",
    "  -h, --help         help for a command: nixboot COMMAND --help",
    "  --json             print one JSON object on stdout (logs go to stderr)",
    "  --settings FILE    settings file (default /etc/nixboot/settings.json, or NIXBOOT_SETTINGS_FILE)",
    "  --log-level LEVEL  trace|debug|info|warn|error|fatal|silent (NIXBOOT_LOG_LEVEL)",
    "  --version          print the version",
    "",
    "Exit statuses:",
    ...Object.entries(exitMeaning).map(([status, meaning]) => `  ${status.padStart(2)}  ${meaning}`),
    "",
  ].join("\n");
}

export function renderCommandHelp(command: CommandSpec): string {
  const settingDefs = (SETTINGS as readonly SettingDefinition[]).filter((def) => (command.settings as readonly string[]).includes(def.key));
  const rows: [string, string][] = [];
  for (const [flag, spec] of Object.entries(command.options ?? {})) {
    rows.push([`--${flag}${spec.type === "string" ? " VALUE" : ""}`, spec.doc]);
  }
  for (const def of settingDefs) {
    const value = def.kind === "boolean" ? "" : def.kind === "seconds" ? " SECONDS" : " VALUE";
    const shownDefault = Array.isArray(def.default) ? def.default.join(",") || "none" : String(def.default) || "none";
    rows.push([`--${def.flag}${value}`, `${def.doc} [${def.env}; default ${shownDefault}]`]);
  }
  rows.push(["--json", "print one JSON object on stdout"], ["--settings FILE", "settings file"], ["--log-level LEVEL", "log level"], ["-h, --help", "this help"]);
  const width = Math.min(28, Math.max(...rows.map(([left]) => left.length)));
  return [
    `Usage: nixboot ${command.name} ${command.usage}`,
    "",
    command.description,
    "",
    "Options:",
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`),
    "",
  ].join("\n");
}
