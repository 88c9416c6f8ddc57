# The VM test's machine: the image's agent configuration (../image/agent.nix, the part of
# ../image/base.nix that is not EC2 hardware) on a QEMU VM, in one of three variants.
#
# The test node imports it (variant "base"), and so does every userdata the fake IMDS serves:
#
#   { imports = [ <nixboot/systemd/tests/vm-common.nix> ]; nixbootTest.variant = "good"; }
#
# The agent evaluates that userdata inside the VM, offline. vm-test.nix evaluates the same modules
# on the host and puts the resulting systems in the VM's store; the two evaluations give the same
# store paths as long as this file never depends on the test framework's own modules. So it
# restates, identically, what the framework gives the node: the QEMU and test-instrumentation
# modules, the network (node "machine" is 192.168.1.2: nodes are numbered in name order, "imds"
# is 1), and pinned version strings (nixpkgs' git revision is not visible inside the VM).
{
  config,
  lib,
  pkgs,
  modulesPath,
  ...
}:

let
  qemu-common = import (modulesPath + "/../lib/qemu-common.nix") { inherit lib pkgs; };
  variant = config.nixbootTest.variant;
in
{
  imports = [
    ../image/agent.nix
    (modulesPath + "/virtualisation/qemu-vm.nix")
    (modulesPath + "/testing/test-instrumentation.nix")
    # As on EC2 (amazon-image.nix imports it): the nixboot module must turn it off.
    (modulesPath + "/virtualisation/amazon-init.nix")
  ];

  options.nixbootTest.variant = lib.mkOption {
    type = lib.types.enum [
      "base"
      "good"
      "broken"
    ];
    default = "base";
    description = "base: the image; good: adds a service; broken: adds a service that fails, so the health check fails.";
  };

  config = lib.mkMerge [
    {
      services.nixboot = {
        # No Auto Scaling group in a VM test.
        report = false;
        healthTimeoutSeconds = 120;
      };

      # Reboots go through GRUB, so a committed generation is what boots next.
      virtualisation.useBootLoader = true;
      virtualisation.memorySize = 3072;
      system.switch.enable = true;
      documentation.enable = false;
      documentation.nixos.enable = false;
      system.nixos = {
        revision = lib.mkOverride 40 "nixboot-test";
        versionSuffix = lib.mkOverride 40 "";
        label = lib.mkOverride 40 "nixboot-test";
      };

      networking.hostName = "machine";
      networking.interfaces.eth1.ipv4.addresses = lib.mkForce [
        {
          address = "192.168.1.2";
          prefixLength = 24;
        }
      ];
      # The fake IMDS answers on the test network.
      networking.interfaces.eth1.ipv4.routes = [
        {
          address = "169.254.169.254";
          prefixLength = 32;
        }
      ];
      networking.extraHosts = lib.mkForce ''
        192.168.1.1 imds
        192.168.1.2 machine
      '';
      boot.initrd.services.udev.rules = ''
        SUBSYSTEM=="net",ACTION=="add",ATTR{address}=="${qemu-common.qemuNicMac 1 2}",NAME="eth1"
      '';

      environment.etc."nixboot-test/variant".text = variant;
    }

    (lib.mkIf (variant != "base") {
      # New in the candidate and wanted by multi-user.target: the trial activation must start it.
      systemd.services.nixboot-test-app = {
        wantedBy = [ "multi-user.target" ];
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          ExecStart = "${pkgs.coreutils}/bin/true";
        };
      };
    })

    (lib.mkIf (variant == "broken") {
      systemd.services.nixboot-test-broken = {
        wantedBy = [ "multi-user.target" ];
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          ExecStart = "${pkgs.coreutils}/bin/false";
        };
      };
    })
  ];
}
