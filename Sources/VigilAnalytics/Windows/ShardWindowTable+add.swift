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
        assert(Int(seriesID) % _shardCount == _shardIndex, "series \(seriesID) belongs to another shard")
        let localIndex = _localIndex(of: seriesID)
        precondition(localIndex < _seriesCount, "add for series \(seriesID), which this table never registered")
        _makeUnique()
        let state = _storage._states + localIndex
        precondition(state.pointee.isRegistered, "add for series \(seriesID), which this table never registered")
        return Self._add(
            state: &state.pointee,
            seriesID: seriesID,
            timestamp: timestamp,
            value: value,
            configuration: _configuration,
            watermarkNanoseconds: &_watermarkNanoseconds,
            earliestOpenEndNanoseconds: &_earliestOpenEndNanoseconds,
            statistics: &_statistics,
            pending: &_pending
        )
    }

    /// The body of both `add`s, static so that the series' state and the table's counters are distinct
    /// inout accesses. The series must be registered (the callers check).
    @inlinable
    @inline(__always)
    static func _add(
        state: inout _SeriesWindowState,
        seriesID: SeriesID,
        timestamp: Int64,
        value: Double,
        configuration: WindowConfiguration,
        watermarkNanoseconds: inout Int64,
        earliestOpenEndNanoseconds: inout Int64,
        statistics: inout WindowStatistics,
        pending: inout [WindowAggregate]
    ) -> WindowAddResult {
        let windowNanoseconds = configuration.windowNanoseconds
        let inSlot0: Bool
        // Fast path: the sample falls in an open slot. `timestamp &- start`, read unsigned, is below the
        // width exactly when start <= timestamp < start + width (a timestamp before start wraps to a huge value).
        if state.head0.isOpen
            && UInt64(bitPattern: timestamp &- state.head0.startNanoseconds) < UInt64(windowNanoseconds)
        {
            if state.head0.startNanoseconds &+ windowNanoseconds <= watermarkNanoseconds {
                statistics.late &+= 1
                return .late
            }
            if state.head0.count == .max {
                statistics.rejected &+= 1
                return .late
            }
            inSlot0 = true
            _merge(head: &state.head0, slot: &state.slot0, first: &state.first0, timestamp: timestamp, value: value)
        } else if state.head1.isOpen
            && UInt64(bitPattern: timestamp &- state.head1.startNanoseconds) < UInt64(windowNanoseconds)
        {
            if state.head1.startNanoseconds &+ windowNanoseconds <= watermarkNanoseconds {
                statistics.late &+= 1
                return .late
            }
            if state.head1.count == .max {
                statistics.rejected &+= 1
                return .late
            }
            inSlot0 = false
            _merge(head: &state.head1, slot: &state.slot1, first: &state.first1, timestamp: timestamp, value: value)
        } else {
            // Slow path, once per series and window: find the window, then a slot for it.
            guard let startNanoseconds = configuration.windowStart(containing: timestamp) else {
                statistics.rejected &+= 1
                return .late
            }
            let endNanoseconds = startNanoseconds + windowNanoseconds  // cannot overflow: windowStart checked
            if endNanoseconds <= watermarkNanoseconds {
                statistics.late &+= 1
                return .late
            }
            if !state.head0.isOpen {
                inSlot0 = true
            } else if !state.head1.isOpen {
                inSlot0 = false
            } else {
                // Both slots hold other windows: close the older one, unless this sample is older still.
                let olderIsSlot0 = state.head0.startNanoseconds < state.head1.startNanoseconds
                let olderStart = olderIsSlot0 ? state.head0.startNanoseconds : state.head1.startNanoseconds
                if startNanoseconds < olderStart {
                    statistics.late &+= 1
                    return .late
                }
                let closed =
                    olderIsSlot0
                    ? _aggregate(
                        head: state.head0,
                        slot: state.slot0,
                        first: state.first0,
                        seriesID: seriesID,
                        isCounter: state.kind.isCounter
                    )
                    : _aggregate(
                        head: state.head1,
                        slot: state.slot1,
                        first: state.first1,
                        seriesID: seriesID,
                        isCounter: state.kind.isCounter
                    )
                _forceClose(
                    closed,
                    configuration: configuration,
                    watermarkNanoseconds: &watermarkNanoseconds,
                    statistics: &statistics,
                    pending: &pending
                )
                inSlot0 = olderIsSlot0
            }
            if inSlot0 {
                _open(
                    head: &state.head0,
                    slot: &state.slot0,
                    first: &state.first0,
                    startNanoseconds: startNanoseconds,
                    timestamp: timestamp,
                    value: value
                )
            } else {
                _open(
                    head: &state.head1,
                    slot: &state.slot1,
                    first: &state.first1,
                    startNanoseconds: startNanoseconds,
                    timestamp: timestamp,
                    value: value
                )
            }
            statistics.openWindows &+= 1
            if endNanoseconds < earliestOpenEndNanoseconds { earliestOpenEndNanoseconds = endNanoseconds }
        }
        statistics.accepted &+= 1
        if state.flags & _SeriesWindowState.kindMask != 0 {
            _addCounterReading(
                state: &state,
                inSlot0: inSlot0,
                timestamp: timestamp,
                value: value,
                statistics: &statistics
            )
        }
        return .accepted
    }

    /// Opens a free slot for the window starting at `startNanoseconds` with its first sample.
    @inlinable
    static func _open(
        head: inout _SlotHead,
        slot: inout _WindowSlot,
        first: inout _WindowFirst,
        startNanoseconds: Int64,
        timestamp: Int64,
        value: Double
    ) {
        head.startNanoseconds = startNanoseconds
        head.count = 1
        slot = _WindowSlot()
        slot.sum = value
        slot.minimum = value
        slot.maximum = value
        slot.last = value
        slot.lastTimestamp = timestamp
        first.first = value
        first.firstTimestamp = timestamp
    }

    /// Adds a sample to an open slot. Ties on time: `first` keeps the earliest arrival, `last` takes the
    /// latest. `first` is read only for a sample older than the window's latest: `first <= last` in time,
    /// so a sample at or after `last` cannot be before `first`.
    @inlinable
    @inline(__always)
    static func _merge(
        head: inout _SlotHead,
        slot: inout _WindowSlot,
        first: inout _WindowFirst,
        timestamp: Int64,
        value: Double
    ) {
        let countBefore = Double(head.count)
        let deviation = countBefore * value - slot.sum
        slot.sumOfSquaredDeviations += deviation * deviation / (countBefore * (countBefore + 1))
        slot.sum += value
        head.count &+= 1
        if value < slot.minimum { slot.minimum = value }
        if value > slot.maximum { slot.maximum = value }
        if timestamp >= slot.lastTimestamp {
            slot.lastTimestamp = timestamp
            slot.last = value
        } else if timestamp < first.firstTimestamp {
            first.firstTimestamp = timestamp
            first.first = value
        }
    }

    /// The closed form of an open slot.
    @inlinable
    static func _aggregate(
        head: _SlotHead,
        slot: _WindowSlot,
        first: _WindowFirst,
        seriesID: SeriesID,
        isCounter: Bool
    ) -> WindowAggregate {
        let rate: Double
        if isCounter && slot.counterIntervalNanoseconds > 0 {
            rate = slot.counterIncrease / (slot.counterIntervalNanoseconds / Double(EventTime.nanosecondsPerSecond))
        } else {
            rate = .nan
        }
        return WindowAggregate(
            seriesID: seriesID,
            windowStartNanoseconds: head.startNanoseconds,
            count: head.count,
            sum: slot.sum,
            minimum: slot.minimum,
            maximum: slot.maximum,
            first: first.first,
            last: slot.last,
            sumOfSquaredDeviations: slot.sumOfSquaredDeviations,
            rate: rate
        )
    }

    /// Measures a counter reading against the series' previous accepted one and credits the increase
    /// and its interval to the window the reading went into.
    @inlinable
    static func _addCounterReading(
        state: inout _SeriesWindowState,
        inSlot0: Bool,
        timestamp: Int64,
        value: Double,
        statistics: inout WindowStatistics
    ) {
        if state.flags & _SeriesWindowState.hasPreviousCounterFlag == 0 {
            state.flags |= _SeriesWindowState.hasPreviousCounterFlag
            state.previousCounterValue = value
            state.previousCounterTimestamp = timestamp
            return
        }
        guard timestamp > state.previousCounterTimestamp else {
            statistics.outOfOrderCounterSamples &+= 1
            return
        }
        // Exact: 0 < timestamp - previous < 2^64, so the wrapped Int64 difference read unsigned is the interval.
        let intervalNanoseconds = Double(UInt64(bitPattern: timestamp &- state.previousCounterTimestamp))
        let intervalSeconds = intervalNanoseconds * 1e-9
        let recentRate = state.recentRatePerSecond
        let (increase, event) = CounterIncrease.classify(
            previous: state.previousCounterValue,
            current: value,
            kind: state.kind,
            intervalSeconds: intervalSeconds,
            recentRatePerSecond: recentRate >= 0 ? recentRate : nil
        )
        switch event {
        case .normal, .wrap:
            if event == .wrap { statistics.wraps &+= 1 }
            let ratePerSecond = increase / intervalSeconds
            if ratePerSecond.isFinite && ratePerSecond >= 0 { state.recentRatePerSecond = ratePerSecond }
        case .reset:
            // The restart happened somewhere inside the interval, so `current / interval` understates the
            // rate: keep the last good one.
            statistics.resets &+= 1
        }
        if inSlot0 {
            state.slot0.counterIncrease += increase
            state.slot0.counterIntervalNanoseconds += intervalNanoseconds
        } else {
            state.slot1.counterIncrease += increase
            state.slot1.counterIntervalNanoseconds += intervalNanoseconds
        }
        state.previousCounterValue = value
        state.previousCounterTimestamp = timestamp
    }

    /// Puts a window that `add` had to close into the pending buffer (or counts it dropped when full),
    /// and raises the watermark to its end so that no later sample can reopen it.
    @inlinable
    static func _forceClose(
        _ closed: WindowAggregate,
        configuration: WindowConfiguration,
        watermarkNanoseconds: inout Int64,
        statistics: inout WindowStatistics,
        pending: inout [WindowAggregate]
    ) {
        let endNanoseconds = closed.windowStartNanoseconds + configuration.windowNanoseconds
        if endNanoseconds > watermarkNanoseconds { watermarkNanoseconds = endNanoseconds }
        statistics.forcedCloses &+= 1
        statistics.openWindows &-= 1
        if pending.count < configuration.maximumPendingWindows {
            pending.append(closed)
        } else {
            statistics.droppedWindows &+= 1
        }
    }
}
