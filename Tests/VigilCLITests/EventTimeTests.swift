import Foundation
import Testing
import VigilCore
import VigilWire

/// Event time as real collection produces it: gaps in the data, and senders whose clocks disagree. Each test
/// here failed on the engine with one shared clock (docs/architecture.md, "Time").
@Suite("event time: per-source clocks, gaps, outliers", .serialized)
struct EventTimeTests {
    static let second: Int64 = 1_000_000_000
    static let start: Int64 = 1_793_577_600_000_000_000  // 2026-11-02T00:00:00Z

    /// Rollup rows of `directory` as CSV lines without the header, sorted (segments may split differently).
    func rows(_ directory: String, from: String? = nil, to: String? = nil) throws -> [String] {
        var arguments = ["rollups", "cat", directory]
        if let from { arguments += ["--from", from] }
        if let to { arguments += ["--to", to] }
        let result = try CLI.run(arguments)
        #expect(result.status == 0, "\(result.standardError)")
        return result.standardOutput.split(separator: "\n").dropFirst().map(String.init).sorted()
    }

    @Test("two 6-hour recordings two hours apart, piped one after the other: nothing lost, the gap's windows empty")
    func recordingsWithAGap() throws {
        let directory = try CLI.temporaryDirectory("gap")
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        for (name, start) in [("a.vgl", "2026-11-02T00:00:00Z"), ("b.vgl", "2026-11-02T08:00:00Z")] {
            let generated = try CLI.run([
                "generate", "--devices", "2", "--interfaces", "1", "--days", "0.25", "--start", start, "--out",
                path(name),
            ])
            #expect(generated.status == 0, "\(generated.standardError)")
        }
        let first = try Data(contentsOf: URL(fileURLWithPath: path("a.vgl")))
        let second = try Data(contentsOf: URL(fileURLWithPath: path("b.vgl")))
        func run(_ input: Data, rollups: String) throws -> [String: Any] {
            let result = try CLI.run(
                ["run", "--input", "-", "--rollups", rollups, "--no-anomaly", "--summary-json", "-"],
                input: input
            )
            #expect(result.status == 0, "\(result.standardError)")
            return try CLI.json(result.standardOutput)
        }
        let both = try run(first + second, rollups: path("both"))
        let rejects = both["rejects"] as? [String: Int] ?? [:]
        #expect(rejects.values.allSatisfy { $0 == 0 }, "\(rejects)")
        #expect(both["samples_aggregated"] as? Int == both["samples"] as? Int)
        #expect(both["clock_jumps"] as? Int == 1)
        #expect((both["counter_gaps"] as? Int ?? 0) > 0, "the counters' readings across the gap are a gap")

        _ = try run(first, rollups: path("a"))
        _ = try run(second, rollups: path("b"))
        // Before the gap: what the first recording gives alone. After it: what the second gives alone, rates
        // included (none is made up from the counters' climb across the gap). In it: nothing.
        #expect(try rows(path("both"), to: "2026-11-02T06:00:00Z") == rows(path("a")))
        #expect(try rows(path("both"), from: "2026-11-02T06:00:00Z", to: "2026-11-02T08:00:00Z").isEmpty)
        #expect(try rows(path("both"), from: "2026-11-02T08:00:00Z") == rows(path("b")))
    }

    /// One gauge on wire id 0, samples (time offset in seconds from `start`, value) in one data frame each.
    func stream(_ samples: [(Int64, Double)], frames: Int = 1) throws -> [UInt8] {
        let encoder = NativeEncoder(samplesPerDataFrame: max(1, (samples.count + frames - 1) / frames))
        var out: [UInt8] = []
        try encoder.appendSchemaFrames(
            [schemaEntry(wireID: 0, device: "d", interface: "i", metric: "m", unit: "x")],
            to: &out
        )
        encoder.appendDataFrames(
            timestamps: samples.map { Self.start + $0.0 * Self.second },
            wireIDs: [UInt32](repeating: 0, count: samples.count),
            values: samples.map(\.1),
            to: &out
        )
        return out
    }

    @Test("a recording's first sample dated 2090, or 2001, is an outlier: nothing after it is late")
    func farFirstSample() throws {
        let year2090: Int64 = 3_786_912_000 - 1_793_577_600  // seconds from start to 2090-01-01
        let year2001: Int64 = 978_307_200 - 1_793_577_600
        for outlier in [year2090, year2001] {
            let honest: [(Int64, Double)] = (0..<60).map { (Int64($0) * 10, 2.0) }
            let samples = [(outlier, 1.0)] + honest
            let result = try CLI.run(
                ["run", "--input", "-", "--summary-json", "-"],
                input: Data(try stream(samples, frames: 4))
            )
            #expect(result.status == 0, "\(result.standardError)")
            let summary = try CLI.json(result.standardOutput)
            #expect(summary["late_samples"] as? Int == 0)
            #expect(summary["samples_aggregated"] as? Int == 60)
            #expect((summary["rejects"] as? [String: Int])?["clock_outliers"] == 1)
        }
    }

    @Test("a lone sample more than --max-future-skew ahead is rejected and does not move the clock")
    func loneOutlierAhead() throws {
        let before: [(Int64, Double)] = (0..<30).map { (Int64($0) * 10, 1.0) }
        let after: [(Int64, Double)] = (30..<60).map { (Int64($0) * 10, 1.0) }
        let samples = before + [(2 * 3600, 9.0)] + after
        let result = try CLI.run(["run", "--input", "-", "--summary-json", "-"], input: Data(try stream(samples)))
        let summary = try CLI.json(result.standardOutput)
        #expect(summary["late_samples"] as? Int == 0)
        #expect(summary["samples_aggregated"] as? Int == 60)
        #expect(summary["clock_jumps"] as? Int == 0)
        #expect((summary["rejects"] as? [String: Int])?["clock_outliers"] == 1)
    }

    /// Series of `device` over `rounds` rounds at `spacing` from `start` (nanoseconds), as native frames.
    func senderStream(
        device: String,
        series: Int,
        times: [Int64],
        values: (Int) -> Double = { _ in 1 }
    ) throws
        -> [UInt8]
    {
        let encoder = NativeEncoder(samplesPerDataFrame: 64)
        var out: [UInt8] = []
        try encoder.appendSchemaFrames(
            (0..<series).map {
                schemaEntry(
                    wireID: UInt32($0),
                    device: device,
                    interface: "et-0/0/\($0)",
                    metric: "temperature_celsius",
                    unit: "celsius"
                )
            },
            to: &out
        )
        var timestamps: [Int64] = []
        var wireIDs: [UInt32] = []
        var samples: [Double] = []
        for (round, time) in times.enumerated() {
            for index in 0..<series {
                timestamps.append(time)
                wireIDs.append(UInt32(index))
                samples.append(values(round))
            }
        }
        encoder.appendDataFrames(timestamps: timestamps, wireIDs: wireIDs, values: samples, to: &out)
        return out
    }

    @Test("over TCP, a sender's sample 59 minutes ahead makes none of two honest senders' samples late")
    func outlierBesideHonestSenders() throws {
        let port = UInt16.random(in: 20_000...60_000)
        let directory = try CLI.temporaryDirectory("outlier-tcp")
        let rollups = directory.appendingPathComponent("rollups").path
        let (process, output, errors) = try TCP.startEngine(
            port: port,
            ["--rollups", rollups, "--stop-after-idle", "3s", "--log-level", "info"]
        )
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let series = 4
        func times(_ rounds: Range<Int>) -> [Int64] { rounds.map { Self.start + Int64($0) * 10 * Self.second } }
        // Three live senders: each sends its first round as it connects, then the rest as it comes.
        var senders: [(connection: Int32, device: String)] = []
        for device in ["honest-a", "honest-b", "liar"] {
            let connection = try TCP.connect(port: port)
            TCP.send(connection, try senderStream(device: device, series: series, times: times(0..<1))[...])
            senders.append((connection, device))
            usleep(100_000)
        }
        for (connection, device) in senders {
            TCP.send(connection, try senderStream(device: device, series: series, times: times(1..<30))[...])
        }
        usleep(300_000)
        // The liar: one sample 59 minutes ahead (within the skew, so it moves its own clock), after which its
        // own second half is late. The other senders' clocks are their own: none of their samples is late.
        let liar = senders[2].connection
        TCP.send(liar, try senderStream(device: "liar", series: 1, times: [Self.start + 59 * 60 * Self.second])[...])
        usleep(300_000)
        for (connection, device) in senders {
            TCP.send(connection, try senderStream(device: device, series: series, times: times(30..<60))[...])
            close(connection)
        }
        let (status, summary, standardError) = try TCP.waitForEngine(process, output: output, errors: errors)
        #expect(status == 0, "\(standardError)")
        // Late: the liar's own second half only (its clock is 59 minutes on); every honest sample counted.
        #expect(summary["late_samples"] as? Int == 30 * series, "\(standardError)")
        for device in ["honest-a", "honest-b"] {
            let counts = try rows(rollups).filter { $0.contains(",\(device),") }.map { line in
                Int(line.split(separator: ",", omittingEmptySubsequences: false)[4]) ?? 0
            }
            #expect(counts.reduce(0, +) == 60 * series, "\(device)")
        }
    }

    @Test("a second stream declaring a series another feeds cannot make that stream's samples late: it is refused")
    func secondStreamOnASeries() throws {
        let port = UInt16.random(in: 20_000...60_000)
        let directory = try CLI.temporaryDirectory("shared-series")
        let rollups = directory.appendingPathComponent("rollups").path
        let (process, output, errors) = try TCP.startEngine(
            port: port,
            ["--rollups", rollups, "--shards", "1", "--no-anomaly", "--stop-after-idle", "2s"]
        )
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        // An honest sender of one series, in order, one sample every 10 s.
        let honest = try TCP.connect(port: port)
        TCP.send(
            honest,
            try senderStream(device: "r1", series: 1, times: (0..<3).map { Self.start + Int64($0) * Self.second })[...]
        )
        usleep(300_000)
        // Another connection declares the same series and sends two samples 20 windows ahead (within the skew
        // of its own clock): with two window slots per series, they would force the honest windows shut.
        let hostile = try TCP.connect(port: port)
        let ahead = (20...21).map { Self.start + Int64($0) * 60 * Self.second + 5 * Self.second }
        TCP.send(hostile, try senderStream(device: "r1", series: 1, times: ahead)[...])
        usleep(300_000)
        let times = (0..<60).map { Self.start + (10 + 10 * Int64($0)) * Self.second }
        TCP.send(honest, try senderStream(device: "r1", series: 1, times: times)[...])
        close(honest)
        close(hostile)
        let (status, summary, standardError) = try TCP.waitForEngine(process, output: output, errors: errors)
        #expect(status == 0, "\(standardError)")
        #expect(summary["late_samples"] as? Int == 0, "\(standardError)")
        #expect(summary["samples_aggregated"] as? Int == 63)
        #expect((summary["rejects"] as? [String: Int])?["series_fed_elsewhere"] == 2)
        #expect(standardError.contains("is fed by another stream"), "\(standardError)")
        #expect(try rows(rollups).count == 11, "every window of the honest sender, and none of the other's")
    }

    @Test("a stream refused a series feeds it once the stream that fed it has ended (a redundant collector)")
    func seriesHandedOver() throws {
        let port = UInt16.random(in: 20_000...60_000)
        let (process, output, errors) = try TCP.startEngine(port: port, ["--no-anomaly", "--stop-after-idle", "3s"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        func times(_ rounds: Range<Int>) -> [Int64] { rounds.map { Self.start + Int64($0) * 10 * Self.second } }
        let primary = try TCP.connect(port: port)
        let secondary = try TCP.connect(port: port)
        // Both forward the same device; the primary declared it first.
        TCP.send(primary, try senderStream(device: "r1", series: 2, times: times(0..<10))[...])
        usleep(300_000)
        TCP.send(secondary, try senderStream(device: "r1", series: 2, times: times(0..<10))[...])
        usleep(300_000)
        close(primary)
        usleep(1_500_000)
        // The primary is gone: the secondary's next samples are taken (claims are retried, at most once a
        // second, before a frame of a stream refused some).
        TCP.send(secondary, try senderStream(device: "r1", series: 2, times: times(10..<20))[...])
        close(secondary)
        let (status, summary, standardError) = try TCP.waitForEngine(process, output: output, errors: errors)
        #expect(status == 0, "\(standardError)")
        // The secondary's copy of what the primary sent is refused; the rest is taken.
        #expect((summary["rejects"] as? [String: Int])?["series_fed_elsewhere"] == 20, "\(summary)")
        #expect(summary["samples_aggregated"] as? Int == 40, "\(summary)")
        #expect(summary["late_samples"] as? Int == 0)
    }

    @Test("a live sender alone at first, its clock 50 minutes ahead, does not make senders joining later late")
    func liveSenderAheadAlone() throws {
        let port = UInt16.random(in: 20_000...60_000)
        let (process, output, errors) = try TCP.startEngine(port: port, ["--stop-after-idle", "3s"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1e9) }
        let ahead: Int64 = 50 * 60 * Self.second
        // The liar streams "live" data stamped 50 minutes ahead of the wall clock, a second apart, for 2 s.
        let liar = try TCP.connect(port: port)
        let liarStart = now() + ahead
        TCP.send(
            liar,
            try senderStream(
                device: "liar",
                series: 2,
                times: (0..<20).map { liarStart + Int64($0) * Self.second / 10 }
            )[...]
        )
        usleep(1_000_000)
        // Honest senders join with samples stamped now, as a live router's are.
        var honestSamples = 0
        for device in ["honest-a", "honest-b"] {
            let connection = try TCP.connect(port: port)
            let times = (0..<10).map { _ in now() }
            TCP.send(connection, try senderStream(device: device, series: 3, times: times)[...])
            honestSamples += 10 * 3
            close(connection)
        }
        close(liar)
        let (status, summary, standardError) = try TCP.waitForEngine(process, output: output, errors: errors)
        #expect(status == 0, "\(standardError)")
        #expect(summary["late_samples"] as? Int == 0, "\(standardError)")
        #expect(summary["samples_aggregated"] as? Int == honestSamples + 40)
    }

    @Test("over TCP, a sample dated 2090 is refused (ahead of the wall clock), and the sender's others count")
    func year2090OverTCP() throws {
        let port = UInt16.random(in: 20_000...60_000)
        let (process, output, errors) = try TCP.startEngine(port: port, ["--stop-after-idle", "2s"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let connection = try TCP.connect(port: port)
        let year2090: Int64 = 3_786_912_000 * Self.second
        TCP.send(connection, try senderStream(device: "d", series: 1, times: [year2090])[...])
        TCP.send(
            connection,
            try senderStream(device: "d", series: 2, times: (0..<30).map { Self.start + Int64($0) * 10 * Self.second })[
                ...
            ]
        )
        close(connection)
        let (status, summary, standardError) = try TCP.waitForEngine(process, output: output, errors: errors)
        #expect(status == 0, "\(standardError)")
        #expect((summary["rejects"] as? [String: Int])?["timestamp_in_future"] == 1)
        #expect(summary["late_samples"] as? Int == 0)
        #expect(summary["samples_aggregated"] as? Int == 60)
    }

    @Test("a sender that goes silent stops holding back the clock after --source-idle-timeout: alerts flow")
    func silentSenderReleasesTheClock() throws {
        let port = UInt16.random(in: 20_000...60_000)
        let directory = try CLI.temporaryDirectory("idle-source")
        let alerts = directory.appendingPathComponent("alerts.jsonl").path
        let (process, output, errors) = try TCP.startEngine(
            port: port,
            [
                "--alerts", alerts, "--no-anomaly", "--source-idle-timeout", "1s", "--lateness", "0s", "--window",
                "10s",
                "--stop-after-idle", "20s",
            ]
        )
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        // A sends a minute of data and stays connected, silent; its clock stays there.
        let quiet = try TCP.connect(port: port)
        TCP.send(
            quiet,
            try senderStream(
                device: "quiet",
                series: 1,
                times: (0..<6).map { Self.start + Int64($0) * 10 * Self.second }
            )[...]
        )
        usleep(200_000)
        // B runs on for ten minutes, hot from 100 s: a threshold alert (over 85 °C) fires after its second hot
        // window, decided beyond A's clock.
        let hot = try TCP.connect(port: port)
        let times = (0..<60).map { Self.start + Int64($0) * 10 * Self.second }
        TCP.send(hot, try senderStream(device: "hot", series: 1, times: times) { $0 < 10 ? 40 : 95 }[...])
        // The alert is decided at a window end beyond A's clock: it is written once A no longer holds the
        // clock (a second after its last sample), while both connections stay open.
        let deadline = Date().addingTimeInterval(10)
        var written = ""
        while Date() < deadline {
            written = (try? String(contentsOfFile: alerts, encoding: .utf8)) ?? ""
            if written.contains("\"firing\"") { break }
            usleep(100_000)
        }
        #expect(written.contains("\"device\":\"hot\""), "no alert while the silent sender held the clock")
        #expect(process.isRunning, "the alert must come from the running engine, not the drain at its end")
        close(quiet)
        close(hot)
        kill(process.processIdentifier, SIGINT)
        let (status, _, standardError) = try TCP.waitForEngine(process, output: output, errors: errors)
        #expect(status == 0, "\(standardError)")
    }
}
