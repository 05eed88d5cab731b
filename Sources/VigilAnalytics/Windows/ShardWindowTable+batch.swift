import CVigilNative
import VigilCore

extension ShardWindowTable {
    /// How many samples ahead the batch loop prefetches the lines a sample will use. A miss costs a few
    /// hundred cycles and one sample's work a few dozen, so ~10 samples in flight hide most of it.
    @usableFromInline static let prefetchDistance = 16

    /// Aggregates a batch of samples, in order, exactly as the same calls to
    /// ``add(seriesID:timestamp:value:watermark:)`` would, and stops at the first sample whose series this
    /// table has not registered (or that belongs to another shard).
    ///
    /// The engine's hot path. Per sample: no allocation, no bounds or uniqueness check, no closure or
    /// existential call. ``prefetchDistance`` samples ahead, the loop fetches the lines the sample will
    /// touch (the slot its series' cached slot tags name for its window; the free slot and the firsts line
    /// when it opens a window; the counter line for a counter), so the random access to per-series state
    /// overlaps with the work on the samples before it.
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
        let shards = _shards
        let shardCount = shards.shardCount
        let shardIndex = _shardIndex
        let configuration = _configuration
        var watermarkNanoseconds = _watermarkNanoseconds
        var earliestOpenEndNanoseconds = _earliestOpenEndNanoseconds
        var statistics = _statistics
        @inline(__always)
        func localIndex(of seriesID: SeriesID) -> Int { shards.localIndex(of: seriesID) }

        let flags = _storage._flags
        let slotTags = _storage._slotTags
        let inverseWindowNanoseconds = configuration.inverseWindowNanoseconds
        let distance = Self.prefetchDistance

        var accepted: UInt64 = 0
        var index = 0
        while index < count {
            if index &+ distance < count {
                let aheadLocalIndex = localIndex(of: seriesIDs[index &+ distance])
                if aheadLocalIndex < seriesCount {
                    Self._prefetch(
                        state: states + aheadLocalIndex,
                        flags: flags[aheadLocalIndex],
                        slotTags: slotTags[aheadLocalIndex],
                        timestamp: timestamps[index &+ distance],
                        inverseWindowNanoseconds: inverseWindowNanoseconds
                    )
                }
            }
            let seriesID = seriesIDs[index]
            let local = localIndex(of: seriesID)
            guard local < seriesCount, local &* shardCount &+ shardIndex == Int(seriesID) else { break }
            let seriesFlags = flags[local]
            guard seriesFlags & _SeriesWindowState.registeredFlag != 0 else { break }
            // Late and unplaceable samples are counted in `statistics`, accepted ones here.
            let result = Self._add(
                state: states + local,
                slotTags: slotTags + local,
                flags: seriesFlags,
                seriesID: seriesID,
                timestamp: timestamps[index],
                value: values[index],
                configuration: configuration,
                inverseWindowNanoseconds: inverseWindowNanoseconds,
                watermarkNanoseconds: &watermarkNanoseconds,
                earliestOpenEndNanoseconds: &earliestOpenEndNanoseconds,
                statistics: &statistics,
                pending: &_pending
            )
            if result == .accepted { accepted &+= 1 }
            index &+= 1
        }
        statistics.accepted &+= accepted
        _watermarkNanoseconds = watermarkNanoseconds
        _earliestOpenEndNanoseconds = earliestOpenEndNanoseconds
        _statistics = statistics
        return index
    }
}
