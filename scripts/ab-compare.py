#!/usr/bin/env python3
"""Compare vigil binaries on one stream, on a noisy machine: runs them in turn, N rounds, and prints each
one's median and best samples/s and median CPU seconds. Alternating rounds share the machine's slow and
fast minutes, so the medians compare where single runs would not.

    vigil bench --save-stream /tmp/bench.vgl       # the bench's stream, replayable
    scripts/ab-compare.py /tmp/bench.vgl 8 old/vigil new/vigil -- --shards 2

Arguments after `--` go to every `vigil run`. Exits non-zero when a run fails.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile


def main() -> int:
    if len(sys.argv) < 4 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 2
    stream, rounds, rest = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    extra = []
    if "--" in rest:
        split = rest.index("--")
        rest, extra = rest[:split], rest[split + 1 :]
    binaries = rest
    results = {binary: [] for binary in binaries}
    with tempfile.TemporaryDirectory() as directory:
        summary_path = os.path.join(directory, "summary.json")
        for _ in range(rounds):
            for binary in binaries:
                with open(stream, "rb") as standard_input:
                    run = subprocess.run(
                        [binary, "run", "--input", "-", "--summary-json", summary_path, *extra],
                        stdin=standard_input,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE,
                    )
                if run.returncode != 0:
                    sys.stderr.write(f"{binary} failed ({run.returncode}): {run.stderr.decode()[-2000:]}\n")
                    return 1
                with open(summary_path) as file:
                    summary = json.load(file)
                results[binary].append((summary["samples_per_second"], summary["cpu_seconds"]))
    for binary, runs in results.items():
        rates = [rate for rate, _ in runs]
        cpu = [seconds for _, seconds in runs]
        print(
            f"{binary}: median {statistics.median(rates) / 1e6:.2f}M samples/s, best {max(rates) / 1e6:.2f}M, "
            f"median CPU {statistics.median(cpu):.2f} s, runs {[round(rate / 1e6, 1) for rate in rates]}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
