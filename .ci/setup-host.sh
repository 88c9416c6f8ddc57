#!/usr/bin/env bash
# Installs and configures the host tools nixboot's tests and demo drive for real:
# Debian's nix-bin (single-user, as root, no sandbox, no substituters) and systemd-analyze.
# Idempotent; prints exactly what to run instead when it is not root.
set -euo pipefail

need=()
command -v nix-instantiate >/dev/null 2>&1 || need+=(nix-bin)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v curl >/dev/null 2>&1 || need+=(curl)
[ -x /usr/bin/time ] || need+=(time)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "nixboot needs: ${need[*]}. Run: sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The tests use a local store with no binary caches: nothing is ever downloaded.
conf=/etc/nix/nix.conf
if [ "$(id -u)" -eq 0 ]; then
  mkdir -p /etc/nix /nix/var/nix/gcroots /nix/var/nix/profiles
  touch "$conf"
  grep -q '^sandbox *=' "$conf" || echo 'sandbox = false' >> "$conf"
  grep -q '^substituters *=' "$conf" || echo 'substituters =' >> "$conf"
fi
echo "host ready: $(nix-instantiate --version), $(systemd-analyze --version | head -1)"
