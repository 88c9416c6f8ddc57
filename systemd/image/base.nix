# The base configuration of the baked image: EC2 support from nixpkgs plus the nixboot agent.
# Instances run it until their userdata is applied, and userdata builds on it:
#
#   { imports = [ <nixboot/systemd/image/base.nix> ]; services.nginx.enable = true; }
#
# image.nix pre-realises this configuration's closure (and, by default, its build-time inputs),
# so userdata that stays close to it builds offline, under the agent's default policy "baked".
# Replace it with your own base (image.nix --arg baseConfiguration ./my-base.nix); keep
# ./agent.nix imported.
{ lib, modulesPath, ... }:

{
  imports = [
    (modulesPath + "/virtualisation/amazon-image.nix")
    ./agent.nix
  ];

  # amazon-image.nix enables amazon-init; ../module.nix turns it off because nixboot is enabled.

  system.stateVersion = lib.mkDefault "25.05";
}
