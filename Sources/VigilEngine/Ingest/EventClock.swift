import Atomics

/// The engine-wide event-time clock: the newest event time any producer has routed.
///
/// Producers raise it once per batch (an atomic max); the watermark they stamp on each batch is
/// `newest - lateness`, so every shard closes windows against the same clock even though each sees only
/// its own series.
public final class EventClock: Sendable {
    private let newest = ManagedAtomic<Int64>(.min)
    public let latenessNanoseconds: Int64

    public init(latenessNanoseconds: Int64) {
        self.latenessNanoseconds = latenessNanoseconds
    }

    public var newestNanoseconds: Int64 { newest.load(ordering: .sequentiallyConsistent) }

    /// The engine's watermark now (`.min` before the first sample).
    public var currentWatermark: Int64 { watermark(newest: newestNanoseconds) }

    /// Raises the clock to `candidate` if it is newer, and returns the resulting newest time.
    ///
    /// Sequentially consistent (once per batch, so free), like the lanes' pending stamps: an idle shard
    /// reads the clock and then the stamps, a producer publishes "stamping" and then reads the clock, so
    /// a producer the shard did not see stamping gets a clock at least as new as the shard's.
    public func advance(to candidate: Int64) -> Int64 {
        var current = newest.load(ordering: .sequentiallyConsistent)
        while candidate > current {
            let (exchanged, original) = newest.weakCompareExchange(
                expected: current,
                desired: candidate,
                ordering: .sequentiallyConsistent
            )
            if exchanged { return candidate }
            current = original
        }
        return current
    }

    public func watermark(newest: Int64) -> Int64 {
        newest == .min ? .min : newest &- latenessNanoseconds
    }
}
