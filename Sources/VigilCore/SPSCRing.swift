import Atomics

/// A bounded, lock-free, single-producer single-consumer ring.
///
/// Exactly one thread may call ``tryPush(_:)`` and exactly one (other) thread ``tryPop()``. Head and
/// tail are monotonically increasing counters; the slot of position `p` is `p & mask`. The producer
/// publishes a slot with a release store of `tail`, the consumer reads it after an acquire load, so
/// everything written into the element before the push is visible after the pop.
///
/// Invariant: `0 <= tail - head <= capacity`. Checked in debug builds.
///
/// Blocking is layered on top (``push(_:while:)``, ``pop(while:)``): spin briefly, then yield, then park
/// on the waiting side's ``Parker``, which the other side wakes: every push wakes ``consumerParker`` and
/// every pop ``producerParker`` if that thread sleeps (one fence and one load per push or pop when it does
/// not; the engine pushes and pops batches, never samples). A thread that waits on several rings (a shard
/// on its lanes, a writer on every shard's ring) passes its one parker to all of them.
public final class SPSCRing<Element>: @unchecked Sendable {
    @usableFromInline let _slots: UnsafeMutablePointer<Element?>
    @usableFromInline let _mask: Int
    public let capacity: Int
    // head and tail live 128 bytes apart (two cache lines, for the adjacent-line prefetcher), so the
    // producer's and the consumer's stores do not contend for one line.
    @usableFromInline let _counters: UnsafeMutableRawPointer
    @usableFromInline let _head: UnsafeAtomic<Int>
    @usableFromInline let _tail: UnsafeAtomic<Int>
    /// Where the consumer sleeps while the ring is empty; woken by every push.
    public let consumerParker: Parker
    /// Where the producer sleeps while the ring is full; woken by every pop.
    public let producerParker: Parker
    /// Longest a blocking push or pop sleeps before it looks at its stop condition again (100 ms): a wake
    /// comes with the other side's pop or push; a stop condition that turns false wakes nobody.
    public static var stopCheckNanoseconds: Int64 { 100_000_000 }

    /// - Parameters:
    ///   - capacity: rounded up to a power of two, at least 2.
    ///   - consumerParker: the consuming thread's parker (its own if nil).
    ///   - producerParker: the producing thread's parker (its own if nil).
    public init(capacity: Int, consumerParker: Parker? = nil, producerParker: Parker? = nil) {
        self.consumerParker = consumerParker ?? Parker()
        self.producerParker = producerParker ?? Parker()
        precondition(capacity >= 1 && capacity <= 1 << 20, "SPSCRing capacity must be in 1...1_048_576")
        var size = 2
        while size < capacity { size <<= 1 }
        self.capacity = size
        self._mask = size - 1
        self._slots = .allocate(capacity: size)
        self._slots.initialize(repeating: nil, count: size)
        self._counters = .allocate(byteCount: 256, alignment: 128)
        let headStorage = _counters.bindMemory(to: UnsafeAtomic<Int>.Storage.self, capacity: 1)
        headStorage.initialize(to: .init(0))
        let tailStorage = (_counters + 128).bindMemory(to: UnsafeAtomic<Int>.Storage.self, capacity: 1)
        tailStorage.initialize(to: .init(0))
        self._head = UnsafeAtomic(at: headStorage)
        self._tail = UnsafeAtomic(at: tailStorage)
    }

    deinit {
        _slots.deinitialize(count: capacity)
        _slots.deallocate()
        _counters.deallocate()
    }

    /// Producer side. Returns false, leaving the ring unchanged, when it is full.
    @inlinable
    public func tryPush(_ element: Element) -> Bool {
        let tail = _tail.load(ordering: .relaxed)
        let head = _head.load(ordering: .acquiring)
        assert(tail - head >= 0 && tail - head <= capacity, "SPSCRing invariant broken")
        if tail - head == capacity { return false }
        _slots[tail & _mask] = element
        _tail.store(tail &+ 1, ordering: .releasing)
        consumerParker.unpark()
        return true
    }

    /// Consumer side. Returns nil when the ring is empty.
    @inlinable
    public func tryPop() -> Element? {
        let head = _head.load(ordering: .relaxed)
        let tail = _tail.load(ordering: .acquiring)
        assert(tail - head >= 0 && tail - head <= capacity, "SPSCRing invariant broken")
        if head == tail { return nil }
        let element = _slots[head & _mask].take()
        _head.store(head &+ 1, ordering: .releasing)
        producerParker.unpark()
        return element
    }

    /// Elements waiting; exact when called by either side, approximate from a third thread.
    public var count: Int { _tail.load(ordering: .acquiring) - _head.load(ordering: .acquiring) }

    /// Whether the ring holds nothing; exact for the consumer, a snapshot for anyone else.
    @inlinable
    public var isEmpty: Bool { _tail.load(ordering: .acquiring) == _head.load(ordering: .acquiring) }

    /// Producer side: pushes, waiting while the ring is full (backpressure) as long as `keepWaiting()`
    /// is true. Returns false if it gave up because `keepWaiting()` turned false.
    @inlinable
    public func push(_ element: Element, while keepWaiting: () -> Bool = { true }) -> Bool {
        var backoff = Backoff()
        while !tryPush(element) {
            if !keepWaiting() { return false }
            if !backoff.spin() {
                producerParker.park(timeoutNanoseconds: Self.stopCheckNanoseconds) { count < capacity }
            }
        }
        return true
    }

    /// Consumer side: pops, waiting while the ring is empty as long as `keepWaiting()` is true.
    @inlinable
    public func pop(while keepWaiting: () -> Bool) -> Element? {
        var backoff = Backoff()
        while true {
            if let element = tryPop() { return element }
            if !keepWaiting() { return tryPop() }
            if !backoff.spin() {
                consumerParker.park(timeoutNanoseconds: Self.stopCheckNanoseconds) { !isEmpty }
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
