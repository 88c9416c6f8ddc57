# The agent as a Nix package, from the bundle `npm run build` writes (dist/nixboot.mjs): one
# JavaScript file with every dependency inlined, so nothing is fetched from npm at build time and
# the only runtime input is Node.js 24.
#
#   $out/lib/nixboot/nixboot.mjs   the bundle
#   $out/bin/nixboot               exec ${nodejs_24}/bin/node $out/lib/nixboot/nixboot.mjs "$@"
#
# Build it alone: nix-build -E 'with import <nixpkgs> { }; callPackage ./systemd/package.nix { }'
# (run `npm run build` first: the bundle is an input, not built here).
#
# Startup: Node's compile cache (NODE_COMPILE_CACHE, Node >= 22.1) can be baked in. Its entries are
# keyed by the module's absolute path (fixed here: $out) and by the Node/V8 build, so it must be
# produced in this derivation with this nodejs_24: in installPhase, run
# `NODE_COMPILE_CACHE=$out/share/nixboot/compile-cache $out/bin/nixboot --version`, and add
# `--set NODE_COMPILE_CACHE $out/share/nixboot/compile-cache` to makeWrapper. Node treats the cache
# as a best-effort optimisation (a missing or read-only cache is not an error). Not done by
# default: the agent starts once per boot, and Nix evaluation dominates its run time.
{
  lib,
  stdenvNoCC,
  nodejs_24,
  makeBinaryWrapper,
  # The bundle; override to package another build of it.
  bundle ? ../dist/nixboot.mjs,
}:

stdenvNoCC.mkDerivation {
  pname = "nixboot";
  # One version, package.json's, for npm, the CLI (--version) and Nix.
  version = (lib.importJSON ../package.json).version;

  src = bundle;
  dontUnpack = true;
  dontConfigure = true;
  dontBuild = true;

  # A compiled wrapper: no shell between systemd and node, and argv passes through untouched.
  nativeBuildInputs = [ makeBinaryWrapper ];

  installPhase = ''
    runHook preInstall
    install -D -m 0444 "$src" "$out/lib/nixboot/nixboot.mjs"
    makeWrapper ${lib.getExe nodejs_24} "$out/bin/nixboot" \
      --add-flags "$out/lib/nixboot/nixboot.mjs"
    runHook postInstall
  '';

  doInstallCheck = true;
  installCheckPhase = ''
    runHook preInstallCheck
    "$out/bin/nixboot" --version | grep -q '^nixboot '
    runHook postInstallCheck
  '';

  meta = {
    description = "Boot agent that applies a NixOS configuration from EC2 userdata on trial, health-checks it, and reports to Auto Scaling";
    license = lib.licenses.mit;
    mainProgram = "nixboot";
    platforms = lib.platforms.linux;
  };
}
