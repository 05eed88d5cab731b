#!/usr/bin/env python3
"""Bursty UDP: a capture's datagrams replayed to `vigil run --input udp://` in bursts separated by silence, for
each binary in turn, ROUNDS rounds. Prints per run and as medians: CPU seconds (utime+stime from /proc/PID/stat,
read once the process has exited and before it is reaped), datagrams and flow records received, the kernel's
drops and the exporters' sequence gaps. The gaps are where idle loops cost CPU; the bursts, where a slow wake
would cost drops. Each run also writes alerts and rollups (temporary) and stops 3 s after the last burst.

    vigil generate flows --format v9 --records 2000000 --out /tmp/v9.pcap
    scripts/udp-bursts.py /tmp/v9.pcap 3 old/vigil new/vigil --bursts 10 --gap 1 --rate 40000

The capture must be Ethernet, IPv4 and UDP (what `vigil generate flows --out` writes). The sender is this
script, from one socket: about 80,000 datagrams/s flat out (--rate 0) on the 2-core VM.
"""
import argparse
import importlib
import json
import os
import socket
import statistics
import struct
import subprocess
import tempfile
import time

flow_compare = importlib.import_module("flow-compare")  # free_port, cpu_seconds


def datagrams(path: str) -> list:
    data = open(path, "rb").read()
    if struct.unpack("<I", data[:4])[0] not in (0xA1B2C3D4, 0xA1B23C4D) or struct.unpack("<I", data[20:24])[0] != 1:
        raise SystemExit(f"{path}: expected a little-endian pcap of Ethernet frames")
    offset, payloads = 24, []
    while offset + 16 <= len(data):
        length = struct.unpack("<I", data[offset + 8 : offset + 12])[0]
        frame = data[offset + 16 : offset + 16 + length]
        offset += 16 + length
        if frame[12:14] == b"\x08\x00" and frame[23] == 17:  # IPv4, UDP
            payloads.append(frame[14 + (frame[14] & 0x0F) * 4 + 8 :])
    if not payloads:
        raise SystemExit(f"{path}: no IPv4 UDP datagrams")
    return payloads


def replay(vigil: str, payloads: list, bursts: int, gap: float, rate: float) -> dict:
    port = flow_compare.free_port()
    with tempfile.TemporaryDirectory() as work:
        summary_path = os.path.join(work, "summary.json")
        engine = subprocess.Popen(
            [vigil, "run", "--input", f"udp://127.0.0.1:{port}", "--stop-after-idle", "3s",
             "--rollups", os.path.join(work, "rollups"), "--alerts", os.path.join(work, "alerts.jsonl"),
             "--summary-json", summary_path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        size = -(-len(payloads) // bursts)
        for start in range(0, len(payloads), size):
            began = time.perf_counter()
            for index, payload in enumerate(payloads[start : start + size]):
                sender.sendto(payload, ("127.0.0.1", port))
                if rate and index % 64 == 63:
                    time.sleep(max(0.0, began + (index + 1) / rate - time.perf_counter()))
            if start + size < len(payloads):
                time.sleep(gap)
        deadline = time.time() + 120
        while open(f"/proc/{engine.pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
            if time.time() > deadline:
                engine.kill()
                raise SystemExit(f"{vigil} did not stop")
            time.sleep(0.02)
        cpu = flow_compare.cpu_seconds(engine.pid)
        engine.wait()
        with open(summary_path) as summary_file:
            summary = json.load(summary_file)
    return {"cpu": cpu, "datagrams": summary["udp_datagrams"], "records": summary["flow_records"],
            "kernel_drops": summary["udp_kernel_drops"], "sequence_missing": summary["flow_sequence_missing"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("capture")
    parser.add_argument("rounds", type=int)
    parser.add_argument("vigil", nargs="+")
    parser.add_argument("--bursts", type=int, default=10)
    parser.add_argument("--gap", type=float, default=1.0, help="seconds of silence between bursts")
    parser.add_argument("--rate", type=float, default=0, help="datagrams per second within a burst (0: flat out)")
    arguments = parser.parse_args()
    payloads = datagrams(arguments.capture)
    print(f"{len(payloads)} datagrams in {arguments.bursts} bursts, {arguments.gap} s apart", flush=True)
    runs = {vigil: [] for vigil in arguments.vigil}
    for _ in range(arguments.rounds):
        for vigil in arguments.vigil:
            runs[vigil].append(replay(vigil, payloads, arguments.bursts, arguments.gap, arguments.rate))
            print(vigil, runs[vigil][-1], flush=True)
    for vigil, results in runs.items():
        medians = {key: statistics.median(run[key] for run in results) for key in results[0]}
        print(f"{vigil}: median CPU {medians['cpu']:.2f} s, datagrams {medians['datagrams']:.0f} of {len(payloads)}, "
              f"records {medians['records']:.0f}, kernel drops {medians['kernel_drops']:.0f}, "
              f"sequence gaps {medians['sequence_missing']:.0f}")


if __name__ == "__main__":
    main()
