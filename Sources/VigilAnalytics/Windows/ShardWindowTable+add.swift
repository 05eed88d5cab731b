import VigilCore

extension ShardWindowTable {
    /// Aggregates one sample into its series' window. The hot path: no allocation, no division when the
    /// sample falls in an open window of its series, no closure or existential call.
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
        precondition(localIndex < _series.count, "add for series \(seriesID), which this table never registered")
        return Self._add(
            state: &_series[localIndex],
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

    /// The body of `add`, static so that the series' state and the table's counters are distinct inout
    /// accesses (one bounds and uniqueness check for the element, none per field).
    @inlinable
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
        precondition(state.isRegistered, "add for series \(seriesID), which this table never registered")
        let windowNanoseconds = configuration.windowNanoseconds
        let inSlot0: Bool
        // Fast path: the sample falls in an open slot. `timestamp &- start`, read unsigned, is below the
        // width exactly when start <= timestamp < start + width (a timestamp before start wraps to a huge value).
        if state.slot0.isOpen
            && UInt64(bitPattern: timestamp &- state.slot0.startNanoseconds) < UInt64(windowNanoseconds)
        {
            if state.slot0.startNanoseconds &+ windowNanoseconds <= watermarkNanoseconds {
                statistics.late &+= 1
                return .late
            }
            if state.slot0.count == .max {
                statistics.rejected &+= 1
                return .late
            }
            inSlot0 = true
            state.slot0.merge(timestamp: timestamp, value: value)
        } else if state.slot1.isOpen
            && UInt64(bitPattern: timestamp &- state.slot1.startNanoseconds) < UInt64(windowNanoseconds)
        {
            if state.slot1.startNanoseconds &+ windowNanoseconds <= watermarkNanoseconds {
                statistics.late &+= 1
                return .late
            }
            if state.slot1.count == .max {
                statistics.rejected &+= 1
                return .late
            }
            inSlot0 = false
            state.slot1.merge(timestamp: timestamp, value: value)
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
            if !state.slot0.isOpen {
                inSlot0 = true
            } else if !state.slot1.isOpen {
                inSlot0 = false
            } else {
                // Both slots hold other windows: close the older one, unless this sample is older still.
                let olderIsSlot0 = state.slot0.startNanoseconds < state.slot1.startNanoseconds
                let olderStart = olderIsSlot0 ? state.slot0.startNanoseconds : state.slot1.startNanoseconds
                if startNanoseconds < olderStart {
                    statistics.late &+= 1
                    return .late
                }
                let closed = (olderIsSlot0 ? state.slot0 : state.slot1).aggregate(
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
                state.slot0.open(startNanoseconds: startNanoseconds, timestamp: timestamp, value: value)
            } else {
                state.slot1.open(startNanoseconds: startNanoseconds, timestamp: timestamp, value: value)
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
