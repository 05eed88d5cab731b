import Foundation
import Logging
import Testing
import VigilCore
import VigilWire

@testable import VigilEngine

/// Hands out one prepared chunk per read, pausing before each, so shards go idle between batches.
final class ChunkedStream: ByteStream {
    let name = "chunks"
    private let chunks: [[UInt8]]
    private var next = 0
    private var offset = 0
    private let pauseMicroseconds: UInt32
    init(chunks: [[UInt8]], pauseMicroseconds: UInt32) {
        self.chunks = chunks
        self.pauseMicroseconds = pauseMicroseconds
    }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard next < chunks.count else { return 0 }
        if offset == 0 && pauseMicroseconds > 0 && next % 3 == 0 { usleep(pauseMicroseconds) }
        let chunk = chunks[next]
        let count = min(chunk.count - offset, buffer.count)
        buffer.copyBytes(from: chunk[offset..<(offset + count)])
        offset += count
        if offset == chunk.count {
            next += 1
            offset = 0
        }
        return count
    }
    func close() {}
}

/// Idle shards raise their watermark to the engine's clock while producers fill batches for them (ShardWorker
/// `closeOnEngineWatermark`): no window may close before a sample still in a batch on its way reaches it. Tiny
/// batches, a flush after every frame and pauses keep shards idle between batches; 30 % of the samples come
/// up to 0.9 s out of order against 0.5 s of lateness, so the rule decides for many of them. (Written by a
/// reviewer: it fails when the shard ignores the lanes' pending stamps.)
@Suite("Idle shards and batch stamps", .serialized)
struct IdleWatermarkTests {
    @Test(
        "one producer, out-of-order samples: the late count equals the arrival-watermark rule, exactly",
        arguments: [1, 2, 3, 4, 5, 6]
    )
    func lateCountMatchesStampRule(seed: Int) throws {
        let seriesCount = 8
        let shardCount = 4
        let batchCapacity = 4
        let window: Int64 = 1_000_000_000
        let lateness: Int64 = 500_000_000
        let base: Int64 = 1_793_577_600_000_000_000
        var random = SplitMix64(seed: UInt64(seed))
        let encoder = NativeEncoder(samplesPerDataFrame: 64)
        let schema = try SeriesClaimsSessionTests.gaugeSchema(seriesCount: seriesCount, encoder: encoder)
        var chunks: [[UInt8]] = [schema]
        // The engine's rule, simulated: a sample is late when its window ends at or before the watermark at its
        // arrival, (newest so far, this sample included) - lateness, whatever batch carries it.
        var newest = Int64.min
        var expectedLate = 0
        var step: Int64 = 0
        let frames = 3000
        for _ in 0..<frames {
            let size = 1 + Int(random.next() % 6)
            var timestamps: [Int64] = []
            var ids: [UInt32] = []
            for _ in 0..<size {
                step += 1
                var t = base + step * 10_000_000
                if random.nextUnit() < 0.3 { t -= Int64(random.next() % 900_000_000) }
                let series = Int(random.next() % UInt64(seriesCount))
                timestamps.append(t)
                ids.append(UInt32(series))
                newest = max(newest, t)
                let end = (t / window) * window + window
                if end <= newest - lateness { expectedLate += 1 }
            }
            var frame: [UInt8] = []
            encoder.appendDataFrames(
                timestamps: timestamps,
                wireIDs: ids,
                values: [Double](repeating: 1, count: size),
                to: &frame
            )
            chunks.append(frame)
        }
        var configuration = EngineConfiguration()
        configuration.windowNanoseconds = window
        configuration.latenessNanoseconds = lateness
        configuration.shardCount = shardCount
        configuration.batchCapacity = batchCapacity
        configuration.batchesPerLane = 2
        configuration.readChunkBytes = 1 << 20
        configuration.models.anomalyDetection = false
        configuration.models.forecasting = false
        let chunksCopy = chunks
        configuration.inputs = [
            .stream(StreamFactory(name: "chunks") { ChunkedStream(chunks: chunksCopy, pauseMicroseconds: 150) })
        ]
        var logger = Logger(label: "stress")
        logger.logLevel = .critical
        let summary = try Engine(configuration: configuration, logger: logger).run()
        #expect(expectedLate > 0)
        #expect(summary.lateSamples == expectedLate, "engine \(summary.lateSamples), rule \(expectedLate)")
    }
}
