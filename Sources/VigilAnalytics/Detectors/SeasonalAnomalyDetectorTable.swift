import VigilCore

/// Per-series state of the ``SeasonalAnomalyDetector`` for one shard: flat struct-of-arrays columns
/// indexed by the series' dense local index, allocated once at `capacity`.
///
/// Per series: `bucketCount` centres and spreads (`Float`), `bucketCount` update counts (`UInt8`), a level
/// (`Float`), a window count (`UInt32`) and the kind and scaling (2 B): 222 B with the default 24 buckets.
/// Scoring a window is O(1), allocates nothing and calls no closure; single-threaded like its shard.
public struct SeasonalAnomalyDetectorTable: Sendable {
    public let detector: SeasonalAnomalyDetector
    /// How many series the table holds (local indices `0..<capacity`).
    public let capacity: Int

    @usableFromInline let _bucketCount: Int
    @usableFromInline let _dayNanoseconds: Int64 = 86_400 * EventTime.nanosecondsPerSecond
    /// `capacity × bucketCount`: the seasonal centre of each bucket, deseasonalised by the level.
    @usableFromInline var _centres: [Float]
    /// `capacity × bucketCount`: the robust spread (about one standard deviation) of each bucket.
    @usableFromInline var _spreads: [Float]
    /// `capacity × bucketCount`: updates each bucket had as the nearer of its pair, saturating at 255.
    @usableFromInline var _bucketUpdates: [UInt8]
    /// Multiplicative factor (starts at 1) or additive offset (starts at 0).
    @usableFromInline var _levels: [Float]
    /// Windows scored since registration, saturating.
    @usableFromInline var _windowsSeen: [UInt32]
    @usableFromInline var _isCounter: [Bool]
    @usableFromInline var _isMultiplicative: [Bool]

    /// Bytes of state per series for `bucketCount` buckets.
    public static func memoryBytesPerSeries(bucketCount: Int) -> Int {
        bucketCount * (2 * MemoryLayout<Float>.size + MemoryLayout<UInt8>.size) + MemoryLayout<Float>.size
            + MemoryLayout<UInt32>.size + 2 * MemoryLayout<Bool>.size
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
        let cells = capacity * _bucketCount
        _centres = Array(repeating: 0, count: cells)
        _spreads = Array(repeating: 0, count: cells)
        _bucketUpdates = Array(repeating: 0, count: cells)
        _levels = Array(repeating: 1, count: capacity)
        _windowsSeen = Array(repeating: 0, count: capacity)
        _isCounter = Array(repeating: true, count: capacity)
        _isMultiplicative = Array(repeating: true, count: capacity)
    }

    /// Forgets a series' history and sets how it is scored. Call when a local index is (re)assigned.
    ///
    /// - Parameters:
    ///   - localIndex: the series' index in this shard.
    ///   - kind: counters are scored on their rate with a counts-per-window spread floor, gauges on their mean.
    ///   - scaling: how level and season combine; `nil` takes ``SeasonalAnomalyDetector/Scaling/default(for:)``.
    /// - Complexity: O(`bucketCount`).
    public mutating func register(localIndex: Int, kind: MetricKind, scaling: SeasonalAnomalyDetector.Scaling? = nil)
    {
        precondition(localIndex >= 0 && localIndex < capacity, "local index \(localIndex) outside 0..<\(capacity)")
        let resolved = scaling ?? .default(for: kind)
        let base = localIndex * _bucketCount
        for cell in base..<base + _bucketCount {
            _centres[cell] = 0
            _spreads[cell] = 0
            _bucketUpdates[cell] = 0
        }
        _isCounter[localIndex] = kind.isCounter
        _isMultiplicative[localIndex] = resolved == .multiplicative
        _levels[localIndex] = resolved == .multiplicative ? 1 : 0
        _windowsSeen[localIndex] = 0
    }

    /// Scores a closed window (its rate for counters, its mean for gauges) and learns from it.
    ///
    /// - Complexity: O(1); no allocation.
    @inlinable
    public mutating func observe(_ window: WindowAggregate, localIndex: Int) -> AnomalyScore {
        let value = _isCounter[localIndex] ? window.rate : window.mean
        return observe(value: value, windowStartNanoseconds: window.windowStartNanoseconds, localIndex: localIndex)
    }

    /// Scores one window's value and learns from it.
    ///
    /// - Parameters:
    ///   - value: the counter's rate per second or the gauge's mean; non-finite values are not scored
    ///     and leave the state unchanged.
    ///   - windowStartNanoseconds: start of the window, ns since the epoch (UTC); only its time of day matters.
    ///   - localIndex: the series' index in this shard.
    /// - Returns: the signed robust z-score, the expected band and whether the series is warmed up.
    /// - Complexity: O(1); no allocation.
    @inlinable
    public mutating func observe(value: Double, windowStartNanoseconds: Int64, localIndex: Int) -> AnomalyScore {
        precondition(localIndex >= 0 && localIndex < capacity, "local index \(localIndex) outside 0..<\(capacity)")
        guard value.isFinite else { return .unscored }
        let configuration = detector.configuration

        // Where in the day the window's midpoint falls, in buckets, relative to bucket centres.
        let middle = windowStartNanoseconds &+ configuration.windowNanoseconds / 2
        var timeOfDay = middle % _dayNanoseconds
        if timeOfDay < 0 { timeOfDay += _dayNanoseconds }
        var position = Double(timeOfDay) / Double(_dayNanoseconds) * Double(_bucketCount) - 0.5
        if position < 0 { position += Double(_bucketCount) }
        let lowerBucket = min(Int(position), _bucketCount - 1)
        let upperWeight = position - Double(lowerBucket)
        let upperBucket = lowerBucket + 1 == _bucketCount ? 0 : lowerBucket + 1
        let base = localIndex * _bucketCount
        let lowerCell = base + lowerBucket
        let upperCell = base + upperBucket

        let isCounter = _isCounter[localIndex]
        let isMultiplicative = _isMultiplicative[localIndex]
        let level = Double(_levels[localIndex])
        let deseasonalised = isMultiplicative ? value / level : value - level

        // A bucket seen for the first time starts at the value itself, so day one learns the shape.
        if _bucketUpdates[lowerCell] == 0 && _centres[lowerCell] == 0 && _spreads[lowerCell] == 0 {
            _centres[lowerCell] = Float(deseasonalised)
        }
        if _bucketUpdates[upperCell] == 0 && _centres[upperCell] == 0 && _spreads[upperCell] == 0 {
            _centres[upperCell] = Float(deseasonalised)
        }
        let lowerWeight = 1 - upperWeight
        let centre = lowerWeight * Double(_centres[lowerCell]) + upperWeight * Double(_centres[upperCell])
        let spread = lowerWeight * Double(_spreads[lowerCell]) + upperWeight * Double(_spreads[upperCell])

        let expected = isMultiplicative ? level * centre : level + centre
        let absoluteFloor =
            isCounter
            ? configuration.counterSpreadFloorCountsPerWindow * Double(EventTime.nanosecondsPerSecond)
                / Double(configuration.windowNanoseconds)
            : configuration.gaugeSpreadFloor
        let relativeFloor =
            (isCounter ? configuration.counterRelativeSpreadFloor : configuration.gaugeRelativeSpreadFloor)
            * abs(expected)
        let effectiveSpread = max(isMultiplicative ? level * spread : spread, absoluteFloor, relativeFloor)
        let score = (value - expected) / effectiveSpread

        let seen = _windowsSeen[localIndex]
        let minimumUpdates = UInt8(configuration.minimumBucketUpdates)
        let isWarmedUp =
            Int(seen) >= configuration.warmupWindows && _bucketUpdates[lowerCell] >= minimumUpdates
            && _bucketUpdates[upperCell] >= minimumUpdates

        // Learning. Residuals are clipped (Huber) and learning slows during anomalies, so incidents are not
        // absorbed into the baseline; buckets that are still young learn unclipped, as running averages.
        let gainScale = abs(score) > configuration.anomalousScore ? 1 / configuration.anomalousGainDivisor : 1
        let spreadDeseasonalised = isMultiplicative ? effectiveSpread / level : effectiveSpread
        let clip = configuration.learningClipSpreads * spreadDeseasonalised
        let residual = deseasonalised - centre
        _learn(
            cell: lowerCell,
            weight: lowerWeight * gainScale,
            residual: residual,
            clip: clip,
            minimumUpdates: minimumUpdates
        )
        _learn(
            cell: upperCell,
            weight: upperWeight * gainScale,
            residual: residual,
            clip: clip,
            minimumUpdates: minimumUpdates
        )
        let nearerCell = upperWeight < 0.5 ? lowerCell : upperCell
        if _bucketUpdates[nearerCell] < UInt8.max { _bucketUpdates[nearerCell] += 1 }

        // The level moves only once the season is known, by at most `learningClipSpreads` spreads per step.
        if isWarmedUp {
            let clippedScore = max(
                -configuration.learningClipSpreads,
                min(configuration.learningClipSpreads, score)
            )
            let step = configuration.levelGain * gainScale * clippedScore * effectiveSpread
            if isMultiplicative {
                // Near-zero series (error counters) carry no level information.
                if centre > 4 * absoluteFloor / level {
                    _levels[localIndex] = Float(min(max(level + step / centre, 0.05), 20))
                }
            } else {
                _levels[localIndex] = Float(level + step)
            }
        }
        if seen < UInt32.max { _windowsSeen[localIndex] = seen + 1 }

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

    /// One bucket's share of an update: a Huber step of its centre and an EW mean of its absolute deviation
    /// (× √(π/2), so it estimates a standard deviation for Gaussian noise).
    @inlinable
    mutating func _learn(cell: Int, weight: Double, residual: Double, clip: Double, minimumUpdates: UInt8) {
        guard weight > 0 else { return }
        let updates = _bucketUpdates[cell]
        let isYoung = updates < minimumUpdates
        let gain = max(1 / (Double(updates) + 1), detector.configuration.bucketGainFloor) * weight
        let clipped = isYoung ? residual : max(-clip, min(clip, residual))
        _centres[cell] = Float(Double(_centres[cell]) + gain * clipped)
        let deviation = min(abs(residual) * 1.253_314, isYoung ? .infinity : clip)
        _spreads[cell] = Float(Double(_spreads[cell]) + gain * (deviation - Double(_spreads[cell])))
    }

    /// Whether the series has been seen long enough for its scores to alert (at its last window's time of day).
    public func windowsSeen(localIndex: Int) -> Int { Int(_windowsSeen[localIndex]) }
}
