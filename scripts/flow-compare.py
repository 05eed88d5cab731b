#!/usr/bin/env python3
"""Vigil beside nfcapd (nfdump) on the same NetFlow/IPFIX stream over UDP on loopback: for each rate, the
same `vigil generate flows` run is sent to `vigil run --input udp://` and to `nfcapd`, in turn, and each
one's records received, loss and CPU seconds are printed. Needs nfdump (apt-get install nfdump) and a
release build (make release).

    scripts/flow-compare.py --format v9 --records 5000000 --rates 1600000,3200000
    scripts/flow-compare.py --format ipfix --records 3000000 --rates 800000,1600000 --vigil .build/release/vigil
    scripts/flow-compare.py --format v9 --records 10000000 --rates 3200000 --analytics --repeat 3

With --analytics Vigil runs with --rollups (windows and flow analytics on), as the issue's targets ask.
Vigil's CPU seconds are its run summary's (the whole process, idle waits included: its loops park, so
they cost next to nothing); nfcapd's are read from /proc before it is stopped.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def generate(vigil: str, fmt: str, records: int, rate: int, port: int) -> dict:
    out = subprocess.run(
        [vigil, "generate", "flows", "--format", fmt, "--records", str(records), "--rate", str(rate),
         "--to", f"udp://127.0.0.1:{port}"],
        check=True, capture_output=True, text=True, timeout=600)
    return json.loads(out.stdout)


def run_vigil(vigil: str, fmt: str, records: int, rate: int, analytics: bool) -> dict:
    port = free_port()
    with tempfile.TemporaryDirectory() as work:
        summary_path = os.path.join(work, "summary.json")
        command = [vigil, "run", "--input", f"udp://127.0.0.1:{port}", "--stop-after-idle", "3s",
                   "--summary-json", summary_path]
        if analytics:
            command += ["--rollups", os.path.join(work, "rollups")]
        engine = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1)
            sent = generate(vigil, fmt, records, rate, port)
            engine.wait(timeout=120)
        finally:
            if engine.poll() is None:
                engine.kill()
        with open(summary_path) as summary_file:
            summary = json.load(summary_file)
    return {"sent": sent["records"], "sent_rate": sent["records_per_second"], "received": summary["flow_records"],
            "kernel_drops": summary["udp_kernel_drops"], "cpu_seconds": summary["cpu_seconds"]}


def run_nfcapd(vigil: str, fmt: str, records: int, rate: int, analytics: bool) -> dict:
    port = free_port()
    work = tempfile.mkdtemp()
    try:
        peer = subprocess.Popen(["nfcapd", "-b", "127.0.0.1", "-p", str(port), "-w", work, "-B", str(32 << 20)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1)
            sent = generate(vigil, fmt, records, rate, port)
            time.sleep(2)
            cpu = cpu_seconds(peer.pid)
            peer.send_signal(signal.SIGTERM)
            peer.wait(timeout=30)
        finally:
            if peer.poll() is None:
                peer.kill()
        totals = subprocess.run(["nfdump", "-R", work, "-I"], capture_output=True, text=True, timeout=120).stdout
        flows = next((int(line.split(":")[1]) for line in totals.splitlines() if line.startswith("Flows:")), 0)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"sent": sent["records"], "sent_rate": sent["records_per_second"], "received": flows,
            "kernel_drops": None, "cpu_seconds": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--format", default="v9", choices=["v5", "v9", "ipfix"])
    parser.add_argument("--records", type=int, default=5_000_000)
    parser.add_argument("--rates", default="1600000,3200000", help="records/s, comma-separated; 0 = flat out")
    parser.add_argument("--vigil", default=".build/release/vigil")
    parser.add_argument("--analytics", action="store_true", help="run Vigil with --rollups (windows, flow analytics)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each peer per rate, alternated")
    arguments = parser.parse_args()
    if shutil.which("nfcapd") is None:
        raise SystemExit("nfcapd not found: apt-get install nfdump")
    print(f"{'peer':8} {'rate':>10} {'sent/s':>10} {'received':>10} {'loss %':>7} {'CPU s':>6} {'rec/CPU-s':>10}")
    for rate in [int(r) for r in arguments.rates.split(",")]:
        for _ in range(arguments.repeat):
            for name, run in (("vigil", run_vigil), ("nfcapd", run_nfcapd)):
                result = run(arguments.vigil, arguments.format, arguments.records, rate, arguments.analytics)
                loss = 100 * (1 - result["received"] / result["sent"])
                per_cpu = result["received"] / result["cpu_seconds"] if result["cpu_seconds"] else 0
                print(f"{name:8} {rate:>10} {result['sent_rate']:>10.0f} {result['received']:>10} {loss:>7.2f} "
                      f"{result['cpu_seconds']:>6.2f} {per_cpu / 1e6:>9.2f}M", flush=True)


if __name__ == "__main__":
    main()
