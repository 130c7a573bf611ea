#!/usr/bin/env bash
# Browser test of the operator dashboard: starts the real phrgate daemon (temp data dir, a
# config with an admin and a reader token, one MLLP source), feeds one good and one bad HL7
# message with `phrgate send`, then drives Debian's chromium (headless, through
# playwright-core) over the page: sign in, see the source, the inbox depth and the failed
# row, click Replay, see the audit trail record it. Run by CTest (dashboard_browser).
# Exit: 0 pass, 1 fail, 77 skipped (no chromium, node, npm or npm registry), 2 usage.
# Usage: run_dashboard_test.sh PHRGATE_BINARY OUT_DIR   (env PHRGATE_DASHBOARD_NPM: npm scratch;
# PHRGATE_TEST_MAPPINGS_DIR: mapping tables other than the binary's default)
set -uo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 PHRGATE_BINARY OUT_DIR" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
phrgate="$1"
out="$2"
scratch="${PHRGATE_DASHBOARD_NPM:-/tmp/phrgate-dashboard-npm}"

skip() { echo "SKIPPED: $*"; exit 77; }
[[ -x "$phrgate" ]] || { echo "phrgate binary not found: $phrgate" >&2; exit 2; }
chromium_bin="$(command -v chromium || command -v chromium-browser || true)"
[[ -n "$chromium_bin" ]] || skip "chromium is not installed (apt-get install chromium)"
command -v node >/dev/null 2>&1 || skip "node is not installed"
command -v npm >/dev/null 2>&1 || skip "npm is not installed"

# --- playwright-core, pinned in package.json, in a scratch folder ---------------------------
install_driver() {
  mkdir -p "$scratch" || return 1
  if [[ -d "$scratch/node_modules/playwright-core" ]] && cmp -s "$here/package.json" "$scratch/package.json"; then
    return 0
  fi
  cp "$here/package.json" "$scratch/package.json" || return 1
  rm -f "$scratch/package-lock.json"
  (cd "$scratch" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error \
     >"$scratch/npm-install.log" 2>&1)
}
mkdir -p "$scratch" && exec 9>"$scratch/.install-lock" && flock 9
install_driver || skip "npm install of playwright-core failed (no registry?): see $scratch/npm-install.log"
flock -u 9

# --- a daemon on ephemeral ports ------------------------------------------------------------
rm -rf "$out" && mkdir -p "$out" || { echo "cannot create $out" >&2; exit 2; }
work="$(mktemp -d /tmp/phrgate-dashboard-XXXXXX)"
daemon_pid=""
cleanup() {
  if [[ -n "$daemon_pid" ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid"
    for _ in $(seq 1 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$daemon_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

admin_token="dashboard-admin-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
reader_token="dashboard-reader-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$admin_token" >"$work/admin.secret" && chmod 0600 "$work/admin.secret"
mappings_line=""
if [[ -n "${PHRGATE_TEST_MAPPINGS_DIR:-}" ]]; then mappings_line="\"mappings_dir\": \"$PHRGATE_TEST_MAPPINGS_DIR\","; fi
cat >"$work/phrgate.json" <<JSON
{
  $mappings_line
  "data_dir": "$work/data",
  "log": {"level": "info"},
  "http": {"listen": "127.0.0.1", "port": 0,
           "tokens": [{"name": "dash-admin", "role": "admin", "token_file": "$work/admin.secret"},
                      {"name": "dash-reader", "role": "reader", "token": "$reader_token"}]},
  "inbox": {"max_delay_us": 500},
  "pipeline": {"retry_delay_ms": 100},
  "sources": [{"name": "emr-lab", "type": "hl7v2_mllp", "listen": "127.0.0.1", "port": 0}],
  "sinks": [{"name": "phr", "type": "phr_store"}]
}
JSON
"$phrgate" check-config "$work/phrgate.json" || { echo "FAIL: check-config refused the test config" >&2; exit 1; }
"$phrgate" run --config "$work/phrgate.json" 2>"$out/daemon.log" &
daemon_pid=$!
ready=""
for _ in $(seq 1 200); do
  ready="$(grep -m1 '"event":"daemon.ready"' "$out/daemon.log" || true)"
  [[ -n "$ready" ]] && break
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.1
done
[[ -n "$ready" ]] || { echo "FAIL: the daemon did not become ready; see $out/daemon.log" >&2; tail -5 "$out/daemon.log" >&2; exit 1; }
http_port="$(sed -n 's/.*"http_port":"\([0-9]*\)".*/\1/p' <<<"$ready")"
mllp_port="$(sed -n 's/.*"sources":"emr-lab:\([0-9]*\)".*/\1/p' <<<"$ready")"
[[ -n "$http_port" && -n "$mllp_port" ]] || { echo "FAIL: ports not found in: $ready" >&2; exit 1; }

# --- one good and one bad message -----------------------------------------------------------
printf 'MSH|^~\\&|LAB|TEST_HOSP|PHRGATE|PHR|20261124101500-0500||ORU^R01^ORU_R01|DASH-GOOD-1|P|2.5.1\rPID|1||MRN-DASH-1^^^TEST_HOSP^MR||Tester^Pat||19700101|F\rOBR|1|P-1|F-1|2345-7^Glucose^LN|||20261124090000-0500\rOBX|1|NM|2345-7^Glucose^LN||101|mg/dL^mg/dL^UCUM|70-99|H|||F|||20261124090000-0500\r' >"$work/good.hl7"
# Refused at receipt (AE: an ORU whose order has no result), kept in the inbox as a dead letter.
printf 'MSH|^~\\&|LAB|TEST_HOSP|PHRGATE|PHR|20261124101600-0500||ORU^R01^ORU_R01|DASH-BAD-1|P|2.5.1\rPID|1||MRN-DASH-2^^^TEST_HOSP^MR||Tester^Bad||19700101|F\rOBR|1|P-2|F-2|2345-7^Glucose^LN|||20261124090000-0500\r' >"$work/bad.hl7"
"$phrgate" send --port "$mllp_port" "$work/good.hl7" "$work/bad.hl7" >"$out/send.log" 2>&1
echo "send: $(tr '\n' ' ' <"$out/send.log")"

# --- the browser ----------------------------------------------------------------------------
NODE_PATH="$scratch/node_modules" node "$here/dashboard_test.cjs" \
  --chromium "$chromium_bin" --base "http://127.0.0.1:$http_port" --token-file "$work/admin.secret" \
  --reader-token "$reader_token" --out "$out"
status=$?

# --- the exported AuditEvents against FHIR R4 (@medplum/core, FHIR.js), when the conformance
# validators are installed (tests/conformance installs them; this test does not) -------------
validators="${PHRGATE_CONFORMANCE_NPM:-/tmp/phrgate-conformance-npm}"
if [[ $status -eq 0 && -f "$out/audit-export.ndjson" && -d "$validators/node_modules/@medplum/core" ]]; then
  node "$here/../../conformance/hl7v2/validate_bundles.cjs" --modules "$validators" \
    <"$out/audit-export.ndjson" >"$out/audit-validation.ndjson" 2>"$out/audit-validation.err"
  # validate_bundles.cjs checks the Bundle with its resources stripped (made for transaction
  # Bundles, whose entries keep a request): bdl-5 then fires on every collection entry.
  if node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").trim());
              const errors = r.errors.filter((e) => !(e.resource === "Bundle" && e.entry === -1 && /bdl-5/.test(e.message)));
              if (errors.length || !r.resources) { console.log(JSON.stringify(errors, null, 1)); process.exit(1); }
              console.log("ok   the audit export validates as FHIR R4 (" + r.resources + " AuditEvents)");' \
       "$out/audit-validation.ndjson"; then :; else
    echo "FAIL the audit export is not valid FHIR R4 (see $out/audit-validation.ndjson)"; status=1
  fi
else
  echo "note: FHIR validation of the audit export skipped (no validators in $validators)"
fi
if [[ $status -ne 0 ]]; then
  echo "daemon log tail:" >&2
  tail -15 "$out/daemon.log" >&2
fi
exit $status
