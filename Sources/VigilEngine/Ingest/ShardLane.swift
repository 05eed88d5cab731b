import Atomics
import VigilCore

/// The two rings between one producer and one shard: full batches go forward, emptied batches come back.
///
/// The producer owns `batchesPerLane` batches for this shard, allocated once. A batch is always in exactly
/// one place (the producer's hands, the forward ring, the shard's hands, the recycle ring), so memory is
/// bounded by `batchesPerLane × batchCapacity` samples per lane and nothing is allocated while running.
/// A full forward ring and an empty recycle ring both mean the shard is behind: the producer waits
/// (backpressure), it never drops.
public final class ShardLane: @unchecked Sendable {
    public let forward: SPSCRing<SampleBatch>
    public let recycle: SPSCRing<SampleBatch>
    public let producerIndex: Int
    public let shardIndex: Int
    /// The watermark stamp of the batch the producer is filling for this shard; `Int64.max` when it holds
    /// none, `Int64.min` while it is stamping one. An idle shard closes windows on the engine's watermark
    /// only up to the lowest of these (see `ShardWorker`), so a sample waiting in a partly filled batch is
    /// still judged by the watermark of its arrival. Sequentially consistent, written once per batch.
    public let pendingStamp = ManagedAtomic<Int64>(.max)

    /// - Parameters:
    ///   - producerParker: where the producer sleeps waiting for an emptied batch (its own if nil); shared
    ///     by all its lanes.
    ///   - shardParker: where the shard sleeps while its lanes are empty (its own if nil); shared by all its
    ///     lanes, so a push into any of them wakes it.
    public init(
        producerIndex: Int,
        shardIndex: Int,
        batchesPerLane: Int,
        batchCapacity: Int,
        producerParker: Parker? = nil,
        shardParker: Parker? = nil
    ) {
        self.producerIndex = producerIndex
        self.shardIndex = shardIndex
        let producerParker = producerParker ?? Parker()
        let shardParker = shardParker ?? Parker()
        forward = SPSCRing(capacity: batchesPerLane, consumerParker: shardParker, producerParker: producerParker)
        // The shard never waits to push into `recycle` (it holds every batch of the lane), so the producer's
        // pops there wake nobody: the ring's own producer parker, not the shard's, which a pop per batch
        // would wake for nothing.
        recycle = SPSCRing(capacity: batchesPerLane, consumerParker: producerParker)
        for _ in 0..<batchesPerLane { _ = recycle.tryPush(SampleBatch(capacity: batchCapacity)) }
    }
}
