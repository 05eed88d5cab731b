import VigilCore

/// Per-series ``DegradationForecaster`` state for one shard, struct-of-arrays by the forecaster's own local
/// index (only series with a failure threshold get one).
///
/// Per series: two rings of `Float` points (fine and coarse, with slot numbers implied by position), two
/// point accumulators, the last fit of each scale, the baseline, its typical deviation and the threshold:
/// 442 B at the defaults.
/// Windows are O(1); a completed point costs one Theil-Sen fit, O(n²) for n <= 64 points, in preallocated
/// scratch. Nothing allocates after `init`.
public struct DegradationForecasterTable: Sendable {
    public let forecaster: DegradationForecaster
    public let capacity: Int

    @usableFromInline var _thresholds: [Double]
    @usableFromInline var _isRising: [Bool]
    @usableFromInline var _fine: _ScaleColumns
    @usableFromInline var _coarse: _ScaleColumns
    @usableFromInline var _baselines: [Float]
    @usableFromInline var _baselinePoints: [UInt16]
    /// Mean absolute deviation of the coarse points from the baseline: how far an ordinary day (a daily
    /// temperature swing) strays from it.
    @usableFromInline var _baselineDeviations: [Float]
    @usableFromInline var _scratchX: [Float]
    @usableFromInline var _scratchY: [Float]
    @usableFromInline var _scratchSlopes: [Float]

    /// Bytes of state per series for the given configuration.
    public static func memoryBytesPerSeries(configuration: DegradationForecaster.Configuration) -> Int {
        MemoryLayout<Double>.size + MemoryLayout<Bool>.size
            + _ScaleColumns.memoryBytesPerSeries(slotCount: configuration.fineSlotCount)
            + _ScaleColumns.memoryBytesPerSeries(slotCount: configuration.coarseSlotCount)
            + 2 * MemoryLayout<Float>.size + MemoryLayout<UInt16>.size
    }

    public var memoryBytesPerSeries: Int { Self.memoryBytesPerSeries(configuration: forecaster.configuration) }

    /// - Parameters:
    ///   - capacity: number of thresholded series (local indices `0..<capacity`); at least 1.
    ///   - forecaster: the configured forecaster.
    /// Every series starts with no history and a threshold of -20 falling; call ``register(localIndex:threshold:direction:)``.
    public init(capacity: Int, forecaster: DegradationForecaster) {
        precondition(capacity > 0, "a forecaster table needs room for at least one series")
        let configuration = forecaster.configuration
        self.forecaster = forecaster
        self.capacity = capacity
        _thresholds = Array(repeating: -20, count: capacity)
        _isRising = Array(repeating: false, count: capacity)
        _fine = _ScaleColumns(
            kind: .fine,
            capacity: capacity,
            slotCount: configuration.fineSlotCount,
            slotNanoseconds: configuration.fineSlotNanoseconds
        )
        _coarse = _ScaleColumns(
            kind: .coarse,
            capacity: capacity,
            slotCount: configuration.coarseSlotCount,
            slotNanoseconds: configuration.coarseSlotNanoseconds
        )
        _baselines = Array(repeating: 0, count: capacity)
        _baselinePoints = Array(repeating: 0, count: capacity)
        _baselineDeviations = Array(repeating: 0, count: capacity)
        let largest = max(configuration.fineSlotCount, configuration.coarseSlotCount)
        _scratchX = Array(repeating: 0, count: largest)
        _scratchY = Array(repeating: 0, count: largest)
        _scratchSlopes = Array(repeating: 0, count: largest * (largest - 1) / 2)
    }

    /// Forgets a series' history and sets its failure threshold.
    ///
    /// - Parameters:
    ///   - threshold: the failure level in the gauge's unit (-20 dBm, 85 degC); must be finite.
    ///   - direction: which side of it is failure.
    /// - Complexity: O(slot counts).
    public mutating func register(localIndex: Int, threshold: Double, direction: FailureDirection) {
        precondition(localIndex >= 0 && localIndex < capacity, "local index \(localIndex) outside 0..<\(capacity)")
        precondition(threshold.isFinite, "a failure threshold must be finite, got \(threshold)")
        _thresholds[localIndex] = threshold
        _isRising[localIndex] = direction == .rising
        _fine.reset(localIndex)
        _coarse.reset(localIndex)
        _baselines[localIndex] = 0
        _baselinePoints[localIndex] = 0
        _baselineDeviations[localIndex] = 0
    }

    /// The series' failure threshold, as registered.
    public func threshold(localIndex: Int) -> Double { _thresholds[localIndex] }

    /// Which side of its threshold the series fails on, as registered.
    public func direction(localIndex: Int) -> FailureDirection { _isRising[localIndex] ? .rising : .falling }

    /// Feeds one closed window (its mean).
    @inlinable
    public mutating func observe(_ window: WindowAggregate, localIndex: Int) -> DegradationForecast {
        observe(value: window.mean, windowStartNanoseconds: window.windowStartNanoseconds, localIndex: localIndex)
    }

    /// Feeds one window's mean value and returns the forecast as of the window's end.
    ///
    /// - Parameters:
    ///   - value: the gauge's window mean; non-finite values (and beyond ±1e30) change nothing and return ``DegradationForecast/unknown``.
    ///   - windowStartNanoseconds: the window's start, ns since the epoch; windows of a series in event-time
    ///     order (a window older than the current point is dropped).
    /// - Complexity: O(1), plus one O(n²) Theil-Sen fit when a point completes; no allocation.
    public mutating func observe(value: Double, windowStartNanoseconds: Int64, localIndex: Int) -> DegradationForecast {
        precondition(localIndex >= 0 && localIndex < capacity, "local index \(localIndex) outside 0..<\(capacity)")
        guard value.isFinite && abs(value) < 1e30 else { return .unknown }
        let configuration = forecaster.configuration

        if let completed = _fine.accumulate(localIndex, value: value, windowStartNanoseconds: windowStartNanoseconds) {
            _fine.store(localIndex, point: completed)
            Self._refit(
                scale: &_fine,
                localIndex: localIndex,
                minimumPoints: configuration.minimumFinePoints,
                xs: &_scratchX,
                ys: &_scratchY,
                slopes: &_scratchSlopes
            )
        }
        if let completed = _coarse.accumulate(
            localIndex,
            value: value,
            windowStartNanoseconds: windowStartNanoseconds
        ) {
            _coarse.store(localIndex, point: completed)
            _updateBaseline(localIndex: localIndex, point: Double(completed.value))
            Self._refit(
                scale: &_coarse,
                localIndex: localIndex,
                minimumPoints: configuration.minimumCoarsePoints,
                xs: &_scratchX,
                ys: &_scratchY,
                slopes: &_scratchSlopes
            )
        }

        let threshold = _thresholds[localIndex]
        let isRising = _isRising[localIndex]
        let isCrossed = isRising ? value >= threshold : value <= threshold
        let nowNanoseconds = windowStartNanoseconds &+ configuration.windowNanoseconds
        let isWarmedUp = Int(_baselinePoints[localIndex]) >= configuration.minimumBaselinePoints
        let fine = _decide(scale: _fine, localIndex: localIndex, nowNanoseconds: nowNanoseconds)
        let coarse = _decide(scale: _coarse, localIndex: localIndex, nowNanoseconds: nowNanoseconds)

        // A raising scale wins (the sooner crossing if both raise); otherwise report the finer fitted scale.
        var chosen = fine
        if let coarse {
            if let current = chosen {
                if coarse.isRaising && (!current.isRaising || coarse.eta < current.eta) { chosen = coarse }
            } else {
                chosen = coarse
            }
        }
        let exceedance = isCrossed ? abs(value - threshold) : 0
        guard let decision = chosen else {
            return DegradationForecast(
                level: value,
                slopePerSecond: 0,
                etaNanoseconds: nil,
                confidence: 0,
                isForecasting: false,
                isCrossed: isCrossed,
                isWarmedUp: isWarmedUp,
                scale: .none,
                alertScore: 0,
                exceedance: exceedance
            )
        }
        let isForecasting = decision.isRaising && isWarmedUp && !isCrossed
        // A near-flat trend gives an ETA of centuries, beyond Int64 nanoseconds (292 years): not heading there.
        let etaNanosecondsValue = decision.eta * Double(EventTime.nanosecondsPerSecond)
        let etaNanoseconds: Int64? = etaNanosecondsValue < 9e18 ? Int64(etaNanosecondsValue) : nil
        let horizonSeconds = Double(configuration.horizonNanoseconds) / Double(EventTime.nanosecondsPerSecond)
        return DegradationForecast(
            level: decision.level,
            slopePerSecond: decision.slopePerSecond,
            etaNanoseconds: etaNanoseconds,
            confidence: decision.confidence,
            isForecasting: isForecasting,
            isCrossed: isCrossed,
            isWarmedUp: isWarmedUp,
            scale: decision.scale,
            alertScore: isForecasting ? max(1, horizonSeconds / max(decision.eta, 1)) : 0,
            exceedance: exceedance
        )
    }

    struct _Decision {
        var scale: ForecastScale
        var level: Double
        var slopePerSecond: Double
        /// Seconds to the threshold; +infinity when not heading there.
        var eta: Double
        var confidence: Double
        var isRaising: Bool
    }

    /// The forecast one scale's last fit gives at `nowNanoseconds`, or nil before its first fit. Inlined:
    /// called out of line from the mutating `observe`, it took a 408-byte copy of the table each time.
    @inline(__always)
    func _decide(scale: _ScaleColumns, localIndex: Int, nowNanoseconds: Int64) -> _Decision? {
        guard scale.fitValid[localIndex] else { return nil }
        let configuration = forecaster.configuration
        let threshold = _thresholds[localIndex]
        let isRising = _isRising[localIndex]
        let slopePerSecond = Double(scale.fitSlopes[localIndex])
        let elapsedSeconds =
            Double(nowNanoseconds - scale.fitTimes[localIndex]) / Double(EventTime.nanosecondsPerSecond)
        let level = Double(scale.fitLevels[localIndex]) + slopePerSecond * elapsedSeconds
        let isHeadingThere = isRising ? slopePerSecond > 0 : slopePerSecond < 0
        let distance = isRising ? threshold - level : level - threshold
        let eta = isHeadingThere ? max(distance, 0) / abs(slopePerSecond) : .infinity
        let tau = Double(scale.fitTaus[localIndex])
        let confidence = max(0, isRising ? tau : -tau)
        let baseline = Double(_baselines[localIndex])
        let departure = isRising ? level - baseline : baseline - level
        let fraction =
            Int(_baselinePoints[localIndex]) >= configuration.baselineSettledPoints
            ? configuration.minimumDepartureFraction : configuration.earlyDepartureFraction
        let horizonSeconds = Double(configuration.horizonNanoseconds) / Double(EventTime.nanosecondsPerSecond)
        let isRaising =
            isHeadingThere && confidence >= configuration.minimumConfidence
            && departure >= _requiredDeparture(localIndex: localIndex, baseline: baseline, fraction: fraction)
            && eta <= horizonSeconds
        return _Decision(
            scale: scale.kind,
            level: level,
            slopePerSecond: slopePerSecond,
            eta: eta,
            confidence: confidence,
            isRaising: isRaising
        )
    }

    /// The baseline is a running average of the first points, then an exponential average with a week's
    /// time constant, slowed while the level is off toward the threshold so a degradation is not absorbed.
    /// How far from its baseline a series must be to count as departed, for forecasting and for slowing the
    /// baseline alike: further than `fraction` of the baseline's distance to the threshold, and further than
    /// an ordinary day strays (the peak of a sine is 1.57x its mean absolute deviation).
    func _requiredDeparture(localIndex: Int, baseline: Double, fraction: Double) -> Double {
        max(
            fraction * abs(_thresholds[localIndex] - baseline),
            forecaster.configuration.departureDeviations * Double(_baselineDeviations[localIndex])
        )
    }

    mutating func _updateBaseline(localIndex: Int, point: Double) {
        let configuration = forecaster.configuration
        let points = _baselinePoints[localIndex]
        if points == 0 {
            _baselines[localIndex] = Float(point)
        } else {
            let baseline = Double(_baselines[localIndex])
            let departure = _isRising[localIndex] ? point - baseline : baseline - point
            var gain = max(1 / (Double(points) + 1), 1 / configuration.baselineTimeConstantPoints)
            // The first day is learnt whole (a plain running average), so that a daily swing neither biases
            // the baseline nor is mistaken for a departure; after it, points further off than an ordinary
            // day strays toward the threshold are departures, learnt slowly.
            let isSettled = Int(points) >= configuration.baselineSettledPoints
            let isDeparted =
                isSettled
                && departure
                    >= _requiredDeparture(
                        localIndex: localIndex,
                        baseline: baseline,
                        fraction: configuration.minimumDepartureFraction
                    )
            if isDeparted {
                gain /= configuration.departedBaselineGainDivisor
            } else {
                // Only ordinary points teach how far an ordinary day strays; a degradation must not widen it.
                let deviation = Double(_baselineDeviations[localIndex])
                _baselineDeviations[localIndex] = Float(deviation + gain * (abs(point - baseline) - deviation))
            }
            _baselines[localIndex] = Float(baseline + gain * (point - baseline))
        }
        if points < UInt16.max { _baselinePoints[localIndex] = points + 1 }
    }

    /// Refits one scale of one series from its ring into the table's preallocated scratch columns.
    static func _refit(
        scale: inout _ScaleColumns,
        localIndex: Int,
        minimumPoints: Int,
        xs: inout [Float],
        ys: inout [Float],
        slopes: inout [Float]
    ) {
        let slotCount = scale.slotCount
        let newest = scale.newestSlots[localIndex]
        let base = localIndex * slotCount
        var count = 0
        // Oldest to newest; x is the slot offset from the newest point (<= 0), so the intercept is the level now.
        for age in stride(from: slotCount - 1, through: 0, by: -1) {
            let value = scale.values[base + _ScaleColumns.ringIndex(slot: newest - Int64(age), slotCount: slotCount)]
            if value.isNaN { continue }
            xs[count] = Float(-age)
            ys[count] = value
            count += 1
        }
        guard count >= minimumPoints else {
            scale.fitValid[localIndex] = false
            return
        }
        let fit = xs.withUnsafeMutableBufferPointer { xBuffer in
            ys.withUnsafeMutableBufferPointer { yBuffer in
                slopes.withUnsafeMutableBufferPointer { slopeBuffer in
                    TheilSen.fit(xs: xBuffer, ys: yBuffer, count: count, slopes: slopeBuffer)
                }
            }
        }
        let slotSeconds = Double(scale.slotNanoseconds) / Double(EventTime.nanosecondsPerSecond)
        scale.fitValid[localIndex] = true
        scale.fitLevels[localIndex] = Float(fit.intercept)
        scale.fitSlopes[localIndex] = Float(fit.slope / slotSeconds)
        scale.fitTaus[localIndex] = Float(fit.tau)
        // The newest point stands for the middle of its slot.
        scale.fitTimes[localIndex] = newest * scale.slotNanoseconds + scale.slotNanoseconds / 2
    }
}

/// One time scale's columns: a ring of points per series, the point being accumulated, and the last fit.
@usableFromInline
struct _ScaleColumns: Sendable {
    let kind: ForecastScale
    let slotCount: Int
    let slotNanoseconds: Int64
    /// `capacity × slotCount`; the point of slot `s` lives at `ringIndex(s)`; NaN = no point.
    var values: [Float]
    /// Slot number (time / slotNanoseconds) of the newest stored point; `.min` = none yet.
    var newestSlots: [Int64]
    var accumulatingSlots: [Int64]
    var sums: [Double]
    var counts: [UInt16]
    var fitValid: [Bool]
    var fitLevels: [Float]
    /// Unit per second.
    var fitSlopes: [Float]
    var fitTaus: [Float]
    var fitTimes: [Int64]

    static func memoryBytesPerSeries(slotCount: Int) -> Int {
        slotCount * MemoryLayout<Float>.size + 3 * MemoryLayout<Int64>.size + MemoryLayout<Double>.size
            + MemoryLayout<UInt16>.size + MemoryLayout<Bool>.size + 3 * MemoryLayout<Float>.size
    }

    init(kind: ForecastScale, capacity: Int, slotCount: Int, slotNanoseconds: Int64) {
        self.kind = kind
        self.slotCount = slotCount
        self.slotNanoseconds = slotNanoseconds
        values = Array(repeating: .nan, count: capacity * slotCount)
        newestSlots = Array(repeating: .min, count: capacity)
        accumulatingSlots = Array(repeating: .min, count: capacity)
        sums = Array(repeating: 0, count: capacity)
        counts = Array(repeating: 0, count: capacity)
        fitValid = Array(repeating: false, count: capacity)
        fitLevels = Array(repeating: 0, count: capacity)
        fitSlopes = Array(repeating: 0, count: capacity)
        fitTaus = Array(repeating: 0, count: capacity)
        fitTimes = Array(repeating: 0, count: capacity)
    }

    static func ringIndex(slot: Int64, slotCount: Int) -> Int {
        let index = Int(slot % Int64(slotCount))
        return index < 0 ? index + slotCount : index
    }

    mutating func reset(_ localIndex: Int) {
        for cell in localIndex * slotCount..<(localIndex + 1) * slotCount { values[cell] = .nan }
        newestSlots[localIndex] = .min
        accumulatingSlots[localIndex] = .min
        sums[localIndex] = 0
        counts[localIndex] = 0
        fitValid[localIndex] = false
    }

    /// Adds a window to the point of its slot; returns the previous slot's point when this window starts a
    /// new slot. Windows older than the point being accumulated are dropped.
    mutating func accumulate(
        _ localIndex: Int,
        value: Double,
        windowStartNanoseconds: Int64
    ) -> (slot: Int64, value: Float)? {
        let current = accumulatingSlots[localIndex]
        // Most windows fall in the point being accumulated: a multiply and two compares tell, where the
        // division below (tens of cycles) would be paid on every window.
        if current != .min {
            let currentStart = current &* slotNanoseconds
            if windowStartNanoseconds >= currentStart && windowStartNanoseconds &- currentStart < slotNanoseconds {
                sums[localIndex] += value
                counts[localIndex] &+= 1
                return nil
            }
        }
        var slot = windowStartNanoseconds / slotNanoseconds
        if windowStartNanoseconds < 0 && windowStartNanoseconds % slotNanoseconds != 0 { slot -= 1 }
        if slot == current {
            sums[localIndex] += value
            counts[localIndex] &+= 1
            return nil
        }
        if slot < current { return nil }
        var completed: (slot: Int64, value: Float)? = nil
        if current != .min && counts[localIndex] > 0 {
            completed = (current, Float(sums[localIndex] / Double(counts[localIndex])))
        }
        accumulatingSlots[localIndex] = slot
        sums[localIndex] = value
        counts[localIndex] = 1
        return completed
    }

    /// Stores a completed point, marking the slots skipped since the newest point as empty.
    mutating func store(_ localIndex: Int, point: (slot: Int64, value: Float)) {
        let base = localIndex * slotCount
        let newest = newestSlots[localIndex]
        if newest != .min {
            guard point.slot > newest else { return }
            // Bounded: at most one pass over the ring, however long the gap.
            let skipped = min(point.slot - newest - 1, Int64(slotCount))
            var slot = newest + 1
            for _ in 0..<skipped {
                values[base + Self.ringIndex(slot: slot, slotCount: slotCount)] = .nan
                slot += 1
            }
        }
        values[base + Self.ringIndex(slot: point.slot, slotCount: slotCount)] = point.value
        newestSlots[localIndex] = point.slot
    }
}
