#!/usr/bin/env bash
# make demo: run Vigil on the SampleData recording, then show the alerts it raised, how they score
# against the recording's ground truth, and the rollups it wrote.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/demo}
vigil=.build/release/vigil
rm -rf "$out" && mkdir -p "$out"

echo "== vigil run on SampleData/fleet.vgl.zst"
"$vigil" run --input file:SampleData/fleet.vgl.zst \
  --alerts "$out/alerts.jsonl" --rollups "$out/rollups" --summary-json "$out/summary.json"

echo
echo "== alerts ($out/alerts.jsonl): first 15 that fired"
grep '"status":"firing"' "$out/alerts.jsonl" | head -n 15 | sed -E \
  's/.*"kind":"([^"]*)","severity":"([^"]*)","device":"([^"]*)","interface":"([^"]*)","metric":"([^"]*)".*"startsAt":"([^"]*)".*"explanation":"([^"]*)".*/\6  \2 \1  \3 \4 \5: \7/'
echo "   ($(grep -c '"status":"firing"' "$out/alerts.jsonl") fired, $(grep -c '"status":"resolved"' "$out/alerts.jsonl") resolved)"

echo
echo "== vigil eval incidents (alerts against SampleData/fleet.truth.json)"
"$vigil" eval incidents --alerts "$out/alerts.jsonl" --truth SampleData/fleet.truth.json

echo
echo "== vigil rollups stats $out/rollups"
"$vigil" rollups stats "$out/rollups"

echo
echo "== vigil rollups cat (one series, first rows)"
"$vigil" rollups cat "$out/rollups" --series 'edge-01/et-0/0/0/in_octets' --format csv | head -n 6
