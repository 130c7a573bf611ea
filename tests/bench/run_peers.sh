#!/usr/bin/env bash
# Runs phrgate and its npm peers on the same inputs, alternately, and prints each figure and
# the ratio phrgate/peer (median of the rounds), so a noisy machine does not fake a result.
# Peers (tests/bench/peers/package.json, installed into a scratch folder, never committed):
#   MLLP servers: @medplum/hl7 Hl7Server, simple-hl7 (both answer ACKs, store nothing);
#   parsers: @medplum/core Hl7Message.parse, hl7-standard;
#   C-CDA: @amida-tech/blue-button parseString, bluebutton.js (phrgate converts to FHIR).
# phrgate answers only after a durable SQLite commit (the peers write nothing), and its
# figure comes from the real daemon converting and storing at the same time.
# The ceiling of the load generator itself is measured against an ACK-only C++ server.
# Usage: tests/bench/run_peers.sh [ROUNDS] [SECONDS]   (needs node/npm and a built build/)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-3}"
secs="${2:-3}"
build="${PHRGATE_BUILD_DIR:-build}"
scratch="${PHRGATE_PEERS_DIR:-/tmp/phrgate-bench-peers}"
mkdir -p "$scratch"
cp tests/bench/peers/*.cjs tests/bench/peers/package.json "$scratch/"
(cd "$scratch" && npm install --no-audit --no-fund --silent >/dev/null 2>&1)
work=$(mktemp -d /tmp/phrgate-peers-run-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# --- servers ---------------------------------------------------------------
p_phrgate=$(free_port); p_http=$(free_port)
cat > "$work/phrgate.json" <<JSON
{"data_dir": "$work/data", "log": {"level": "warn"},
 "http": {"listen": "127.0.0.1", "port": $p_http, "tokens": [{"name": "bench", "role": "admin", "token": "bench-token-0123456789"}]},
 "sources": [{"name": "emr", "type": "hl7v2_mllp", "listen": "127.0.0.1", "port": $p_phrgate}],
 "sinks": [{"name": "phr", "type": "phr_store"}]}
JSON
"$build/phrgate" run --config "$work/phrgate.json" 2>"$work/phrgate.log" & pids+=($!)
p_medplum=$(free_port); node "$scratch/medplum_mllp_server.cjs" "$p_medplum" >/dev/null & pids+=($!)
p_simple=$(free_port); node "$scratch/simple_hl7_server.cjs" "$p_simple" >/dev/null & pids+=($!)
p_ack=$(free_port); "$build/phrgate-loadgen" ack-server --port "$p_ack" >/dev/null 2>&1 & pids+=($!)
for p in $p_phrgate $p_medplum $p_simple $p_ack; do wait_port "$p"; done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
figure() { grep "^$1=" | cut -d= -f2; }

# --- MLLP ingest, alternating rounds ----------------------------------------
for conns in 1 4 16; do
  for name in phrgate medplum_hl7 simple_hl7 ack_only_ceiling; do : > "$work/$name.$conns"; done
  for r in $(seq 1 "$rounds"); do
    for pair in phrgate:$p_phrgate medplum_hl7:$p_medplum simple_hl7:$p_simple ack_only_ceiling:$p_ack; do
      name=${pair%%:*}; port=${pair##*:}
      "$build/phrgate-loadgen" send --port "$port" --conns "$conns" --seconds "$secs" --tag x \
        | figure loadgen.x.msgs_per_s >> "$work/$name.$conns"
    done
  done
  ours=$(median < "$work/phrgate.$conns")
  echo "ingest.mllp.conns_$conns.phrgate.msgs_per_s=$ours"
  for name in medplum_hl7 simple_hl7 ack_only_ceiling; do
    theirs=$(median < "$work/$name.$conns")
    echo "ingest.mllp.conns_$conns.$name.msgs_per_s=$theirs"
    echo "ingest.mllp.conns_$conns.ratio_phrgate_over_$name=$(awk -v a="$ours" -v b="$theirs" 'BEGIN{printf "%.2f", (b>0? a/b : 0)}')"
  done
done

# --- parsing, same inputs ----------------------------------------------------
"$build/phrgate-loadgen" dump --count 256 --obx 10 > "$work/oru10.hl7"
ours=$( for r in $(seq 1 "$rounds"); do "$build/phrgate-bench" convert | figure parse.hl7v2.mb_per_s; done | median)
echo "parse.phrgate.mb_per_s=$ours"
for r in $(seq 1 "$rounds"); do node "$scratch/parse_peers.cjs" "$work/oru10.hl7" "$secs"; done > "$work/parse.txt"
for peer in medplum_core hl7_standard; do
  theirs=$(grep "^peer.$peer.parse.mb_per_s=" "$work/parse.txt" | cut -d= -f2 | median)
  echo "parse.$peer.mb_per_s=$theirs"
  echo "parse.ratio_phrgate_over_$peer=$(awk -v a="$ours" -v b="$theirs" 'BEGIN{printf "%.1f", (b>0? a/b : 0)}')"
done

# --- C-CDA, same documents -----------------------------------------------------
# phrgate converts each CCD to FHIR R4 resources (parse + every section); the peers parse it
# into their own JSON models. Same files for both (phrgate-loadgen dump-ccd).
"$build/phrgate-loadgen" dump-ccd --kb 50 > "$work/ccd50.xml"
"$build/phrgate-loadgen" dump-ccd --kb 150 > "$work/ccd150.xml"
for r in $(seq 1 "$rounds"); do "$build/phrgate-bench" ccda; done > "$work/ccda_ours.txt"
for r in $(seq 1 "$rounds"); do
  node "$scratch/ccda_peers.cjs" "$secs" 50kb="$work/ccd50.xml" 150kb="$work/ccd150.xml"
done > "$work/ccda_peers.txt"
for size in 50kb 150kb; do
  ours=$(grep "^convert.ccda_$size.docs_per_s=" "$work/ccda_ours.txt" | cut -d= -f2 | median)
  echo "ccda.$size.phrgate.docs_per_s=$ours"
  for peer in amida_blue_button bluebutton_js; do
    theirs=$(grep "^peer.$peer.ccda_$size.docs_per_s=" "$work/ccda_peers.txt" | cut -d= -f2 | median)
    echo "ccda.$size.$peer.docs_per_s=$theirs"
    echo "ccda.$size.ratio_phrgate_over_$peer=$(awk -v a="$ours" -v b="$theirs" 'BEGIN{printf "%.1f", (b>0? a/b : 0)}')"
  done
done
