#!/usr/bin/env bash
# make demo: run Vigil on the SampleData recording (one simulated week of a 6-device fleet), then show the
# alerts it raised, how they score against the recording's ground truth, and the rollups it wrote.
# Usage: scripts/demo.sh [OUTPUT_DIR]   (default out/demo; needs a release build: make release)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/demo}
vigil=.build/release/vigil
if [[ ! -x "$vigil" ]]; then
  echo "demo: $vigil not found: build it first with 'make release' (swift build -c release --product vigil)" >&2
  exit 1
fi
rm -rf "$out" && mkdir -p "$out"

echo "== vigil run --input file:SampleData/fleet.vgl.zst --alerts $out/alerts.jsonl --rollups $out/rollups"
"$vigil" run --input file:SampleData/fleet.vgl.zst \
  --alerts "$out/alerts.jsonl" --rollups "$out/rollups" --summary-json "$out/summary.json"

echo
fired=$(grep -c '"status":"firing"' "$out/alerts.jsonl" || true)
resolved=$(grep -c '"status":"resolved"' "$out/alerts.jsonl" || true)
echo "== alerts: $fired fired, $resolved resolved; the first 12 by start time ($out/alerts.jsonl)"
grep '"status":"firing"' "$out/alerts.jsonl" | sed -E \
  's/.*"kind":"([^"]*)","severity":"([^"]*)","device":"([^"]*)","interface":"([^"]*)","metric":"([^"]*)".*"startsAt":"([^"]*)".*"explanation":"([^"]*)".*/\6  \3 \4 \5 (\1): \7/' |
  sed -E 's/  +/ /g; s/ \(/ (/' | sort | sed -n '1,12p'  # sed reads to the end: no SIGPIPE under pipefail

echo
echo "== vigil eval incidents --alerts $out/alerts.jsonl --truth SampleData/fleet.truth.json"
"$vigil" eval incidents --alerts "$out/alerts.jsonl" --truth SampleData/fleet.truth.json

echo
echo "== vigil rollups stats $out/rollups"
"$vigil" rollups stats "$out/rollups"

echo
echo "== vigil rollups cat: the traffic surge inc-001 on edge-06/et-0/0/0 (in_octets rate as Mb/s)"
"$vigil" rollups cat "$out/rollups" --series 'edge-06/et-0/0/0/in_octets' \
  --from 2026-11-03T06:54:00Z --to 2026-11-03T07:04:00Z --format csv |
  awk -F, 'NR == 1 { printf "%-22s %-28s %10s\n", "window_start", "series", "Mb/s"; next }
           { printf "%-22s %-28s %10.1f\n", $1, $2 "/" $3 "/" $4, $13 * 8 / 1e6 }'

echo
echo "== flows: vigil generate flows --format ipfix --records 300000 --rate 1000 --exporters 3 --sampling-rate 100 --out $out/flows.pcap"
"$vigil" generate flows --format ipfix --records 300000 --rate 1000 --exporters 3 --sampling-rate 100 \
  --out "$out/flows.pcap" > "$out/flows-sent.json"
echo
echo "== vigil inspect $out/flows.pcap"
"$vigil" inspect "$out/flows.pcap"
echo
echo "== vigil run --input pcap:$out/flows.pcap --rollups $out/flow-rollups"
"$vigil" run --input "pcap:$out/flows.pcap" --rollups "$out/flow-rollups" --summary-json "$out/flow-summary.json"
echo
echo "== flow_bytes of exporter 127.0.0.10/1, interface 1, in: Mb/s per 60 s window (sampling 1:100 applied)"
"$vigil" rollups cat "$out/flow-rollups" --series '127.0.0.10/1/1/flow_bytes*' --format jsonl |
  grep '"direction":"in"' | sed -E 's/.*"window_start":"([^"]*)".*"rate":([0-9.e+-]+|null).*/\1 \2/' |
  awk '$2 != "null" { printf "%-22s %10.1f Mb/s\n", $1, $2 * 8 / 1e6 }' | sed -n '1,6p'
echo
echo "== vigil flows top $out/flow-rollups --by dst -n 5 (the heaviest destinations, with distinct sources)"
"$vigil" flows top "$out/flow-rollups" --by dst -n 5
echo
echo "== vigil flows top $out/flow-rollups --by dstport -n 5 --exporter 127.0.0.11"
"$vigil" flows top "$out/flow-rollups" --by dstport -n 5 --exporter 127.0.0.11
