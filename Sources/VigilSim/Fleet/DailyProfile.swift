/// The fleet's normal traffic shape: a daily curve with its trough at 04:00 and its peak at 20:00 UTC
/// (peak/trough 1.55/0.45, about 3.4x), and weekends at 0.7x. Pure functions of event time.
public enum DailyProfile {
    public static let troughFactor = 0.45
    public static let peakFactor = 1.55
    public static let weekendFactor = 0.7

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
        return weekday(nanoseconds: nanoseconds) >= 5 ? factor * weekendFactor : factor
    }
}
