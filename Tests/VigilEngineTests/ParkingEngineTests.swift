import Foundation
import Logging
import Testing
import VigilCore
import VigilWire

@testable import VigilEngine

/// Shards, writers and producers park when idle and are woken by the stage that feeds them. With no bound on
/// an idle park (`idleParkLimitNanoseconds = nil`), a wake lost anywhere on the way (a lane push, a recycled
/// batch, the end of the input) leaves the run asleep: the test then hits its time limit instead of passing.
/// With event time standing still, no raise of the engine's watermark wakes a shard either: only the lanes do.
@Suite("Parked loops", .serialized)
struct ParkingEngineTests {
    @Test(
        "bursts separated by idle gaps: every sample is aggregated and the run drains",
        .timeLimit(.minutes(2)),
        arguments: [(shardCount: 1, clockAdvances: true), (3, true), (2, false)]
    )
    func burstsWithIdleGaps(shardCount: Int, clockAdvances: Bool) throws {
        let seriesCount = 16
        let encoder = NativeEncoder(samplesPerDataFrame: 64)
        let schema = try SeriesClaimsSessionTests.gaugeSchema(seriesCount: seriesCount, encoder: encoder)
        let base: Int64 = 1_793_577_600_000_000_000
        var chunks: [[UInt8]] = [schema]
        var total = 0
        for frame in 0..<600 {
            // A second of event time per frame: windows close all along, so alerts' bounds and rollups move.
            let frameTime = clockAdvances ? base + Int64(frame) * 1_000_000_000 : base
            let timestamps = (0..<seriesCount).map { frameTime + Int64($0) }
            var bytes: [UInt8] = []
            encoder.appendDataFrames(
                timestamps: timestamps,
                wireIDs: (0..<seriesCount).map(UInt32.init),
                values: [Double](repeating: 1, count: seriesCount),
                to: &bytes
            )
            chunks.append(bytes)
            total += seriesCount
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-park-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = EngineConfiguration()
        configuration.windowNanoseconds = 10_000_000_000
        configuration.latenessNanoseconds = 1_000_000_000
        configuration.shardCount = shardCount
        // Small batches and lanes: the producer also waits for emptied batches (backpressure) now and then.
        configuration.batchCapacity = 8
        configuration.batchesPerLane = 2
        configuration.models.forecasting = false
        configuration.alertsPath = directory.appendingPathComponent("alerts.jsonl").path
        configuration.rollupDirectory = directory.appendingPathComponent("rollups").path
        configuration.idleParkLimitNanoseconds = nil
        let chunksCopy = chunks
        configuration.inputs = [
            // A 2 ms pause before every third frame: far longer than the spin, so every stage parks.
            .stream(StreamFactory(name: "bursts") { ChunkedStream(chunks: chunksCopy, pauseMicroseconds: 2_000) })
        ]
        var logger = Logger(label: "parking")
        logger.logLevel = .critical
        let summary = try Engine(configuration: configuration, logger: logger).run()
        #expect(summary.samplesDecoded == total)
        #expect(summary.samplesAggregated == total)
        #expect(summary.lateSamples == 0)
        #expect(summary.rollupRows == summary.windowsClosed)
    }
}
