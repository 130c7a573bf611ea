#!/usr/bin/env bash
# Installs what phrgate needs to build and test on Debian 12 (run as root).
# Idempotent: packages already present are left alone; apt's index is refreshed only when
# a package is missing.
set -euo pipefail
packages=(
  cmake ninja-build g++ ccache pkg-config
  libboost-dev rapidjson-dev libxml2-dev libsqlite3-dev libssl-dev catch2
  sqlite3 curl ca-certificates python3
  chromium  # the dashboard's browser test (tests/e2e/dashboard, driven by npm's playwright-core)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: run as root to install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
