import Foundation
import Testing

/// What the summary counts when a stream brings more series than `--max-series` allows: the samples under
/// `cardinality_limit`, each refused series once under `series_over_cardinality_limit`, nothing under
/// `unknown_series` (which is for wire ids no schema declared).
@Suite("cardinality counters")
struct CardinalityCounterTests {
    static func rejects(_ result: CLIResult) throws -> [String: Int] {
        try CLI.json(result.standardOutput)["rejects"] as? [String: Int] ?? [:]
    }

    @Test("a series refused in two streams counts once in series_over_cardinality_limit; its samples in each")
    func refusedSeriesCountedOnce() throws {
        let directory = try CLI.temporaryDirectory("cardinality-twice")
        defer { try? FileManager.default.removeItem(at: directory) }
        let stream = directory.appendingPathComponent("eight.vgl").path
        try Data(makeStream(series: 8, rounds: 2)).write(to: URL(fileURLWithPath: stream))
        let result = try CLI.run(
            ["run", "--input", "file:" + stream, "--input", "file:" + stream, "--max-series", "5"]
                + ["--no-anomaly", "--summary-json", "-"]
        )
        #expect(result.status == 0, "\(result.standardError)")
        let rejects = try Self.rejects(result)
        #expect(rejects["series_over_cardinality_limit"] == 3, "three series over the limit: \(rejects)")
        #expect(rejects["cardinality_limit"] == 2 * 3 * 2, "their samples, in both streams: \(rejects)")
        #expect(rejects["unknown_series"] == 0, "\(rejects)")
    }

    @Test("series over the limit declared on one stream past 65,536 wire ids count as over the limit, not unknown")
    func manySeriesOnOneStream() throws {
        // 66,000 series on one stream, a limit of 65,536: today the stream stops declaring at 65,536 wire ids
        // (max(65,536, --max-series)) before asking the registry, so the other 464 look undeclared.
        let series = 66_000
        let limit = 65_536
        let result = try CLI.run(
            [
                "run", "--input", "-", "--max-series", "\(limit)", "--no-anomaly", "--no-forecast", "--summary-json",
                "-",
            ],
            input: Data(makeStream(series: series, rounds: 1)),
            timeoutSeconds: 300
        )
        #expect(result.status == 0, "\(result.standardError)")
        let summary = try CLI.json(result.standardOutput)
        let rejects = try Self.rejects(result)
        #expect(summary["series"] as? Int == limit)
        #expect(rejects["unknown_series"] == 0, "\(rejects)")
        #expect(rejects["cardinality_limit"] == series - limit, "\(rejects)")
        #expect(rejects["series_over_cardinality_limit"] == series - limit, "\(rejects)")
    }
}
