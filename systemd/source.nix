# The part of this repository a NixOS system needs at run time, as one store path: the NixOS
# module and package (systemd/), the agent bundle (dist/nixboot.mjs) and package.json (the
# version). Images put it on NIX_PATH as `nixboot`, so userdata can import
# <nixboot/systemd/image/agent.nix> and the agent's restricted evaluation may read it.
#
# The path is content-addressed (a filtered copy, named "nixboot-source"): evaluating this file
# from the repository, or on an instance from the store copy itself, gives the same store path,
# so a configuration evaluated at image build time and again from userdata on the instance agree.
#
# Plain builtins only, so the tests can evaluate `wanted` without nixpkgs.
let
  root = ../.;
  rootString = toString root;

  # Paths relative to the repository root, and what kind of entry they are.
  wanted =
    relative: type:
    relative == "package.json"
    || relative == "dist/nixboot.mjs"
    || (type == "directory" && relative == "dist")
    || relative == "systemd"
    || builtins.substring 0 8 relative == "systemd/";

  filter =
    path: type:
    let
      pathString = toString path;
      prefixLength = builtins.stringLength rootString + 1;
      relative = builtins.substring prefixLength (builtins.stringLength pathString - prefixLength) pathString;
    in
    wanted relative type;
in
{
  inherit wanted;
  source = builtins.path {
    name = "nixboot-source";
    path = root;
    inherit filter;
  };
}
