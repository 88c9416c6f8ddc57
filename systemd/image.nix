# The baked EC2 image: a NixOS disk image (nixpkgs' Amazon image format, a VHD by default) whose
# system is the base configuration with the nixboot agent, and whose store also holds what
# userdata close to that base needs to build offline.
#
# Build it on a Linux machine with Nix (KVM makes the disk-image step fast; without KVM it is slow):
#
#   npm ci && npm run build                        # dist/nixboot.mjs, an input of the package
#   nix-build systemd/image.nix -A amazonImage \
#     -I nixpkgs=https://github.com/NixOS/nixpkgs/archive/nixos-25.05.tar.gz
#   ls result/                                     # nixos-amazon-image-*.vhd, nix-support/image-info.json
#
# then import the VHD as an AMI (infra/, or nixpkgs' nixos/maintainers/scripts/ec2/create-amis.sh);
# nix-support/image-info.json carries the register-image parameters (boot mode, architecture).
#
# nixpkgs version: written against nixpkgs 25.05 and later, whose
# nixos/maintainers/scripts/ec2/amazon-image.nix defines system.build.amazonImage, amazonImage.format
# and takes the size from virtualisation.diskSize. (25.05 also offers the same builder as
# system.build.images.amazon / `nixos-rebuild build-image --image-variant amazon`; this file imports
# the module directly so it can add the offline build inputs to the image alone.) Evaluate it with
# nix-build, not in pure (flake) evaluation: agent.nix uses builtins.storePath.
{
  nixpkgs ? <nixpkgs>,
  system ? "x86_64-linux",
  # The base configuration instances run before their userdata is applied, and that userdata
  # imports; it must import ./image/agent.nix (./image/base.nix does).
  baseConfiguration ? ./image/base.nix,
  # Also bake the base's build-time closure (every derivation input down to the bootstrap tools:
  # GBs), so userdata that changes a few options rebuilds the changed derivations offline.
  # false: only the base's runtime closure; any change then needs a binary cache (policy substitute).
  bakeBuildInputs ? true,
}:

let
  # The base exactly as the agent evaluates userdata that imports it and changes nothing:
  # `import <nixpkgs/nixos> { configuration = FILE; }`, then its `system`.
  base = import (nixpkgs + "/nixos") {
    configuration = baseConfiguration;
    inherit system;
  };

  image = import (nixpkgs + "/nixos/lib/eval-config.nix") {
    inherit system;
    modules = [
      baseConfiguration
      (nixpkgs + "/nixos/maintainers/scripts/ec2/amazon-image.nix")
      (
        { lib, pkgs, ... }:
        {
          # Pre-realised in the image's store, registered and kept alive by generation 1 (the
          # image's own system), not by the generations userdata creates later:
          # - the base system itself (the image's system differs from it only by this list and
          #   the image builder's settings, so userdata that imports the base and changes nothing
          #   rebuilds only the top-level derivation, from inputs that are here);
          # - with bakeBuildInputs, the outputs of every derivation in the base's build closure,
          #   as nixpkgs' system.includeBuildDependencies collects them (closureInfo over the
          #   .drv, whose string context pulls in all outputs), but for the base only.
          system.extraDependencies = [
            base.system
          ]
          ++ lib.optional bakeBuildInputs (pkgs.closureInfo { rootPaths = [ base.system.drvPath ]; });

          # Sized from the closure (the build inputs are large); the root partition grows to the
          # EBS volume on first boot (amazon-image.nix: autoResize, growPartition).
          virtualisation.diskSize = "auto";
        }
      )
    ];
  };
in
{
  # The disk image: result/*.vhd (amazonImage.format, default "vpc").
  amazonImage = image.config.system.build.amazonImage;
  # The image's own system (generation 1 on every instance).
  toplevel = image.config.system.build.toplevel;
  # The base as userdata evaluates it, to check offline builds: nix-build systemd/image.nix -A base
  base = base.system;
}
