/// Event time helpers: RFC 3339 text for nanosecond timestamps, and durations like `60s` or `1h30m`.
///
/// Pure integer arithmetic (no Foundation, no time zones: always UTC), so formatting is deterministic
/// and cheap enough for alert and rollup output.
public enum EventTime {
    public static let nanosecondsPerSecond: Int64 = 1_000_000_000

    /// `2026-11-21T17:10:00Z`, with a fraction (`.250Z`, up to nanoseconds, trailing zeros trimmed)
    /// when the time is not a whole second.
    public static func rfc3339(nanoseconds: Int64) -> String {
        var seconds = nanoseconds / nanosecondsPerSecond
        var fraction = nanoseconds % nanosecondsPerSecond
        if fraction < 0 {
            fraction += nanosecondsPerSecond
            seconds -= 1
        }
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        var text = pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T"
        text += pad(secondOfDay / 3600, 2) + ":" + pad(secondOfDay / 60 % 60, 2) + ":" + pad(secondOfDay % 60, 2)
        if fraction != 0 {
            var digits = pad(fraction, 9)
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text + "Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, a space instead of `T`, or a bare date
    /// `YYYY-MM-DD` (midnight UTC). Returns nil for anything else.
    public static func parseRFC3339(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        func number(_ from: Int, _ length: Int) -> Int64? {
            guard from + length <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[from..<from + length] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        guard bytes.count >= 10, let year = number(0, 4), bytes[4] == 45, let month = number(5, 2), bytes[7] == 45,
            let day = number(8, 2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        let days = daysSinceEpoch(year: year, month: month, day: day)
        // Int64 nanoseconds reach from 1677-09-21 to 2262-04-11: outside, nil (not an overflow trap).
        if bytes.count == 10 { return nanoseconds(seconds: days * 86_400, fraction: 0) }
        guard bytes.count >= 19, bytes[10] == 84 || bytes[10] == 32, let hour = number(11, 2), bytes[13] == 58,
            let minute = number(14, 2), bytes[16] == 58, let second = number(17, 2), hour < 24, minute < 60,
            second < 61
        else { return nil }
        var index = 19
        var fraction: Int64 = 0
        if index < bytes.count && bytes[index] == 46 {
            index += 1
            var scale: Int64 = 100_000_000
            let start = index
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                fraction += Int64(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        var offsetSeconds: Int64 = 0
        if index == bytes.count {
            // No zone: read as UTC, the convention of every file Vigil writes.
        } else if bytes[index] == 90 || bytes[index] == 122 {
            index += 1
        } else if bytes[index] == 43 || bytes[index] == 45 {
            guard let offsetHours = number(index + 1, 2), bytes.count > index + 3, bytes[index + 3] == 58,
                let offsetMinutes = number(index + 4, 2)
            else { return nil }
            offsetSeconds = (offsetHours * 3600 + offsetMinutes * 60) * (bytes[index] == 43 ? 1 : -1)
            index += 6
        }
        guard index == bytes.count else { return nil }
        return nanoseconds(
            seconds: days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds,
            fraction: fraction
        )
    }

    /// `seconds · 10^9 + fraction`, or nil when it does not fit an Int64.
    static func nanoseconds(seconds: Int64, fraction: Int64) -> Int64? {
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: nanosecondsPerSecond)
        guard !overflow else { return nil }
        let (total, overflowAdding) = whole.addingReportingOverflow(fraction)
        return overflowAdding ? nil : total
    }

    /// Parses a duration: an integer or decimal followed by `ns`, `us`, `ms`, `s`, `m`, `h`, `d` or `w`,
    /// repeated (`1h30m`). A bare number means seconds. Returns nil for anything else, or for overflow.
    public static func parseDuration(_ text: String) -> Int64? {
        let units: [(String, Double)] = [
            ("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
            ("d", 86_400e9), ("w", 604_800e9),
        ]
        if let seconds = Double(text), seconds.isFinite, seconds >= 0 {
            return seconds * 1e9 < 9.2e18 ? Int64(seconds * 1e9) : nil
        }
        var rest = Substring(text)
        var total: Double = 0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let numberPart = rest.prefix { $0.isNumber || $0 == "." }
            guard !numberPart.isEmpty, let value = Double(numberPart) else { return nil }
            rest = rest.dropFirst(numberPart.count)
            let unitPart = rest.prefix { !($0.isNumber || $0 == ".") }
            guard let unit = units.first(where: { $0.0 == unitPart }) else { return nil }
            rest = rest.dropFirst(unitPart.count)
            total += value * unit.1
        }
        guard total.isFinite, total < 9.2e18 else { return nil }
        return Int64(total)
    }

    /// A short human form of a duration: `300ms`, `45s`, `12m`, `31h`, `3.2d`.
    public static func describeDuration(nanoseconds: Int64) -> String {
        let seconds = Double(nanoseconds) / 1e9
        if nanoseconds > 0 && seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        if seconds < 120 { return "\(Int(seconds.rounded()))s" }
        if seconds < 7_200 { return "\(Int((seconds / 60).rounded()))m" }
        if seconds < 172_800 { return "\(Int((seconds / 3600).rounded()))h" }
        return "\((seconds / 8_640).rounded() / 10)d"
    }

    // Howard Hinnant's days-from-civil / civil-from-days algorithms (proleptic Gregorian calendar).
    static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let monthIndex = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * monthIndex + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
