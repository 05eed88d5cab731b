import VigilCore

/// Why a ``WindowConfiguration`` was refused, with the values that were given.
public enum WindowConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The window width must be at least one nanosecond.
    case nonPositiveWindow(windowNanoseconds: Int64)
    /// Lateness must lie in `0...windowNanoseconds`, so that at most two windows per series are open at once.
    case latenessOutOfRange(latenessNanoseconds: Int64, windowNanoseconds: Int64)
    /// The forced-close buffer must hold between 1 and ``WindowConfiguration/maximumPendingWindowsLimit`` windows.
    case pendingWindowsOutOfRange(maximumPendingWindows: Int)

    public var description: String {
        switch self {
        case .nonPositiveWindow(let windowNanoseconds):
            return "window width must be positive, got \(windowNanoseconds) ns"
        case .latenessOutOfRange(let latenessNanoseconds, let windowNanoseconds):
            return "allowed lateness must be in 0...\(windowNanoseconds) ns (the window width), "
                + "got \(latenessNanoseconds) ns"
        case .pendingWindowsOutOfRange(let maximumPendingWindows):
            return "maximumPendingWindows must be in 1...\(WindowConfiguration.maximumPendingWindowsLimit), "
                + "got \(maximumPendingWindows)"
        }
    }
}

/// Event-time tumbling windows: their width and how late a sample may arrive.
///
/// Windows are epoch-aligned: a sample at `t` belongs to `[floor(t / width) * width, … + width)`.
/// A configuration that exists is valid: the only way to make one is the throwing initialiser.
public struct WindowConfiguration: Sendable, Equatable {
    /// One minute: the default window width.
    public static let defaultWindowNanoseconds: Int64 = 60 * EventTime.nanosecondsPerSecond
    /// Default size of the forced-close buffer: one default-sized sample batch's worth of windows.
    public static let defaultMaximumPendingWindows = 4096
    /// Upper bound on ``maximumPendingWindows`` (about 80 MiB of ``WindowAggregate``s per shard).
    public static let maximumPendingWindowsLimit = 1 << 20

    /// Width of every window, nanoseconds (> 0).
    public private(set) var windowNanoseconds: Int64
    /// `1 / windowNanoseconds`: window indices by a multiplication, where a 64-bit division would cost
    /// tens of cycles per window opened.
    public private(set) var inverseWindowNanoseconds: Double
    /// How far behind the newest event time a sample may be and still count (`0...windowNanoseconds`).
    /// The engine subtracts it from the newest event time to form the watermark.
    public private(set) var latenessNanoseconds: Int64
    /// Capacity of a shard table's buffer of windows that `add` had to close before `closeWindows` ran
    /// (a batch spanning several windows of one series). Allocated up front. Set it to at least the
    /// number of samples per batch and nothing is ever dropped when the engine closes after each batch.
    public private(set) var maximumPendingWindows: Int
    /// Two readings of a counter further apart than this are a gap in its data: no increase is credited
    /// across it (see ``WindowStatistics/counterGaps``). `Int64.max` (the default) never sees a gap; the
    /// engine uses the span it calls a clock jump (`--max-future-skew`).
    public var counterGapNanoseconds: Int64 = .max

    /// ``counterGapNanoseconds`` as the unsigned bound a counter's interval (read unsigned) is compared with:
    /// `UInt64.max` for `Int64.max`, so that without a gap rule even intervals of 2^63 ns and more count.
    @inlinable
    var _counterGapBound: UInt64 {
        counterGapNanoseconds == .max ? .max : UInt64(max(0, counterGapNanoseconds))
    }

    /// - Throws: ``WindowConfigurationError`` when the width is not positive, the lateness is outside
    ///   `0...windowNanoseconds`, or `maximumPendingWindows` is outside `1...maximumPendingWindowsLimit`.
    public init(
        windowNanoseconds: Int64 = WindowConfiguration.defaultWindowNanoseconds,
        latenessNanoseconds: Int64 = 0,
        maximumPendingWindows: Int = WindowConfiguration.defaultMaximumPendingWindows
    ) throws {
        guard windowNanoseconds > 0 else {
            throw WindowConfigurationError.nonPositiveWindow(windowNanoseconds: windowNanoseconds)
        }
        guard latenessNanoseconds >= 0, latenessNanoseconds <= windowNanoseconds else {
            throw WindowConfigurationError.latenessOutOfRange(
                latenessNanoseconds: latenessNanoseconds,
                windowNanoseconds: windowNanoseconds
            )
        }
        guard maximumPendingWindows >= 1, maximumPendingWindows <= Self.maximumPendingWindowsLimit else {
            throw WindowConfigurationError.pendingWindowsOutOfRange(maximumPendingWindows: maximumPendingWindows)
        }
        self.windowNanoseconds = windowNanoseconds
        self.inverseWindowNanoseconds = 1 / Double(windowNanoseconds)
        self.latenessNanoseconds = latenessNanoseconds
        self.maximumPendingWindows = maximumPendingWindows
    }

    /// Start of the window holding `timestamp`: `floor(timestamp / width) * width`, rounding toward
    /// negative infinity for negative timestamps too; nil when that start would fall below `Int64.min`
    /// or the window's end above `Int64.max` (the first and last window of the 584-year range).
    ///
    /// - Complexity: O(1), one division.
    @inlinable
    public func windowStart(containing timestamp: Int64) -> Int64? {
        let remainder = timestamp % windowNanoseconds  // sign of the dividend: negative for negative timestamps
        let offsetNanoseconds = remainder < 0 ? remainder + windowNanoseconds : remainder
        let (start, underflow) = timestamp.subtractingReportingOverflow(offsetNanoseconds)
        if underflow { return nil }
        let (_, overflow) = start.addingReportingOverflow(windowNanoseconds)
        return overflow ? nil : start
    }

    /// The index (`floor(timestamp / width)`) and start of the window holding `timestamp`; nil exactly
    /// when ``windowStart(containing:)`` is.
    ///
    /// In the usual range (|timestamp| and the width below 2^61, fewer than 2^40 windows from the epoch:
    /// 69,000 years of minutes) the index is a Double quotient corrected by one step, exact and with no
    /// 64-bit division; elsewhere it falls back to ``windowStart(containing:)``.
    /// - Complexity: O(1).
    @inlinable
    public func window(containing timestamp: Int64) -> (index: Int64, startNanoseconds: Int64)? {
        let estimate = Double(timestamp) * inverseWindowNanoseconds
        if abs(estimate) < 0x1p40 && timestamp.magnitude < 1 << 61 && windowNanoseconds < 1 << 61 {
            // |estimate - timestamp / width| < 1, so its floor is the index or one off it. (Truncating instead
            // would be one more off for a negative time, and two off when the quotient also rounded up.)
            let truncated = Int64(estimate)
            var index = Double(truncated) > estimate ? truncated &- 1 : truncated  // floor, without a libm call
            var start = index &* windowNanoseconds
            if timestamp &- start < 0 {
                index &-= 1
                start &-= windowNanoseconds
            } else if timestamp &- start >= windowNanoseconds {
                index &+= 1
                start &+= windowNanoseconds
            }
            return (index, start)
        }
        guard let start = windowStart(containing: timestamp) else { return nil }
        return (start / windowNanoseconds, start)
    }
}
