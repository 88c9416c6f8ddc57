# The nixboot part of the baked image's configuration. The image imports it (through base.nix),
# and so must every userdata configuration, or the next boot has no agent:
#
#   { imports = [ <nixboot/systemd/image/base.nix> ]; services.nginx.enable = true; }
#
# Evaluated twice, at image build time and by the agent on the instance, it must give the same
# store paths, so that userdata which changes nothing builds nothing: both search-path entries
# below are content-addressed store paths, equal in both evaluations.
{ lib, pkgs, ... }:

let
  # nixpkgs as one store path. On the instance <nixpkgs> already is that store path (the entry
  # below): take it as it is, no copy (`"${path}"` would copy it again under a new name). At image
  # build time nixpkgs may be a checkout: copy it without VCS files, named "nixpkgs".
  nixpkgsSource =
    if lib.isStorePath pkgs.path then
      builtins.storePath (toString pkgs.path)
    else
      builtins.path {
        name = "nixpkgs";
        path = pkgs.path;
        filter = lib.cleanSourceFilter;
      };
in
{
  imports = [ ../module.nix ];

  services.nixboot.enable = true;

  # The unit's NIX_PATH (and root's): <nixpkgs/nixos>, the agent's default entry point, is the
  # nixpkgs this image was built from, and <nixboot/...> is this repository's systemd/ directory.
  # Both are in the system closure, so they are baked; restricted evaluation may read them.
  nix.nixPath = [
    "nixpkgs=${nixpkgsSource}"
    "nixboot=${(import ../source.nix).source}"
  ];
}
