/**
 * Every agent setting, in one table: its settings-file key, flag, environment
 * variable, type, default and meaning. Flags win over the environment, which
 * wins over the settings file (default `/etc/nixboot/settings.json`, written
 * by the NixOS module), which wins over the defaults here.
 */
export const POLICIES = ["baked", "substitute", "any"] as const;
export type Policy = (typeof POLICIES)[number];

export const ACTIVATION_MODES = ["switch", "boot"] as const;
export type ActivationMode = (typeof ACTIVATION_MODES)[number];

type Kind = "string" | "seconds" | "boolean" | "list" | { enum: readonly string[] };

export interface SettingDefinition {
  key: string;
  flag: string;
  env: string;
  kind: Kind;
  default: string | number | boolean | readonly string[];
  doc: string;
}

export const SETTINGS = [
  { key: "imdsEndpoint", flag: "imds-endpoint", env: "NIXBOOT_IMDS_ENDPOINT", kind: "string", default: "http://169.254.169.254", doc: "IMDS base URL; use http://[fd00:ec2::254] on IPv6-only subnets" },
  { key: "imdsBudgetSeconds", flag: "imds-budget", env: "NIXBOOT_IMDS_BUDGET", kind: "seconds", default: 120, doc: "total time to keep retrying IMDS while the network comes up" },
  { key: "imdsTimeoutSeconds", flag: "imds-timeout", env: "NIXBOOT_IMDS_TIMEOUT", kind: "seconds", default: 2, doc: "timeout of one IMDS request" },
  { key: "stateDir", flag: "state-dir", env: "NIXBOOT_STATE_DIR", kind: "string", default: "/var/lib/nixboot", doc: "journal, lock, status and caches" },
  { key: "logLevel", flag: "log-level", env: "NIXBOOT_LOG_LEVEL", kind: { enum: ["trace", "debug", "info", "warn", "error", "fatal", "silent"] }, default: "info", doc: "log level" },
  { key: "nixosEntry", flag: "nixos-entry", env: "NIXBOOT_NIXOS_ENTRY", kind: "string", default: "<nixpkgs/nixos>", doc: "NixOS entry point: called as `import entry { configuration = FILE; }`, its `system` attribute is built" },
  { key: "includePaths", flag: "include", env: "NIXBOOT_INCLUDE", kind: "list", default: [], doc: "extra search-path entries (like `nix -I`) allowed in restricted evaluation; NIX_PATH is always allowed" },
  { key: "nixBinDir", flag: "nix-bin-dir", env: "NIXBOOT_NIX_BIN_DIR", kind: "string", default: "", doc: "directory holding nix-instantiate, nix-store, nix-env (empty: search PATH)" },
  { key: "policy", flag: "policy", env: "NIXBOOT_POLICY", kind: { enum: POLICIES }, default: "baked", doc: "what a switch may do: baked (nothing fetched), substitute (binary caches allowed), any" },
  { key: "mode", flag: "mode", env: "NIXBOOT_MODE", kind: { enum: ACTIVATION_MODES }, default: "switch", doc: "switch: activate now on trial, commit after health; boot: only stage for the next boot" },
  { key: "configPath", flag: "config-path", env: "NIXBOOT_CONFIG_PATH", kind: "string", default: "/etc/nixos/configuration.nix", doc: "where the applied configuration is written on commit" },
  { key: "systemProfile", flag: "system-profile", env: "NIXBOOT_SYSTEM_PROFILE", kind: "string", default: "/nix/var/nix/profiles/system", doc: "the system profile that gets the new generation" },
  { key: "currentSystem", flag: "current-system", env: "NIXBOOT_CURRENT_SYSTEM", kind: "string", default: "/run/current-system", doc: "link to the running system (activated again on rollback)" },
  { key: "healthChecks", flag: "health-check", env: "NIXBOOT_HEALTH_CHECKS", kind: "list", default: ["systemd"], doc: "repeatable: systemd, unit:NAME, http:URL, cmd:COMMAND, or none" },
  { key: "healthTimeoutSeconds", flag: "health-timeout", env: "NIXBOOT_HEALTH_TIMEOUT", kind: "seconds", default: 300, doc: "time the health gate has to pass" },
  { key: "allowDegraded", flag: "allow-degraded", env: "NIXBOOT_ALLOW_DEGRADED", kind: "boolean", default: false, doc: "accept a `degraded` system manager state as healthy" },
  { key: "evalTimeoutSeconds", flag: "eval-timeout", env: "NIXBOOT_EVAL_TIMEOUT", kind: "seconds", default: 600, doc: "timeout of the Nix evaluation" },
  { key: "buildTimeoutSeconds", flag: "build-timeout", env: "NIXBOOT_BUILD_TIMEOUT", kind: "seconds", default: 3600, doc: "timeout of the build" },
  { key: "activationTimeoutSeconds", flag: "activation-timeout", env: "NIXBOOT_ACTIVATION_TIMEOUT", kind: "seconds", default: 600, doc: "timeout of one switch-to-configuration call" },
  { key: "lockWaitSeconds", flag: "lock-wait", env: "NIXBOOT_LOCK_WAIT", kind: "seconds", default: 10, doc: "how long a second run waits for the lock" },
  { key: "allowScripts", flag: "allow-scripts", env: "NIXBOOT_ALLOW_SCRIPTS", kind: "boolean", default: false, doc: "run `#!` userdata scripts (amazon-init always did)" },
  { key: "scriptTimeoutSeconds", flag: "script-timeout", env: "NIXBOOT_SCRIPT_TIMEOUT", kind: "seconds", default: 1800, doc: "timeout of a userdata script" },
  { key: "hookName", flag: "hook-name", env: "NIXBOOT_HOOK_NAME", kind: "string", default: "", doc: "lifecycle hook to complete (empty: the group's EC2_INSTANCE_LAUNCHING hook)" },
  { key: "report", flag: "report", env: "NIXBOOT_REPORT", kind: "boolean", default: true, doc: "report the outcome to the Auto Scaling lifecycle hook (--no-report to skip)" },
] as const satisfies readonly SettingDefinition[];

type KindType<K> = K extends "string" ? string : K extends "seconds" ? number : K extends "boolean" ? boolean : K extends "list" ? string[] : K extends { enum: readonly (infer E)[] } ? E : never;

/** The resolved settings the agent runs with. */
export type Settings = { -readonly [D in (typeof SETTINGS)[number] as D["key"]]: KindType<D["kind"]> };

export type SettingKey = keyof Settings;

/** Keys a userdata header (`# nixboot: key=value`) may override for one launch. */
export const DIRECTIVE_KEYS = {
  policy: "policy",
  mode: "mode",
  health: "healthChecks",
  "health-timeout": "healthTimeoutSeconds",
  "allow-degraded": "allowDegraded",
  "build-timeout": "buildTimeoutSeconds",
} as const satisfies Record<string, SettingKey>;
export type DirectiveKey = keyof typeof DIRECTIVE_KEYS;

export const DEFAULT_SETTINGS_FILE = "/etc/nixboot/settings.json";
