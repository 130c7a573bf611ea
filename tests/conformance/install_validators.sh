# Sourced by the conformance scripts (hl7v2/, ccda/): installs the independent FHIR validators
# pinned in tests/conformance/package.json into the shared npm scratch folder `$scratch` (once
# per pin set, under a lock so parallel CTest runs do not race), or skips the test (exit 77)
# when npm or the registry is unavailable. Expects `$scratch` and a `skip` function.
conformance_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

install_validators() {
  mkdir -p "$scratch" || return 1
  if [[ -d "$scratch/node_modules/@medplum/core" && -d "$scratch/node_modules/fhir" ]] &&
     cmp -s "$conformance_dir/package.json" "$scratch/package.json"; then
    return 0  # already installed with the same pins
  fi
  cp "$conformance_dir/package.json" "$scratch/package.json" || return 1
  rm -f "$scratch/package-lock.json"
  (cd "$scratch" && npm install --no-audit --no-fund --loglevel=error >"$scratch/npm-install.log" 2>&1)
}

if command -v flock >/dev/null 2>&1; then
  mkdir -p "$scratch" && exec 9>"$scratch/.install-lock" && flock 9
fi
install_validators || skip "npm install of the validators failed (no registry?): see $scratch/npm-install.log"
if command -v flock >/dev/null 2>&1; then flock -u 9; fi
