/// The fleet's normal traffic shape: a daily curve with its trough at 04:00 and its peak at 20:00 UTC
/// (peak/trough 1.55/0.45, about 3.4x), and weekends at 0.7x, reached by a 6 h ramp across midnight (people
/// do not all stop working at the stroke of midnight). Pure functions of event time.
public enum DailyProfile {
    public static let troughFactor = 0.45
    public static let peakFactor = 1.55
    public static let weekendFactor = 0.7
    /// The weekday/weekend transition ramps linearly from 3 h before midnight to 3 h after.
    public static let weekendRampSeconds: Int64 = 6 * 3_600

    /// Shape in [0, 1]: 0 at 04:00, 1 at 20:00; a half cosine up over 16 h, down over 8 h.
    @inlinable
    public static func shape(secondOfDay: Int64) -> Double {
        var hour = Double(secondOfDay) / 3_600
        if hour < 4 { hour += 24 }
        if hour <= 20 { return 0.5 - 0.5 * _cos(Double.pi * (hour - 4) / 16) }
        return 0.5 + 0.5 * _cos(Double.pi * (hour - 20) / 8)
    }

    /// Day of the week of an event time, 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
    @inlinable
    public static func weekday(nanoseconds: Int64) -> Int {
        let days = nanoseconds >= 0 ? nanoseconds / 86_400_000_000_000 : (nanoseconds + 1) / 86_400_000_000_000 - 1
        return Int(((days + 3) % 7 + 7) % 7)
    }

    @inlinable
    public static func secondOfDay(nanoseconds: Int64) -> Int64 {
        let seconds = nanoseconds / 1_000_000_000
        return ((seconds % 86_400) + 86_400) % 86_400
    }

    /// Multiplier of an interface's base rate at `nanoseconds`: trough 0.45, peak 1.55, times 0.7 on weekends.
    @inlinable
    public static func trafficFactor(nanoseconds: Int64) -> Double {
        let factor =
            troughFactor + (peakFactor - troughFactor) * shape(secondOfDay: secondOfDay(nanoseconds: nanoseconds))
        return factor * weekFactor(nanoseconds: nanoseconds)
    }

    /// 1 on weekdays, ``weekendFactor`` on weekends, linear across the ramps at Saturday's and Monday's midnight.
    @inlinable
    public static func weekFactor(nanoseconds: Int64) -> Double {
        let halfRamp = weekendRampSeconds / 2 * 1_000_000_000
        let before = weekday(nanoseconds: nanoseconds - halfRamp) >= 5
        let after = weekday(nanoseconds: nanoseconds + halfRamp) >= 5
        if before == after { return before ? weekendFactor : 1 }
        // Within a ramp: how far through it, 0...1.
        let second = secondOfDay(nanoseconds: nanoseconds + halfRamp)
        let progress = Double(second) / Double(weekendRampSeconds)
        let weekendShare = after ? progress : 1 - progress
        return 1 + (weekendFactor - 1) * weekendShare
    }
}
