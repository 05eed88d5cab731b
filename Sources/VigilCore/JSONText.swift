/// Hand-written JSON for the lines Vigil prints (alerts, summaries, rollup rows): fixed key order, no
/// Foundation, the same bytes on every platform.
public enum JSONText {
    /// A JSON string literal with the escapes RFC 8259 requires: quotes, backslashes and control characters.
    public static func string(_ text: String) -> String {
        var escaped = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                escaped += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped + "\""
    }
}
