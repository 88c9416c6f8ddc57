# NixOS module for the nixboot agent: services.nixboot.
#
#   imports = [ <nixboot/systemd/module.nix> ];   # or a path to this file
#   services.nixboot.enable = true;
#
# It writes /etc/nixboot/settings.json (the agent's settings file, rendered from the options
# below, which carry the agent's own keys: the agent rejects unknown keys), declares
# nixboot.service (the same unit as systemd/nixboot.service, whose comments explain the ordering
# and the hardening choices), puts `nixboot` on PATH, and turns NixOS's amazon-init off.
#
# Kept to the lib functions test/systemd/fixture/mini-lib.nix also implements, so the tests can
# evaluate this file with plain Nix and no nixpkgs.
{
  config,
  lib,
  pkgs,
  options,
  ...
}:

let
  inherit (lib) mkOption types;
  cfg = config.services.nixboot;

  seconds =
    type: default: description:
    mkOption {
      inherit type default;
      description = "${description} (seconds).";
    };

  # One option per agent setting, named by its settings-file key (agent/settings/definitions.ts),
  # with the agent's default. Two settings are not options, because the unit fixes them:
  # stateDir is StateDirectory=nixboot (/var/lib/nixboot, the agent's default) and currentSystem
  # is /run/current-system on every NixOS system.
  settingOptions = {
    imdsEndpoint = mkOption {
      type = types.str;
      default = "http://169.254.169.254";
      description = "IMDS base URL; `http://[fd00:ec2::254]` on IPv6-only subnets.";
    };
    imdsBudgetSeconds = seconds types.ints.positive 120 "How long one IMDS call keeps retrying while the network comes up";
    imdsTimeoutSeconds = seconds types.ints.positive 2 "Timeout of one IMDS request";
    logLevel = mkOption {
      type = types.enum [ "trace" "debug" "info" "warn" "error" "fatal" "silent" ];
      default = "info";
      description = "Log level of the agent's JSON log (in the journal: `journalctl -u nixboot`).";
    };
    nixosEntry = mkOption {
      type = types.str;
      default = "<nixpkgs/nixos>";
      description = "NixOS entry point, called as `import entry { configuration = FILE; }`; its `system` attribute is built. Search-path entries resolve against the unit's NIX_PATH (`nix.nixPath`).";
    };
    includePaths = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "Extra search-path entries (like `nix -I`) the restricted evaluation may read; NIX_PATH is always allowed.";
    };
    nixBinDir = mkOption {
      type = types.str;
      default = "";
      description = "Directory holding nix-instantiate, nix-store and nix-env; empty: the unit's PATH, which has `nix.package`.";
    };
    policy = mkOption {
      type = types.enum [ "baked" "substitute" "any" ];
      default = "baked";
      description = "What a switch may do: `baked` (nothing fetched), `substitute` (binary caches allowed), `any`.";
    };
    mode = mkOption {
      type = types.enum [ "switch" "boot" ];
      default = "switch";
      description = "`switch`: activate on trial, commit after the health checks; `boot`: only stage the configuration for the next boot.";
    };
    configPath = mkOption {
      type = types.str;
      default = "/etc/nixos/configuration.nix";
      description = "Where the applied configuration is written on commit.";
    };
    systemProfile = mkOption {
      type = types.str;
      default = "/nix/var/nix/profiles/system";
      description = "The system profile that gets the new generation.";
    };
    healthChecks = mkOption {
      type = types.listOf types.str;
      default = [ "systemd" ];
      description = "Health checks of a trial activation: `systemd`, `unit:NAME`, `http:URL`, `cmd:COMMAND`, or `none`.";
    };
    healthTimeoutSeconds = seconds types.ints.positive 300 "Time the health checks have to pass";
    allowDegraded = mkOption {
      type = types.bool;
      default = false;
      description = "Whether a `degraded` system manager state counts as healthy.";
    };
    evalTimeoutSeconds = seconds types.ints.positive 600 "Timeout of the Nix evaluation";
    buildTimeoutSeconds = seconds types.ints.positive 3600 "Timeout of the build";
    activationTimeoutSeconds = seconds types.ints.positive 600 "Timeout of one switch-to-configuration call";
    lockWaitSeconds = seconds types.ints.unsigned 10 "How long a second run waits for the lock";
    allowScripts = mkOption {
      type = types.bool;
      default = false;
      description = "Whether to run `#!` userdata scripts, as amazon-init always did.";
    };
    scriptTimeoutSeconds = seconds types.ints.positive 1800 "Timeout of a userdata script";
    hookName = mkOption {
      type = types.str;
      default = "";
      description = "Lifecycle hook to complete; empty: the group's EC2_INSTANCE_LAUNCHING hook.";
    };
    report = mkOption {
      type = types.bool;
      default = true;
      description = "Whether to report the outcome to the Auto Scaling lifecycle hook.";
    };
  };

  # The settings file: exactly the keys above, with their configured values.
  settings = builtins.listToAttrs (
    map (key: {
      name = key;
      value = cfg.${key};
    }) (builtins.attrNames settingOptions)
  );

  # Worst case of one run, from the configured budgets: two IMDS calls (identity and userdata,
  # each with its own retry budget), the lock, then a userdata script or evaluation, build, trial
  # activation, health checks and the commit or rollback activation. systemd's timeout comes at
  # least 10 minutes later, so the agent's own timeouts fire first and it can roll back and
  # report; never below 2 h, the plain unit's value (which these defaults give).
  worstCaseSeconds =
    2 * cfg.imdsBudgetSeconds
    + cfg.lockWaitSeconds
    + lib.max cfg.scriptTimeoutSeconds (
      cfg.evalTimeoutSeconds + cfg.buildTimeoutSeconds + 2 * cfg.activationTimeoutSeconds + cfg.healthTimeoutSeconds
    );
  startTimeoutSeconds = lib.max 7200 (worstCaseSeconds + 600);
in
{
  options.services.nixboot = settingOptions // {
    enable = lib.mkEnableOption "nixboot, which applies the NixOS configuration in EC2 userdata at boot (and turns amazon-init off)";

    package = mkOption {
      type = types.package;
      default = pkgs.callPackage ./package.nix { };
      defaultText = lib.literalExpression "pkgs.callPackage ./package.nix { }";
      description = "The nixboot package (systemd/package.nix, built from dist/nixboot.mjs).";
    };
  };

  config = lib.mkMerge [
    (lib.mkIf cfg.enable {
      environment.etc."nixboot/settings.json".text = builtins.toJSON settings;

      environment.systemPackages = [ cfg.package ];

      # The same unit as systemd/nixboot.service; test/systemd checks that they agree.
      systemd.services.nixboot = {
        description = "nixboot: apply the NixOS configuration from EC2 userdata and report to Auto Scaling";
        wantedBy = [ "multi-user.target" ];
        before = [ "multi-user.target" ];
        wants = [ "network-online.target" ];
        after = [
          "network-online.target"
          "nss-lookup.target"
        ];

        # The trial and the commit switch-to-configuration run inside this unit: it must never be
        # restarted or stopped by them (X-RestartIfChanged, X-StopIfChanged, X-StopOnRemoval).
        restartIfChanged = false;
        stopIfChanged = false;
        unitConfig.X-StopOnRemoval = false;

        # nix-instantiate, nix-store, nix-env (NixOS adds coreutils, grep, sed, systemd itself).
        path = [ config.nix.package ];
        environment = {
          HOME = "/root";
          # Node's on-disk compile cache: the bundle is compiled once, not at every boot.
          NODE_COMPILE_CACHE = "/var/cache/nixboot/node";
        }
        // lib.optionalAttrs (config.nix.nixPath != [ ]) {
          # Services do not get the login environment: `<nixpkgs/nixos>` resolves through this.
          NIX_PATH = builtins.concatStringsSep ":" config.nix.nixPath;
        };

        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          ExecStart = "${cfg.package}/bin/nixboot run";
          TimeoutStartSec = toString startTimeoutSeconds;
          TimeoutStopSec = "3min";
          KillMode = "mixed";
          OOMPolicy = "continue";
          Restart = "no";
          StateDirectory = "nixboot";
          StateDirectoryMode = "0700";
          CacheDirectory = "nixboot";
          UMask = "0022";
          StandardOutput = "journal";
          StandardError = "journal";
          SyslogIdentifier = "nixboot";
        };
      };
    })

    # nixpkgs' EC2 modules (virtualisation/amazon-image.nix imports amazon-init.nix) run
    # `nixos-rebuild switch` on the same userdata at every boot: two agents must never switch the
    # same boot. The option only exists where amazon-init.nix is imported, hence the check (it
    # reads option declarations only, so it cannot recurse into config).
    (lib.optionalAttrs (options ? virtualisation.amazon-init.enable) {
      virtualisation.amazon-init.enable = lib.mkIf cfg.enable false;
    })
  ];
}
