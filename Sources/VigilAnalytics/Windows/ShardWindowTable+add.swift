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
        return Self._add(
            state: _storage._states + localIndex,
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
    }

    /// The slot a sample's window most likely occupies, 0 or 1: its window's parity, from a Double quotient
    /// (wrong only within nanoseconds of a window boundary, and for negative times). A hint for which line
    /// to fetch and check first; `_add` finds the slot exactly.
    @inlinable
    @inline(__always)
    static func _slotHint(timestamp: Int64, inverseWindowNanoseconds: Double) -> Int {
        let quotient = Double(timestamp) * inverseWindowNanoseconds
        return quotient >= 0 && quotient < 0x1p62 ? Int(quotient) & 1 : 0
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

    /// Whether `slot` is open on the window holding `timestamp`. `timestamp &- start`, read unsigned, is
    /// below the width exactly when start <= timestamp < start + width (a timestamp before start wraps to
    /// a huge value).
    @inlinable
    @inline(__always)
    static func _holds(_ slot: UnsafeMutablePointer<_WindowSlot>, timestamp: Int64, windowNanoseconds: Int64) -> Bool {
        slot.pointee.isOpen
            && UInt64(bitPattern: timestamp &- slot.pointee.startNanoseconds) < UInt64(windowNanoseconds)
    }

    /// The body of both `add`s, static so that the series' state and the table's counters are distinct
    /// accesses. The series must be registered, with `flags` its flags byte (the callers check).
    @inlinable
    @inline(__always)
    static func _add(
        state: UnsafeMutablePointer<_SeriesWindowState>,
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
        let hint = _slotHint(timestamp: timestamp, inverseWindowNanoseconds: inverseWindowNanoseconds)
        let hinted = _slot(state, hint)
        let other = _slot(state, 1 &- hint)
        // Fast path: the sample falls in an open slot, nearly always the hinted one.
        let inHinted = _holds(hinted, timestamp: timestamp, windowNanoseconds: windowNanoseconds)
        let slotIndex: Int
        if inHinted || _holds(other, timestamp: timestamp, windowNanoseconds: windowNanoseconds) {
            slotIndex = inHinted ? hint : 1 &- hint
            let slot = inHinted ? hinted : other
            if slot.pointee.startNanoseconds &+ windowNanoseconds <= watermarkNanoseconds {
                statistics.late &+= 1
                return .late
            }
            if slot.pointee.count == .max {
                statistics.rejected &+= 1
                return .late
            }
            _merge(
                slot: slot,
                firsts: state.pointer(to: \.firsts)!,
                slotIndex: slotIndex,
                timestamp: timestamp,
                value: value
            )
        } else {
            // Slow path, once per series and window.
            guard
                let opened = _openWindow(
                    state: state,
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
            slotIndex = opened
        }
        statistics.accepted &+= 1
        if flags & _SeriesWindowState.kindMask != 0 {
            _addCounterReading(
                state: state,
                kind: MetricKind(rawValue: flags & _SeriesWindowState.kindMask) ?? .gauge,
                slotIndex: slotIndex,
                timestamp: timestamp,
                value: value,
                statistics: &statistics
            )
        }
        return .accepted
    }

    /// Finds the window of a sample that fits no open slot and opens it in a slot, with the sample: the
    /// slot of the window's parity when it is free (what the hint and the batch loop's prefetch expect),
    /// else the other free slot, else the older one, force-closed. Returns the slot, or nil when the
    /// sample is late or cannot be placed (counted in `statistics`).
    @inlinable
    static func _openWindow(
        state: UnsafeMutablePointer<_SeriesWindowState>,
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
        let endNanoseconds = startNanoseconds + windowNanoseconds  // cannot overflow: windowStart checked
        if endNanoseconds <= watermarkNanoseconds {
            statistics.late &+= 1
            return nil
        }
        let parity = Int(windowIndex & 1)
        let opened: Int
        if !_slot(state, parity).pointee.isOpen {
            opened = parity
        } else if !_slot(state, 1 &- parity).pointee.isOpen {
            opened = 1 &- parity
        } else {
            // Both slots hold other windows: close the older one, unless this sample is older still.
            let older = state.pointee.slot0.startNanoseconds < state.pointee.slot1.startNanoseconds ? 0 : 1
            if startNanoseconds < _slot(state, older).pointee.startNanoseconds {
                statistics.late &+= 1
                return nil
            }
            let closed = _aggregate(state: state, slotIndex: older, seriesID: seriesID, isCounter: isCounter)
            _forceClose(
                closed,
                configuration: configuration,
                watermarkNanoseconds: &watermarkNanoseconds,
                statistics: &statistics,
                pending: &pending
            )
            opened = older
        }
        _open(state: state, slotIndex: opened, startNanoseconds: startNanoseconds, timestamp: timestamp, value: value)
        statistics.openWindows &+= 1
        if endNanoseconds < earliestOpenEndNanoseconds { earliestOpenEndNanoseconds = endNanoseconds }
        return opened
    }

    /// Opens a free slot for the window starting at `startNanoseconds` with its first sample; the slot's
    /// counter sums start at zero.
    @inlinable
    static func _open(
        state: UnsafeMutablePointer<_SeriesWindowState>,
        slotIndex: Int,
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
            state.pointee.counter.increase0 = 0
            state.pointee.counter.intervalNanoseconds0 = 0
        } else {
            state.pointee.firsts.first1 = value
            state.pointee.firsts.firstTimestamp1 = timestamp
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
        let counter = state.pointee.counter
        let increase = slotIndex == 0 ? counter.increase0 : counter.increase1
        let intervalNanoseconds = slotIndex == 0 ? counter.intervalNanoseconds0 : counter.intervalNanoseconds1
        let rate: Double
        if isCounter && intervalNanoseconds > 0 {
            rate = increase / (intervalNanoseconds / Double(EventTime.nanosecondsPerSecond))
        } else {
            rate = .nan
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
    /// and its interval to the window the reading went into.
    @inlinable
    static func _addCounterReading(
        state: UnsafeMutablePointer<_SeriesWindowState>,
        kind: MetricKind,
        slotIndex: Int,
        timestamp: Int64,
        value: Double,
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
        // Exact: 0 < timestamp - previous < 2^64, so the wrapped Int64 difference read unsigned is the interval.
        let intervalNanoseconds = Double(UInt64(bitPattern: timestamp &- previousTimestamp))
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
                kind: kind,
                intervalSeconds: intervalSeconds,
                recentRatePerSecond: counter.pointee.recentRatePerSecond
            )
        }
        switch event {
        case .normal, .wrap:
            if event == .wrap { statistics.wraps &+= 1 }
            // Becomes the recent rate (increase over interval, computed when a wrap needs it) when that rate
            // is finite and not negative (NaN fails every comparison). The bound is the quotient's overflow,
            // said with a multiplication; it is infinite, so no bound, for intervals of a second or more.
            if increase >= 0 && increase < .infinity && increase <= intervalSeconds * .greatestFiniteMagnitude {
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
