import Atomics

#if canImport(Glibc)
import Glibc
#endif

/// The event-time clocks of one producer's sources (each stream, each TCP connection), and what the producer
/// publishes to the engine's ``EventClock``: the lowest watermark among its active sources.
///
/// A source's watermark is its newest confirmed event time minus the lateness, but never below its *floor*:
/// the engine's watermark when it joined, since windows the engine closed before it came stay closed. A
/// source is active (holds the engine's watermark back) from when it joins until it leaves (its stream
/// ended) or goes idle: no on-time sample for `idleTimeoutNanoseconds` of wall-clock time. An idle source
/// rejoins with its next frame, its floor raised to the engine's watermark then.
///
/// Active sources are kept in a binary min-heap by watermark, so publishing is O(1) and a source's move is
/// O(log sources): a TCP listener may hold thousands. Owned by the producer's thread: not thread-safe.
final class ProducerClock {
    /// One source's clock; its fields are read and written by the producer's thread only.
    final class Source {
        let name: String
        /// Unique among the run's sources (never 0): the key of the series it claims (``SeriesClaims``).
        let id: UInt32 = Source.nextID.loadThenWrappingIncrement(ordering: .relaxed) % UInt32.max &+ 1
        private static let nextID = ManagedAtomic<UInt32>(0)
        /// The newest event time this source has confirmed; `.min` until it has a clock.
        fileprivate(set) var newestNanoseconds: Int64 = .min
        /// The engine's watermark when the source last joined: its samples are late against at least this.
        fileprivate(set) var floorNanoseconds: Int64 = .min
        /// Monotonic wall-clock time of its last on-time sample (or of joining).
        fileprivate(set) var lastOnTimeNanoseconds: Int64 = 0
        /// `max(newest - lateness, floor)`: what the source holds the engine's watermark to.
        fileprivate(set) var watermarkNanoseconds: Int64 = .min
        /// Position in the heap; -1 while not active.
        fileprivate var heapIndex = -1

        init(name: String) { self.name = name }

        var isActive: Bool { heapIndex >= 0 }
        var hasClock: Bool { newestNanoseconds != .min }
    }

    let producerIndex: Int
    let engineClock: EventClock
    let latenessNanoseconds: Int64
    /// A source with no on-time sample for this long stops holding the engine's watermark back.
    let idleTimeoutNanoseconds: Int64
    /// For live sources (TCP senders): what this producer publishes never passes the wall clock minus the
    /// lateness, so a lone sender whose clock runs ahead cannot close windows that senders connecting later
    /// still fill. Recordings (files, standard input) replay the past and the future alike: not capped.
    let capsAtWallClock: Bool
    private var heap: [Source] = []

    init(
        producerIndex: Int,
        engineClock: EventClock,
        idleTimeoutNanoseconds: Int64,
        capsAtWallClock: Bool
    ) {
        self.producerIndex = producerIndex
        self.engineClock = engineClock
        self.latenessNanoseconds = engineClock.latenessNanoseconds
        self.idleTimeoutNanoseconds = idleTimeoutNanoseconds
        self.capsAtWallClock = capsAtWallClock
    }

    /// Active sources.
    var activeCount: Int { heap.count }

    /// Makes `source` active: its floor is raised to the engine's watermark now (windows closed while it was
    /// away stay closed), and it holds the engine's watermark back from now on. No-op when already active.
    ///
    /// A source's idle time runs from its last on-time sample, not from when it rejoined: one that sends only
    /// late samples rejoins with each frame and leaves at its end (``isIdle(_:nowNanoseconds:)``), instead of
    /// holding the others back for another idle timeout each time.
    func join(_ source: Source, nowNanoseconds: Int64) {
        guard !source.isActive else { return }
        source.floorNanoseconds = max(source.floorNanoseconds, engineClock.currentWatermark)
        if source.lastOnTimeNanoseconds == 0 { source.lastOnTimeNanoseconds = nowNanoseconds }
        source.watermarkNanoseconds = watermark(of: source)
        source.heapIndex = heap.count
        heap.append(source)
        siftUp(source.heapIndex)
    }

    /// Moves the source's newest event time forward to `newest` (never back).
    func advance(_ source: Source, toNewest newest: Int64) {
        guard newest > source.newestNanoseconds else { return }
        source.newestNanoseconds = newest
        let updated = watermark(of: source)
        guard updated != source.watermarkNanoseconds else { return }
        source.watermarkNanoseconds = updated
        // A watermark only rises, so the source can only move down the heap.
        if source.isActive { siftDown(source.heapIndex) }
    }

    /// Notes an on-time sample from the source (wall clock), for idleness.
    func noteOnTime(_ source: Source, nowNanoseconds: Int64) {
        source.lastOnTimeNanoseconds = nowNanoseconds
    }

    /// Whether the source has had no on-time sample for the idle timeout.
    func isIdle(_ source: Source, nowNanoseconds: Int64) -> Bool {
        nowNanoseconds &- source.lastOnTimeNanoseconds >= idleTimeoutNanoseconds
    }

    /// Stops the source holding the engine's watermark back (end of its stream, or idle).
    func leave(_ source: Source) {
        guard source.isActive else { return }
        let index = source.heapIndex
        let last = heap.removeLast()
        source.heapIndex = -1
        guard index < heap.count else { return }
        heap[index] = last
        last.heapIndex = index
        siftDown(index)
        siftUp(last.heapIndex)
    }

    /// Lets go of the active sources with no on-time sample for the idle timeout, and returns them.
    /// O(active sources): called from a producer's idle path, a few times a second at most.
    func expireIdle(nowNanoseconds: Int64) -> [Source] {
        let idle = heap.filter { isIdle($0, nowNanoseconds: nowNanoseconds) }
        for source in idle { leave(source) }
        return idle
    }

    /// Publishes this producer's watermark (the lowest active source's, capped at the wall clock for live
    /// sources; ``EventClock/nothingHeld`` when none is active) and returns the engine's watermark.
    @discardableResult
    func publish() -> Int64 {
        guard var lowest = heap.first?.watermarkNanoseconds else {
            return engineClock.publish(producer: producerIndex, watermark: EventClock.nothingHeld)
        }
        if capsAtWallClock { lowest = min(lowest, Self.realtimeNanoseconds() &- latenessNanoseconds) }
        return engineClock.publish(producer: producerIndex, watermark: lowest)
    }

    private func watermark(of source: Source) -> Int64 {
        Self.watermark(
            newest: source.newestNanoseconds,
            floor: source.floorNanoseconds,
            latenessNanoseconds: latenessNanoseconds
        )
    }

    /// A source's watermark: `max(newest - lateness, floor)`, or the floor alone while it has no clock.
    @inline(__always)
    static func watermark(newest: Int64, floor: Int64, latenessNanoseconds: Int64) -> Int64 {
        newest == .min ? floor : max(newest &- latenessNanoseconds, floor)
    }

    /// Wall-clock time since the epoch, nanoseconds: event time's scale.
    static func realtimeNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) &* 1_000_000_000 &+ Int64(now.tv_nsec)
    }

    // MARK: - Heap

    private func siftUp(_ start: Int) {
        var index = start
        while index > 0 {
            let parent = (index - 1) / 2
            guard heap[index].watermarkNanoseconds < heap[parent].watermarkNanoseconds else { break }
            swapAt(index, parent)
            index = parent
        }
    }

    private func siftDown(_ start: Int) {
        var index = start
        while true {
            let left = 2 * index + 1
            guard left < heap.count else { return }
            let right = left + 1
            var lower = left
            if right < heap.count && heap[right].watermarkNanoseconds < heap[left].watermarkNanoseconds {
                lower = right
            }
            guard heap[lower].watermarkNanoseconds < heap[index].watermarkNanoseconds else { return }
            swapAt(index, lower)
            index = lower
        }
    }

    private func swapAt(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        heap[a].heapIndex = a
        heap[b].heapIndex = b
    }
}
