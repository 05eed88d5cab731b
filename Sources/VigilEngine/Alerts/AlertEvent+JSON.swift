import VigilCore

extension AlertEvent {
    /// One JSON object on one line, keys in a fixed, readable order (id, status, kind, severity, labels,
    /// score, times, explanation). Decodable with `JSONDecoder` into ``AlertEvent``.
    public var jsonLine: String {
        var json = "{\"id\":" + jsonString(id)
        json += ",\"status\":" + jsonString(status.rawValue)
        json += ",\"kind\":" + jsonString(kind.rawValue)
        json += ",\"severity\":" + jsonString(severity.rawValue)
        json += ",\"device\":" + jsonString(device)
        json += ",\"interface\":" + jsonString(interface)
        json += ",\"metric\":" + jsonString(metric)
        json += ",\"labels\":{"
        json += labels.sorted { $0.key < $1.key }.map { jsonString($0.key) + ":" + jsonString($0.value) }
            .joined(separator: ",")
        json += "},\"score\":" + jsonNumber(score)
        json += ",\"startsAt\":" + jsonString(startsAt)
        json += ",\"endsAt\":" + (endsAt.map(jsonString) ?? "null")
        json += ",\"explanation\":" + jsonString(explanation) + "}"
        return json
    }
}

/// A JSON string literal (``JSONText/string(_:)``).
func jsonString(_ text: String) -> String { JSONText.string(text) }

/// A JSON number; NaN and infinities (which JSON cannot carry) become null.
func jsonNumber(_ value: Double) -> String {
    guard value.isFinite else { return "null" }
    if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
    return "\(value)"
}
