/// One closed tumbling window of one series: what windows emit, models score and rollups store.
///
/// Mean and standard deviation are derived (from `sum` and the Welford sum of squared deviations), so
/// stored rollups carry no redundant columns. `rate` is the per-second increase of a counter over the
/// window, wraps and resets accounted for; it is NaN for gauges and for counter windows that hold no
/// measurable interval.
public struct WindowAggregate: Sendable, Equatable {
    public var seriesID: SeriesID
    /// Start of the window, nanoseconds since the epoch; the window is `[start, start + width)`.
    public var windowStartNanoseconds: Int64
    public var count: UInt32
    public var sum: Double
    public var minimum: Double
    public var maximum: Double
    /// Value of the earliest and latest sample in the window (by event time).
    public var first: Double
    public var last: Double
    /// Welford's M2: the sum of squared deviations from the mean.
    public var sumOfSquaredDeviations: Double
    /// Per-second increase for counters; NaN for gauges or when not computable.
    public var rate: Double

    public init(
        seriesID: SeriesID,
        windowStartNanoseconds: Int64,
        count: UInt32,
        sum: Double,
        minimum: Double,
        maximum: Double,
        first: Double,
        last: Double,
        sumOfSquaredDeviations: Double,
        rate: Double
    ) {
        self.seriesID = seriesID
        self.windowStartNanoseconds = windowStartNanoseconds
        self.count = count
        self.sum = sum
        self.minimum = minimum
        self.maximum = maximum
        self.first = first
        self.last = last
        self.sumOfSquaredDeviations = sumOfSquaredDeviations
        self.rate = rate
    }

    @inlinable public var mean: Double { count == 0 ? .nan : sum / Double(count) }

    /// Population standard deviation of the window's samples.
    @inlinable public var standardDeviation: Double {
        count == 0 ? .nan : (max(sumOfSquaredDeviations, 0) / Double(count)).squareRoot()
    }

    /// NaN-aware equality, so round-trip tests can compare gauge windows (rate = NaN) directly.
    public static func == (lhs: WindowAggregate, rhs: WindowAggregate) -> Bool {
        func same(_ a: Double, _ b: Double) -> Bool { a.bitPattern == b.bitPattern || a == b }
        return lhs.seriesID == rhs.seriesID && lhs.windowStartNanoseconds == rhs.windowStartNanoseconds
            && lhs.count == rhs.count && same(lhs.sum, rhs.sum) && same(lhs.minimum, rhs.minimum)
            && same(lhs.maximum, rhs.maximum) && same(lhs.first, rhs.first) && same(lhs.last, rhs.last)
            && same(lhs.sumOfSquaredDeviations, rhs.sumOfSquaredDeviations) && same(lhs.rate, rhs.rate)
    }
}
