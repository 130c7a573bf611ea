#!/usr/bin/env bash
# Conformance of `phrgate convert` over the C-CDA corpus: converts every full document (root
# element ClinicalDocument) under CORPUS_DIR/ccda, validates every resource of every Bundle with
# @medplum/core and FHIR.js (../hl7v2/validate_bundles.cjs, shared), classifies each document
# (valid / rejected / FAILING) per corpus source, compares with FHIR-Converter's expected outputs
# and with the vendors' and HL7's conversions of ccda-on-fhir's document (ccda_report.py).
# Run by CTest (ccda_conformance). Exit: 0 all converted output valid, 1 some FAILING, 77 skipped
# (no corpus, node, npm, python3 or registry), 2 usage. Never writes into the corpus or the tree.
# Usage: run_conformance.sh PHRGATE_BINARY CORPUS_DIR [OUT_DIR]   (env PHRGATE_CORPUS overrides
# CORPUS_DIR; PHRGATE_CONFORMANCE_NPM names the npm scratch folder, shared with hl7v2's script)
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

[[ -d "$corpus/ccda" ]] || skip "corpus not found at $corpus/ccda"
[[ -x "$phrgate" ]] || { echo "phrgate binary not found: $phrgate" >&2; exit 2; }
command -v node >/dev/null 2>&1 || skip "node is not installed"
command -v npm >/dev/null 2>&1 || skip "npm is not installed"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

# --- validators: pinned in tests/conformance/package.json, in the shared scratch folder -----
source "$here/../install_validators.sh"

if [[ -z "$out" ]]; then out="$(mktemp -d /tmp/phrgate-ccda-conformance-XXXXXX)"; fi
rm -rf "$out/convert" && mkdir -p "$out/convert" || { echo "cannot create $out" >&2; exit 2; }

# --- convert every full document, one phrgate run each (its own stdout and stderr) ----------
# (documents whose root starts after phrgate convert's 512-byte sniff window are converted
# from a copy without the leading comments, made in $out/inputs: see ccda_report.py)
rm -rf "$out/inputs"
python3 "$here/ccda_report.py" --list-documents "$corpus" "$out/inputs" >"$out/to-convert.tsv" ||
  { echo "listing the corpus documents failed" >&2; exit 2; }
n=0
: >"$out/convert/files.tsv"
while IFS=$'\t' read -r file input; do
  n=$((n + 1))
  id=$(printf '%04d' "$n")
  timeout 120 "$phrgate" convert "$input" >"$out/convert/$id.ndjson" 2>"$out/convert/$id.err"
  printf '%s\t%s\t%s\t%s\n' "$id" "$?" "$file" "$input" >>"$out/convert/files.tsv"
done <"$out/to-convert.tsv"

# --- validate every Bundle (one node process for all of them, in document order) ------------
cut -f1 "$out/convert/files.tsv" | while read -r id; do cat "$out/convert/$id.ndjson"; done \
  >"$out/bundles.ndjson"
if ! node "$here/../hl7v2/validate_bundles.cjs" --modules "$scratch" \
    <"$out/bundles.ndjson" >"$out/validation.ndjson" 2>"$out/validation.err"; then
  echo "validate_bundles.cjs failed:" >&2
  head -20 "$out/validation.err" >&2
  exit 1
fi

# --- classify, compare with FHIR-Converter and ccda-on-fhir, print the summary --------------
exec python3 "$here/ccda_report.py" "$corpus" "$out"
