import VigilCore

#if canImport(Glibc)
import Glibc
#endif

// Per-series state, laid out by cache line. A window lives in the slot of its parity (window index
// `start / width`, even in slot 0, odd in slot 1) whenever that slot is free, which in steady state it
// always is, since consecutive windows alternate. So a gauge sample reads and writes one 64-byte line, the
// slot of its window, which the batch loop can prefetch from the sample's timestamp alone; a counter sample
// also touches the counter line. Opening a window also writes the window's first sample on the fourth line.
// Each series' registration flags (kind) live outside, in a byte per series, small enough to stay in cache,
// and so does a byte of slot tags that says which windows its slots hold: from the tag and the sample's
// timestamp the batch loop knows which line the sample will touch, or that it opens a window (and so also
// writes the firsts line), before it fetches any line, and no sample reads a slot it does not use.
// The layout is checked at table init (`_SeriesWindowState.checkLayout()`): Swift lays out stored
// properties of a non-resilient struct in declaration order, and the table's storage is 64-byte aligned.

/// One window slot: where its window starts, how many samples it holds (`count == 0` marks a free slot)
/// and its running aggregate. Exactly one cache line.
///
/// Welford's M2 is updated from the running sum instead of a running mean (same precision, one division,
/// eight bytes less): with `k` samples so far and sum `S`, adding `x` adds `(k·x − S)² / (k·(k+1))`.
@usableFromInline
struct _WindowSlot {
    @usableFromInline var startNanoseconds: Int64 = 0
    @usableFromInline var count: UInt32 = 0
    @usableFromInline var sum: Double = 0
    @usableFromInline var minimum: Double = 0
    @usableFromInline var maximum: Double = 0
    @usableFromInline var sumOfSquaredDeviations: Double = 0
    @usableFromInline var last: Double = 0
    @usableFromInline var lastTimestamp: Int64 = 0

    @inlinable init() {}

    @inlinable var isOpen: Bool { count != 0 }
}

/// A counter's previous reading and recent increase, and the increases credited to each slot's window.
/// One cache line; unused by gauges.
@usableFromInline
struct _CounterState {
    /// Last accepted counter reading and its time, valid when `recentIntervalNanoseconds >= 0`.
    @usableFromInline var previousValue: Double = 0
    @usableFromInline var previousTimestamp: Int64 = 0
    /// The latest measured increase and its interval, whose quotient is the recent rate a wrap is judged
    /// against; kept apart so that the rate (a division) is computed only when a counter goes down.
    /// `recentIntervalNanoseconds` is -1 before the first reading, 0 while there is a reading but no rate.
    @usableFromInline var recentIncrease: Double = 0
    @usableFromInline var recentIntervalNanoseconds: Double = -1
    /// Per slot: sum of the increases credited to its window, and of their intervals (Double nanoseconds:
    /// exact below 2^53 ns, 104 days, and no overflow trap).
    @usableFromInline var increase0: Double = 0
    @usableFromInline var intervalNanoseconds0: Double = 0
    @usableFromInline var increase1: Double = 0
    @usableFromInline var intervalNanoseconds1: Double = 0

    @inlinable init() {}

    /// The recent increase rate per second, nil when there is none.
    @inlinable var recentRatePerSecond: Double? {
        recentIntervalNanoseconds > 0 ? recentIncrease / (recentIntervalNanoseconds * 1e-9) : nil
    }
}

/// The earliest sample of each slot's window. Written when the window opens; afterwards read only by a
/// sample older than the window's latest (out of order), so it lives off the hot lines.
@usableFromInline
struct _WindowFirsts {
    @usableFromInline var first0: Double = 0
    @usableFromInline var firstTimestamp0: Int64 = 0
    @usableFromInline var first1: Double = 0
    @usableFromInline var firstTimestamp1: Int64 = 0
    /// Per slot: whether the counter line's sums for the slot are its window's own: zeroed when the window
    /// opened as a counter, or when the series turned into a counter since. A gauge's open leaves the
    /// counter line alone (it is off the lines a gauge touches) and clears this; a series that turns into
    /// a counter zeroes the sums of the slots without it, and sets it.
    @usableFromInline var hasCounterSums0 = false
    @usableFromInline var hasCounterSums1 = false
    /// The end of the latest window of this series that `add` force-closed (`Int64.min` when none): no
    /// window ending at or before it may open again. Force-closing leaves the table's watermark alone (other
    /// series, fed by sources with slower clocks, still fill theirs), so this series keeps its own bound.
    @usableFromInline var forceClosedThroughNanoseconds: Int64 = .min
    @usableFromInline var _reservedTail: (UInt64, UInt64) = (0, 0)

    @inlinable init() {}
}

/// Everything one series costs in a shard table's state array: 256 bytes, four cache lines (plus its
/// flags byte): line 0 is slot 0, line 1 slot 1, line 2 the counter, line 3 the first samples.
///
/// Two slots suffice: lateness <= width means at most two windows of a series are open at once.
@usableFromInline
struct _SeriesWindowState {
    @usableFromInline var slot0 = _WindowSlot()
    @usableFromInline var slot1 = _WindowSlot()
    @usableFromInline var counter = _CounterState()
    @usableFromInline var firsts = _WindowFirsts()

    /// Flags byte: the kind in the low bits, and whether the series is registered.
    @usableFromInline static let kindMask: UInt8 = 0x03
    @usableFromInline static let registeredFlag: UInt8 = 0x40

    /// Bytes from one line to the next, and lines per series.
    @usableFromInline static let cacheLineBytes = 64
    @usableFromInline static let strideBytes = 256

    @inlinable init() {}

    /// Slot tags (a byte per series): bits 0-2 hold slot 0's window index mod 8 and bit 3 says slot 0 is
    /// open; bits 4-7 say the same of slot 1. Kept equal to the slots' `isOpen` and start by every write
    /// that opens or frees a slot, so a slot holds window `w` only if its nibble is `tagNibble(w)`; the
    /// converse (eight windows apart) is settled by the slot's start.
    @inlinable
    @inline(__always)
    static func tagNibble(windowIndex: Int) -> UInt8 { UInt8(truncatingIfNeeded: windowIndex & 7) | 0x08 }

    /// Slot `index`'s nibble in `tags`.
    @inlinable
    @inline(__always)
    static func nibble(_ tags: UInt8, slot index: Int) -> UInt8 { (tags &>> (4 &* UInt8(index))) & 0x0F }

    /// The slot whose nibble in `tags` is `nibble`, or -1 when neither is.
    @inlinable
    @inline(__always)
    static func taggedSlot(_ tags: UInt8, nibble: UInt8) -> Int {
        Self.nibble(tags, slot: 0) == nibble ? 0 : Self.nibble(tags, slot: 1) == nibble ? 1 : -1
    }

    /// Whether slot `index` is open according to `tags`.
    @inlinable
    @inline(__always)
    static func isTaggedOpen(_ tags: UInt8, slot index: Int) -> Bool { nibble(tags, slot: index) & 0x08 != 0 }

    /// `tags` with slot `index`'s nibble replaced by `nibble` (0 frees the slot).
    @inlinable
    @inline(__always)
    static func retagged(_ tags: UInt8, slot index: Int, nibble: UInt8) -> UInt8 {
        index == 0 ? (tags & 0xF0) | nibble : (tags & 0x0F) | (nibble &<< 4)
    }

    /// Traps unless the layout is the one the comment above promises (a compiler that reorders fields
    /// would silently cost a cache line per sample otherwise).
    static func checkLayout() {
        precondition(MemoryLayout<_SeriesWindowState>.stride == strideBytes, "series state is not 256 bytes")
        precondition(MemoryLayout<_WindowSlot>.size == cacheLineBytes, "window slot is not one line")
        precondition(MemoryLayout<_CounterState>.size == cacheLineBytes, "counter state is not one line")
        precondition(MemoryLayout<_SeriesWindowState>.offset(of: \.slot1) == cacheLineBytes, "slot1 not on line 1")
        precondition(MemoryLayout<_SeriesWindowState>.offset(of: \.counter) == 2 * cacheLineBytes, "counter off line 2")
        precondition(MemoryLayout<_SeriesWindowState>.offset(of: \.firsts) == 3 * cacheLineBytes, "firsts off line 3")
    }
}

/// The per-series states of one table, in one 64-byte-aligned allocation so that every state starts a
/// cache line, and their flags and slot-tag bytes in two others. Elements `0..<count` (counted by the table) are
/// initialised; the rest is untouched memory, which the kernel maps only when first written. The types
/// are trivial: nothing to deinitialise.
@usableFromInline
final class _SeriesWindowStorage {
    @usableFromInline let _states: UnsafeMutablePointer<_SeriesWindowState>
    /// Per series: `registeredFlag | kind`, 0 when not registered.
    @usableFromInline let _flags: UnsafeMutablePointer<UInt8>
    /// Per series: its slot tags (``_SeriesWindowState/tagNibble(windowIndex:)``), 0 when no slot is open.
    @usableFromInline let _slotTags: UnsafeMutablePointer<UInt8>
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
        _flags = .allocate(capacity: max(1, capacity))
        _slotTags = .allocate(capacity: max(1, capacity))
    }

    /// A new storage of `capacity` holding a copy of the first `count` states and flags of this one.
    @usableFromInline
    func copy(count: Int, capacity: Int) -> _SeriesWindowStorage {
        precondition(count <= _capacity && count <= capacity, "copying \(count) states into \(capacity)")
        let copy = _SeriesWindowStorage(capacity: capacity)
        copy._states.initialize(from: _states, count: count)
        copy._flags.initialize(from: _flags, count: count)
        copy._slotTags.initialize(from: _slotTags, count: count)
        return copy
    }

    deinit {
        UnsafeMutableRawPointer(_states).deallocate()
        _flags.deallocate()
        _slotTags.deallocate()
    }
}
