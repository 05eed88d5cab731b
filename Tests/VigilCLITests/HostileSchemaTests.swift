import Foundation
import Testing
import VigilCore
import VigilWire

/// Schema frames a sender controls: wire ids anywhere in 0..<2^24, a series re-declared with another kind.
@Suite("vigil run with hostile schema frames", .serialized)
struct HostileSchemaTests {
    static func entry(wireID: UInt32, interface: String, kind: MetricKind = .gauge) -> SchemaEntry {
        SchemaEntry(
            wireID: wireID,
            descriptor: SeriesDescriptor(
                key: SeriesKey(device: "r1", interface: interface, metric: "rx_power_dbm"),
                kind: kind,
                unit: "dBm"
            )
        )
    }

    static func runJSON(_ bytes: [UInt8]) throws -> (summary: [String: Any], standardError: String) {
        let result = try CLI.run(["run", "--input", "-", "--summary-json", "-", "--shards", "1"], input: Data(bytes))
        #expect(result.status == 0, "\(result.standardError)")
        return (try CLI.json(result.standardOutput), result.standardError)
    }

    @Test("declaring the highest wire id costs no more memory than declaring wire id 0")
    func highWireIDIsCheap() throws {
        func peakResidentBytes(wireID: UInt32) throws -> Int {
            var bytes: [UInt8] = []
            try NativeEncoder().appendSchemaFrames([Self.entry(wireID: wireID, interface: "et-0/0/0")], to: &bytes)
            return try Self.runJSON(bytes).summary["peak_rss_bytes"] as? Int ?? .max
        }
        let low = try peakResidentBytes(wireID: 0)
        let high = try peakResidentBytes(wireID: NativeFormat.maxWireSeriesID)
        // A dense wire-id table up to 2^24 - 1 is 64 MiB, every page written.
        #expect(high - low < 16 << 20, "peak RSS \(low >> 20) MiB for wire id 0, \(high >> 20) MiB for 2^24 - 1")
    }

    @Test("sparse wire ids (beyond the dense table) are translated like dense ones, and re-declarable")
    func sparseWireIDsWork() throws {
        let wireIDs: [UInt32] = [3, 70_000, 1 << 20, NativeFormat.maxWireSeriesID]
        let encoder = NativeEncoder()
        var bytes: [UInt8] = []
        try encoder.appendSchemaFrames(
            wireIDs.enumerated().map { Self.entry(wireID: $1, interface: "et-0/0/\($0)") },
            to: &bytes
        )
        // Wire id 1 << 20 now names another series: the later declaration wins, as for a dense id.
        try encoder.appendSchemaFrames([Self.entry(wireID: 1 << 20, interface: "et-0/0/9")], to: &bytes)
        let start: Int64 = 1_793_577_600_000_000_000
        var timestamps: [Int64] = []
        var ids: [UInt32] = []
        for round in 0..<12 {
            for wireID in wireIDs {
                timestamps.append(start + Int64(round) * 10_000_000_000)
                ids.append(wireID)
            }
        }
        encoder.appendDataFrames(
            timestamps: timestamps,
            wireIDs: ids,
            values: [Double](repeating: -3.5, count: ids.count),
            to: &bytes
        )
        let summary = try Self.runJSON(bytes).summary
        #expect(summary["samples_aggregated"] as? Int == 48)
        #expect((summary["rejects"] as? [String: Int])?["unknown_series"] == 0)
        #expect(summary["series"] as? Int == 5)
        // 12 samples 10 s apart from the start of a minute: two windows of each of the 4 series sampled.
        #expect(summary["windows"] as? Int == 8)
    }

    @Test("a stream may declare at most max(65,536, --max-series) distinct wire ids; more are ignored and logged")
    func distinctWireIDsAreCapped() throws {
        let encoder = NativeEncoder()
        var bytes: [UInt8] = []
        // 70,000 wire ids, all for one series (the registry holds one; the tables would hold them all).
        try encoder.appendSchemaFrames(
            (0..<70_000).map { Self.entry(wireID: UInt32($0), interface: "et-0/0/0") },
            to: &bytes
        )
        let start: Int64 = 1_793_577_600_000_000_000
        encoder.appendDataFrames(
            timestamps: [start, start + 1, start + 2],
            wireIDs: [0, 65_535, 69_999],
            values: [1, 2, 3],
            to: &bytes
        )
        let result = try CLI.run(
            ["run", "--input", "-", "--summary-json", "-", "--max-series", "10"],
            input: Data(bytes)
        )
        let summary = try CLI.json(result.standardOutput)
        #expect(summary["samples_aggregated"] as? Int == 2)
        #expect((summary["rejects"] as? [String: Int])?["unknown_series"] == 1)
        #expect(result.standardError.contains("wire id 65536 ignored: this stream already declared 65536 wire ids"))
    }

    @Test("late samples early in a stream do not use up the log lines a later error needs")
    func lateSamplesDoNotHideLaterErrors() throws {
        let encoder = NativeEncoder()
        var bytes: [UInt8] = []
        try encoder.appendSchemaFrames([Self.entry(wireID: 0, interface: "et-0/0/0")], to: &bytes)
        let start: Int64 = 1_793_577_600_000_000_000
        for frame in 0..<25 {
            let now = start + Int64(frame + 2) * 60_000_000_000
            encoder.appendDataFrames(
                timestamps: [now, now - 60_000_000_000],
                wireIDs: [0, 0],
                values: [1, 1],
                to: &bytes
            )
        }
        try encoder.appendSchemaFrames([Self.entry(wireID: 1, interface: "et-0/0/0", kind: .counter64)], to: &bytes)
        let result = try CLI.run(
            ["run", "--input", "-", "--summary-json", "-", "--shards", "1", "--lateness", "0s"],
            input: Data(bytes)
        )
        let summary = try CLI.json(result.standardOutput)
        #expect(summary["late_samples"] as? Int == 25)
        #expect((summary["rejects"] as? [String: Int])?["schema_kind_conflicts"] == 1)
        #expect(result.standardError.contains("declared as counter64, known as gauge"), "\(result.standardError)")
        #expect(result.standardError.contains("more late samples; no longer logging them"), "\(result.standardError)")
    }

    @Test("a series re-declared with another kind is counted and logged; its samples keep the first kind")
    func kindConflictIsCounted() throws {
        let encoder = NativeEncoder()
        var bytes: [UInt8] = []
        try encoder.appendSchemaFrames([Self.entry(wireID: 0, interface: "et-0/0/0", kind: .counter64)], to: &bytes)
        try encoder.appendSchemaFrames([Self.entry(wireID: 1, interface: "et-0/0/0", kind: .gauge)], to: &bytes)
        let (summary, standardError) = try Self.runJSON(bytes)
        #expect((summary["rejects"] as? [String: Int])?["schema_kind_conflicts"] == 1)
        #expect(summary["series"] as? Int == 1)
        #expect(standardError.contains("declared as gauge, known as counter64"), "\(standardError)")
    }
}
