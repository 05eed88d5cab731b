import Foundation
import Testing
import VigilCore
import VigilWire

/// Help for every command, hostile input and unusable settings through `vigil run`, and `vigil bench --json`.
@Suite("vigil: help, bad input, bad settings, bench", .serialized)
struct CommandLineBasicsTests {
    @Test(
        "--help exits 0 and prints the usage line for every command and subcommand",
        arguments: [
            [], ["run"], ["rollups"], ["rollups", "cat"], ["rollups", "stats"], ["generate"], ["eval"],
            ["eval", "incidents"], ["bench"],
        ]
    )
    func help(command: [String]) throws {
        let result = try CLI.run(command + ["--help"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(
            result.standardOutput.contains("USAGE: " + (["vigil"] + command).joined(separator: " ")),
            "\(result.standardOutput)"
        )
        #expect(result.standardOutput.contains("OVERVIEW: "))
    }

    @Test("a damaged input file: the run exits 0, counts the decode errors, and aggregates what came before")
    func damagedInputFile() throws {
        let directory = try CLI.temporaryDirectory("damaged-input")
        defer { try? FileManager.default.removeItem(at: directory) }
        // 4 gauges × 160 rounds = 640 samples in 10 data frames of 64 (16 rounds, 160 s each).
        let good = makeStream(series: 4, rounds: 160)
        let frames = frameOffsets(good)
        #expect(frames.count == 11, "one schema frame, then 10 data frames")
        var damaged = good
        // Flip payload bytes in the 6th data frame (rounds 80...95, from 800 s), then tear the last frame.
        for offset in 0..<8 { damaged[frames[6] + NativeFormat.headerByteCount + 100 + offset] ^= 0x5A }
        damaged.removeSubrange((frames[10] + 40)...)
        let input = directory.appendingPathComponent("damaged.vgl").path
        try Data(damaged).write(to: URL(fileURLWithPath: input))
        let rollups = directory.appendingPathComponent("rollups").path
        let result = try CLI.run(["run", "--input", "file:" + input, "--rollups", rollups, "--summary-json", "-"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("byte"), "errors name their byte offset: \(result.standardError)")
        let summary = try CLI.json(result.standardOutput)
        #expect(summary["samples"] as? Int == 8 * 64, "every intact frame, and nothing from the two damaged ones")
        #expect(summary["samples_aggregated"] as? Int == 8 * 64)
        let errors = summary["decode_errors"] as? [String: Int] ?? [:]
        #expect(errors.values.reduce(0, +) == 2, "the corrupt frame and the torn tail: \(errors)")
        #expect((summary["rejects"] as? [String: Int])?["decode_errors"] == 2)

        // Windows before the damage (rounds 0...77: 13 minutes) are whole: 6 samples per series.
        let cat = try CLI.run([
            "rollups", "cat", rollups, "--to", "2026-11-02T00:13:00Z", "--format", "csv",
        ])
        #expect(cat.status == 0, "\(cat.standardError)")
        let rows = cat.standardOutput.split(separator: "\n").dropFirst().map {
            $0.split(separator: ",", omittingEmptySubsequences: false)
        }
        #expect(rows.count == 4 * 13)
        #expect(rows.allSatisfy { $0[4] == "6" }, "\(rows.filter { $0[4] != "6" })")
    }

    @Test("a file of garbage: exits 0 with no samples, and the skipped bytes are counted")
    func garbageFile() throws {
        let directory = try CLI.temporaryDirectory("garbage-input")
        defer { try? FileManager.default.removeItem(at: directory) }
        var random = SplitMix64(seed: 0xBAD_F00D)
        let input = directory.appendingPathComponent("garbage.vgl").path
        try Data((0..<100_000).map { _ in UInt8(truncatingIfNeeded: random.next()) }).write(
            to: URL(fileURLWithPath: input)
        )
        let result = try CLI.run(["run", "--input", "file:" + input, "--summary-json", "-"])
        #expect(result.status == 0, "\(result.standardError)")
        let summary = try CLI.json(result.standardOutput)
        #expect(summary["samples"] as? Int == 0)
        #expect(summary["bytes_read"] as? Int == 100_000)
        #expect(((summary["rejects"] as? [String: Int])?["bytes_skipped"] ?? 0) > 0)
    }

    @Test("a rollup directory under a regular file fails fast with the path and the reason, exit 2")
    func unwritableRollupDirectory() throws {
        let directory = try CLI.temporaryDirectory("unwritable")
        defer { try? FileManager.default.removeItem(at: directory) }
        let plainFile = directory.appendingPathComponent("plain").path
        try Data("not a directory".utf8).write(to: URL(fileURLWithPath: plainFile))
        let summary = directory.appendingPathComponent("summary.json").path
        // No standard input: the run must stop before reading any (and a pipe nobody reads would SIGPIPE us).
        let result = try CLI.run([
            "run", "--input", "-", "--rollups", plainFile + "/rollups", "--summary-json", summary,
        ])
        #expect(result.status == 2)
        #expect(result.standardError.contains(plainFile + "/rollups"), "\(result.standardError)")
        #expect(result.standardError.contains("Not a directory"), "\(result.standardError)")
        #expect(!result.standardError.contains("vigil run summary"), "no input is read: \(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: summary))

        let alerts = try CLI.run(["run", "--input", "-", "--alerts", plainFile + "/alerts.jsonl"])
        #expect(alerts.status == 2)
        #expect(alerts.standardError.contains(plainFile + "/alerts.jsonl"), "\(alerts.standardError)")
    }

    @Test("a window that does not divide a day is refused before any input is read, naming the reason")
    func windowNotDividingADay() throws {
        let stream = Data(makeStream(series: 2, rounds: 12))
        // These runs stop before reading standard input, so they get none: writing into a pipe nobody reads
        // would raise SIGPIPE in the test process. The default lateness shrinks to a short window, so the
        // detector's need is what refuses 7 s: a usage error (64) naming --window and the way out.
        for arguments in [["--window", "7s"], ["--window", "7s", "--lateness", "0s"], ["--window", "7m"]] {
            let result = try CLI.run(["run", "--input", "-"] + arguments)
            #expect(result.status == 64, "\(arguments)")
            #expect(result.standardError.contains("does not divide a day"), "\(result.standardError)")
            #expect(result.standardError.contains("--no-anomaly"), "\(result.standardError)")
            #expect(!result.standardError.contains("vigil run summary"), "\(result.standardError)")
        }
        // A lateness above the window is still refused, naming --lateness.
        let tooLate = try CLI.run(["run", "--input", "-", "--window", "10s", "--lateness", "20s"])
        #expect(tooLate.status == 64)
        #expect(tooLate.standardError.contains("--lateness must be between 0 and the window width"))
        // Without the detector, 7 s windows run.
        CLI.ignoreBrokenPipes()
        let withoutDetector = try CLI.run(
            ["run", "--input", "-", "--window", "7s", "--lateness", "0s", "--no-anomaly", "--summary-json", "-"],
            input: stream
        )
        #expect(withoutDetector.status == 0, "\(withoutDetector.standardError)")
        // 12 rounds at 10 s from a whole minute (a multiple of 7 s too): one sample per 7 s window at most.
        let summary = try CLI.json(withoutDetector.standardOutput)
        #expect(summary["samples_aggregated"] as? Int == 24)
        #expect(summary["windows"] as? Int == 24)
    }

    @Test("bench --json prints its throughput, ceiling, CPU, memory and series keys; --save-stream replays in run")
    func benchJSON() throws {
        let directory = try CLI.temporaryDirectory("bench-stream")
        let stream = directory.appendingPathComponent("bench.vgl").path
        let result = try CLI.run([
            "bench", "--series", "2000", "--samples", "200000", "--json", "--save-stream", stream,
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let object = try CLI.json(result.standardOutput)
        for key in ["samples_per_second", "raw_read_samples_per_second", "peak_rss_bytes", "series"] {
            let value = (object[key] as? NSNumber)?.doubleValue ?? 0
            #expect(value > 0, "\(key) = \(String(describing: object[key]))")
        }
        #expect(object["series"] as? Int == 2000)
        #expect(object["samples"] as? Int == 200_000)
        #expect(((object["pipe_cpu_seconds"] as? NSNumber)?.doubleValue ?? 0) > 0)
        // The saved stream is the measured one: the engine reads every sample of every series from it.
        let replay = try CLI.run(["run", "--input", "file:\(stream)", "--summary-json", "-"])
        #expect(replay.status == 0, "\(replay.standardError)")
        let summary = try CLI.json(replay.standardOutput)
        #expect(summary["samples_aggregated"] as? Int == 200_000)
        #expect(summary["series"] as? Int == 2000)
        let unwritable = try CLI.run([
            "bench", "--series", "10", "--samples", "100", "--save-stream", "/proc/no/such/dir/x",
        ])
        #expect(unwritable.status != 0)
        #expect(unwritable.standardError.contains("/proc/no/such/dir/x"))
        let toStandardOutput = try CLI.run(["bench", "--series", "10", "--samples", "100", "--save-stream", "-"])
        #expect(toStandardOutput.status != 0)
        #expect(toStandardOutput.standardError.contains("--save-stream needs a file path"))
    }
}
