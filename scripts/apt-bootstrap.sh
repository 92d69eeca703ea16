#!/usr/bin/env bash
# Install the Debian packages the project needs, only those missing; needs root (else it only warns).
# Also installs the newest linux-headers-<version>-common (the architecture headers corpus) if none is.
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
need_headers=0
compgen -G "/usr/src/linux-headers-*-common" >/dev/null || need_headers=1
[ ${#missing[@]} -eq 0 ] && [ $need_headers -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "warning: missing Debian packages (run as root to install): ${missing[*]} $([ $need_headers -eq 1 ] && echo linux-headers-*-common)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ $need_headers -eq 1 ]; then
  missing+=("$(apt-cache search --names-only '^linux-headers-[0-9.]+-[0-9]+-common$' | awk '{print $1}' | sort -V | tail -n 1)")
fi
echo "installing Debian packages: ${missing[*]}"
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
