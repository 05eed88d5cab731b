import Foundation
import Testing

/// `vigil run --state DIR` across restarts: a recording read in two runs gives the alert log and rollups of
/// one uninterrupted run (open windows continue, models do not relearn, alerts firing at the restart
/// neither fire again nor resolve falsely), whatever `--shards` each run has.
@Suite("vigil run --state: restart equivalence")
struct RestartEquivalenceTests {
    /// A recording's frames split at its `fraction`-th data frame: the first part, and the second preceded
    /// by every schema frame of the first (a new stream declares its series again, as a restarted sender
    /// does). Walks the frames by their headers (`docs/wire-format.md`): magic, type at byte 5, payload
    /// length at byte 8.
    static func split(_ recording: [UInt8], at fraction: Double) throws -> (first: [UInt8], second: [UInt8]) {
        var frames: [(type: UInt8, range: Range<Int>)] = []
        var offset = 0
        while offset < recording.count {
            try #require(Array(recording[offset..<(offset + 4)]) == Array("VGIL".utf8))
            let length =
                Int(recording[offset + 8]) | Int(recording[offset + 9]) << 8 | Int(recording[offset + 10]) << 16
                | Int(recording[offset + 11]) << 24
            frames.append((recording[offset + 5], offset..<(offset + 24 + length)))
            offset += 24 + length
        }
        let dataFrames = frames.indices.filter { frames[$0].type == 2 }
        let cut = dataFrames[Int(Double(dataFrames.count) * fraction)]
        var first: [UInt8] = []
        var second: [UInt8] = []
        for (index, frame) in frames.enumerated() {
            if index < cut {
                first += recording[frame.range]
                if frame.type == 1 { second += recording[frame.range] }
            } else {
                second += recording[frame.range]
            }
        }
        return (first, second)
    }

    /// Runs `vigil run --input file:PATH --alerts … --rollups … --state …` and returns its summary.
    @discardableResult
    static func run(
        _ input: String,
        in directory: URL,
        name: String,
        shards: Int,
        extra: [String] = []
    ) throws
        -> [String: Any]
    {
        func path(_ item: String) -> String { directory.appendingPathComponent(item).path }
        let result = try CLI.run(
            [
                "run", "--input", "file:\(input)", "--alerts", path("\(name).jsonl"), "--rollups",
                path("\(name)-rollups"),
                "--state", path("\(name)-state"), "--shards", "\(shards)", "--summary-json", "-",
            ] + extra
        )
        #expect(result.status == 0, "\(result.standardError)")
        return try CLI.json(result.standardOutput)
    }

    /// The alert log's lines and the rollups' rows (`rollups cat --format jsonl`), each sorted.
    static func outputs(in directory: URL, name: String) throws -> (alerts: [String], rows: [String]) {
        let alerts = try String(contentsOf: directory.appendingPathComponent("\(name).jsonl"), encoding: .utf8)
        let cat = try CLI.run([
            "rollups", "cat", directory.appendingPathComponent("\(name)-rollups").path, "--format", "jsonl",
        ])
        #expect(cat.status == 0, "\(cat.standardError)")
        return (
            alerts.split(separator: "\n").map(String.init).sorted(),
            cat.standardOutput.split(separator: "\n").map(String.init).sorted()
        )
    }

    @Test(
        "a recording read in two runs (split at three points, one with another --shards) equals one uninterrupted run"
    )
    func splitRunsEqualOneRun() throws {
        let directory = try CLI.temporaryDirectory("restart")
        let recording = directory.appendingPathComponent("fleet.vgl").path
        let generated = try CLI.run([
            "generate", "--devices", "3", "--interfaces", "2", "--days", "3", "--interval", "30s", "--out", recording,
        ])
        #expect(generated.status == 0, "\(generated.standardError)")
        try Self.run(recording, in: directory, name: "whole", shards: 2)
        let whole = try Self.outputs(in: directory, name: "whole")
        #expect(whole.alerts.count > 20)
        #expect(whole.rows.count > 100_000)

        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: recording)))
        var restoredFiring = 0
        for (fraction, shards) in [(0.1, (2, 2)), (0.55, (1, 3)), (0.8, (2, 2))] {
            let name = "split-\(Int(fraction * 100))"
            let (first, second) = try Self.split(bytes, at: fraction)
            let firstPath = directory.appendingPathComponent("\(name)-a.vgl")
            let secondPath = directory.appendingPathComponent("\(name)-b.vgl")
            try Data(first).write(to: firstPath)
            try Data(second).write(to: secondPath)
            let before = try Self.run(firstPath.path, in: directory, name: name, shards: shards.0)
            #expect(before["state_series_restored"] as? Int == 0)
            let after = try Self.run(secondPath.path, in: directory, name: name, shards: shards.1)
            #expect(after["state_series_restored"] as? Int == 54, "\(name)")
            #expect((after["state_windows_restored"] as? Int ?? 0) > 0, "\(name)")
            #expect(after["late_samples"] as? Int == 0, "\(name)")
            restoredFiring += after["state_alerts_restored"] as? Int ?? 0
            let split = try Self.outputs(in: directory, name: name)
            #expect(split.alerts == whole.alerts, "\(name): the alert log differs from the uninterrupted run's")
            #expect(split.rows.count == whole.rows.count, "\(name)")
            #expect(split.rows == whole.rows, "\(name): the rollups differ from the uninterrupted run's")
        }
        // At least one split fell inside an incident: its alert was firing across the restart and resolved once.
        #expect(restoredFiring > 0)
    }

    @Test("state written with another --window is named and not restored; the run starts afresh")
    func anotherWindowStartsAfresh() throws {
        let directory = try CLI.temporaryDirectory("restart-window")
        let recording = directory.appendingPathComponent("fleet.vgl").path
        let generated = try CLI.run([
            "generate", "--devices", "1", "--interfaces", "1", "--days", "0.2", "--out", recording,
        ])
        #expect(generated.status == 0, "\(generated.standardError)")
        try Self.run(recording, in: directory, name: "w", shards: 1)
        let state = directory.appendingPathComponent("w-state").path
        let result = try CLI.run([
            "run", "--input", "file:\(recording)", "--state", state, "--window", "30s", "--summary-json", "-",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(
            result.standardError.contains("not restored: written with window=60000000000ns"),
            "\(result.standardError)"
        )
        #expect(try CLI.json(result.standardOutput)["state_series_restored"] as? Int == 0)
    }

    @Test(
        "checkpoints are written every --checkpoint-interval while a TCP input runs; after kill -9 the next run resumes from the last"
    )
    func intervalCheckpointSurvivesKill() throws {
        let directory = try CLI.temporaryDirectory("restart-kill")
        let state = directory.appendingPathComponent("state").path
        let port = UInt16.random(in: 20_000...60_000)
        let (engine, _, _) = try TCP.startEngine(port: port, ["--state", state, "--checkpoint-interval", "1s"])
        defer { if engine.isRunning { kill(engine.processIdentifier, SIGKILL) } }
        let fd = try TCP.connect(port: port)
        defer { close(fd) }
        // 8 series, 30 rounds 10 s apart: 5 minutes of event time, windows open at the end.
        #expect(TCP.send(fd, makeStream(series: 8, rounds: 30)[...]))
        // Three intervals: the checkpoint after the samples were taken is written (a checkpoint is written
        // only when the state changed since the last).
        sleep(3)
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: state).filter {
            $0.hasPrefix("checkpoint-")
        }
        #expect(!checkpoints.isEmpty && checkpoints.count <= 2, "\(checkpoints)")
        kill(engine.processIdentifier, SIGKILL)
        engine.waitUntilExit()

        let resumed = try CLI.run([
            "run", "--input", "tcp://127.0.0.1:\(port)", "--state", state, "--stop-after-idle", "1s", "--summary-json",
            "-",
        ])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        let summary = try CLI.json(resumed.standardOutput)
        #expect(summary["state_series_restored"] as? Int == 8, "\(resumed.standardError)")
        #expect((summary["state_windows_restored"] as? Int ?? 0) > 0)
    }

    @Test(
        "the alert log is appended to by default (a half-written last line cut first) and emptied with --alerts-truncate"
    )
    func alertLogAppends() throws {
        let directory = try CLI.temporaryDirectory("alerts-append")
        let stream = directory.appendingPathComponent("stream.vgl")
        try Data(makeStream(series: 2, rounds: 90)).write(to: stream)
        let alerts = directory.appendingPathComponent("alerts.jsonl").path
        func run(_ extra: [String] = []) throws -> [Substring] {
            let result = try CLI.run(
                [
                    "run", "--input", "file:\(stream.path)", "--alerts", alerts, "--failure-threshold",
                    "rx_power_dbm>-10",
                ]
                    + extra
            )
            #expect(result.status == 0, "\(result.standardError)")
            return try String(contentsOfFile: alerts, encoding: .utf8).split(separator: "\n")
        }
        let once = try run()
        #expect(!once.isEmpty)
        // A killed writer's torn line at the end: cut, and the next run's lines follow the whole ones.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: alerts))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"id\":\"torn".utf8))
        try handle.close()
        let twice = try run()
        #expect(twice == once + once)
        #expect(try run(["--alerts-truncate"]) == once)
    }
}
