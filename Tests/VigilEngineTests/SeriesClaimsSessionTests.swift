import Atomics
import Logging
import Testing
import VigilAnalytics
import VigilCore
import VigilWire

@testable import VigilEngine

/// Streams of one producer sharing series claims and disconnected senders, driven byte by byte, without a
/// socket or shards: what each stream routed is read back from the lanes. (Written by a reviewer.)
@Suite("Series claims and disconnected senders, per stream")
struct SeriesClaimsSessionTests {
    static let second: Int64 = 1_000_000_000
    static let start: Int64 = 1_793_577_600_000_000_000

    final class Harness {
        let counters = EngineCounters()
        let lanes = [ShardLane(producerIndex: 0, shardIndex: 0, batchesPerLane: 64, batchCapacity: 4096)]
        let context: ProducerContext

        init(cardinalityLimit: Int = 1000) throws {
            let lateness = 10 * SeriesClaimsSessionTests.second
            let producerClock = ProducerClock(
                producerIndex: 0,
                engineClock: EventClock(latenessNanoseconds: lateness),
                idleTimeoutNanoseconds: 120 * SeriesClaimsSessionTests.second,
                capsAtWallClock: false
            )
            let router = ShardRouter(
                lanes: lanes,
                producerClock: producerClock,
                counters: counters,
                windows: try WindowConfiguration(
                    windowNanoseconds: 60 * SeriesClaimsSessionTests.second,
                    latenessNanoseconds: lateness
                )
            )
            context = ProducerContext(
                name: "test",
                registry: SeriesRegistry(cardinalityLimit: cardinalityLimit),
                senderSequences: SenderSequences(counters: counters),
                claims: SeriesClaims(),
                router: router,
                counters: counters,
                limits: IngestLimits(),
                logger: Logger(label: "test"),
                maximumPayloadBytes: 1 << 20,
                readChunkBytes: 1 << 16,
                stopRequested: ManagedAtomic(false),
                lastInputNanoseconds: ManagedAtomic(0),
                busyProducers: ManagedAtomic(0)
            )
        }

        func connect() throws -> StreamIngestor {
            try context.makeIngestor(streamName: "tcp test", holdsClockAtOnce: false, acknowledgesFrames: true)
        }

        func feed(_ ingestor: StreamIngestor, _ bytes: [UInt8]) {
            var offset = 0
            while offset < bytes.count {
                let tail = ingestor.writableTail
                let count = min(tail.count, bytes.count - offset)
                tail.copyBytes(from: bytes[offset..<(offset + count)])
                ingestor.didAppend(count)
                offset += count
            }
        }

        /// Samples routed so far (popped from the lane), with their values.
        func routedValues() -> [Double] {
            context.router.flush()
            var values: [Double] = []
            while let batch = lanes[0].forward.tryPop() {
                for index in 0..<batch.count { values.append(batch.values[index]) }
            }
            return values
        }
    }

    /// Schema frames of `seriesCount` gauges `d/i<index>/m`, wire ids 0 up.
    static func gaugeSchema(seriesCount: Int, encoder: NativeEncoder) throws -> [UInt8] {
        var schema: [UInt8] = []
        try encoder.appendSchemaFrames(
            (0..<seriesCount).map { index in
                SchemaEntry(
                    wireID: UInt32(index),
                    descriptor: SeriesDescriptor(
                        key: SeriesKey(device: "d", interface: "i\(index)", metric: "m"),
                        kind: .gauge,
                        unit: "x"
                    )
                )
            },
            to: &schema
        )
        return schema
    }

    static func schema(_ entries: [(UInt32, String, String)]) throws -> [UInt8] {
        var out: [UInt8] = []
        try NativeEncoder().appendSchemaFrames(
            entries.map { wireID, device, metric in
                SchemaEntry(
                    wireID: wireID,
                    descriptor: SeriesDescriptor(
                        key: SeriesKey(device: device, interface: "et-0", metric: metric),
                        kind: .gauge,
                        unit: "x"
                    )
                )
            },
            to: &out
        )
        return out
    }

    static func data(wireID: UInt32, seconds: [Int64], value: Double) -> [UInt8] {
        var out: [UInt8] = []
        NativeEncoder().appendDataFrames(
            timestamps: seconds.map { start + $0 * second },
            wireIDs: seconds.map { _ in wireID },
            values: seconds.map { _ in value },
            to: &out
        )
        return out
    }

    static func hello(_ sender: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        NativeHello(senderID: sender, wantsAcknowledgements: false).appendFrame(to: &out)
        return out
    }

    @Test("a contested wire id re-declared as a series over the cardinality limit is not mapped back to the old one")
    func contestedThenRefused() throws {
        let harness = try Harness(cardinalityLimit: 2)
        let first = try harness.connect()
        harness.feed(first, try Self.schema([(1, "X", "rx_power_dbm"), (2, "Y", "rx_power_dbm")]))
        harness.feed(first, Self.data(wireID: 1, seconds: [0, 10, 20], value: 1))
        let second = try harness.connect()
        harness.feed(second, try Self.schema([(5, "X", "rx_power_dbm")]))  // X is the first stream's
        harness.feed(second, try Self.schema([(5, "Z", "temperature_celsius")]))  // now Z: over the limit
        first.finish()  // X is free
        harness.feed(second, Self.data(wireID: 5, seconds: [30, 40, 50], value: 99))
        second.finish()
        #expect(!harness.routedValues().contains(99), "samples of Z went into X")
        #expect(harness.counters.rejectedCardinality.load(ordering: .relaxed) == 3)
    }

    @Test("a sender that declares its series before its hello, reconnecting again and again, claims each series once")
    func claimsDoNotGrowPerReconnect() throws {
        let harness = try Harness()
        let schema = try Self.schema((0..<50).map { (UInt32($0), "d\($0)", "rx_power_dbm") })
        var claimed: [Int] = []
        for round in 0..<5 {
            let stream = try harness.connect()
            harness.feed(stream, schema + Self.hello(42))
            let base = Int64(round) * 30
            harness.feed(stream, Self.data(wireID: 0, seconds: [base, base + 10, base + 20], value: 1))
            claimed.append(stream.session.claimedSeries.count)
            stream.finish(keepingSender: true)
        }
        #expect(claimed == [50, 50, 50, 50, 50])
        harness.context.release(harness.context.disconnectedSenders.removeAll())
    }

    @Test("a sender with a hello whose few samples had not started a clock yet keeps them when it goes")
    func candidateOfSenderWithoutClockKept() throws {
        let harness = try Harness()
        let stream = try harness.connect()
        harness.feed(stream, Self.hello(7) + (try Self.schema([(1, "d", "rx_power_dbm")])))
        // Two samples: fewer than the three that start a clock; nothing contradicts them.
        harness.feed(stream, Self.data(wireID: 1, seconds: [0, 10], value: 1))
        stream.finish(keepingSender: true)  // the connection ends; the sender does not come back
        harness.context.release(harness.context.disconnectedSenders.removeAll())
        #expect(harness.counters.rejectedClockOutliers.load(ordering: .relaxed) == 0)
        #expect(harness.routedValues().count == 2)
    }
}
