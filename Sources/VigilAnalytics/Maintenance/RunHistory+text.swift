/// Why a run history file was refused, with the line to fix.
public enum RunHistoryError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case lineTooLong(line: Int, limit: Int)
    case badHeader(line: Int, reason: String)
    case wrongColumnCount(line: Int, expected: Int, found: Int)
    case badUnit(line: Int, text: String)
    case badCycle(line: Int, text: String)
    case notANumber(line: Int, column: String, text: String)
    case cycleNotIncreasing(line: Int, unit: Int64, cycle: Int64, previousCycle: Int64)
    case tooManyRows(limit: Int)
    case tooManyUnits(limit: Int)

    public var description: String {
        switch self {
        case .empty:
            return "no rows (expected `unit cycle reading…` lines)"
        case .lineTooLong(let line, let limit):
            return "line \(line): longer than \(limit) bytes"
        case .badHeader(let line, let reason):
            return "line \(line): bad header: \(reason)"
        case .wrongColumnCount(let line, let expected, let found):
            return "line \(line): \(found) fields, expected \(expected) (unit, cycle and \(expected - 2) readings)"
        case .badUnit(let line, let text):
            return "line \(line): unit `\(text)` is not a whole number from 0 to 2^53"
        case .badCycle(let line, let text):
            return "line \(line): cycle `\(text)` is not a whole number from 0 to 2^53"
        case .notANumber(let line, let column, let text):
            return "line \(line): \(column) `\(text)` is not a finite number"
        case .cycleNotIncreasing(let line, let unit, let cycle, let previousCycle):
            return "line \(line): unit \(unit) cycle \(cycle) does not follow its cycle \(previousCycle)"
        case .tooManyRows(let limit):
            return "more than \(limit) rows"
        case .tooManyUnits(let limit):
            return "more than \(limit) units"
        }
    }
}

extension RunHistory {
    /// Parses a run history in text.
    ///
    /// Two layouts are accepted, one unit-cycle row per line, fields separated by spaces, tabs or commas:
    /// - the C-MAPSS text layout: no header, 26 fields (`unit cycle setting1 setting2 setting3 s1 … s21`);
    /// - a header line `unit,cycle,NAME,…` naming the readings (letters, digits, `_`, `.` and `-`), then rows.
    ///
    /// Every row must have every field; a unit's cycles must increase. A file that breaks any rule, or a limit in
    /// ``RunHistoryLimits``, is refused with the line to fix: training on a silently shortened history would give
    /// a model nobody asked for.
    ///
    /// - Parameter bytes: the whole file.
    /// - Returns: the units and their rows.
    /// - Throws: ``RunHistoryError``.
    public static func parse(_ bytes: [UInt8]) throws(RunHistoryError) -> RunHistory {
        var parser = RunHistoryTextParser()
        var lineStart = 0
        var lineNumber = 0
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count && bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            lineNumber += 1
            if lineEnd - lineStart > RunHistoryLimits.maximumLineBytes {
                throw .lineTooLong(line: lineNumber, limit: RunHistoryLimits.maximumLineBytes)
            }
            try parser.parseLine(bytes[lineStart..<lineEnd], lineNumber: lineNumber)
            lineStart = lineEnd + 1
        }
        return try parser.finish()
    }
}

/// The state of one pass over a run history's lines.
private struct RunHistoryTextParser {
    var history: RunHistory?
    var unitIndexByID: [Int64: Int] = [:]
    var rowCount = 0
    var fieldRanges: [Range<Int>] = []

    mutating func parseLine(_ line: ArraySlice<UInt8>, lineNumber: Int) throws(RunHistoryError) {
        fieldRanges.removeAll(keepingCapacity: true)
        var index = line.startIndex
        while index < line.endIndex {
            while index < line.endIndex && Self.isSeparator(line[index]) { index += 1 }
            let start = index
            while index < line.endIndex && !Self.isSeparator(line[index]) { index += 1 }
            if index > start {
                if fieldRanges.count > RunHistoryLimits.maximumColumns + 2 {
                    throw .wrongColumnCount(
                        line: lineNumber,
                        expected: (history?.columnCount ?? RunHistoryLimits.maximumColumns) + 2,
                        found: fieldRanges.count + 1
                    )
                }
                fieldRanges.append(start..<index)
            }
        }
        if fieldRanges.isEmpty { return }
        guard var current = history else {
            if Self.isLetter(line[fieldRanges[0].lowerBound]) {
                history = try Self.header(line, fields: fieldRanges, lineNumber: lineNumber)
                return
            }
            history = RunHistory(columnNames: RunHistory.cmapssColumnNames)
            try parseLine(line, lineNumber: lineNumber)
            return
        }
        let columnCount = current.columnCount
        guard fieldRanges.count == columnCount + 2 else {
            throw .wrongColumnCount(line: lineNumber, expected: columnCount + 2, found: fieldRanges.count)
        }
        guard let unitID = Self.wholeNumber(line[fieldRanges[0]]) else {
            throw .badUnit(line: lineNumber, text: Self.text(line[fieldRanges[0]]))
        }
        guard let cycle = Self.wholeNumber(line[fieldRanges[1]]) else {
            throw .badCycle(line: lineNumber, text: Self.text(line[fieldRanges[1]]))
        }
        guard rowCount < RunHistoryLimits.maximumRows,
            (rowCount + 1) * columnCount <= RunHistoryLimits.maximumReadings
        else { throw .tooManyRows(limit: RunHistoryLimits.maximumRows) }
        // Not to copy every unit's rows when one grows, the history is taken out of `self` while it changes.
        history = nil
        defer { history = current }
        let unitIndex: Int
        if let known = unitIndexByID[unitID] {
            unitIndex = known
            let previous = current.units[unitIndex].cycles[current.units[unitIndex].cycles.count - 1]
            guard cycle > previous else {
                throw .cycleNotIncreasing(line: lineNumber, unit: unitID, cycle: cycle, previousCycle: previous)
            }
        } else {
            guard current.units.count < RunHistoryLimits.maximumUnits else {
                throw .tooManyUnits(limit: RunHistoryLimits.maximumUnits)
            }
            unitIndex = current.units.count
            unitIndexByID[unitID] = unitIndex
            current.units.append(RunHistory.Unit(id: unitID))
        }
        for column in 0..<columnCount {
            let field = line[fieldRanges[column + 2]]
            guard let value = Double(String(decoding: field, as: UTF8.self)), value.isFinite else {
                throw .notANumber(line: lineNumber, column: current.columnNames[column], text: Self.text(field))
            }
            current.units[unitIndex].values.append(value)
        }
        current.units[unitIndex].cycles.append(cycle)
        rowCount += 1
    }

    func finish() throws(RunHistoryError) -> RunHistory {
        guard let history, !history.units.isEmpty else { throw .empty }
        return history
    }

    static func header(
        _ line: ArraySlice<UInt8>,
        fields: [Range<Int>],
        lineNumber: Int
    ) throws(RunHistoryError) -> RunHistory {
        let names = fields.map { text(line[$0]) }
        guard names.count >= 3, names[0] == "unit", names[1] == "cycle" else {
            throw .badHeader(line: lineNumber, reason: "expected `unit,cycle,` and at least one reading name")
        }
        var seen: Set<String> = []
        for range in fields.dropFirst(2) {
            let name = text(line[range])
            guard range.count <= RunHistoryLimits.maximumColumnNameBytes,
                line[range].allSatisfy({ isLetter($0) || isDigit($0) || "_.-".utf8.contains($0) })
            else {
                throw .badHeader(
                    line: lineNumber,
                    reason: "`\(name)`: a name is 1 to 64 letters, digits, `_`, `.` or `-`"
                )
            }
            guard seen.insert(name).inserted, name != "unit", name != "cycle" else {
                throw .badHeader(line: lineNumber, reason: "`\(name)` named twice")
            }
        }
        return RunHistory(columnNames: Array(names.dropFirst(2)))
    }

    /// A whole number 0...2^53 written in decimal digits (or `N.0`, as some exports write integers).
    static func wholeNumber(_ field: ArraySlice<UInt8>) -> Int64? {
        var digits = field
        if let dot = field.firstIndex(of: UInt8(ascii: ".")) {
            guard field[(dot + 1)...].allSatisfy({ $0 == UInt8(ascii: "0") }) else { return nil }
            digits = field[..<dot]
        }
        guard !digits.isEmpty, digits.count <= 16 else { return nil }
        var value: Int64 = 0
        for byte in digits {
            guard isDigit(byte) else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return value <= 1 << 53 ? value : nil
    }

    static func text(_ field: ArraySlice<UInt8>) -> String {
        String(decoding: field.prefix(64), as: UTF8.self)
    }

    static func isSeparator(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: ",")
            || byte == UInt8(ascii: "\r")
    }

    static func isLetter(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
