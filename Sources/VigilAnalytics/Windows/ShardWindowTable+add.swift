import CVigilNative
import VigilCore

extension ShardWindowTable {
    /// Aggregates one sample into its series' window. The hot path: no allocation, no closure or existential
    /// call, and one division (Welford's M2 update) when the sample falls in an open window of its series.
    ///
    /// - Parameters:
    ///   - seriesID: a series registered with ``registerSeries(_:kind:)`` (precondition).
    ///   - timestamp: event time, nanoseconds since the epoch.
    ///   - value: the reading (finite; NaN or infinity do not trap but poison the window's statistics).
    ///   - watermark: the engine's watermark; the table keeps the highest it has seen.
    /// - Returns: `.accepted`, or `.late` when the sample was not aggregated (late or rejected; see
    ///   ``WindowStatistics``).
    /// - Complexity: O(1).
    @inlinable
    public mutating func add(seriesID: SeriesID, timestamp: Int64, value: Double, watermark: Int64) -> WindowAddResult {
        if watermark > _watermarkNanoseconds { _watermarkNanoseconds = watermark }
        assert(_shards.shard(of: seriesID) == _shardIndex, "series \(seriesID) belongs to another shard")
        let localIndex = _localIndex(of: seriesID)
        precondition(localIndex < _seriesCount, "add for series \(seriesID), which this table never registered")
        _makeUnique()
        let flags = _storage._flags[localIndex]
        precondition(
            flags & _SeriesWindowState.registeredFlag != 0,
            "add for series \(seriesID), which this table never registered"
        )
        let result = Self._add(
            state: _storage._states + localIndex,
            slotTags: _storage._slotTags + localIndex,
            flags: flags,
            seriesID: seriesID,
            timestamp: timestamp,
            value: value,
            configuration: _configuration,
            inverseWindowNanoseconds: _configuration.inverseWindowNanoseconds,
            watermarkNanoseconds: &_watermarkNanoseconds,
            earliestOpenEndNanoseconds: &_earliestOpenEndNanoseconds,
            statistics: &_statistics,
            pending: &_pending
        )
        if result == .accepted { _statistics.accepted &+= 1 }
        return result
    }

    /// The index of the window a sample most likely falls in (`timestamp / width`), from a Double quotient:
    /// wrong only within nanoseconds of a window boundary, and any number for quotients outside
    /// `[0.5, 2^52)` (times before the first window, widths under a microsecond). A hint for which slot to
    /// fetch and check first; `_add` settles the window exactly.
    ///
    /// Branch-free and without a checked conversion: adding `2^52 - 0.5` rounds the quotient's floor into
    /// the low 52 bits of the sum (Doubles in `[2^52, 2^53)` are the integers), read from its bit pattern.
    @inlinable
    @inline(__always)
    static func _windowIndexHint(timestamp: Int64, inverseWindowNanoseconds: Double) -> Int {
        let shifted = Double(timestamp) * inverseWindowNanoseconds + (0x1p52 - 0.5)
        return Int(truncatingIfNeeded: shifted.bitPattern & 0x000F_FFFF_FFFF_FFFF)
    }

    /// Prefetches the lines a sample will touch, known from its series' cached flags and slot tags and its
    /// timestamp alone: the slot holding its window, or, when no slot does (it opens a window), the slot
    /// of the window's parity and the firsts line; and a counter's line.
    @inlinable
    @inline(__always)
    static func _prefetch(
        state: UnsafeMutablePointer<_SeriesWindowState>,
        flags: UInt8,
        slotTags: UInt8,
        timestamp: Int64,
        inverseWindowNanoseconds: Double
    ) {
        let line = UnsafeRawPointer(state)
        let lineBytes = _SeriesWindowState.cacheLineBytes
        let windowIndex = _windowIndexHint(timestamp: timestamp, inverseWindowNanoseconds: inverseWindowNanoseconds)
        let slot = _SeriesWindowState.taggedSlot(
            slotTags,
            nibble: _SeriesWindowState.tagNibble(windowIndex: windowIndex)
        )
        if slot >= 0 {
            vigil_prefetch_for_write(line + slot &* lineBytes)
        } else {
            vigil_prefetch_for_write(line + (windowIndex & 1) &* lineBytes)
            vigil_prefetch_for_write(line + 3 &* lineBytes)
        }
        if flags & _SeriesWindowState.kindMask != 0 { vigil_prefetch_for_write(line + 2 &* lineBytes) }
    }

    /// Slot `index` (0 or 1) of a series' state.
    @inlinable
    @inline(__always)
    static func _slot(
        _ state: UnsafeMutablePointer<_SeriesWindowState>,
        _ index: Int
    ) -> UnsafeMutablePointer<_WindowSlot> {
        // slot1 directly follows slot0 (checked by `checkLayout`), so slot `index` is `index` strides on.
        state.pointer(to: \.slot0)! + index
    }

    /// Whether the open `slot` is on the window holding `timestamp`. `timestamp &- start`, read unsigned,
    /// is below the width exactly when start <= timestamp < start + width (a timestamp before start wraps
    /// to a huge value).
    @inlinable
    @inline(__always)
    static func _holds(_ slot: UnsafeMutablePointer<_WindowSlot>, timestamp: Int64, windowNanoseconds: Int64) -> Bool {
        UInt64(bitPattern: timestamp &- slot.pointee.startNanoseconds) < UInt64(windowNanoseconds)
    }

    /// The body of both `add`s, static so that the series' state and the table's counters are distinct
    /// accesses. The series must be registered, with `flags` its flags byte and `slotTags` its slot tags
    /// (the callers check). Counts every outcome in `statistics` but `accepted`, which the callers count
    /// (the batch loop in a register).
    @inlinable
    @inline(__always)
    static func _add(
        state: UnsafeMutablePointer<_SeriesWindowState>,
        slotTags: UnsafeMutablePointer<UInt8>,
        flags: UInt8,
        seriesID: SeriesID,
        timestamp: Int64,
        value: Double,
        configuration: WindowConfiguration,
        inverseWindowNanoseconds: Double,
        watermarkNanoseconds: inout Int64,
        earliestOpenEndNanoseconds: inout Int64,
        statistics: inout WindowStatistics,
        pending: inout [WindowAggregate]
    ) -> WindowAddResult {
        let windowNanoseconds = configuration.windowNanoseconds
        let hintedIndex = _windowIndexHint(timestamp: timestamp, inverseWindowNanoseconds: inverseWindowNanoseconds)
        let tagged = _SeriesWindowState.taggedSlot(
            slotTags.pointee,
            nibble: _SeriesWindowState.tagNibble(windowIndex: hintedIndex)
        )
        let slotIndex: Int
        if tagged >= 0 && _holds(_slot(state, tagged), timestamp: timestamp, windowNanoseconds: windowNanoseconds) {
            // Fast path: the sample falls in the open window its tag names; it reads no other line.
            guard
                _mergeIntoOpen(
                    state: state,
                    slotIndex: tagged,
                    timestamp: timestamp,
                    value: value,
                    windowNanoseconds: windowNanoseconds,
                    watermarkNanoseconds: watermarkNanoseconds,
                    statistics: &statistics
                )
            else { return .late }
            slotIndex = tagged
        } else {
            // Slow path, once per series and window.
            guard
                let placed = _placeOffHint(
                    state: state,
                    slotTags: slotTags,
                    isCounter: flags & _SeriesWindowState.kindMask != 0,
                    seriesID: seriesID,
                    timestamp: timestamp,
                    value: value,
                    configuration: configuration,
                    watermarkNanoseconds: &watermarkNanoseconds,
                    earliestOpenEndNanoseconds: &earliestOpenEndNanoseconds,
                    statistics: &statistics,
                    pending: &pending
                )
            else { return .late }
            slotIndex = placed
        }
        if flags & _SeriesWindowState.kindMask != 0 {
            _addCounterReading(
                state: state,
                kindBits: flags & _SeriesWindowState.kindMask,
                slotIndex: slotIndex,
                timestamp: timestamp,
                value: value,
                counterGapBound: configuration._counterGapBound,
                statistics: &statistics
            )
        }
        return .accepted
    }

    /// Merges a sample into the open slot that holds its window, unless that window is already past the
    /// watermark (late) or full (rejected); both counted. Returns whether it merged.
    @inlinable
    @inline(__always)
    static func _mergeIntoOpen(
        state: UnsafeMutablePointer<_SeriesWindowState>,
        slotIndex: Int,
        timestamp: Int64,
        value: Double,
        windowNanoseconds: Int64,
        watermarkNanoseconds: Int64,
        statistics: inout WindowStatistics
    ) -> Bool {
        let slot = _slot(state, slotIndex)
        if slot.pointee.startNanoseconds &+ windowNanoseconds <= watermarkNanoseconds {
            statistics.late &+= 1
            return false
        }
        if slot.pointee.count == .max {
            statistics.rejected &+= 1
            return false
        }
        _merge(
            slot: slot,
            firsts: state.pointer(to: \.firsts)!,
            slotIndex: slotIndex,
            timestamp: timestamp,
            value: value
        )
        return true
    }

    /// The slow path, for a sample whose window no slot tag named (or whose tagged slot did not hold it):
    /// finds its window exactly. When a slot holds that window (the hint was off, near a boundary) the
    /// sample merges there; else the window opens with the sample in a slot: the slot of its parity when
    /// free (what the hint and the batch loop's prefetch expect), else the other free slot, else the older
    /// one, force-closed. Free or open is read from the slot tags, so opening touches no other slot's line.
    /// Returns the slot, or nil when the sample is late or cannot be placed (counted in `statistics`).
    @inlinable
    @inline(never)
    static func _placeOffHint(
        state: UnsafeMutablePointer<_SeriesWindowState>,
        slotTags: UnsafeMutablePointer<UInt8>,
        isCounter: Bool,
        seriesID: SeriesID,
        timestamp: Int64,
        value: Double,
        configuration: WindowConfiguration,
        watermarkNanoseconds: inout Int64,
        earliestOpenEndNanoseconds: inout Int64,
        statistics: inout WindowStatistics,
        pending: inout [WindowAggregate]
    ) -> Int? {
        let windowNanoseconds = configuration.windowNanoseconds
        guard let (windowIndex, startNanoseconds) = configuration.window(containing: timestamp) else {
            statistics.rejected &+= 1
            return nil
        }
        let tags = slotTags.pointee
        let nibble = _SeriesWindowState.tagNibble(windowIndex: Int(truncatingIfNeeded: windowIndex))
        // A slot holds the window only if its nibble matches; both may match (windows eight apart).
        for slotIndex in 0..<2
        where _SeriesWindowState.nibble(tags, slot: slotIndex) == nibble
            && _slot(state, slotIndex).pointee.startNanoseconds == startNanoseconds
        {
            let merged = _mergeIntoOpen(
                state: state,
                slotIndex: slotIndex,
                timestamp: timestamp,
                value: value,
                windowNanoseconds: windowNanoseconds,
                watermarkNanoseconds: watermarkNanoseconds,
                statistics: &statistics
            )
            return merged ? slotIndex : nil
        }
        let endNanoseconds = startNanoseconds + windowNanoseconds  // cannot overflow: windowStart checked
        // Closed windows never reopen: those the watermark passed, and this series' force-closed ones.
        if endNanoseconds <= max(watermarkNanoseconds, state.pointee.firsts.forceClosedThroughNanoseconds) {
            statistics.late &+= 1
            return nil
        }
        let parity = Int(windowIndex & 1)
        let opened: Int
        if !_SeriesWindowState.isTaggedOpen(tags, slot: parity) {
            opened = parity
        } else if !_SeriesWindowState.isTaggedOpen(tags, slot: 1 &- parity) {
            opened = 1 &- parity
        } else {
            // Both slots hold other windows: close the older one, unless this sample is older still.
            let older = state.pointee.slot0.startNanoseconds < state.pointee.slot1.startNanoseconds ? 0 : 1
            if startNanoseconds < _slot(state, older).pointee.startNanoseconds {
                statistics.late &+= 1
                return nil
            }
            let closed = _aggregate(state: state, slotIndex: older, seriesID: seriesID, isCounter: isCounter)
            state.pointee.firsts.forceClosedThroughNanoseconds = closed.windowStartNanoseconds &+ windowNanoseconds
            _forceClose(closed, configuration: configuration, statistics: &statistics, pending: &pending)
            opened = older
        }
        _open(
            state: state,
            slotIndex: opened,
            isCounter: isCounter,
            startNanoseconds: startNanoseconds,
            timestamp: timestamp,
            value: value
        )
        slotTags.pointee = _SeriesWindowState.retagged(tags, slot: opened, nibble: nibble)
        statistics.openWindows &+= 1
        if endNanoseconds < earliestOpenEndNanoseconds { earliestOpenEndNanoseconds = endNanoseconds }
        return opened
    }

    /// Opens a free slot for the window starting at `startNanoseconds` with its first sample; a counter's
    /// sums for the slot start at zero. A gauge's counter line is left alone (never read while it is a
    /// gauge); the firsts line records which kind opened the slot, for `registerSeries`.
    @inlinable
    static func _open(
        state: UnsafeMutablePointer<_SeriesWindowState>,
        slotIndex: Int,
        isCounter: Bool,
        startNanoseconds: Int64,
        timestamp: Int64,
        value: Double
    ) {
        var slot = _WindowSlot()
        slot.startNanoseconds = startNanoseconds
        slot.count = 1
        slot.sum = value
        slot.minimum = value
        slot.maximum = value
        slot.last = value
        slot.lastTimestamp = timestamp
        _slot(state, slotIndex).pointee = slot
        if slotIndex == 0 {
            state.pointee.firsts.first0 = value
            state.pointee.firsts.firstTimestamp0 = timestamp
            state.pointee.firsts.hasCounterSums0 = isCounter
        } else {
            state.pointee.firsts.first1 = value
            state.pointee.firsts.firstTimestamp1 = timestamp
            state.pointee.firsts.hasCounterSums1 = isCounter
        }
        guard isCounter else { return }
        if slotIndex == 0 {
            state.pointee.counter.increase0 = 0
            state.pointee.counter.intervalNanoseconds0 = 0
        } else {
            state.pointee.counter.increase1 = 0
            state.pointee.counter.intervalNanoseconds1 = 0
        }
    }

    /// Adds a sample to an open slot. Ties on time: `first` keeps the earliest arrival, `last` takes the
    /// latest. `first` is read only for a sample older than the window's latest: `first <= last` in time,
    /// so a sample at or after `last` cannot be before `first`.
    @inlinable
    @inline(__always)
    static func _merge(
        slot: UnsafeMutablePointer<_WindowSlot>,
        firsts: UnsafeMutablePointer<_WindowFirsts>,
        slotIndex: Int,
        timestamp: Int64,
        value: Double
    ) {
        let countBefore = Double(slot.pointee.count)
        let sum = slot.pointee.sum
        let deviation = countBefore * value - sum
        slot.pointee.sumOfSquaredDeviations += deviation * deviation / (countBefore * (countBefore + 1))
        slot.pointee.sum = sum + value
        slot.pointee.count &+= 1
        if value < slot.pointee.minimum { slot.pointee.minimum = value }
        if value > slot.pointee.maximum { slot.pointee.maximum = value }
        if timestamp >= slot.pointee.lastTimestamp {
            slot.pointee.lastTimestamp = timestamp
            slot.pointee.last = value
        } else if slotIndex == 0 {
            if timestamp < firsts.pointee.firstTimestamp0 {
                firsts.pointee.firstTimestamp0 = timestamp
                firsts.pointee.first0 = value
            }
        } else if timestamp < firsts.pointee.firstTimestamp1 {
            firsts.pointee.firstTimestamp1 = timestamp
            firsts.pointee.first1 = value
        }
    }

    /// The closed form of an open slot.
    @inlinable
    static func _aggregate(
        state: UnsafeMutablePointer<_SeriesWindowState>,
        slotIndex: Int,
        seriesID: SeriesID,
        isCounter: Bool
    ) -> WindowAggregate {
        let slot = _slot(state, slotIndex).pointee
        var rate = Double.nan
        if isCounter {  // a gauge's counter line holds nothing of its windows
            let counter = state.pointer(to: \.counter)!
            let increase = slotIndex == 0 ? counter.pointee.increase0 : counter.pointee.increase1
            let intervalNanoseconds =
                slotIndex == 0 ? counter.pointee.intervalNanoseconds0 : counter.pointee.intervalNanoseconds1
            if intervalNanoseconds > 0 {
                rate = increase / (intervalNanoseconds / Double(EventTime.nanosecondsPerSecond))
            }
        }
        return WindowAggregate(
            seriesID: seriesID,
            windowStartNanoseconds: slot.startNanoseconds,
            count: slot.count,
            sum: slot.sum,
            minimum: slot.minimum,
            maximum: slot.maximum,
            first: slotIndex == 0 ? state.pointee.firsts.first0 : state.pointee.firsts.first1,
            last: slot.last,
            sumOfSquaredDeviations: slot.sumOfSquaredDeviations,
            rate: rate
        )
    }

    /// Measures a counter reading against the series' previous accepted one and credits the increase
    /// and its interval to the window the reading went into. Across a gap (more than `counterGapBound`
    /// nanoseconds since the previous reading) nothing is credited: what the counter did in
    /// the gap is unknown (it may have wrapped, or reset and climbed again), so the measurement starts again
    /// from this reading, as from a series' first.
    @inlinable
    static func _addCounterReading(
        state: UnsafeMutablePointer<_SeriesWindowState>,
        kindBits: UInt8,
        slotIndex: Int,
        timestamp: Int64,
        value: Double,
        counterGapBound: UInt64,
        statistics: inout WindowStatistics
    ) {
        let counter = state.pointer(to: \.counter)!
        if counter.pointee.recentIntervalNanoseconds < 0 {
            // The first reading: nothing to measure against yet.
            counter.pointee.previousValue = value
            counter.pointee.previousTimestamp = timestamp
            counter.pointee.recentIntervalNanoseconds = 0
            return
        }
        let previousTimestamp = counter.pointee.previousTimestamp
        guard timestamp > previousTimestamp else {
            statistics.outOfOrderCounterSamples &+= 1
            return
        }
        // Exact: 0 < timestamp - previous < 2^64, so the wrapped Int64 difference read unsigned is the interval
        // (converted as signed when it fits, the common case: one instruction instead of five).
        let difference = timestamp &- previousTimestamp
        if UInt64(bitPattern: difference) > counterGapBound {
            statistics.counterGaps &+= 1
            counter.pointee.previousValue = value
            counter.pointee.previousTimestamp = timestamp
            counter.pointee.recentIntervalNanoseconds = 0
            return
        }
        let intervalNanoseconds = difference > 0 ? Double(difference) : Double(UInt64(bitPattern: difference))
        let intervalSeconds = intervalNanoseconds * 1e-9
        let previousValue = counter.pointee.previousValue
        let increase: Double
        let event: CounterEvent
        if value >= previousValue {
            // What `classify` returns for a counter that did not go down, without its arguments' cost.
            (increase, event) = (value - previousValue, .normal)
        } else {
            (increase, event) = CounterIncrease.classify(
                previous: previousValue,
                current: value,
                kind: MetricKind(rawValue: kindBits) ?? .gauge,
                intervalSeconds: intervalSeconds,
                recentRatePerSecond: counter.pointee.recentRatePerSecond
            )
        }
        switch event {
        case .normal, .wrap:
            if event == .wrap { statistics.wraps &+= 1 }
            // Becomes the recent rate (increase over interval, computed when a wrap needs it) when that rate
            // is finite and not negative (NaN fails every comparison). The bound is the quotient's overflow,
            // said with a multiplication (infinite for intervals of a second or more), capped at the largest
            // finite increase. (Written against a computed bound: `>= 0 && < .infinity` compiles to a
            // twenty-instruction class test.)
            let bound = min(intervalSeconds * .greatestFiniteMagnitude, .greatestFiniteMagnitude)
            if increase >= 0 && increase <= bound {
                counter.pointee.recentIncrease = increase
                counter.pointee.recentIntervalNanoseconds = intervalNanoseconds
            }
        case .reset:
            // The restart happened somewhere inside the interval, so `current / interval` understates the
            // rate: keep the last good one.
            statistics.resets &+= 1
        }
        if slotIndex == 0 {
            counter.pointee.increase0 += increase
            counter.pointee.intervalNanoseconds0 += intervalNanoseconds
        } else {
            counter.pointee.increase1 += increase
            counter.pointee.intervalNanoseconds1 += intervalNanoseconds
        }
        counter.pointee.previousValue = value
        counter.pointee.previousTimestamp = timestamp
    }

    /// Puts a window that `add` had to close into the pending buffer (or counts it dropped when full).
    /// The caller has recorded its end in the series' state, so that no later sample can reopen it; the
    /// table's watermark stays where it is, since other series may still be filling windows before it.
    @inlinable
    static func _forceClose(
        _ closed: WindowAggregate,
        configuration: WindowConfiguration,
        statistics: inout WindowStatistics,
        pending: inout [WindowAggregate]
    ) {
        statistics.forcedCloses &+= 1
        statistics.openWindows &-= 1
        if pending.count < configuration.maximumPendingWindows {
            pending.append(closed)
        } else {
            statistics.droppedWindows &+= 1
        }
    }
}
