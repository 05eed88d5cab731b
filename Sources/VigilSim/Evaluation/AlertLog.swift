import Foundation
import VigilCore

/// One alert of an alert log: its `firing` and `resolved` lines merged by id.
public struct LoggedAlert: Sendable, Equatable {
    public var id: String
    public var device: String
    public var interface: String
    public var metric: String
    public var startsAtNanoseconds: Int64
    /// nil while the alert is still open (no `resolved` line, or a resolved line without `endsAt`).
    public var endsAtNanoseconds: Int64?
    /// 1-based line of the alert's first line in the log.
    public var line: Int

    public init(
        id: String,
        device: String,
        interface: String,
        metric: String,
        startsAtNanoseconds: Int64,
        endsAtNanoseconds: Int64?,
        line: Int = 0
    ) {
        self.id = id
        self.device = device
        self.interface = interface
        self.metric = metric
        self.startsAtNanoseconds = startsAtNanoseconds
        self.endsAtNanoseconds = endsAtNanoseconds
        self.line = line
    }
}

/// Bad input to `vigil eval incidents`: which file, which line, what was wrong.
public enum EvaluationInputError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformedAlertLine(file: String, line: Int, reason: String)
    /// The log's last line has no newline and is not an event: it was cut short while being written.
    case tornLastLine(file: String, line: Int, byteCount: Int)
    case malformedTruth(file: String, reason: String)
    case tooManyAlerts(file: String, limit: Int)

    public var description: String {
        switch self {
        case .malformedAlertLine(let file, let line, let reason):
            return "\(file):\(line): not an alert event: \(reason)"
        case .tornLastLine(let file, let line, let byteCount):
            return "\(file):\(line): the last line is cut short (\(byteCount) bytes, no newline at the end): "
                + "the log was being written when its disk filled, or its writer was killed; "
                + "remove that line to score the rest (sed -i '$d' \(file))"
        case .malformedTruth(let file, let reason):
            return "\(file): not a ground-truth file: \(reason)"
        case .tooManyAlerts(let file, let limit):
            return "\(file): more than \(limit) alerts; refusing to score"
        }
    }
}

/// Reads alert logs (JSON Lines of ``AlertEvent``).
public enum AlertLog {
    /// Bound on distinct alerts in one log.
    public static let maxAlerts = 10_000_000

    /// Parses an alert log and merges each alert's lines by id, in order of first appearance.
    ///
    /// Blank lines are skipped. A `resolved` line sets the alert's end (from its `endsAt`); a `resolved`
    /// line with no earlier `firing` line still counts as an alert. O(lines).
    /// - Parameter source: the file's name, for errors.
    /// - Throws: ``EvaluationInputError/malformedAlertLine(file:line:reason:)`` at the first bad line, or
    ///   ``EvaluationInputError/tornLastLine(file:line:byteCount:)`` when that is a last line without a newline.
    public static func parse(_ data: Data, source: String) throws -> [LoggedAlert] {
        var alerts: [LoggedAlert] = []
        var indexByID: [String: Int] = [:]
        let decoder = JSONDecoder()
        var lineNumber = 0
        var lineStart = data.startIndex
        while lineStart < data.endIndex {
            lineNumber += 1
            let lineEnd = data[lineStart...].firstIndex(of: 0x0A) ?? data.endIndex
            let line = data[lineStart..<lineEnd]
            lineStart = lineEnd < data.endIndex ? lineEnd + 1 : lineEnd
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            func fail(_ reason: String) -> EvaluationInputError {
                .malformedAlertLine(file: source, line: lineNumber, reason: reason)
            }
            let event: AlertEvent
            do {
                event = try decoder.decode(AlertEvent.self, from: Data(line))
            } catch let error as DecodingError {
                // A writer stopped mid-line leaves the start of an object and no newline: name that, not
                // the JSON syntax error it causes.
                if lineEnd == data.endIndex, line.first == UInt8(ascii: "{"),
                    (try? JSONSerialization.jsonObject(with: Data(line))) == nil
                {
                    throw EvaluationInputError.tornLastLine(file: source, line: lineNumber, byteCount: line.count)
                }
                throw fail(describe(error))
            }
            guard let startsAt = EventTime.parseRFC3339(event.startsAt) else {
                throw fail("startsAt \"\(event.startsAt)\" is not an RFC 3339 time")
            }
            var endsAt: Int64?
            if let text = event.endsAt {
                guard let parsed = EventTime.parseRFC3339(text) else {
                    throw fail("endsAt \"\(text)\" is not an RFC 3339 time")
                }
                endsAt = parsed
            }
            if let index = indexByID[event.id] {
                if event.status == .resolved { alerts[index].endsAtNanoseconds = endsAt }
                continue
            }
            guard alerts.count < maxAlerts else {
                throw EvaluationInputError.tooManyAlerts(file: source, limit: maxAlerts)
            }
            indexByID[event.id] = alerts.count
            alerts.append(
                LoggedAlert(
                    id: event.id,
                    device: event.device,
                    interface: event.interface,
                    metric: event.metric,
                    startsAtNanoseconds: startsAt,
                    endsAtNanoseconds: event.status == .resolved ? endsAt : nil,
                    line: lineNumber
                )
            )
        }
        return alerts
    }
}
