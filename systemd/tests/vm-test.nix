# NixOS VM test: the image's agent configuration boots in QEMU next to a fake IMDS, applies the
# userdata at boot (trial, health, commit), does nothing more on the next boot, and rolls back a
# candidate whose health check fails.
#
# Run it on Linux with KVM and Nix (nixpkgs 25.05 or later):
#
#   npm ci && npm run build
#   nix-build systemd/tests/vm-test.nix -I nixpkgs=https://github.com/NixOS/nixpkgs/archive/nixos-25.05.tar.gz
#   # interactively:
#   nix-build systemd/tests/vm-test.nix -A driverInteractive -I nixpkgs=... && ./result/bin/nixos-test-driver
#
# Nodes: `imds` answers IMDSv2 on 169.254.169.254 on the test network (fake-imds.py); `machine`
# imports vm-common.nix and routes 169.254.169.254 there, so the agent runs with its default
# imdsEndpoint. The userdata files import vm-common.nix too; the systems they evaluate to are built
# here, on the host, and put in the VM's store (as image.nix bakes its base), so the agent
# evaluates them in the VM and finds nothing to build.
{
  nixpkgs ? <nixpkgs>,
  system ? builtins.currentSystem,
  pkgs ? import nixpkgs {
    inherit system;
    config = { };
    overlays = [ ];
  },
}:

let
  # What `nixboot run` evaluates for a userdata that selects `variant`: the same entry point
  # (`import <nixpkgs/nixos> { configuration = ...; }`), the same modules.
  systemFor =
    variant:
    (import (pkgs.path + "/nixos") {
      inherit system;
      configuration = {
        imports = [ ./vm-common.nix ];
        nixbootTest.variant = variant;
      };
    }).system;

  userdataFor =
    variant:
    pkgs.writeText "userdata-${variant}.nix" ''
      # Userdata of the VM test, variant ${variant}
      { imports = [ <nixboot/systemd/tests/vm-common.nix> ]; nixbootTest.variant = "${variant}"; }
    '';

  good = systemFor "good";
  broken = systemFor "broken";
in
pkgs.testers.runNixOSTest {
  name = "nixboot";

  nodes.imds =
    { lib, pkgs, ... }:
    {
      # The link-local IMDS address, next to the test network address the framework assigns.
      networking.interfaces.eth1.ipv4.addresses = lib.mkAfter [
        {
          address = "169.254.169.254";
          prefixLength = 32;
        }
      ];
      networking.firewall.allowedTCPPorts = [ 80 ];
      systemd.services.fake-imds = {
        wantedBy = [ "multi-user.target" ];
        after = [ "network.target" ];
        serviceConfig = {
          ExecStart = "${pkgs.python3.interpreter} ${./fake-imds.py} --port 80 --data /var/lib/fake-imds";
          StateDirectory = "fake-imds";
        };
      };
    };

  nodes.machine = {
    imports = [ ./vm-common.nix ];
    virtualisation.additionalPaths = [
      good
      broken
    ];
  };

  testScript = ''
    import json

    good = "${good}"
    broken = "${broken}"

    def status():
        return json.loads(machine.succeed("cat /var/lib/nixboot/status.json"))

    def system_generations():
        links = machine.succeed("ls -1 /nix/var/nix/profiles").split()
        return len([link for link in links if link.startswith("system-")])

    def resolved(path):
        return machine.succeed(f"readlink -f {path}").strip()

    imds.start()
    imds.wait_for_unit("fake-imds.service")
    imds.wait_for_open_port(80)
    imds.succeed("install -D -m 0644 ${userdataFor "good"} /var/lib/fake-imds/user-data")

    machine.start()

    with subtest("applies the userdata at boot: trial, health, commit"):
        machine.wait_for_unit("nixboot.service")
        machine.wait_for_unit("multi-user.target")
        assert resolved("/run/current-system") == good, "the candidate is not running"
        assert resolved("/nix/var/nix/profiles/system") == good, "the candidate is not committed"
        assert machine.succeed("cat /etc/nixboot-test/variant").strip() == "good"
        # New in the candidate and wanted by multi-user.target, which was not reached yet.
        machine.succeed("systemctl is-active nixboot-test-app.service")
        run = status()
        assert run["phase"] == "done" and run["outcome"] == "applied", run
        imds.succeed("journalctl -u fake-imds.service | grep -q 'PUT /latest/api/token'")
        generations = system_generations()

    with subtest("the unit is systemd/nixboot.service's, and amazon-init is off"):
        shown: dict[str, str] = {}
        for line in machine.succeed(
            "systemctl show nixboot.service -p Type -p RemainAfterExit -p TimeoutStartUSec"
            " -p KillMode -p OOMPolicy -p Before -p WantedBy"
        ).splitlines():
            key, _, value = line.partition("=")
            shown[key] = value
        assert shown["Type"] == "oneshot", shown
        assert shown["RemainAfterExit"] == "yes", shown
        assert shown["TimeoutStartUSec"] == "2h", shown
        assert shown["KillMode"] == "mixed", shown
        assert shown["OOMPolicy"] == "continue", shown
        assert "multi-user.target" in shown["Before"].split(), shown
        assert "multi-user.target" in shown["WantedBy"].split(), shown
        machine.succeed("grep -qx 'X-RestartIfChanged=false' /etc/systemd/system/nixboot.service")
        machine.fail("systemctl cat amazon-init.service")
        settings = json.loads(machine.succeed("cat /etc/nixboot/settings.json"))
        assert settings["report"] is False and settings["policy"] == "baked", settings

    with subtest("is idempotent across a reboot"):
        machine.shutdown()
        machine.start()
        machine.wait_for_unit("nixboot.service")
        assert resolved("/run/booted-system") == good, "the committed system did not boot"
        assert resolved("/run/current-system") == good
        run = status()
        assert run["phase"] == "done" and run["outcome"] == "unchanged", run
        assert system_generations() == generations, "a second run made a generation"
        machine.succeed("systemctl is-active nixboot-test-app.service")

    with subtest("rolls back a candidate whose health check fails"):
        imds.succeed("install -m 0644 ${userdataFor "broken"} /var/lib/fake-imds/user-data")
        machine.fail("systemctl restart nixboot.service")
        assert resolved("/run/current-system") == good, "the previous system was not restored"
        assert resolved("/nix/var/nix/profiles/system") == good, "the failed candidate was committed"
        assert machine.succeed("cat /etc/nixboot-test/variant").strip() == "good"
        run = status()
        assert run["outcome"] == "rolled-back" and run["exitStatus"] == 33, run
        assert system_generations() == generations
        machine.succeed(f"grep -q {good} /boot/grub/grub.cfg")
        machine.fail(f"grep -q {broken} /boot/grub/grub.cfg")
  '';
}
