import Logging

/// How many lines of one kind a stream may log: the first `limit`, then one closing line saying the rest are
/// only counted (in the run summary), then nothing. One rule for every kind of line a stream logs, so that a
/// flood of bad input cannot flood the log.
struct LogLineBudget {
    let limit: Int
    private var used = 0

    init(limit: Int) { self.limit = limit }

    enum Spend {
        /// Log the line.
        case line
        /// Log, instead of it, that further lines of this kind are only counted.
        case closingLine
        /// Log nothing.
        case nothing
    }

    /// Whether the next line would still print something (the line, or the closing line): lets a caller skip
    /// building a message that would not print.
    var isOpen: Bool { used <= limit }

    /// Takes one line from the budget and logs it at `level`, or instead the closing line, or nothing. `line`
    /// is built only when it is printed (forged input may report an error per header).
    mutating func log(
        _ logger: Logger,
        _ level: Logger.Level,
        _ line: @autoclosure () -> String,
        closing: @autoclosure () -> String
    ) {
        switch spend() {
        case .line: logger.log(level: level, "\(line())")
        case .closingLine: logger.log(level: level, "\(closing())")
        case .nothing: break
        }
    }

    /// Takes one line from the budget and says what to print for it.
    mutating func spend() -> Spend {
        used += 1
        if used <= limit { return .line }
        return used == limit + 1 ? .closingLine : .nothing
    }
}

/// One budget for the error lines of many streams: the exporters of one flow input, each a stream of its own,
/// so that past `--max-series` (or any other reject) the log does not grow with how many exporters there are.
final class SharedLogLineBudget {
    var budget: LogLineBudget
    /// What the closing line names: the streams sharing the budget.
    let scope: String

    init(limit: Int, scope: String) {
        budget = LogLineBudget(limit: limit)
        self.scope = scope
    }
}
