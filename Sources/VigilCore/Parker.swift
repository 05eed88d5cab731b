import Atomics
import Dispatch

/// Where one thread sleeps while it has nothing to do, and how the threads that feed it wake it: an event
/// count for a single waiter.
///
/// The waiter announces that it is about to sleep (a sequentially consistent store of `sleeping`), checks
/// its condition again, and only then sleeps on a semaphore. A waker first publishes its work (a ring's
/// release store), then issues a sequentially consistent fence and reads `sleeping`: either it sees the
/// flag and signals, or the waiter's second look sees the work. So no wake is lost, and a waker whose waiter
/// is awake pays one fence and one load (per batch in the engine, never per sample) and takes no lock.
///
/// Exactly one thread may call ``park(timeoutNanoseconds:unless:)`` on a parker; any number may call
/// ``unpark()``. The semaphore is signalled at most once per sleep (the waker that clears the flag does it),
/// so its count never runs ahead of the sleeps, and a park that timed out while a waker was claiming it
/// takes that wake before it returns.
public final class Parker: @unchecked Sendable {
    @usableFromInline let _sleeping = ManagedAtomic<Bool>(false)
    private let semaphore = DispatchSemaphore(value: 0)
    /// Sleeps that ended with a wake (not a timeout, not the second look); for tests and the docs' figures.
    public let wakes = ManagedAtomic<Int>(0)

    public init() {}

    /// Wakes the waiter if it sleeps or is about to. Call after publishing the work it should see.
    @inlinable
    public func unpark() {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        guard _sleeping.load(ordering: .relaxed) else { return }
        _unparkSlow()
    }

    @usableFromInline
    func _unparkSlow() {
        // Only the waker that clears the flag signals: one signal per sleep.
        if _sleeping.exchange(false, ordering: .acquiringAndReleasing) { semaphore.signal() }
    }

    /// Sleeps until woken or `timeoutNanoseconds` pass (nil: no limit), unless `ready()` is already true
    /// once the sleep is announced. `ready` is the stop condition as much as the work: it must be true
    /// whenever the caller should not sleep (work is waiting, or it should stop).
    /// - Returns: true if it slept and was woken, false if `ready()` held or the time ran out.
    @discardableResult
    public func park(timeoutNanoseconds: Int64?, unless ready: () -> Bool) -> Bool {
        _sleeping.store(true, ordering: .sequentiallyConsistent)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if ready() {
            endSleep()
            return false
        }
        let deadline: DispatchTime =
            timeoutNanoseconds.map { .now() + .nanoseconds(Int(clamping: max(0, $0))) } ?? .distantFuture
        if semaphore.wait(timeout: deadline) == .success {
            wakes.wrappingIncrement(ordering: .relaxed)
            return true
        }
        endSleep()
        return false
    }

    /// Takes back the announcement; if a waker got to it first, it signals (or has), and that signal is
    /// taken here so that the next park does not return at once.
    private func endSleep() {
        if !_sleeping.exchange(false, ordering: .acquiringAndReleasing) { semaphore.wait() }
    }
}

/// The spin before a park: a waiter whose feeder is mid-batch finds work within microseconds, so it spins,
/// then yields, and parks only after that. Bounded: 64 spins and 32 yields.
public struct Backoff {
    @usableFromInline var _step = 0

    @inlinable public init() {}

    /// Spins or yields once and returns true while within the budget; false once the caller should park.
    @inlinable
    public mutating func spin() -> Bool {
        _step &+= 1
        if _step <= 64 { return true }
        if _step <= 96 {
            _ = sched_yield()
            return true
        }
        return false
    }

    @inlinable public mutating func reset() { _step = 0 }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
