#!/usr/bin/env bash
# What NixOS does at fetch time before amazon-init looks at the userdata
# (nixos/modules/virtualisation/ec2-metadata-fetcher.nix): IMDSv2 token PUT,
# a GET of instance-id with the token (its "preflight"), then GET user-data
# written to a file. curl as the fetcher uses it (--fail, 1 s connect timeout),
# without its retry loops: the benchmark measures the happy path only.
#
# Usage: amazon-init-fetch.sh [ENDPOINT] [OUT_DIR]
#   ENDPOINT  IMDS base URL (default http://169.254.169.254)
#   OUT_DIR   where user-data and instance-id are written (default: a temp dir, removed)
set -euo pipefail

endpoint=${1:-http://169.254.169.254}
out=${2:-}
if [[ -z "$out" ]]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi

curl_imds() {
  curl --silent --show-error --fail --connect-timeout 1 "$@"
}

token=$(curl_imds -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 600" "$endpoint/latest/api/token")
curl_imds -H "X-aws-ec2-metadata-token: $token" -o "$out/instance-id" "$endpoint/latest/meta-data/instance-id"
curl_imds -H "X-aws-ec2-metadata-token: $token" -o "$out/user-data" "$endpoint/latest/user-data"
chmod 600 "$out/user-data"
