#!/usr/bin/env bash
# Conformance of `phrgate convert` over the HL7 v2 corpus: converts every file under
# CORPUS_DIR/hl7v2, validates every resource of every Bundle with @medplum/core and FHIR.js
# (validate_bundles.cjs), classifies each message (valid / rejected / FAILING), compares with
# FHIR-Converter's expected outputs (conformance_report.py). Run by CTest (hl7v2_conformance).
# Exit: 0 all converted output valid, 1 some FAILING, 77 skipped (no corpus, node, npm or
# registry), 2 usage. Never writes into the corpus or the source tree.
# Usage: run_conformance.sh PHRGATE_BINARY CORPUS_DIR [OUT_DIR]   (env PHRGATE_CORPUS overrides
# CORPUS_DIR; PHRGATE_CONFORMANCE_NPM names the npm scratch folder)
set -uo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
  echo "usage: $0 PHRGATE_BINARY CORPUS_DIR [OUT_DIR]" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
phrgate="$1"
corpus="${PHRGATE_CORPUS:-$2}"
out="${3:-}"
scratch="${PHRGATE_CONFORMANCE_NPM:-/tmp/phrgate-conformance-npm}"

skip() { echo "SKIPPED: $*"; exit 77; }

[[ -d "$corpus/hl7v2" ]] || skip "corpus not found at $corpus/hl7v2"
[[ -x "$phrgate" ]] || { echo "phrgate binary not found: $phrgate" >&2; exit 2; }
command -v node >/dev/null 2>&1 || skip "node is not installed"
command -v npm >/dev/null 2>&1 || skip "npm is not installed"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

# --- validators: pinned versions from tests/conformance/package.json, in a scratch folder ----
source "$here/../install_validators.sh"

if [[ -z "$out" ]]; then out="$(mktemp -d /tmp/phrgate-conformance-XXXXXX)"; fi
rm -rf "$out/convert" && mkdir -p "$out/convert" || { echo "cannot create $out" >&2; exit 2; }

# --- convert every file, one phrgate run per file (its own stdout and stderr) ---------------
n=0
: >"$out/convert/files.tsv"
while IFS= read -r -d '' file; do
  n=$((n + 1))
  id=$(printf '%04d' "$n")
  timeout 120 "$phrgate" convert "$file" >"$out/convert/$id.ndjson" 2>"$out/convert/$id.err"
  printf '%s\t%s\t%s\n' "$id" "$?" "$file" >>"$out/convert/files.tsv"
# FHIR-Converter's expected outputs (*.json) sit beside the inputs: they are compared with, not
# converted (phrgate convert would take them in as FHIR input).
done < <(find "$corpus/hl7v2" -type f ! -name '*.json' -print0 | LC_ALL=C sort -z)

# --- validate every Bundle (one node process for all of them, in file order) ----------------
cut -f1 "$out/convert/files.tsv" | while read -r id; do cat "$out/convert/$id.ndjson"; done \
  >"$out/bundles.ndjson"
if ! node "$here/validate_bundles.cjs" --modules "$scratch" \
    <"$out/bundles.ndjson" >"$out/validation.ndjson" 2>"$out/validation.err"; then
  echo "validate_bundles.cjs failed:" >&2
  head -20 "$out/validation.err" >&2
  exit 1
fi

# --- classify, compare with FHIR-Converter, print the summary -------------------------------
exec python3 "$here/conformance_report.py" "$corpus" "$out"
