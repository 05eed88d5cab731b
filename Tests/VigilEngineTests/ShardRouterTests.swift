import Testing
import VigilAnalytics
import VigilCore

@testable import VigilEngine

@Suite("Shard router")
struct ShardRouterTests {
    static let second: Int64 = 1_000_000_000
    static let start: Int64 = 1_793_577_600_000_000_000

    /// Two lanes (shards) of one producer, four batches of `batchCapacity` samples each.
    static func lanes(batchCapacity: Int) -> [ShardLane] {
        (0..<2).map { ShardLane(producerIndex: 0, shardIndex: $0, batchesPerLane: 4, batchCapacity: batchCapacity) }
    }

    /// A router over `lanes` with no lateness and 60 s windows, routing the frames of one source.
    static func router(_ lanes: [ShardLane]) throws -> ShardRouter {
        let producerClock = ProducerClock(
            producerIndex: 0,
            engineClock: EventClock(latenessNanoseconds: 0),
            idleTimeoutNanoseconds: 60 * second,
            capsAtWallClock: false
        )
        let router = ShardRouter(
            lanes: lanes,
            producerClock: producerClock,
            counters: EngineCounters(),
            windows: try WindowConfiguration(windowNanoseconds: 60 * second, latenessNanoseconds: 0)
        )
        let source = ProducerClock.Source(name: "test")
        producerClock.join(source, nowNanoseconds: 0)
        router.beginFrame(source: source)
        return router
    }

    @Test("a partly filled batch stamped a window behind is sent when another shard's batch is stamped")
    func staleBatchIsSent() throws {
        let lanes = Self.lanes(batchCapacity: 8)
        let router = try Self.router(lanes)
        let appender = router.appender
        // Series 1 (shard 1) once, then series 0 (shard 0) every 10 s: shard 0's batches of 8 fill and are
        // stamped at 80 s and 160 s of event time, while shard 1's lone sample waits in a batch stamped at 0.
        appender.append(timestamp: Self.start, seriesID: 1, value: 1, newest: Self.start)
        var sentAt: Int64?
        for step in 0..<24 {
            let time = Self.start + Int64(step) * 10 * Self.second
            appender.append(timestamp: time, seriesID: 0, value: 1, newest: time)
            if sentAt == nil && lanes[1].forward.count > 0 { sentAt = time - Self.start }
        }
        // Sent when a stamp reached 60 s past its own (shard 0's batch at 80 s), with its one sample; not before.
        #expect(sentAt == 80 * Self.second)
        #expect(lanes[1].forward.tryPop()?.count == 1)
        #expect(lanes[1].pendingStamp.load(ordering: .sequentiallyConsistent) == .max)
        router.finish()
    }

    @Test("when no batch fills (every shard's series rare), a frame's end sends those a window behind")
    func staleBatchesSentAtFrameEnd() throws {
        let lanes = Self.lanes(batchCapacity: 64)
        let router = try Self.router(lanes)
        let appender = router.appender
        var sentAt: Int64?
        for frame in 0..<10 {
            let time = Self.start + Int64(frame) * 10 * Self.second
            appender.append(timestamp: time, seriesID: 0, value: 1, newest: time)
            appender.append(timestamp: time, seriesID: 1, value: 1, newest: time)
            router.endFrame(newest: time)
            if sentAt == nil && lanes[0].forward.count > 0 { sentAt = time - Self.start }
        }
        // Both first batches (stamped at 0 s) go when a frame ends at 60 s, with their 7 samples each.
        #expect(sentAt == 60 * Self.second)
        #expect(lanes[0].forward.tryPop()?.count == 7)
        #expect(lanes[1].forward.tryPop()?.count == 7)
        router.finish()
    }

    @Test("batches within a window of the newest stamp stay until they fill or the input pauses")
    func freshBatchWaits() throws {
        let lanes = Self.lanes(batchCapacity: 8)
        let router = try Self.router(lanes)
        let appender = router.appender
        appender.append(timestamp: Self.start, seriesID: 1, value: 1, newest: Self.start)
        for step in 0..<16 {
            let time = Self.start + Int64(step) * Self.second
            appender.append(timestamp: time, seriesID: 0, value: 1, newest: time)
        }
        #expect(lanes[1].forward.count == 0)
        #expect(lanes[1].pendingStamp.load(ordering: .sequentiallyConsistent) == Self.start)
        router.flush()
        #expect(lanes[1].forward.count == 1)
    }
}
