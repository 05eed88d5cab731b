import VigilAnalytics
import VigilCore

/// The producer side of routing: appends samples to the current batch of their shard and sends full
/// batches on. One router per producer thread; not thread-safe by design.
///
/// Shard of a series: `id % shardCount`. Series ids are dense, so this spreads series evenly, and the
/// shard keeps them at local index `id / shardCount` in plain arrays.
///
/// Each batch is stamped with the engine's watermark as of its *first* sample: the lowest watermark of the
/// active sources, never newer than the watermark of the source of any of its samples at their arrival, so
/// a sample that was on time when it arrived is never judged late because it waited in a batch.
public final class ShardRouter {
    struct Cursor {
        var batch: SampleBatch?
        var timestamps: UnsafeMutablePointer<Int64>
        var seriesIDs: UnsafeMutablePointer<SeriesID>
        var values: UnsafeMutablePointer<Double>
        var count: Int
        var capacity: Int
    }

    let lanes: [ShardLane]
    /// This producer's sources' clocks, which publish to the engine's.
    let producerClock: ProducerClock
    let counters: EngineCounters
    private let shards: ShardArithmetic
    private let cursors: UnsafeMutablePointer<Cursor>
    /// At or below the stamp of every partly filled batch held (`Int64.max` when none may be).
    private var oldestStampHeld: Int64 = .max
    /// The source whose frame is being routed (``beginFrame(source:)``): a batch replaced mid-frame publishes
    /// its progress before it is stamped.
    private var currentSource: ProducerClock.Source?

    /// The engine's windows: the ingest's late verdict, and how far behind a held batch may fall.
    let windows: WindowConfiguration

    init(lanes: [ShardLane], producerClock: ProducerClock, counters: EngineCounters, windows: WindowConfiguration) {
        precondition(!lanes.isEmpty)
        self.lanes = lanes
        self.producerClock = producerClock
        self.counters = counters
        self.windows = windows
        self.shards = ShardArithmetic(shardCount: lanes.count)
        let placeholder = UnsafeMutablePointer<Int64>.allocate(capacity: 0)
        defer { placeholder.deallocate() }
        cursors = .allocate(capacity: lanes.count)
        cursors.initialize(
            repeating: Cursor(
                batch: nil,
                timestamps: placeholder,
                seriesIDs: UnsafeMutableRawPointer(placeholder).assumingMemoryBound(to: SeriesID.self),
                values: UnsafeMutableRawPointer(placeholder).assumingMemoryBound(to: Double.self),
                count: 0,
                capacity: 0
            ),
            count: lanes.count
        )
    }

    deinit {
        cursors.deinitialize(count: lanes.count)
        cursors.deallocate()
    }

    public var shardCount: Int { lanes.count }

    /// The per-sample path: appends accepted samples to their shard's batch. It carries the router's fixed
    /// state (shard arithmetic, cursors) as its own fields, so a frame's loop keeps them in registers
    /// instead of reloading them from the object per sample. Begin a frame with ``beginFrame(source:)``, take
    /// one appender per frame (``appender``), pass each sample with its source's newest event time so far
    /// (this sample included), and end the frame with ``endFrame(newest:)``.
    struct Appender {
        let router: ShardRouter
        let shards: ShardArithmetic
        let cursors: UnsafeMutablePointer<Cursor>

        /// Routes one accepted sample: a multiplication, three stores, and a send every `batchCapacity`
        /// samples.
        @inline(__always)
        func append(timestamp: Int64, seriesID: SeriesID, value: Double, newest: Int64) {
            let shard = shards.shard(of: seriesID)
            let cursor = cursors + shard
            if cursor.pointee.count == cursor.pointee.capacity { router.replaceBatch(shard: shard, newest: newest) }
            let index = cursor.pointee.count
            cursor.pointee.timestamps[index] = timestamp
            cursor.pointee.seriesIDs[index] = seriesID
            cursor.pointee.values[index] = value
            cursor.pointee.count = index &+ 1
        }
    }

    var appender: Appender { Appender(router: self, shards: shards, cursors: cursors) }

    /// Starts routing a frame of `source`'s samples.
    func beginFrame(source: ProducerClock.Source) { currentSource = source }

    /// The end of a frame: moves the source's clock to `newest` (the last `newest` given to the appender),
    /// publishes the producer's watermark, and sends the partly filled batches stamped a window or more behind
    /// the engine's. Without this, when every shard's series are rare (no batch fills, none is replaced), the
    /// shards would sit at their first stamps until the input pauses.
    func endFrame(newest: Int64) {
        if let currentSource { producerClock.advance(currentSource, toNewest: newest) }
        sendBatchesStampedBefore(producerClock.publish(), except: -1)
    }

    /// Publishes the producer's watermark after its sources changed outside a frame (one joined, left or
    /// went idle), and sends what that leaves a window behind.
    func publishWatermark() {
        sendBatchesStampedBefore(producerClock.publish(), except: -1)
    }

    /// Sends the shard's current batch if it has samples, and takes an empty one (waiting for the shard
    /// to return one if none is free: backpressure).
    private func replaceBatch(shard: Int, newest: Int64) {
        if let currentSource { producerClock.advance(currentSource, toNewest: newest) }
        send(shard: shard)
        let lane = lanes[shard]
        let batch = lane.recycle.pop(while: { true })!
        batch.removeAll()
        // "Stamping" before the clock is read: an idle shard that reads the clock first and then this sees
        // either the stamp or a clock no newer than the one the stamp comes from.
        lane.pendingStamp.store(.min, ordering: .sequentiallyConsistent)
        batch.watermarkNanoseconds = producerClock.publish()
        lane.pendingStamp.store(batch.watermarkNanoseconds, ordering: .sequentiallyConsistent)
        oldestStampHeld = min(oldestStampHeld, batch.watermarkNanoseconds)
        cursors[shard] = Cursor(
            batch: batch,
            timestamps: batch.timestamps,
            seriesIDs: batch.seriesIDs,
            values: batch.values,
            count: 0,
            capacity: batch.capacity
        )
        sendBatchesStampedBefore(batch.watermarkNanoseconds, except: shard)
    }

    /// Sends the partly filled batches stamped a window or more before `watermark`, however few samples they
    /// hold. A shard whose series are rare (or quiet) would otherwise wait behind such a batch: an idle shard
    /// closes windows only up to the stamp of a batch still being filled for it, and the alert log releases
    /// events only up to the slowest shard. Sending early changes no verdict: lateness is judged at ingest.
    private func sendBatchesStampedBefore(_ watermark: Int64, except current: Int) {
        guard watermark != .min else { return }
        let staleBefore = watermark &- windows.windowNanoseconds
        // Most calls find nothing stale: the lowest stamp held (a lower bound) says so without a scan.
        guard staleBefore >= oldestStampHeld else { return }
        var oldestLeft = Int64.max
        for other in 0..<lanes.count {
            // The batch just taken for `current` is held too, though its first sample is still to come.
            guard let pending = cursors[other].batch, cursors[other].count > 0 || other == current else { continue }
            if other != current && pending.watermarkNanoseconds <= staleBefore {
                send(shard: other)
            } else {
                oldestLeft = min(oldestLeft, pending.watermarkNanoseconds)
            }
        }
        oldestStampHeld = oldestLeft
    }

    private func send(shard: Int) {
        let cursor = cursors + shard
        guard let batch = cursor.pointee.batch, cursor.pointee.count > 0 else { return }
        batch.count = cursor.pointee.count
        counters.samplesRouted.wrappingIncrement(by: batch.count, ordering: .relaxed)
        cursor.pointee.batch = nil
        cursor.pointee.count = 0
        cursor.pointee.capacity = 0
        _ = lanes[shard].forward.push(batch)
        // After the push: a shard that sees no stamp finds the batch in its ring.
        lanes[shard].pendingStamp.store(.max, ordering: .sequentiallyConsistent)
    }

    /// Sends every partly filled batch now: at end of input, and when input is slow (a short read), so
    /// samples do not wait in a half-empty batch.
    public func flush() {
        for shard in 0..<lanes.count { send(shard: shard) }
        producerClock.publish()
    }

    /// Sends what is left and lets go of the empty batches in hand: call once, at the end. (They are not
    /// pushed back to the recycle ring: only the shard may push there.)
    public func finish() {
        flush()
        for shard in 0..<lanes.count { cursors[shard].batch = nil }
    }
}
