#!/usr/bin/env bash
# A boot "the amazon-init way", against the local IMDS emulator and the fixture's fake root:
# the ec2-metadata fetcher's IMDSv2 steps (token PUT, instance-id preflight, user-data to a file,
# as test/bench/amazon-init-fetch.sh), then amazon-init: a non-empty userdata becomes
# /etc/nixos/configuration.nix and `nixos-rebuild switch` runs (test/bench/amazon-init-switch.sh).
# No lifecycle hook is completed: amazon-init never does (the hook times out to its default).
#
# Usage: amazon-init-boot.sh ENDPOINT ENTRY ROOT [PROFILE]
# BENCH_MARKS=FILE appends "NAME START END" (epoch seconds): `fetch` for the IMDS part, then one
# line per command of the switch.
set -euo pipefail
export LC_ALL=C

endpoint=${1:?usage: amazon-init-boot.sh ENDPOINT ENTRY ROOT [PROFILE]}
entry=${2:?usage: amazon-init-boot.sh ENDPOINT ENTRY ROOT [PROFILE]}
root=${3:?usage: amazon-init-boot.sh ENDPOINT ENTRY ROOT [PROFILE]}
profile=${4:-$root/profiles/system}
here=$(dirname "${BASH_SOURCE[0]}")

fetch_start=$EPOCHREALTIME
curl_imds() {
  curl --silent --show-error --fail --connect-timeout 1 "$@"
}
out=$root/etc/ec2-metadata
mkdir -p "$out"
token=$(curl_imds -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 600" "$endpoint/latest/api/token")
curl_imds -H "X-aws-ec2-metadata-token: $token" -o "$out/instance-id" "$endpoint/latest/meta-data/instance-id"
curl_imds -H "X-aws-ec2-metadata-token: $token" -o "$out/user-data" "$endpoint/latest/user-data"
chmod 600 "$out/user-data"
if [[ -n ${BENCH_MARKS:-} ]]; then echo "fetch $fetch_start $EPOCHREALTIME" >> "$BENCH_MARKS"; fi

# amazon-init: apply the userdata when it holds something besides comments.
if [[ -s "$out/user-data" ]] && sed '/^\(#\|SSH_HOST_.*\)/d' < "$out/user-data" | grep -q '\S'; then
  bash "$here/amazon-init-switch.sh" "$entry" "$root" "$out/user-data" "$profile"
fi
