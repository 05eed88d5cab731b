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

    public var newestNanoseconds: Int64 { newest.load(ordering: .acquiring) }

    /// Raises the clock to `candidate` if it is newer, and returns the resulting newest time.
    public func advance(to candidate: Int64) -> Int64 {
        var current = newest.load(ordering: .relaxed)
        while candidate > current {
            let (exchanged, original) = newest.weakCompareExchange(
                expected: current,
                desired: candidate,
                ordering: .acquiringAndReleasing
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
