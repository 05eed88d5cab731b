import VigilCore

#if canImport(Glibc)
import Glibc
#endif

// Per-series state, laid out by cache line. A sample that lands in an open window reads and writes two
// 64-byte lines of its series: the header (which slot, the counter's previous reading) and that slot's
// running aggregate. Opening a window also writes the slot's first sample on the fourth line. The layout
// is checked at table init (`_SeriesWindowState.checkLayout()`): Swift lays out stored properties of a
// non-resilient struct in declaration order, and the table's storage is 64-byte aligned.

/// Where an open window starts and how many samples it holds: the part of a slot that `add` reads to
/// find a sample's slot, kept for both slots in the header line. `count == 0` marks a free slot.
@usableFromInline
struct _SlotHead {
    @usableFromInline var startNanoseconds: Int64 = 0
    @usableFromInline var count: UInt32 = 0

    @inlinable init() {}

    @inlinable var isOpen: Bool { count != 0 }
}

/// The running aggregate of one open window: exactly one cache line.
///
/// Welford's M2 is updated from the running sum instead of a running mean (same precision, one division,
/// eight bytes less): with `k` samples so far and sum `S`, adding `x` adds `(k·x − S)² / (k·(k+1))`.
@usableFromInline
struct _WindowSlot {
    @usableFromInline var sum: Double = 0
    @usableFromInline var minimum: Double = 0
    @usableFromInline var maximum: Double = 0
    @usableFromInline var sumOfSquaredDeviations: Double = 0
    @usableFromInline var last: Double = 0
    @usableFromInline var lastTimestamp: Int64 = 0
    /// Counters only: sum of the increases attributed to this window, and of their intervals.
    /// Intervals are summed as Double nanoseconds: exact below 2^53 ns (104 days), and no overflow trap.
    @usableFromInline var counterIncrease: Double = 0
    @usableFromInline var counterIntervalNanoseconds: Double = 0

    @inlinable init() {}
}

/// The earliest sample of one open window. Written when the window opens; afterwards read only by a
/// sample older than the window's latest (out of order), so it lives off the hot lines.
@usableFromInline
struct _WindowFirst {
    @usableFromInline var first: Double = 0
    @usableFromInline var firstTimestamp: Int64 = 0

    @inlinable init() {}
}

/// Everything one series costs in a shard table: 256 bytes, four cache lines.
///
/// - line 0, header: both slots' start and count, the counter's previous reading, kind and flags;
/// - line 1: slot 0's running aggregate; line 2: slot 1's;
/// - line 3: both slots' first sample, then reserved bytes.
///
/// Two slots suffice: lateness <= width means at most two windows of a series are open at once.
@usableFromInline
struct _SeriesWindowState {
    // Line 0.
    @usableFromInline var head0 = _SlotHead()
    @usableFromInline var head1 = _SlotHead()
    /// Last accepted counter reading and its time; valid when `flags & hasPreviousCounterFlag`.
    @usableFromInline var previousCounterValue: Double = 0
    @usableFromInline var previousCounterTimestamp: Int64 = 0
    /// Latest measured increase rate (per second); negative when there is none.
    @usableFromInline var recentRatePerSecond: Double = -1
    /// Kind and flags; ends line 0 (its 7 padding bytes are the rest of the line).
    @usableFromInline var flags: UInt8 = 0
    // Lines 1 and 2.
    @usableFromInline var slot0 = _WindowSlot()
    @usableFromInline var slot1 = _WindowSlot()
    // Line 3.
    @usableFromInline var first0 = _WindowFirst()
    @usableFromInline var first1 = _WindowFirst()
    @usableFromInline var _reservedTail: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    @usableFromInline static let kindMask: UInt8 = 0x03
    @usableFromInline static let registeredFlag: UInt8 = 0x40
    @usableFromInline static let hasPreviousCounterFlag: UInt8 = 0x80

    /// Bytes from one line to the next, and lines per series.
    @usableFromInline static let cacheLineBytes = 64
    @usableFromInline static let strideBytes = 256

    @inlinable init() {}

    @inlinable var isRegistered: Bool { flags & Self.registeredFlag != 0 }

    @inlinable var kind: MetricKind { MetricKind(rawValue: flags & Self.kindMask) ?? .gauge }

    /// Traps unless the layout is the one the comment above promises (a compiler that reorders fields
    /// would silently cost a cache line per sample otherwise).
    static func checkLayout() {
        precondition(MemoryLayout<_SeriesWindowState>.stride == strideBytes, "series state is not 256 bytes")
        precondition(MemoryLayout<_WindowSlot>.size == cacheLineBytes, "window slot is not one line")
        precondition(MemoryLayout<_SeriesWindowState>.offset(of: \.flags)! < cacheLineBytes, "flags off line 0")
        precondition(MemoryLayout<_SeriesWindowState>.offset(of: \.slot0) == cacheLineBytes, "slot0 not on line 1")
        precondition(MemoryLayout<_SeriesWindowState>.offset(of: \.slot1) == 2 * cacheLineBytes, "slot1 not on line 2")
        precondition(MemoryLayout<_SeriesWindowState>.offset(of: \.first0) == 3 * cacheLineBytes, "first0 off line 3")
    }
}

/// The per-series states of one table, in one 64-byte-aligned allocation so that every state starts a
/// cache line. Elements `0..<count` (counted by the table) are initialised; the rest is untouched memory,
/// which the kernel maps only when first written. The type is trivial: nothing to deinitialise.
@usableFromInline
final class _SeriesWindowStorage {
    @usableFromInline let _states: UnsafeMutablePointer<_SeriesWindowState>
    /// Elements the allocation has room for.
    @usableFromInline let _capacity: Int

    /// Storages at least this large are aligned to it and asked for transparent huge pages.
    @usableFromInline static let hugePageBytes = 2 << 20

    @usableFromInline
    init(capacity: Int) {
        precondition(capacity >= 0, "storage capacity must be >= 0, got \(capacity)")
        _capacity = capacity
        let byteCount = max(1, capacity) * MemoryLayout<_SeriesWindowState>.stride
        let isLarge = byteCount >= Self.hugePageBytes
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: byteCount,
            alignment: isLarge ? Self.hugePageBytes : _SeriesWindowState.cacheLineBytes
        )
        #if os(Linux)
        // Samples hit series in random order: with 4 KiB pages nearly every one also misses the TLB and
        // waits for a page walk, which software prefetch cannot overlap well. 2 MiB pages cover a
        // 100k-series shard in a handful of TLB entries. Only a hint: memory and results are unchanged
        // (the kernel maps a huge page when the range is first written, or falls back to small pages).
        if isLarge { _ = madvise(raw, byteCount, MADV_HUGEPAGE) }
        #endif
        _states = raw.bindMemory(to: _SeriesWindowState.self, capacity: max(1, capacity))
    }

    /// A new storage of `capacity` holding a copy of the first `count` states of this one.
    @usableFromInline
    func copy(count: Int, capacity: Int) -> _SeriesWindowStorage {
        precondition(count <= _capacity && count <= capacity, "copying \(count) states into \(capacity)")
        let copy = _SeriesWindowStorage(capacity: capacity)
        copy._states.initialize(from: _states, count: count)
        return copy
    }

    deinit {
        UnsafeMutableRawPointer(_states).deallocate()
    }
}
