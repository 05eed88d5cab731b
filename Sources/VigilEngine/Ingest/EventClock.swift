import Atomics
import VigilCore

/// The engine-wide event-time clock: the engine's watermark, the lowest of what its producers publish.
///
/// Each producer (one per `--input`) keeps the clocks of its own sources (``ProducerClock``) and publishes
/// the lowest watermark among those that are active, or ``nothingHeld`` when none is. The engine's
/// watermark is the lowest published value, raised monotonically: it never goes back, so a window closed
/// against it stays closed. Batches are stamped with it and shards close windows up to it, so one source's
/// clock running ahead cannot close windows another source is still filling.
public final class EventClock: Sendable {
    /// A producer slot that holds nothing back: no active source (all idle, none yet, or finished).
    public static let nothingHeld = Int64.max

    private let watermark = ManagedAtomic<Int64>(.min)
    private let producerWatermarks: [ManagedAtomic<Int64>]
    public let latenessNanoseconds: Int64
    /// Woken when the watermark rises: the shards, which close windows on it while no batch comes.
    private let wakesOnRaise: [Parker]

    /// - Parameters:
    ///   - latenessNanoseconds: how far behind its newest event time a source's watermark is.
    ///   - producerCount: producers that publish (one slot each), each starting at ``nothingHeld``.
    ///   - wakesOnRaise: parkers to wake each time the watermark rises (a fence and a load each while their
    ///     threads are awake).
    public init(latenessNanoseconds: Int64, producerCount: Int = 1, wakesOnRaise: [Parker] = []) {
        self.wakesOnRaise = wakesOnRaise
        precondition(producerCount >= 1, "producerCount must be >= 1")
        self.latenessNanoseconds = latenessNanoseconds
        producerWatermarks = (0..<producerCount).map { _ in ManagedAtomic(Self.nothingHeld) }
    }

    /// The engine's watermark now (`.min` before any source has a clock).
    ///
    /// Sequentially consistent, like the lanes' pending stamps: an idle shard reads the watermark and then
    /// the stamps, a producer publishes "stamping" and then reads the watermark, so a producer the shard
    /// did not see stamping gets a watermark at least as new as the shard's.
    public var currentWatermark: Int64 { watermark.load(ordering: .sequentiallyConsistent) }

    /// Sets producer `index`'s published watermark (``nothingHeld`` for none), then raises the engine's
    /// watermark to the lowest published value if that is higher, and returns the engine's watermark.
    /// Once per batch or frame of a producer, never per sample.
    @discardableResult
    public func publish(producer index: Int, watermark value: Int64) -> Int64 {
        producerWatermarks[index].store(value, ordering: .sequentiallyConsistent)
        var lowest = Self.nothingHeld
        for slot in producerWatermarks { lowest = min(lowest, slot.load(ordering: .sequentiallyConsistent)) }
        // Nothing held anywhere (every source idle or finished): the watermark stays where it is.
        guard lowest != Self.nothingHeld else { return currentWatermark }
        return raise(to: lowest)
    }

    /// Raises the engine's watermark to `candidate` if it is higher; returns the resulting watermark.
    private func raise(to candidate: Int64) -> Int64 {
        var current = watermark.load(ordering: .sequentiallyConsistent)
        while candidate > current {
            let (exchanged, original) = watermark.weakCompareExchange(
                expected: current,
                desired: candidate,
                ordering: .sequentiallyConsistent
            )
            if exchanged {
                for parker in wakesOnRaise { parker.unpark() }
                return candidate
            }
            current = original
        }
        return current
    }
}
