import CVigilNative
import VigilCore

extension ShardWindowTable {
    /// How many samples ahead the batch loop prefetches a series' header line; the slot line the sample
    /// will write is prefetched at half this distance, once the header has arrived and says which slot.
    /// A miss costs a few hundred cycles and one sample's work a few dozen, so ~10 samples in flight
    /// hide most of it (measured on W1's order: 8, 16, 24 and 32 are within noise of each other).
    @usableFromInline static let prefetchDistance = 16

    /// Aggregates a batch of samples, in order, exactly as the same calls to
    /// ``add(seriesID:timestamp:value:watermark:)`` would, and stops at the first sample whose series this
    /// table has not registered (or that belongs to another shard).
    ///
    /// The engine's hot path. Per sample: no allocation, no bounds or uniqueness check, no closure or
    /// existential call. The series' header line is prefetched ``prefetchDistance`` samples ahead and the
    /// one slot line the sample needs half as far ahead, so the random access to per-series state
    /// overlaps with the work on the samples before it and fetches only lines that are used.
    ///
    /// ```swift
    /// var start = 0
    /// while start < count {
    ///     start += table.add(timestamps: t + start, seriesIDs: s + start, values: v + start,
    ///                        count: count - start, watermark: watermark)
    ///     if start < count { register(s[start]) }  // cold: once per series
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - timestamps: `count` event times, nanoseconds since the epoch.
    ///   - seriesIDs: `count` engine series ids.
    ///   - values: `count` readings.
    ///   - count: samples in the batch (>= 0).
    ///   - watermark: the engine's watermark; the table keeps the highest it has seen.
    /// - Returns: how many samples from the front were handled (accepted, late or rejected, each counted
    ///   in ``statistics``). When less than `count`, `seriesIDs[result]` is not registered here: register
    ///   it and call again from there.
    /// - Complexity: O(count).
    @inlinable
    public mutating func add(
        timestamps: UnsafePointer<Int64>,
        seriesIDs: UnsafePointer<SeriesID>,
        values: UnsafePointer<Double>,
        count: Int,
        watermark: Int64
    ) -> Int {
        precondition(count >= 0, "batch count must be >= 0, got \(count)")
        if watermark > _watermarkNanoseconds { _watermarkNanoseconds = watermark }
        _makeUnique()
        // Everything the loop reads or writes, in locals: no access to `self` per sample.
        let states = _storage._states
        let seriesCount = _seriesCount
        let divisorMagic = _divisorMagic
        let shardCount = _shardCount
        let shardIndex = _shardIndex
        let configuration = _configuration
        var watermarkNanoseconds = _watermarkNanoseconds
        var earliestOpenEndNanoseconds = _earliestOpenEndNanoseconds
        var statistics = _statistics
        @inline(__always)
        func localIndex(of seriesID: SeriesID) -> Int {
            if divisorMagic == 0 { return Int(seriesID) }
            return Int(truncatingIfNeeded: divisorMagic.multipliedFullWidth(by: UInt64(seriesID)).high)
        }

        let windowNanoseconds = UInt64(configuration.windowNanoseconds)
        let lineBytes = _SeriesWindowState.cacheLineBytes
        let headerDistance = Self.prefetchDistance
        let slotDistance = Self.prefetchDistance / 2

        var index = 0
        while index < count {
            // Two stages, so that only lines the sample will use are fetched (memory traffic, not
            // instructions, bounds this loop): the header far ahead, then the one slot line it selects
            // (and the first-sample line when the sample will open a window).
            if index &+ headerDistance < count {
                let aheadLocalIndex = localIndex(of: seriesIDs[index &+ headerDistance])
                if aheadLocalIndex < seriesCount { vigil_prefetch_for_write(states + aheadLocalIndex) }
            }
            if index &+ slotDistance < count {
                let aheadLocalIndex = localIndex(of: seriesIDs[index &+ slotDistance])
                if aheadLocalIndex < seriesCount {
                    let state = states + aheadLocalIndex
                    let timestamp = timestamps[index &+ slotDistance]
                    let line = UnsafeRawPointer(state)
                    let head0 = state.pointee.head0
                    let head1 = state.pointee.head1
                    if head0.isOpen && UInt64(bitPattern: timestamp &- head0.startNanoseconds) < windowNanoseconds {
                        vigil_prefetch_for_write(line + lineBytes)
                    } else if head1.isOpen
                        && UInt64(bitPattern: timestamp &- head1.startNanoseconds) < windowNanoseconds
                    {
                        vigil_prefetch_for_write(line + 2 &* lineBytes)
                    } else {
                        // Opens a window: the free slot (or the older one, which a forced close reads).
                        let slot1 = head0.isOpen && (!head1.isOpen || head1.startNanoseconds < head0.startNanoseconds)
                        vigil_prefetch_for_write(line + (slot1 ? 2 : 1) &* lineBytes)
                        vigil_prefetch_for_write(line + 3 &* lineBytes)
                    }
                }
            }
            let seriesID = seriesIDs[index]
            let local = localIndex(of: seriesID)
            guard local < seriesCount, local &* shardCount &+ shardIndex == Int(seriesID),
                states[local].isRegistered
            else { break }
            // Late and unplaceable samples are counted in `statistics`; the result adds nothing here.
            _ = Self._add(
                state: &states[local],
                seriesID: seriesID,
                timestamp: timestamps[index],
                value: values[index],
                configuration: configuration,
                watermarkNanoseconds: &watermarkNanoseconds,
                earliestOpenEndNanoseconds: &earliestOpenEndNanoseconds,
                statistics: &statistics,
                pending: &_pending
            )
            index &+= 1
        }
        _watermarkNanoseconds = watermarkNanoseconds
        _earliestOpenEndNanoseconds = earliestOpenEndNanoseconds
        _statistics = statistics
        return index
    }
}
