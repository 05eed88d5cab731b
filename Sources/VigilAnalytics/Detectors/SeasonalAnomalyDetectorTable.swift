import VigilCore

/// Per-series state of the ``SeasonalAnomalyDetector`` for one shard: flat struct-of-arrays columns
/// indexed by the series' dense local index, allocated once at `capacity`.
///
/// Per series: `bucketCount` centres and spreads (`Float`), `bucketCount` update counts (`UInt8`), a level
/// (`Float`), a window count (`UInt32`), a level-shift run (`Int16`) and the kind and scaling (2 B): 224 B with the
/// default 24 buckets.
/// Scoring a window is O(1), allocates nothing and calls no closure; single-threaded like its shard.
public struct SeasonalAnomalyDetectorTable: Sendable {
    public let detector: SeasonalAnomalyDetector
    /// How many series the table holds (local indices `0..<capacity`).
    public let capacity: Int

    @usableFromInline let _bucketCount: Int
    @usableFromInline let _dayNanoseconds: Int64 = 86_400 * EventTime.nanosecondsPerSecond
    /// The bucket position of the last window start seen: a shard scores every series' window of the same
    /// minute in a row, so the 64-bit remainder by a day (tens of cycles) is paid once per window start.
    @usableFromInline var _positionWindowStart: Int64 = .min
    @usableFromInline var _position: Double = 0
    /// The per-series columns, behind one reference: copy on write, checked once per call instead of once
    /// per column written (ten uniqueness checks a window, a quarter of the detector's instructions).
    @usableFromInline var _columns: _DetectorColumns

    /// Bytes of state per series for `bucketCount` buckets.
    public static func memoryBytesPerSeries(bucketCount: Int) -> Int {
        bucketCount * (2 * MemoryLayout<Float>.size + MemoryLayout<UInt8>.size) + MemoryLayout<Float>.size
            + MemoryLayout<UInt32>.size + MemoryLayout<Int16>.size + 2 * MemoryLayout<Bool>.size
    }

    /// Bytes of state per series of this table.
    public var memoryBytesPerSeries: Int { Self.memoryBytesPerSeries(bucketCount: _bucketCount) }

    /// Allocates the table; every series starts registered as a `counter64` (multiplicative) with no history.
    ///
    /// - Parameters:
    ///   - capacity: number of series (local indices `0..<capacity`); at least 1.
    ///   - detector: the configured detector.
    public init(capacity: Int, detector: SeasonalAnomalyDetector) {
        precondition(capacity > 0, "a detector table needs room for at least one series")
        self.detector = detector
        self.capacity = capacity
        self._bucketCount = detector.configuration.bucketCount
        _columns = _DetectorColumns(capacity: capacity, bucketCount: detector.configuration.bucketCount)
    }

    /// Forgets a series' history and sets how it is scored. Call when a local index is (re)assigned.
    ///
    /// - Parameters:
    ///   - localIndex: the series' index in this shard.
    ///   - kind: counters are scored on their rate with a counts-per-window spread floor, gauges on their mean.
    ///   - scaling: how level and season combine; `nil` takes ``SeasonalAnomalyDetector/Scaling/default(for:)``.
    /// - Complexity: O(`bucketCount`).
    public mutating func register(localIndex: Int, kind: MetricKind, scaling: SeasonalAnomalyDetector.Scaling? = nil) {
        precondition(localIndex >= 0 && localIndex < capacity, "local index \(localIndex) outside 0..<\(capacity)")
        _makeUnique()
        let resolved = scaling ?? .default(for: kind)
        let base = localIndex * _bucketCount
        (_columns.centres + base).update(repeating: 0, count: _bucketCount)
        (_columns.spreads + base).update(repeating: 0, count: _bucketCount)
        (_columns.bucketUpdates + base).update(repeating: 0, count: _bucketCount)
        _columns.isCounter[localIndex] = kind.isCounter
        _columns.isMultiplicative[localIndex] = resolved == .multiplicative
        _columns.levels[localIndex] = resolved == .multiplicative ? 1 : 0
        _columns.windowsSeen[localIndex] = 0
        _columns.shiftRuns[localIndex] = 0
    }

    /// Scores a closed window (its rate for counters, its mean for gauges) and learns from it.
    ///
    /// - Complexity: O(1); no allocation.
    @inlinable
    public mutating func observe(_ window: WindowAggregate, localIndex: Int) -> AnomalyScore {
        precondition(localIndex >= 0 && localIndex < capacity, "local index \(localIndex) outside 0..<\(capacity)")
        let value = _columns.isCounter[localIndex] ? window.rate : window.mean
        return observe(value: value, windowStartNanoseconds: window.windowStartNanoseconds, localIndex: localIndex)
    }

    /// Scores one window's value and learns from it.
    ///
    /// - Parameters:
    ///   - value: the counter's rate per second or the gauge's mean; non-finite values and values beyond
    ///     ±1e30 are not scored and leave the state unchanged.
    ///   - windowStartNanoseconds: start of the window, ns since the epoch (UTC); only its time of day matters.
    ///   - localIndex: the series' index in this shard.
    /// - Returns: the signed robust z-score, the expected band and whether the series is warmed up.
    /// - Complexity: O(1); no allocation.
    @inlinable
    public mutating func observe(value: Double, windowStartNanoseconds: Int64, localIndex: Int) -> AnomalyScore {
        precondition(localIndex >= 0 && localIndex < capacity, "local index \(localIndex) outside 0..<\(capacity)")
        // Beyond ±1e30 a value is garbage (and would overflow the Float state): not scored, not learnt.
        guard value.isFinite && abs(value) < 1e30 else { return .unscored }
        _makeUnique()
        let configuration = detector.configuration

        // Where in the day the window's midpoint falls, in buckets, relative to bucket centres.
        let position: Double
        if windowStartNanoseconds == _positionWindowStart {
            position = _position
        } else {
            let middle = windowStartNanoseconds &+ configuration.windowNanoseconds / 2
            var timeOfDay = middle % _dayNanoseconds
            if timeOfDay < 0 { timeOfDay += _dayNanoseconds }
            var computed = Double(timeOfDay) / Double(_dayNanoseconds) * Double(_bucketCount) - 0.5
            if computed < 0 { computed += Double(_bucketCount) }
            position = computed
            _positionWindowStart = windowStartNanoseconds
            _position = computed
        }
        let lowerBucket = min(Int(position), _bucketCount - 1)
        let upperWeight = position - Double(lowerBucket)
        let upperBucket = lowerBucket + 1 == _bucketCount ? 0 : lowerBucket + 1
        let base = localIndex * _bucketCount
        let lowerCell = base + lowerBucket
        let upperCell = base + upperBucket

        let isCounter = _columns.isCounter[localIndex]
        let isMultiplicative = _columns.isMultiplicative[localIndex]
        let level = Double(_columns.levels[localIndex])
        let deseasonalised = isMultiplicative ? value / level : value - level

        // Prediction interpolates the two buckets around the window; a bucket not learnt yet borrows its
        // neighbour's values (and on the very first window both take the value itself).
        let lowerUpdates = _columns.bucketUpdates[lowerCell]
        let upperUpdates = _columns.bucketUpdates[upperCell]
        var lowerCentre = Double(_columns.centres[lowerCell])
        var upperCentre = Double(_columns.centres[upperCell])
        var lowerSpread = Double(_columns.spreads[lowerCell])
        var upperSpread = Double(_columns.spreads[upperCell])
        if lowerUpdates == 0 && upperUpdates == 0 {
            lowerCentre = deseasonalised
            upperCentre = deseasonalised
        } else if lowerUpdates == 0 {
            lowerCentre = upperCentre
            lowerSpread = upperSpread
        } else if upperUpdates == 0 {
            upperCentre = lowerCentre
            upperSpread = lowerSpread
        }
        let lowerWeight = 1 - upperWeight
        let centre = lowerWeight * lowerCentre + upperWeight * upperCentre
        let spread = lowerWeight * lowerSpread + upperWeight * upperSpread

        let expected = isMultiplicative ? level * centre : level + centre
        // Counters count discrete events: their floor is the larger of a fixed count per window and the
        // (overdispersed) Poisson noise of the expected count, so low-count series such as discards do not
        // alarm on their skewed tail.
        let windowSeconds = Double(configuration.windowNanoseconds) / Double(EventTime.nanosecondsPerSecond)
        let absoluteFloor =
            isCounter
            ? max(
                configuration.counterSpreadFloorCountsPerWindow,
                configuration.counterPoissonSpreadFactor * (max(expected, 0) * windowSeconds).squareRoot()
            ) / windowSeconds
            : configuration.gaugeSpreadFloor
        let relativeFloor =
            (isCounter ? configuration.counterRelativeSpreadFloor : configuration.gaugeRelativeSpreadFloor)
            * abs(expected)
        let effectiveSpread = max(isMultiplicative ? level * spread : spread, absoluteFloor, relativeFloor)
        let score = (value - expected) / effectiveSpread

        let seen = _columns.windowsSeen[localIndex]
        let minimumUpdates = UInt8(configuration.minimumBucketUpdates)
        let bucketsLearnt = lowerUpdates >= minimumUpdates && upperUpdates >= minimumUpdates
        let isLevelAdapting = Int(seen) >= configuration.levelStartWindows && bucketsLearnt
        let isWarmedUp = Int(seen) >= configuration.warmupWindows && bucketsLearnt

        // Learning, in the nearer bucket only: its centre is a running (then exponential) average of the values
        // within half a bucket of it, which for a smooth daily shape is its value at the bucket's centre; its
        // spread learns from the interpolated residual, so it measures noise plus interpolation error.
        // Residuals are clipped (Huber) and learning slows during anomalies, so incidents are not absorbed
        // into the baseline; a young bucket learns unclipped.
        let gainScale = abs(score) > configuration.anomalousScore ? 1 / configuration.anomalousGainDivisor : 1
        let spreadDeseasonalised = isMultiplicative ? effectiveSpread / level : effectiveSpread
        let clip = configuration.learningClipSpreads * spreadDeseasonalised
        let nearerCell = upperWeight < 0.5 ? lowerCell : upperCell
        let nearerUpdates = _columns.bucketUpdates[nearerCell]
        let isYoung = nearerUpdates < minimumUpdates
        let gain = max(1 / (Double(nearerUpdates) + 1), configuration.bucketGainFloor) * gainScale
        let nearerCentre = Double(_columns.centres[nearerCell])
        let centreResidual = nearerUpdates == 0 ? 0 : deseasonalised - nearerCentre
        let clippedResidual = isYoung ? centreResidual : max(-clip, min(clip, centreResidual))
        _columns.centres[nearerCell] = Float(
            nearerUpdates == 0 ? deseasonalised : nearerCentre + gain * clippedResidual
        )
        let deviation = min(abs(deseasonalised - centre) * 1.253_314, isYoung ? .infinity : clip)
        let nearerSpread = Double(_columns.spreads[nearerCell])
        _columns.spreads[nearerCell] = Float(nearerSpread + gain * (deviation - nearerSpread))
        if nearerUpdates < UInt8.max { _columns.bucketUpdates[nearerCell] = nearerUpdates + 1 }

        // A run of anomalous windows on one side long enough is a level shift (a weekend, a re-route, a
        // device back from a reboot), not an incident: the level then follows it at full speed, so the
        // alert it raised resolves instead of lasting until the slow anomalous learning catches up.
        let run = _columns.shiftRuns[localIndex]
        if score > configuration.anomalousScore {
            _columns.shiftRuns[localIndex] = run > 0 ? min(run, .max - 1) + 1 : 1
        } else if score < -configuration.anomalousScore {
            _columns.shiftRuns[localIndex] = run < 0 ? max(run, .min + 1) - 1 : -1
        } else {
            _columns.shiftRuns[localIndex] = 0
        }
        let isShifting = abs(Int(run)) >= configuration.levelShiftWindows

        // The level moves only once the season is known, by at most `learningClipSpreads` spreads per step
        // (unclipped, at full gain, through a level shift).
        if isLevelAdapting {
            let clippedScore =
                isShifting
                ? score
                : max(-configuration.learningClipSpreads, min(configuration.learningClipSpreads, score))
            let step = configuration.levelGain * (isShifting ? 1 : gainScale) * clippedScore * effectiveSpread
            if isMultiplicative {
                // Near-zero series (error counters) carry no level information.
                if centre > 4 * absoluteFloor / level {
                    _columns.levels[localIndex] = Float(min(max(level + step / centre, 0.05), 20))
                }
            } else {
                _columns.levels[localIndex] = Float(level + step)
            }
        }
        if seen < UInt32.max { _columns.windowsSeen[localIndex] = seen + 1 }

        let halfBand = configuration.bandSpreads * effectiveSpread
        let low = isCounter ? max(expected - halfBand, 0) : expected - halfBand
        return AnomalyScore(
            score: score,
            expected: expected,
            expectedLow: low,
            expectedHigh: expected + halfBand,
            isWarmedUp: isWarmedUp,
            isScored: true
        )
    }

    /// Windows scored since the series was registered (saturating).
    public func windowsSeen(localIndex: Int) -> Int {
        precondition(localIndex >= 0 && localIndex < capacity, "local index \(localIndex) outside 0..<\(capacity)")
        return Int(_columns.windowsSeen[localIndex])
    }

    /// Gives this table its own columns if a copy of it shares them. O(1) when unique.
    @inlinable
    mutating func _makeUnique() {
        if !isKnownUniquelyReferenced(&_columns) { _columns = _columns.copy() }
    }
}

/// The columns of a ``SeasonalAnomalyDetectorTable``, struct-of-arrays by local index, allocated once.
/// Reached only through a table, which copies them before writing when they are shared.
@usableFromInline
final class _DetectorColumns: @unchecked Sendable {
    @usableFromInline let capacity: Int
    @usableFromInline let bucketCount: Int
    /// `capacity × bucketCount`: the seasonal centre of each bucket, deseasonalised by the level.
    @usableFromInline let centres: UnsafeMutablePointer<Float>
    /// `capacity × bucketCount`: the robust spread (about one standard deviation) of each bucket.
    @usableFromInline let spreads: UnsafeMutablePointer<Float>
    /// `capacity × bucketCount`: updates each bucket had as the nearer of its pair, saturating at 255.
    @usableFromInline let bucketUpdates: UnsafeMutablePointer<UInt8>
    /// Multiplicative factor (starts at 1) or additive offset (starts at 0).
    @usableFromInline let levels: UnsafeMutablePointer<Float>
    /// Windows scored since registration, saturating.
    @usableFromInline let windowsSeen: UnsafeMutablePointer<UInt32>
    /// Consecutive anomalous windows on one side: positive above the baseline, negative below.
    @usableFromInline let shiftRuns: UnsafeMutablePointer<Int16>
    @usableFromInline let isCounter: UnsafeMutablePointer<Bool>
    @usableFromInline let isMultiplicative: UnsafeMutablePointer<Bool>

    /// Every series starts as a `counter64` (multiplicative, level 1) with no history; or, with `source`,
    /// as a copy of its columns.
    @usableFromInline
    init(capacity: Int, bucketCount: Int, copying source: _DetectorColumns? = nil) {
        self.capacity = capacity
        self.bucketCount = bucketCount
        func column<Element>(
            _ count: Int,
            _ initial: Element,
            _ path: KeyPath<_DetectorColumns, UnsafeMutablePointer<Element>>
        ) -> UnsafeMutablePointer<Element> {
            let column = UnsafeMutablePointer<Element>.allocate(capacity: count)
            if let source {
                column.initialize(from: source[keyPath: path], count: count)
            } else {
                column.initialize(repeating: initial, count: count)
            }
            return column
        }
        let cells = capacity * bucketCount
        centres = column(cells, 0, \.centres)
        spreads = column(cells, 0, \.spreads)
        bucketUpdates = column(cells, 0, \.bucketUpdates)
        levels = column(capacity, 1, \.levels)
        windowsSeen = column(capacity, 0, \.windowsSeen)
        shiftRuns = column(capacity, 0, \.shiftRuns)
        isCounter = column(capacity, true, \.isCounter)
        isMultiplicative = column(capacity, true, \.isMultiplicative)
    }

    @usableFromInline
    func copy() -> _DetectorColumns { _DetectorColumns(capacity: capacity, bucketCount: bucketCount, copying: self) }

    deinit {
        centres.deallocate()
        spreads.deallocate()
        bucketUpdates.deallocate()
        levels.deallocate()
        windowsSeen.deallocate()
        shiftRuns.deallocate()
        isCounter.deallocate()
        isMultiplicative.deallocate()
    }
}
