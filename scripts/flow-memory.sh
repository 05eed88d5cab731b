#!/usr/bin/env bash
# Peak RSS of flow ingest at the issue's two scales (docs/performance.md, "Flow ingest memory"):
# many exporters with many templates each, and many distinct 5-tuples in one window, with and without flow
# analytics; then past the caps (70,000 exporters, 32 one-record datagrams each: the 65,536-exporter and
# --max-series bounds, and what they refuse). Generates NetFlow v9 captures with `vigil generate flows` into a temporary directory under
# $TMPDIR (default /tmp; about 0.7 GB per 10M records, four captures at once), replays each with
# `vigil run --input pcap:FILE --rollups DIR --summary-json FILE` under /usr/bin/time -v, prints a table,
# and deletes the captures.
#
# Usage: scripts/flow-memory.sh [VIGIL] [RECORDS] [EXPORTERS]
#   VIGIL      the binary (default .build/release/vigil: swift build -c release --product vigil)
#   RECORDS    records per capture of the first four scenarios (default 10000000)
#   EXPORTERS  exporters of the many-exporter scenarios (default 10000)
set -euo pipefail

vigil=${1:-.build/release/vigil}
records=${2:-10000000}
exporters=${3:-10000}
[[ -x $vigil ]] || { echo "no binary at $vigil (swift build -c release --product vigil)" >&2; exit 64; }
[[ -x /usr/bin/time ]] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 69; }
work=$(mktemp -d "${TMPDIR:-/tmp}/flow-memory.XXXXXX")
trap 'rm -rf "$work"' EXIT

# name: the generator's options
scenarios=(
  "exporters-${exporters}-t3:--records $records --exporters $exporters"
  "exporters-${exporters}-t10:--records $records --exporters $exporters --templates-per-exporter 10"
  "keys-${records}-1-exporter:--records $records --exporters 1 --distinct-flows $records"
  "keys-${records}-4-exporters:--records $records --exporters 4 --distinct-flows $records"
  "past-caps-70000-exporters:--records 2240000 --exporters 70000 --records-per-datagram 1"
)

# series_refused: distinct series refused for --max-series; refused_datagrams: datagrams of exporters past
# the exporter limit (decode_errors exporter_limit); skipped: records left out of the analytics.
printf '%-28s %-9s %8s %8s %9s %14s %17s %9s %9s %8s %7s\n' scenario analytics rss_mib series exporters \
  series_refused refused_datagrams summaries skipped seconds log
for scenario in "${scenarios[@]}"; do
  name=${scenario%%:*}
  options=${scenario#*:}
  pcap=$work/$name.pcap
  # shellcheck disable=SC2086  # options are words
  "$vigil" generate flows --format v9 $options --out "$pcap" >"$work/$name.generate.json"
  for analytics in on off; do
    flag=()
    [[ $analytics == off ]] && flag=(--no-flow-analytics)
    rm -rf "$work/rollups"
    /usr/bin/time -v -o "$work/time.txt" "$vigil" run --input "pcap:$pcap" --rollups "$work/rollups" \
      --summary-json "$work/summary.json" "${flag[@]}" >/dev/null 2>"$work/$name.$analytics.log"
    rss_kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
    log_lines=$(wc -l <"$work/$name.$analytics.log")
    python3 - "$work/summary.json" "$name" "$analytics" "$rss_kib" "$log_lines" <<'EOF'
import json, sys
summary = json.load(open(sys.argv[1]))
rejects = summary["rejects"]
print("%-28s %-9s %8.0f %8d %9d %14d %17d %9d %9d %8.2f %7s" % (
    sys.argv[2], sys.argv[3], int(sys.argv[4]) / 1024, summary["series"], summary["flow_exporters"],
    rejects["series_over_cardinality_limit"], summary["decode_errors"].get("exporter_limit", 0),
    summary["flow_summaries"], rejects["flow_analytics_records_skipped"], summary["elapsed_seconds"],
    sys.argv[5]))
EOF
  done
  rm -f "$pcap"
done
