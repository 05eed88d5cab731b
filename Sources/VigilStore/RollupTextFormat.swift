import VigilCore

/// A glob over `SeriesKey.description` (`edge-01/*/in_octets`): `*` matches any run of characters,
/// `/` included, `?` exactly one; everything else matches itself.
public struct RollupSeriesPattern: Sendable {
    public let pattern: String
    private let characters: [Character]

    public init(_ pattern: String) {
        self.pattern = pattern
        self.characters = Array(pattern)
    }

    /// Whether `text` matches the whole pattern.
    ///
    /// Complexity: O(text × pattern) worst case (greedy with one backtrack point), no recursion.
    public func matches(_ text: String) -> Bool {
        let subject = Array(text)
        var textIndex = 0
        var patternIndex = 0
        var starPattern = -1
        var starText = 0
        while textIndex < subject.count {
            if patternIndex < characters.count
                && (characters[patternIndex] == "?" || characters[patternIndex] == subject[textIndex])
            {
                textIndex += 1
                patternIndex += 1
            } else if patternIndex < characters.count && characters[patternIndex] == "*" {
                starPattern = patternIndex
                starText = textIndex
                patternIndex += 1
            } else if starPattern >= 0 {
                // Let the last `*` swallow one more character and retry from there.
                starText += 1
                textIndex = starText
                patternIndex = starPattern + 1
            } else {
                return false
            }
        }
        while patternIndex < characters.count && characters[patternIndex] == "*" { patternIndex += 1 }
        return patternIndex == characters.count
    }
}

/// The text forms of rollup rows that `vigil rollups cat` prints.
public enum RollupTextFormat: String, Sendable, CaseIterable {
    case csv
    case jsonl

    /// The CSV header row (no trailing newline).
    public static let csvHeader = "window_start,device,interface,metric,count,sum,min,max,mean,stddev,first,last,rate"

    /// One row as a line (no trailing newline). NaN is an empty CSV field or JSON `null`; ±infinity is
    /// `inf`/`-inf` in CSV and `null` in JSON, which has no infinities.
    public func line(_ row: WindowAggregate, descriptor: SeriesDescriptor) -> String {
        let key = descriptor.key
        let values = [
            row.sum, row.minimum, row.maximum, row.mean, row.standardDeviation, row.first, row.last, row.rate,
        ]
        let start = EventTime.rfc3339(nanoseconds: row.windowStartNanoseconds)
        switch self {
        case .csv:
            var fields = [
                start, csvField(key.device), csvField(key.interface), csvField(key.metric), String(row.count),
            ]
            fields += values.map { value in
                value.isNaN ? "" : value.isInfinite ? (value < 0 ? "-inf" : "inf") : String(value)
            }
            return fields.joined(separator: ",")
        case .jsonl:
            let names = ["sum", "min", "max", "mean", "stddev", "first", "last", "rate"]
            var text = "{\"window_start\":\"\(start)\",\"device\":\(Self.jsonString(key.device))"
            text += ",\"interface\":\(Self.jsonString(key.interface)),\"metric\":\(Self.jsonString(key.metric))"
            if !key.extraLabels.isEmpty {
                text += ",\"labels\":{"
                text += key.extraLabels.map { "\(Self.jsonString($0.name)):\(Self.jsonString($0.value))" }.joined(
                    separator: ","
                )
                text += "}"
            }
            text += ",\"count\":\(row.count)"
            for (name, value) in zip(names, values) {
                text += ",\"\(name)\":" + (value.isFinite ? String(value) : "null")
            }
            return text + "}"
        }
    }

    private func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        var quoted = "\""
        for character in text {
            quoted.append(character)
            if character == "\"" { quoted.append("\"") }
        }
        return quoted + "\""
    }

    /// A JSON string literal (``JSONText/string(_:)``).
    public static func jsonString(_ text: String) -> String { JSONText.string(text) }
}
