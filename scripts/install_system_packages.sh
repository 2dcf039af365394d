#!/usr/bin/env bash
# Install the Debian packages listed in scripts/system-packages.txt that are missing.
# Without apt-get or root it only says what is missing: the tests that need them then fail
# with a message naming the package.
set -euo pipefail
list="$(dirname "$0")/system-packages.txt"
missing=()
while read -r pkg; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < "$list"
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "missing Debian packages (install them by hand): ${missing[*]}" >&2
  exit 0
fi
sudo=""
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "missing Debian packages (run as root to install): ${missing[*]}" >&2
    exit 0
  fi
fi
echo "installing Debian packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
