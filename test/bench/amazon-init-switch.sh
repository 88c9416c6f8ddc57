#!/usr/bin/env bash
# The switch "the amazon-init way", on the fixture's fake root: what amazon-init does with a
# userdata configuration (copy it to /etc/nixos/configuration.nix, then `nixos-rebuild switch`),
# with nixos-rebuild's switch reduced to the commands it runs for a local, non-flake switch
# (nixos/modules/installer/tools/nixos-rebuild.sh):
#
#   pathToConfig="$(nix-build '<nixpkgs/nixos>' --no-out-link -A system)"
#   nix-env -p "$profile" --set "$pathToConfig"
#   "$pathToConfig/bin/switch-to-configuration" switch
#
# The fixture's entry point has no <nixos-config> default, so the configuration is passed with
# --arg; `--option substituters ""` as nixboot's `baked` policy (no binary cache, no network).
#
# NIXOS_REBUILD_FULL=1 adds what nixos-rebuild as shipped also runs before that, each one more
# evaluation of the configuration's modules (the fixture has neither attribute, so each is modelled
# as a module evaluation plus the realisation of a package already in the store):
#   re-exec:    nix-build --no-out-link --expr 'with import <nixpkgs/nixos> {}; config.system.build.nixos-rebuild'
#   build Nix:  nix-instantiate '<nixpkgs/nixos>' -A config.nix.package.out; nix-store -r DRV
# (skipped with --fast / --no-build-nix; nix-instantiate --find-file is not modelled).
#
# Usage: amazon-init-switch.sh ENTRY ROOT CONFIG_FILE [PROFILE]
#   ENTRY        the NixOS entry point (test/fixture/nixos)
#   ROOT         the fake root (NIXBOOT_FIXTURE_ROOT); the configuration goes to ROOT/etc/nixos
#   CONFIG_FILE  the userdata configuration to apply
#   PROFILE      system profile (default ROOT/profiles/system)
# BENCH_MARKS=FILE appends "NAME START END" (epoch seconds) per command, for the benchmark.
set -euo pipefail
export LC_ALL=C

entry=${1:?usage: amazon-init-switch.sh ENTRY ROOT CONFIG_FILE [PROFILE]}
root=${2:?usage: amazon-init-switch.sh ENTRY ROOT CONFIG_FILE [PROFILE]}
source=${3:?usage: amazon-init-switch.sh ENTRY ROOT CONFIG_FILE [PROFILE]}
profile=${4:-$root/profiles/system}
export NIXBOOT_FIXTURE_ROOT=$root
offline=(--option substituters "")

timed() { # NAME COMMAND...: runs the command, recording its wall time
  local name=$1 start=$EPOCHREALTIME
  shift
  "$@"
  if [[ -n ${BENCH_MARKS:-} ]]; then echo "$name $start $EPOCHREALTIME" >> "$BENCH_MARKS"; fi
}

# amazon-init: "setting configuration from EC2 user data"
config=$root/etc/nixos/configuration.nix
mkdir -p "$(dirname "$config")"
cp "$source" "$config"

if [[ -n ${NIXOS_REBUILD_FULL:-} ]]; then
  tmp=$(mktemp -d -t nixos-rebuild.XXXXXX)
  trap 'rm -rf "$tmp"' EXIT
  expr="with import $entry { configuration = $config; }; builtins.seq config.networking.hostName pkgs.base"
  timed nix-build nix-build --no-out-link --expr "$expr" "${offline[@]}" > /dev/null
  nixDrv=$(timed nix-instantiate nix-instantiate --add-root "$tmp/nix.drv" --indirect --expr "$expr")
  timed nix-store nix-store -r "$nixDrv" --add-root "$tmp/nix" --indirect "${offline[@]}" > /dev/null
fi

pathToConfig=$(timed nix-build nix-build "$entry" --no-out-link -A system --arg configuration "$config" "${offline[@]}")
mkdir -p "$(dirname "$profile")"
timed nix-env nix-env -p "$profile" --set "$pathToConfig"
timed switch-to-configuration "$pathToConfig/bin/switch-to-configuration" switch
