import VigilCore

/// Seeded synthetic telemetry shaped like the SampleData fleet (`incidents.md`), built window by window.
enum FleetSignal {
    static let windowNanoseconds: Int64 = 60_000_000_000
    static let windowsPerDay = 1_440
    /// 2026-11-02T00:00:00Z, a Monday.
    static let start: Int64 = EventTime.parseRFC3339("2026-11-02T00:00:00Z")!

    static func windowStart(_ index: Int) -> Int64 { start + Int64(index) * windowNanoseconds }

    /// Smooth 0→1 step over x in 0...1.
    static func smoothStep(_ x: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        return (1 - cosine(Double.pi * x)) / 2
    }

    /// Daily traffic shape: 1 at the 04:00 trough, 3.5 at the 20:00 peak.
    static func dailyShape(secondOfDay: Double) -> Double {
        let hour = secondOfDay / 3_600
        if hour >= 4 && hour < 20 { return 1 + 2.5 * smoothStep((hour - 4) / 16) }
        let sincePeak = (hour - 20 + 24).truncatingRemainder(dividingBy: 24)
        return 3.5 - 2.5 * smoothStep(sincePeak / 8)
    }

    /// 1 on weekdays, 0.7 on weekends, ramping over 8 h from Friday and Sunday 22:00.
    static func weeklyFactor(secondsSinceMonday: Double) -> Double {
        let week = 7 * 86_400.0
        let ramp = 8 * 3_600.0
        let t = secondsSinceMonday.truncatingRemainder(dividingBy: week)
        let down = 4 * 86_400.0 + 22 * 3_600
        let up = 6 * 86_400.0 + 22 * 3_600
        var weekend = smoothStep((t - down) / ramp) - smoothStep((t - up) / ramp)
        if t < 6 * 3_600 { weekend = 1 - smoothStep((t + week - up) / ramp) }
        return 1 - 0.3 * weekend
    }

    /// Normal traffic multiplier of the window with this index (seconds at the window's middle).
    static func trafficShape(window index: Int) -> Double {
        let seconds = Double(index) * 60 + 30
        return dailyShape(secondOfDay: seconds.truncatingRemainder(dividingBy: 86_400))
            * weeklyFactor(secondsSinceMonday: seconds)
    }

    static func poisson(_ lambda: Double, _ random: inout SplitMix64) -> Int {
        // Knuth's method, bounded: lambda is small here; the loop stops at 1,000 events regardless.
        let limit = exponential(-lambda)
        var product = random.nextUnit()
        var events = 0
        while product > limit && events < 1_000 {
            product *= random.nextUnit()
            events += 1
        }
        return events
    }

    /// Counter rate of a window from six 10 s intervals, each with its own noise, counts rounded to integers.
    static func counterRate(
        meanPerSecond: Double,
        noise: Double,
        windowNoise: Double,
        _ random: inout SplitMix64
    ) -> Double {
        let windowFactor = 1 + windowNoise * random.nextGaussian()
        var total = 0.0
        for _ in 0..<6 {
            let rate = max(0, meanPerSecond * windowFactor * (1 + noise * random.nextGaussian()))
            total += (rate * 10).rounded()
        }
        return total / 60
    }

    /// Gauge mean of a window from six samples quantised to `quantum`.
    static func gaugeMean(level: Double, noise: Double, quantum: Double, _ random: inout SplitMix64) -> Double {
        var total = 0.0
        for _ in 0..<6 {
            total += ((level + noise * random.nextGaussian()) / quantum).rounded() * quantum
        }
        return total / 6
    }
}

#if canImport(Glibc)
import Glibc
func cosine(_ x: Double) -> Double { Glibc.cos(x) }
func exponential(_ x: Double) -> Double { Glibc.exp(x) }
#elseif canImport(Darwin)
import Darwin
func cosine(_ x: Double) -> Double { Darwin.cos(x) }
func exponential(_ x: Double) -> Double { Darwin.exp(x) }
#endif
