#!/usr/bin/env bash
# The README's first command: installs the dependencies, builds phrgate, starts the daemon
# on its embedded default (SQLite under ./demo-data), feeds it the sample HL7 v2 messages in
# deploy/samples/ over MLLP (and the C-CDA sample over HTTP), and prints where to look. The daemon keeps running in the
# foreground until Ctrl-C (SIGINT), which stops it gracefully.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
deploy/build.sh

export PHRGATE_DATA_DIR="${PHRGATE_DATA_DIR:-$PWD/demo-data}"
export PHRGATE_HTTP_PORT="${PHRGATE_HTTP_PORT:-8080}"
export PHRGATE_MLLP_PORT="${PHRGATE_MLLP_PORT:-2575}"
export PHRGATE_API_TOKEN="${PHRGATE_API_TOKEN:-demo-token-0123456789abcdef}"
export PHRGATE_MLLP_LISTEN="${PHRGATE_MLLP_LISTEN:-127.0.0.1}"

build/phrgate check-config deploy/phrgate.example.json
build/phrgate run --config deploy/phrgate.example.json &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon' INT TERM

for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PHRGATE_HTTP_PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
echo
echo "== feeding the sample messages in deploy/samples/ over MLLP =="
build/phrgate send --port "$PHRGATE_MLLP_PORT" deploy/samples/*.hl7
auth="Authorization: Bearer $PHRGATE_API_TOKEN"
base="http://127.0.0.1:$PHRGATE_HTTP_PORT"
echo "== posting a C-CDA document from a second provider to /ingest/ccda =="
curl -s -H "$auth" -H 'Content-Type: application/xml' --data-binary @deploy/samples/05-ccd-lakeside-clinic.xml \
  "$base/ingest/ccda"; echo
sleep 1
cat <<MSG

== phrgate is running (data in $PHRGATE_DATA_DIR) ==
Queues:       curl -s -H '$auth' $base/api/queues
Metrics:      curl -s $base/metrics
A patient:    curl -s -H '$auth' '$base/fhir/Patient?identifier=RG-100234'
Her records:  curl -s -H '$auth' '$base/fhir/Patient/<id from above>/\$everything'
              (both providers: the clinic's MRN LC-5501 finds the same Patient)
Dashboard:    $base/  (paste the token)
Messages:     curl -s -H '$auth' '$base/api/messages?limit=10'
Identity:     curl -s -H '$auth' $base/api/identity/review
Send more:    build/phrgate send --port $PHRGATE_MLLP_PORT FILE.hl7
Convert:      build/phrgate convert deploy/samples/02-oru-r01-cbc.hl7
Press Ctrl-C to stop the daemon.
MSG
echo
echo "Patient search result:"
curl -s -H "$auth" "$base/fhir/Patient?identifier=RG-100234" | head -c 600; echo " ..."
wait $daemon
