import VigilCore

/// One open window of one series: the running aggregate. 92 bytes; `count == 0` marks a free slot.
///
/// Welford's M2 is updated from the running sum instead of a running mean (same precision, one division,
/// eight bytes less): with `k` samples so far and sum `S`, adding `x` adds `(k·x − S)² / (k·(k+1))`.
@usableFromInline
struct _WindowSlot {
    @usableFromInline var startNanoseconds: Int64 = 0
    @usableFromInline var sum: Double = 0
    @usableFromInline var minimum: Double = 0
    @usableFromInline var maximum: Double = 0
    @usableFromInline var first: Double = 0
    @usableFromInline var last: Double = 0
    @usableFromInline var sumOfSquaredDeviations: Double = 0
    @usableFromInline var firstTimestamp: Int64 = 0
    @usableFromInline var lastTimestamp: Int64 = 0
    /// Counters only: sum of the increases attributed to this window, and of their intervals.
    /// Intervals are summed as Double nanoseconds: exact below 2^53 ns (104 days), and no overflow trap.
    @usableFromInline var counterIncrease: Double = 0
    @usableFromInline var counterIntervalNanoseconds: Double = 0
    @usableFromInline var count: UInt32 = 0

    @inlinable init() {}

    @inlinable var isOpen: Bool { count != 0 }

    /// Opens the slot for the window starting at `startNanoseconds` with its first sample.
    @inlinable
    mutating func open(startNanoseconds: Int64, timestamp: Int64, value: Double) {
        self.startNanoseconds = startNanoseconds
        sum = value
        minimum = value
        maximum = value
        first = value
        last = value
        sumOfSquaredDeviations = 0
        firstTimestamp = timestamp
        lastTimestamp = timestamp
        counterIncrease = 0
        counterIntervalNanoseconds = 0
        count = 1
    }

    /// Adds a sample to an open slot. Ties on time: `first` keeps the earliest arrival, `last` takes the latest.
    @inlinable
    mutating func merge(timestamp: Int64, value: Double) {
        let countBefore = Double(count)
        let deviation = countBefore * value - sum
        sumOfSquaredDeviations += deviation * deviation / (countBefore * (countBefore + 1))
        sum += value
        count &+= 1
        if value < minimum { minimum = value }
        if value > maximum { maximum = value }
        if timestamp < firstTimestamp {
            firstTimestamp = timestamp
            first = value
        }
        if timestamp >= lastTimestamp {
            lastTimestamp = timestamp
            last = value
        }
    }

    @inlinable
    func aggregate(seriesID: SeriesID, isCounter: Bool) -> WindowAggregate {
        let rate: Double
        if isCounter && counterIntervalNanoseconds > 0 {
            rate = counterIncrease / (counterIntervalNanoseconds / Double(EventTime.nanosecondsPerSecond))
        } else {
            rate = .nan
        }
        return WindowAggregate(
            seriesID: seriesID,
            windowStartNanoseconds: startNanoseconds,
            count: count,
            sum: sum,
            minimum: minimum,
            maximum: maximum,
            first: first,
            last: last,
            sumOfSquaredDeviations: sumOfSquaredDeviations,
            rate: rate
        )
    }
}

/// Everything one series costs in a shard table: two window slots (lateness <= width means at most two
/// windows are open) and the counter's previous reading. Kept as one struct so a sample touches a few
/// adjacent cache lines instead of a dozen parallel arrays.
@usableFromInline
struct _SeriesWindowState {
    // Counter state first: a counter sample landing in `slot0` then touches one or two cache lines, not three.
    /// Last accepted counter reading and its time; valid when `flags & hasPreviousCounterFlag`.
    @usableFromInline var previousCounterValue: Double = 0
    @usableFromInline var previousCounterTimestamp: Int64 = 0
    /// Latest measured increase rate (per second); negative when there is none.
    @usableFromInline var recentRatePerSecond: Double = -1
    @usableFromInline var slot0 = _WindowSlot()
    /// Sits in `slot0`'s tail padding.
    @usableFromInline var flags: UInt8 = 0
    @usableFromInline var slot1 = _WindowSlot()

    @usableFromInline static let kindMask: UInt8 = 0x03
    @usableFromInline static let registeredFlag: UInt8 = 0x40
    @usableFromInline static let hasPreviousCounterFlag: UInt8 = 0x80

    @inlinable init() {}

    @inlinable var isRegistered: Bool { flags & Self.registeredFlag != 0 }

    @inlinable var kind: MetricKind { MetricKind(rawValue: flags & Self.kindMask) ?? .gauge }
}
