import VigilCore

/// How a counter moved between two consecutive samples.
public enum CounterEvent: UInt8, Sendable, Hashable, CustomStringConvertible {
    /// The counter went up (or stayed): the increase is the difference.
    case normal = 0
    /// The counter went down because it passed its modulus (2^32 or 2^64) and started again from zero.
    case wrap = 1
    /// The counter went down because it restarted (device reboot, counter cleared): the increase is
    /// the current value, counted from zero.
    case reset = 2

    public var description: String {
        switch self {
        case .normal: return "normal"
        case .wrap: return "wrap"
        case .reset: return "reset"
        }
    }
}

/// Turns two consecutive counter readings into an increase, telling wraps from resets.
///
/// The rule, for `current < previous` with modulus `M` (2^32 for `counter32`, 2^64 for `counter64`):
/// the wrapped increase is `W = (M - previous) + current`. It is a **wrap** when both
/// 1. `0 < W < M / 2` (a counter that passed its modulus moved less than half of it: a poller that
///    misses half a lap cannot tell anyway), and
/// 2. when the series has a recent increase rate `R` (per second), `W <= (8 * R + slack) * interval`,
///    with ``wrapSlackPerSecond`` as slack, so that an idle counter sitting just below `M` may still wrap;
///
/// otherwise it is a **reset** and the increase is `current` (clamped at 0): the counter restarted at zero.
/// A reset therefore never produces a spike larger than the counter's own value.
///
/// Values are Doubles: a `counter64` near 2^64 is only representable to 2048 units (an octet counter
/// rounds to 2 KiB), which is far below any meaningful per-window increase. NaN or infinite inputs do
/// not trap; they yield a NaN or zero increase.
public enum CounterIncrease {
    /// A wrap's implied rate may exceed eight times the recent rate by this much per second.
    public static let wrapSlackPerSecond: Double = 1000
    /// How many times the recent rate a wrap's implied rate may be.
    public static let wrapRateFactor: Double = 8

    /// Classifies the move from `previous` to `current`.
    ///
    /// - Parameters:
    ///   - previous: the earlier reading.
    ///   - current: the later reading.
    ///   - kind: the counter's kind, which gives the modulus; for `.gauge` the plain difference is returned
    ///     as `.normal`.
    ///   - intervalSeconds: time between the two readings (> 0 for the rate test to pass).
    ///   - recentRatePerSecond: the series' latest measured increase rate, nil when it has none.
    /// - Returns: the increase (never negative unless `current - previous` is, for gauges) and the event.
    /// - Complexity: O(1), no division.
    @inlinable
    public static func classify(
        previous: Double,
        current: Double,
        kind: MetricKind,
        intervalSeconds: Double,
        recentRatePerSecond: Double?
    ) -> (increase: Double, event: CounterEvent) {
        if current >= previous || !kind.isCounter {
            return (current - previous, .normal)
        }
        let modulus = kind.counterModulus
        let wrappedIncrease = (modulus - previous) + current
        var plausible = wrappedIncrease > 0 && wrappedIncrease < modulus * 0.5
        if plausible, let recentRatePerSecond {
            let ceilingPerSecond = wrapRateFactor * recentRatePerSecond + wrapSlackPerSecond
            plausible = wrappedIncrease <= ceilingPerSecond * intervalSeconds
        }
        if plausible { return (wrappedIncrease, .wrap) }
        return (current > 0 ? current : 0, .reset)
    }
}
