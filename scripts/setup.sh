#!/usr/bin/env bash
# Installs what fhirbridge needs on Debian 12 (as root, or with sudo), skipping
# what is already there, then the npm packages the tests use.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build pkg-config git
          libboost1.81-dev libboost-json1.81-dev libboost-test1.81-dev
          libboost-program-options1.81-dev libbotan-2-dev libsqlite3-dev sqlite3 libssl-dev openssl
          libmimalloc-dev
          nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm may come from elsewhere (e.g. a newer Node already on PATH): keep it.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<<"${missing[*]}"
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

if [ "${FHIRBRIDGE_SKIP_NPM:-0}" != 1 ]; then
  (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
fi
