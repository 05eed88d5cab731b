import Foundation
import Testing
import VigilCore
import VigilWire

/// What `vigil run` decides must depend on the input's order only: not on how many shards share the work,
/// nor on how the bytes arrive (a file read in large blocks, a pipe read as it fills). A random stream with
/// out-of-order and late samples, time jumps of several windows, counter wraps and resets, and gauges that
/// cross a threshold goes through each configuration, and every output is compared with the first's.
@Suite("one input, any shard count, file or pipe: the same output", .serialized)
struct ShardInvarianceTests {
    static let seriesCount = 16

    /// 60,000 samples of 16 series (10 gauges that swing over 90, 3 64-bit and 3 32-bit counters), each
    /// time 0-40 ms after the last, a fifth of them moved up to 2.5 windows back, with rare jumps ahead.
    static func randomStream(seed: UInt64) throws -> [UInt8] {
        var random = SplitMix64(seed: seed)
        let encoder = NativeEncoder(samplesPerDataFrame: 997)
        var bytes: [UInt8] = []
        let entries = (0..<seriesCount).map { index in
            let isGauge = index < 10
            let kind: MetricKind = isGauge ? .gauge : (index < 13 ? .counter64 : .counter32)
            return SchemaEntry(
                wireID: UInt32(index),
                descriptor: SeriesDescriptor(
                    key: SeriesKey(
                        device: "d\(index % 5)",
                        interface: "i\(index)",
                        metric: isGauge ? "temperature_celsius" : "if_in_octets"
                    ),
                    kind: kind,
                    unit: isGauge ? "celsius" : "octets"
                )
            )
        }
        try encoder.appendSchemaFrames(entries, to: &bytes)
        let base: Int64 = 1_793_577_600_000_000_000
        let window: Int64 = 10_000_000_000
        var now = base
        var counters = [Double](repeating: 0, count: seriesCount)
        var timestamps: [Int64] = []
        var wireIDs: [UInt32] = []
        var values: [Double] = []
        for _ in 0..<60_000 {
            now += Int64(random.next() % 40_000_000)
            if random.nextUnit() < 0.0005 { now += Int64(random.next() % UInt64(window * 7 / 2)) }
            var timestamp = now
            if random.nextUnit() < 0.2 { timestamp -= Int64(random.next() % UInt64(window * 5 / 2)) }
            let series = Int(random.next() % UInt64(seriesCount))
            let value: Double
            if series < 10 {
                // Hot (90-110) for three windows in nine, 40-50 otherwise: the threshold rule fires and resolves.
                let windowIndex = (timestamp - base) / window
                value =
                    (windowIndex + Int64(series)) % 9 < 3 ? 90 + random.nextUnit() * 20 : 40 + random.nextUnit() * 10
            } else {
                counters[series] += Double(random.next() % 100_000)
                if random.nextUnit() < 0.001 { counters[series] = 0 }
                if series >= 13 && counters[series] >= 4_294_967_296 { counters[series] -= 4_294_967_296 }
                value = counters[series]
            }
            timestamps.append(timestamp)
            wireIDs.append(UInt32(series))
            values.append(value)
        }
        encoder.appendDataFrames(timestamps: timestamps, wireIDs: wireIDs, values: values, to: &bytes)
        return bytes
    }

    /// What one run produced: the alert log as written, the rollup rows (sorted: which segment a row lands
    /// in depends on when its shard handed it over), and the summary's counts.
    struct Output: Equatable {
        var alertLog: String
        var rollupRows: [String]
        var counts: [String: Int]
    }

    static func firstDifference(_ lines: [String], _ reference: [String]) -> String {
        for (index, (line, expected)) in zip(lines, reference).enumerated() where line != expected {
            return "line \(index + 1) is \(line), the first run's is \(expected)"
        }
        return "\(lines.count) lines, the first run's \(reference.count)"
    }

    @Test(
        "late samples, alert log, counters and rollup rows agree across 1, 2, 3 and 7 shards and a pipe",
        arguments: [(1, "5s"), (2, "0s"), (3, "10s")]
    )
    func sameOutputEverywhere(seed: Int, lateness: String) throws {
        let bytes = try Self.randomStream(seed: UInt64(seed))
        let directory = try CLI.temporaryDirectory("shard-invariance-\(seed)")
        let file = directory.appendingPathComponent("stream.vgl")
        try Data(bytes).write(to: file)
        var reference: Output?
        for (shards, throughPipe) in [("1", false), ("2", false), ("3", false), ("7", false), ("1", true), ("5", true)]
        {
            let name = "\(shards) shard(s)\(throughPipe ? ", pipe" : "")"
            let alerts = directory.appendingPathComponent("alerts-\(shards)-\(throughPipe).jsonl").path
            let rollups = directory.appendingPathComponent("rollups-\(shards)-\(throughPipe)").path
            let result = try CLI.run(
                [
                    "run", "--input", throughPipe ? "-" : "file:\(file.path)", "--shards", shards, "--no-anomaly",
                    "--window", "10s", "--lateness", lateness, "--alerts", alerts, "--rollups", rollups,
                    "--summary-json", "-",
                ],
                input: throughPipe ? Data(bytes) : nil
            )
            #expect(result.status == 0, "\(name): \(result.standardError)")
            let summary = try CLI.json(result.standardOutput)
            var counts: [String: Int] = [:]
            for key in [
                "late_samples", "samples_aggregated", "windows", "counter_wraps", "counter_resets", "alerts_fired",
                "alerts_resolved", "rollup_rows",
            ] {
                counts[key] = summary[key] as? Int ?? -1
            }
            let rows = try CLI.run(["rollups", "cat", rollups]).standardOutput
                .split(separator: "\n").map(String.init).sorted()
            let output = Output(
                alertLog: try String(contentsOfFile: alerts, encoding: .utf8),
                rollupRows: rows,
                counts: counts
            )
            guard let reference else {
                // The stream must exercise what is compared.
                #expect((counts["late_samples"] ?? 0) > 0, "no late samples: \(counts)")
                #expect((counts["alerts_fired"] ?? 0) > 0, "no alerts: \(counts)")
                #expect((counts["counter_wraps"] ?? 0) > 0 || (counts["counter_resets"] ?? 0) > 0, "\(counts)")
                reference = output
                continue
            }
            // Compared as Booleans and reported as the first line that differs: `#expect(a == b)` would print
            // both outputs, thousands of lines each.
            let alertLines = output.alertLog.split(separator: "\n").map(String.init)
            let referenceAlertLines = reference.alertLog.split(separator: "\n").map(String.init)
            let sameAlerts = alertLines == referenceAlertLines
            #expect(sameAlerts, "alert log, \(name): \(Self.firstDifference(alertLines, referenceAlertLines))")
            let sameRows = output.rollupRows == reference.rollupRows
            #expect(sameRows, "rollup rows, \(name): \(Self.firstDifference(output.rollupRows, reference.rollupRows))")
            #expect(output.counts == reference.counts, "summary, \(name)")
        }
    }
}
