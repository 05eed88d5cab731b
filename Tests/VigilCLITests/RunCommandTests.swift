import Foundation
import Testing
import VigilCore
import VigilWire

@Suite("vigil run, end to end through the command line", .serialized)
struct RunCommandTests {
    @Test("a stream on standard input is aggregated into windows and the summary counts every sample")
    func standardInput() throws {
        let stream = makeStream(series: 4, rounds: 30)
        let result = try CLI.run(
            ["run", "--input", "-", "--summary-json", "-", "--lateness", "0s"],
            input: Data(stream)
        )
        #expect(result.status == 0, "\(result.standardError)")
        let summary = try CLI.json(result.standardOutput)
        #expect(summary["samples"] as? Int == 120)
        #expect(summary["samples_aggregated"] as? Int == 120)
        #expect(summary["series"] as? Int == 4)
        // 30 rounds at 10 s from a whole minute: 5 windows per series, all closed by the shutdown flush.
        #expect(summary["windows"] as? Int == 20)
        #expect(result.standardError.contains("vigil run summary"))
    }

    @Test("garbage, a corrupted frame and a truncated tail are counted with offsets; intact frames all count")
    func corruptionResynchronises() throws {
        let good = makeStream(series: 2, rounds: 64)  // schema + 2 data frames of 64 samples
        var damaged: [UInt8] = Array(good)
        // Garbage between frames, then a flipped payload byte in the last data frame, then a torn frame.
        let frames = frameOffsets(good)
        #expect(frames.count == 3)
        damaged.insert(contentsOf: Array(repeating: 0xAB, count: 100), at: frames[1])
        let lastFrame = frames[2] + 100
        damaged[lastFrame + NativeFormat.headerByteCount + 40] ^= 0xFF
        damaged.append(contentsOf: good[frames[1]..<(frames[1] + 50)])
        let result = try CLI.run(["run", "--input", "-", "--summary-json", "-"], input: Data(damaged))
        #expect(result.status == 0, "\(result.standardError)")
        let summary = try CLI.json(result.standardOutput)
        #expect(summary["samples"] as? Int == 64)
        let errors = summary["decode_errors"] as? [String: Int] ?? [:]
        #expect(errors.values.reduce(0, +) == 3, "\(errors)")
        #expect(result.standardError.contains("byte"), "errors name their byte offset: \(result.standardError)")
    }

    @Test("NaN, infinities, undeclared series and timestamps far ahead are rejected and counted by reason")
    func hostileSamples() throws {
        let encoder = NativeEncoder(samplesPerDataFrame: 64)
        var out: [UInt8] = []
        try encoder.appendSchemaFrames(
            [schemaEntry(wireID: 0, device: "d", interface: "i", metric: "m", unit: "x")],
            to: &out
        )
        let base: Int64 = 1_793_577_600_000_000_000
        // Three samples in a row set the stream's clock; one 4.6 days ahead of it, that nothing after it
        // confirms, is an outlier.
        encoder.appendDataFrames(
            timestamps: [base, base + 1, base + 2, base + 3, base + 4, base + 5, base + 400_000_000_000_000, 5],
            wireIDs: [0, 0, 0, 0, 0, 7, 0, 0],
            values: [1, 1, 1, .nan, .infinity, 1, 1, 1],
            to: &out
        )
        let result = try CLI.run(["run", "--input", "-", "--summary-json", "-"], input: Data(out))
        #expect(result.status == 0, "\(result.standardError)")
        let summary = try CLI.json(result.standardOutput)
        let rejects = summary["rejects"] as? [String: Int] ?? [:]
        #expect(rejects["non_finite_value"] == 2)
        #expect(rejects["unknown_series"] == 1)
        #expect(rejects["clock_outliers"] == 1)
        #expect(rejects["timestamp_out_of_range"] == 1)
        #expect(summary["samples_aggregated"] as? Int == 3)
    }

    /// Two gauges with a failure threshold: device a on wire id 0 (series 0, shard 0 of 2), b on 1 (shard 1).
    static let temperaturesOfDevicesAB = ["a", "b"].enumerated().map { index, device in
        SchemaEntry(
            wireID: UInt32(index),
            descriptor: SeriesDescriptor(
                key: SeriesKey(device: device, interface: "i", metric: "temperature_celsius"),
                kind: .gauge,
                unit: "celsius"
            )
        )
    }

    @Test("a sample waiting in a producer's partly filled batch is judged by its arrival's watermark")
    func waitingSampleIsNotLate() throws {
        let encoder = NativeEncoder(samplesPerDataFrame: 4096)
        var out: [UInt8] = []
        try encoder.appendSchemaFrames(Self.temperaturesOfDevicesAB, to: &out)
        // Series b (shard 1 of 2) once, then series a (shard 0) every 25 ms for ten minutes, all in one
        // read: shard 0's full batches carry the engine's watermark ten minutes on while b's batch waits in
        // the producer, and shard 1, idle meanwhile, must not close windows past that waiting batch's stamp.
        let start: Int64 = 1_793_577_600_000_000_000
        let count = 24_576
        let timestamps = [start] + (0..<count).map { start + Int64($0) * 25_000_000 }
        let wireIDs = [UInt32(1)] + [UInt32](repeating: 0, count: count)
        let values = [40.0] + (0..<count).map { 40 + Double($0 % 7) }
        encoder.appendDataFrames(timestamps: timestamps, wireIDs: wireIDs, values: values, to: &out)
        let file = try CLI.temporaryDirectory("waiting-sample").appendingPathComponent("stream.vgl")
        try Data(out).write(to: file)
        let result = try CLI.run(["run", "--input", "file:\(file.path)", "--shards", "2", "--summary-json", "-"])
        #expect(result.status == 0, "\(result.standardError)")
        let summary = try CLI.json(result.standardOutput)
        #expect(summary["late_samples"] as? Int == 0)
        #expect(summary["samples_aggregated"] as? Int == count + 1)
        #expect(summary["windows"] as? Int == 11 + 1)  // a: [0, 60) ... [600, 660); b: one
    }

    /// Writes devices a and b's temperatures (`samples`: time, wire id, value) to a file and runs it with each
    /// shard count (no anomaly detector); returns each run's late count and alert log.
    func runTemperatures(
        _ samples: [(Int64, UInt32, Double)],
        name: String,
        shards: [String]
    ) throws -> [(late: Int?, alerts: String)] {
        let encoder = NativeEncoder(samplesPerDataFrame: 8192)
        var out: [UInt8] = []
        try encoder.appendSchemaFrames(Self.temperaturesOfDevicesAB, to: &out)
        encoder.appendDataFrames(
            timestamps: samples.map(\.0),
            wireIDs: samples.map(\.1),
            values: samples.map(\.2),
            to: &out
        )
        let directory = try CLI.temporaryDirectory(name)
        let file = directory.appendingPathComponent("stream.vgl")
        try Data(out).write(to: file)
        return try shards.map { shards in
            let alerts = directory.appendingPathComponent("alerts-\(shards).jsonl").path
            let result = try CLI.run([
                "run", "--input", "file:\(file.path)", "--shards", shards, "--no-anomaly", "--alerts", alerts,
                "--summary-json", "-",
            ])
            #expect(result.status == 0, "\(result.standardError)")
            let late = try CLI.json(result.standardOutput)["late_samples"] as? Int
            return (late, try String(contentsOfFile: alerts, encoding: .utf8))
        }
    }

    @Test("a sample's late verdict depends on the input's order only, not on --shards (how batches are cut)")
    func lateVerdictIndependentOfShards() throws {
        // a: wire 0, series 0, shard 0 of 2; b: wire 1, series 1, shard 1 of 2. b at 0 s and 65 s; a every
        // 25 ms for 250 s; then b at 70 s, which arrives when the watermark is at 240 s: late, with any
        // shard count. (When batches decided, it was late in one shard's batch and on time in two shards',
        // where its window's mean crossed the threshold and raised an alert.)
        let start: Int64 = 1_793_577_600_000_000_000
        let second: Int64 = 1_000_000_000
        let samples =
            [(start, UInt32(1), 100.0), (start + 65 * second, 1, 40)]
            + (0..<10_000).map { (start + Int64($0) * 25_000_000, UInt32(0), 40.0) }
            + [(start + 70 * second, 1, 1000)]
        let runs = try runTemperatures(samples, name: "late-verdict", shards: ["1", "2", "3"])
        #expect(runs.map(\.late) == [1, 1, 1])
        #expect(Set(runs.map(\.alerts)).count == 1, "\(runs.map(\.alerts))")
    }

    /// (Found by a reviewer.) a (shard 0 of 2) every 10 ms from 50 s to 145 s; b (shard 1 of 2) at 100 s, in order; then b at 70 s,
    /// when the watermark at its arrival is 135 s: its window [60, 120) ends before that, so it is late.
    /// By batch stamps alone it is late with one shard (its batch, the second of 8192, is stamped at ~122 s) and
    /// on time with two (b's batch is stamped at 90 s, less than a window behind, so it is not sent early).
    @Test("a sample late at its arrival is late with 1 and 2 shards, where batch stamps would say otherwise")
    func lateWhereEarlySendDoesNotHelp() throws {
        let start: Int64 = 1_793_577_600_000_000_000
        let second: Int64 = 1_000_000_000
        var samples: [(Int64, UInt32, Double)] = []
        for index in 0..<9_500 {
            let time = start + 50 * second + Int64(index) * 10_000_000
            if time == start + 100 * second { samples.append((time, 1, 40)) }
            samples.append((time, 0, 40))
        }
        samples.append((start + 70 * second, 1, 1000))
        let runs = try runTemperatures(samples, name: "late-verdict-2", shards: ["1", "2"])
        #expect(runs.map(\.late) == [1, 1])
    }

    @Test("SIGTERM while input is still open drains: open windows close and the summary prints")
    func sigtermDrains() throws {
        let (status, summary, _) = try runOnOpenStandardInput(makeStream(series: 3, rounds: 12), [], signal: SIGTERM)
        #expect(status == 0)
        #expect(summary["samples"] as? Int == 36)
        #expect(summary["windows"] as? Int == 6)
        #expect(summary["stopped_by_signal"] as? Bool == true)
    }

    /// A zstd frame holding `payload` in raw (stored) blocks, left open: no last block. This is what a
    /// streaming compressor in a pipe (`collector | zstd | vigil run -i -`) has sent at any moment before
    /// its input ends.
    static func openZstdFrame(_ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]  // magic
        out += [0x00, 0x50]  // no content size, not single segment; window 1 MiB
        var offset = 0
        while offset < payload.count {
            let size = min(64 << 10, payload.count - offset)
            let header = UInt32(size) << 3  // raw block (type 0), not the last one
            out += [UInt8(header & 0xFF), UInt8((header >> 8) & 0xFF), UInt8((header >> 16) & 0xFF)]
            out += payload[offset..<(offset + size)]
            offset += size
        }
        return out
    }

    /// Starts `vigil run --input - --summary-json - extra…` with pipes for its standard streams.
    func startOnOpenStandardInput(_ extra: [String]) throws -> (Process, input: Pipe, output: Pipe, errors: Pipe) {
        CLI.ignoreBrokenPipes()
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = ["run", "--input", "-", "--summary-json", "-"] + extra
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        return (process, input, output, errors)
    }

    /// Runs `vigil run --input - --summary-json - extra…` with `bytes` on a standard input that stays open,
    /// stops it with `signal` after a pause (or lets `--stop-after-idle` in `extra` stop it), and returns the
    /// exit status, the JSON summary and standard error.
    func runOnOpenStandardInput(
        _ bytes: [UInt8],
        _ extra: [String],
        signal: Int32?
    ) throws -> (Int32, [String: Any], String) {
        let (process, input, output, errors) = try startOnOpenStandardInput(extra)
        defer { try? input.fileHandleForWriting.close() }
        try input.fileHandleForWriting.write(contentsOf: Data(bytes))
        if let signal {
            usleep(700_000)
            kill(process.processIdentifier, signal)
        }
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let stderrText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let summary = try CLI.json(String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        return (process.terminationStatus, summary, stderrText)
    }

    @Test("SIGTERM while a zstd-compressed standard input is still open (mid-frame) drains and exits 0")
    func sigtermDrainsCompressedStandardInput() throws {
        let (status, summary, stderrText) = try runOnOpenStandardInput(
            Self.openZstdFrame(makeStream(series: 3, rounds: 12)),
            [],
            signal: SIGTERM
        )
        // Everything sent was decompressed and aggregated: the stop, not the input, ended the run.
        #expect(summary["samples"] as? Int == 36)
        #expect(summary["windows"] as? Int == 6)
        #expect(summary["stopped_by_signal"] as? Bool == true)
        #expect(summary["unreadable_inputs"] as? Int == 0, "\(stderrText)")
        #expect(status == 0, "\(stderrText)")
    }

    @Test("--stop-after-idle on an open zstd-compressed standard input exits 0")
    func idleStopCompressedStandardInput() throws {
        let (status, summary, stderrText) = try runOnOpenStandardInput(
            Self.openZstdFrame(makeStream(series: 3, rounds: 12)),
            ["--stop-after-idle", "1s"],
            signal: nil
        )
        #expect(summary["samples"] as? Int == 36)
        #expect(summary["unreadable_inputs"] as? Int == 0, "\(stderrText)")
        #expect(status == 0, "\(stderrText)")
        #expect(summary["stopped_by_signal"] as? Bool == false, "the idle timer is not a signal")
    }

    @Test("bad flags and unwritable destinations fail with a message that says what to fix")
    func clearErrors() throws {
        let noInput = try CLI.run(["run"])
        #expect(noInput.status != 0)
        #expect(noInput.standardError.contains("--input"))
        let badWindow = try CLI.run(["run", "--input", "-", "--window", "soon"])
        #expect(badWindow.status != 0)
        #expect(badWindow.standardError.contains("--window"))
        let tooManyShards = try CLI.run(["run", "--input", "-", "--shards", "255"], input: Data())
        #expect(tooManyShards.status == 64)
        #expect(tooManyShards.standardError.contains("--shards"))
        let badInput = try CLI.run(["run", "--input", "udp:9"])
        #expect(badInput.status != 0)
        #expect(badInput.standardError.contains("tcp://"))
        let unwritable = try CLI.run(
            ["run", "--input", "-", "--rollups", "/proc/vigil-cannot-write-here"],
            input: Data()
        )
        #expect(unwritable.status == 2)
        #expect(unwritable.standardError.contains("/proc/vigil-cannot-write-here"))
        let missingFile = try CLI.run(["run", "--input", "file:/nonexistent/x.vgl", "--summary-json", "-"])
        #expect(missingFile.status == 1)
        #expect(missingFile.standardError.contains("/nonexistent/x.vgl"))
        #expect((try CLI.json(missingFile.standardOutput)["rejects"] as? [String: Int])?["source_errors"] == 1)
    }

    @Test("a missing input file fails the run (exit 1) after the other inputs are read and summarised")
    func missingInputAmongOthers() throws {
        let directory = try CLI.temporaryDirectory("missing-input")
        let good = directory.appendingPathComponent("good.vgl")
        try Data(makeStream(series: 4, rounds: 30)).write(to: good)
        let result = try CLI.run([
            "run", "--input", "file:\(good.path)", "--input", "file:\(directory.path)/typo.vgl",
            "--summary-json", "-",
        ])
        #expect(result.status == 1, "\(result.standardError)")
        #expect(result.standardError.contains("typo.vgl"))
        #expect(result.standardError.contains("1 input(s) could not be read"))
        let summary = try CLI.json(result.standardOutput)
        #expect(summary["samples"] as? Int == 120)
        #expect(summary["windows"] as? Int == 20)
        #expect(summary["unreadable_inputs"] as? Int == 1)
    }

    @Test("rollup rows accepted but not written (directory removed mid-run) fail the run: exit 1, counted")
    func droppedRollupRowsFailTheRun() throws {
        let directory = try CLI.temporaryDirectory("rollups-dropped")
        let rollups = directory.appendingPathComponent("rollups").path
        let (process, input, output, errors) = try startOnOpenStandardInput(["--rollups", rollups])
        // vigil checks (and creates) the directory at start; it is gone before the only segment is written.
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: rollups) && Date() < deadline { usleep(20_000) }
        try FileManager.default.removeItem(atPath: rollups)
        try input.fileHandleForWriting.write(contentsOf: Data(makeStream(series: 2, rounds: 30)))
        try input.fileHandleForWriting.close()
        let standardError = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let summary = try CLI.json(String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        process.waitUntilExit()
        #expect(process.terminationStatus == 1, "\(standardError)")
        #expect(standardError.contains("10 rollup row(s) could not be written"), "\(standardError)")
        #expect((summary["rejects"] as? [String: Int])?["rollup_rows_dropped"] == 10)
        #expect(summary["windows"] as? Int == 10)
    }
}

/// Byte offsets of each frame in a stream this test made (frames are back to back).
func frameOffsets(_ bytes: [UInt8]) -> [Int] {
    var offsets: [Int] = []
    var offset = 0
    while offset + NativeFormat.headerByteCount <= bytes.count {
        offsets.append(offset)
        let length =
            Int(bytes[offset + 8]) | Int(bytes[offset + 9]) << 8 | Int(bytes[offset + 10]) << 16
            | Int(bytes[offset + 11]) << 24
        offset += NativeFormat.headerByteCount + length
    }
    return offsets
}
