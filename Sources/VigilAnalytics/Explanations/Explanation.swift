import VigilCore

/// One line a NOC engineer can act on, in human units: octet rates as bits per second with SI prefixes,
/// packets/s, errors/s, dBm, degC, %.
///
/// Pure text (no Foundation, no locale): the same numbers give the same line on every machine.
/// Units understood: `octets`, `packets`, `errors`, `dBm`, `celsius`, `percent`; any other unit is printed
/// after the number as it is.
public enum Explanation {
    /// `in traffic observed 9.1 Gb/s, expected 2.0-3.1 Gb/s`.
    ///
    /// - Parameters:
    ///   - metric: the series' metric name (`in_octets`, `rx_power_dbm`, …).
    ///   - unit: the series' unit string.
    ///   - kind: counters are rates (per second), gauges levels.
    ///   - observed: the window's value (rate or mean).
    ///   - expectedLow, expectedHigh: the detector's normal band.
    public static func anomaly(
        metric: String,
        unit: String,
        kind: MetricKind,
        observed: Double,
        expectedLow: Double,
        expectedHigh: Double
    ) -> String {
        let name = displayName(metric: metric, unit: unit)
        return "\(name) observed \(quantity(observed, unit: unit, kind: kind)), expected "
            + range(expectedLow, expectedHigh, unit: unit, kind: kind)
    }

    /// `rx power -17.9 dBm falling 0.4 dB/day, crosses -20 dBm in ~31 h`.
    ///
    /// - Parameters:
    ///   - level: the fitted level now; `slopePerSecond`: its trend.
    ///   - threshold: the failure threshold; `etaNanoseconds`: time to reach it, nil when not heading there.
    public static func forecast(
        metric: String,
        unit: String,
        level: Double,
        slopePerSecond: Double,
        threshold: Double,
        etaNanoseconds: Int64?
    ) -> String {
        let name = displayName(metric: metric, unit: unit)
        var text = "\(name) \(quantity(level, unit: unit, kind: .gauge)) "
        text += slopePerSecond < 0 ? "falling " : "rising "
        text += trend(abs(slopePerSecond), unit: unit)
        let thresholdText = compact(threshold) + unitSuffix(unit)
        if let etaNanoseconds {
            text += ", crosses \(thresholdText) in \(duration(etaNanoseconds))"
        } else {
            text += ", not heading for \(thresholdText)"
        }
        return text
    }

    /// `temperature 86.2 degC above the 85 degC shutdown threshold`.
    public static func threshold(
        metric: String,
        unit: String,
        value: Double,
        threshold: Double,
        direction: FailureDirection
    ) -> String {
        let name = displayName(metric: metric, unit: unit)
        let side = direction == .rising ? "above" : "below"
        let label: String
        switch unit {
        case "celsius": label = "shutdown"
        case "dBm": label = "receiver sensitivity"
        default: label = "failure"
        }
        return "\(name) \(quantity(value, unit: unit, kind: .gauge)) \(side) the \(compact(threshold))"
            + "\(unitSuffix(unit)) \(label) threshold"
    }

    /// A metric name as people say it: `rx_power_dbm` → `rx power`, `in_octets` → `in traffic`,
    /// `temperature_celsius` → `temperature`.
    public static func displayName(metric: String, unit: String) -> String {
        var words = metric.split(separator: "_").map(String.init)
        // A trailing unit word goes (`_dbm`, `_celsius`): the quantity carries the unit. What a counter counts
        // stays: `in_octets` is `in traffic`, not `in`.
        let countedThings: Set<String> = ["octets", "packets", "errors", "discards"]
        if words.count > 1, let last = words.last, !countedThings.contains(last),
            last.lowercased() == unit.lowercased() || last == "dbm"
        {
            words.removeLast()
        }
        return words.map { $0 == "octets" ? "traffic" : ($0 == "crc" ? "CRC" : ($0 == "cpu" ? "CPU" : $0)) }
            .joined(separator: " ")
    }

    /// One value in its human unit: `9.1 Gb/s`, `340k packets/s`, `0.017 errors/s`, `-17.9 dBm`, `86.2 degC`.
    public static func quantity(_ value: Double, unit: String, kind: MetricKind) -> String {
        switch (unit, kind.isCounter) {
        case ("octets", true): return prefixed(value * 8, prefix: prefixFor(value * 8), separator: " ") + "b/s"
        case ("octets", false): return prefixed(value, prefix: prefixFor(value), separator: " ") + "B"
        case (_, true):
            let perSecond = unit.isEmpty ? "/s" : " \(unit)/s"
            return prefixed(value, prefix: prefixFor(value), separator: "") + perSecond
        case ("dBm", false), ("celsius", false), ("percent", false):
            return fixed(value, decimals: 1) + unitSuffix(unit)
        default:
            return significant(value) + unitSuffix(unit)
        }
    }

    /// `2.0-3.1 Gb/s` (both ends in the prefix of the larger), `-3.2 to -2.8 dBm` when an end is negative.
    public static func range(_ low: Double, _ high: Double, unit: String, kind: MetricKind) -> String {
        let separator = low < 0 || high < 0 ? " to " : "-"
        switch (unit, kind.isCounter) {
        case ("octets", true):
            let prefix = prefixFor(max(abs(low), abs(high)) * 8)
            return prefixed(low * 8, prefix: prefix, separator: "", withLetter: false) + separator
                + prefixed(high * 8, prefix: prefix, separator: " ") + "b/s"
        case (_, true):
            let prefix = prefixFor(max(abs(low), abs(high)))
            let perSecond = unit.isEmpty ? "/s" : " \(unit)/s"
            return prefixed(low, prefix: prefix, separator: "", withLetter: false) + separator
                + prefixed(high, prefix: prefix, separator: "") + perSecond
        case ("dBm", false), ("celsius", false), ("percent", false):
            return fixed(low, decimals: 1) + separator + fixed(high, decimals: 1) + unitSuffix(unit)
        default:
            return significant(low) + separator + significant(high) + unitSuffix(unit)
        }
    }

    /// `~45 min`, `~31 h`, `~4.2 days`.
    public static func duration(_ nanoseconds: Int64) -> String {
        let minutes = Double(max(nanoseconds, 0)) / 60e9
        if minutes < 90 { return "~\(fixed(max(minutes, 1), decimals: 0)) min" }
        let hours = minutes / 60
        if hours < 99.5 { return "~\(fixed(hours, decimals: 0)) h" }
        return "~\(fixed(hours / 24, decimals: 1)) days"
    }

    // MARK: - Pieces

    static func unitSuffix(_ unit: String) -> String {
        switch unit {
        case "dBm": return " dBm"
        case "celsius": return " degC"
        case "percent": return "%"
        case "": return ""
        default: return " " + unit
        }
    }

    /// A trend per hour when it is at least 0.5 unit/h, else per day: `0.4 dB/day`, `3.2 degC/h`.
    static func trend(_ perSecond: Double, unit: String) -> String {
        let deltaUnit: String
        switch unit {
        case "dBm": deltaUnit = "dB"
        case "celsius": deltaUnit = "degC"
        case "percent": deltaUnit = "%"
        default: deltaUnit = unit
        }
        let perHour = perSecond * 3_600
        let space = deltaUnit == "%" || deltaUnit.isEmpty ? "" : " "
        if perHour >= 0.5 { return significant(perHour) + space + deltaUnit + "/h" }
        return significant(perHour * 24) + space + deltaUnit + "/day"
    }

    static let prefixes: [(scale: Double, letter: String)] = [
        (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""),
    ]

    static func prefixFor(_ magnitude: Double) -> (scale: Double, letter: String) {
        let rounded = abs(magnitude)
        for prefix in prefixes where rounded >= prefix.scale * 0.9995 { return prefix }
        return (1, "")
    }

    /// The mantissa in the prefix's scale (1 decimal below 100, none above; small unprefixed values with two
    /// significant digits), then `separator` and the prefix letter.
    static func prefixed(
        _ value: Double,
        prefix: (scale: Double, letter: String),
        separator: String,
        withLetter: Bool = true
    ) -> String {
        let mantissa = value / prefix.scale
        let text =
            prefix.scale == 1 && abs(mantissa) < 1
            ? significant(mantissa) : fixed(mantissa, decimals: abs(mantissa) < 99.95 ? 1 : 0)
        guard withLetter else { return text }
        return prefix.letter.isEmpty ? text : text + separator + prefix.letter
    }

    /// Below 1 two significant digits (`0.017`, `0.4`), then one decimal (`3.2`, `31.4`), whole numbers from 100.
    static func significant(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude == 0 || !magnitude.isFinite { return fixed(value, decimals: 0) }
        if magnitude >= 99.5 { return fixed(value, decimals: 0) }
        if magnitude >= 0.995 { return fixed(value, decimals: 1) }
        var decimals = 1
        var scaled = magnitude * 10
        // Bounded: Double's smallest normal magnitude needs fewer than 310 steps; cap at 12 decimals.
        while scaled < 1 && decimals < 12 {
            scaled *= 10
            decimals += 1
        }
        // Two significant digits, without a trailing zero: `0.017`, `0.4`.
        var text = fixed(value, decimals: decimals + 1)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// A threshold as written in configuration: `85`, `-20`, `-20.5`.
    static func compact(_ value: Double) -> String {
        value.rounded() == value ? fixed(value, decimals: 0) : significant(value)
    }

    /// `value` rounded half away from zero to `decimals` places, no exponent, no locale.
    static func fixed(_ value: Double, decimals: Int) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        var scale: Double = 1
        for _ in 0..<min(decimals, 15) { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9.0e18 else { return value < 0 ? "-huge" : "huge" }
        let integer = UInt64(scaled)
        let unit = UInt64(scale)
        var text = value < 0 && integer != 0 ? "-" : ""
        text += String(integer / unit)
        if decimals > 0 {
            let fraction = String(integer % unit)
            text += "." + String(repeating: "0", count: max(0, decimals - fraction.count)) + fraction
        }
        return text
    }
}
