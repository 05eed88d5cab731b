/// Run-to-failure history: units (engines, devices) observed cycle by cycle, each row a reading of every sensor.
///
/// Rows of one unit are kept in the order their cycles increase. In training data each unit's last row is its
/// failure; in data to predict on, the last row is where its remaining life is asked for.
public struct RunHistory: Sendable, Equatable {
    /// One unit's rows.
    public struct Unit: Sendable, Equatable {
        /// The unit's number as written in the file.
        public var id: Int64
        /// Cycle of each row, strictly increasing.
        public var cycles: [Int64]
        /// Readings, row-major: row `r`, column `c` at `r * columnCount + c`.
        public var values: [Double]

        public init(id: Int64, cycles: [Int64] = [], values: [Double] = []) {
            self.id = id
            self.cycles = cycles
            self.values = values
        }

        /// Rows (cycles) of this unit.
        public var rowCount: Int { cycles.count }
    }

    /// Column names, in file order (without `unit` and `cycle`).
    public var columnNames: [String]
    /// Units in the order they first appear.
    public var units: [Unit]

    public init(columnNames: [String], units: [Unit] = []) {
        self.columnNames = columnNames
        self.units = units
    }

    /// Columns per row.
    public var columnCount: Int { columnNames.count }

    /// Rows over all units.
    public var rowCount: Int { units.reduce(0) { $0 + $1.rowCount } }

    /// The column names of the C-MAPSS text layout after `unit` and `cycle`: three operating settings, then
    /// sensors `s1` to `s21`.
    public static let cmapssColumnNames: [String] =
        (1...3).map { "setting\($0)" } + (1...21).map { "s\($0)" }

    /// Whether a column is an operating setting (named `setting…`) rather than a sensor. Settings describe the
    /// operating point, not the unit's health, and are not model inputs.
    public static func isOperatingSetting(_ name: String) -> Bool { name.hasPrefix("setting") }
}

/// Limits on what a run history file may hold. A file past one is refused, not truncated.
public enum RunHistoryLimits {
    /// Bytes in one line. 64 KiB.
    public static let maximumLineBytes = 1 << 16
    /// Columns after `unit` and `cycle`. 256.
    public static let maximumColumns = 256
    /// Bytes in a column name. 64.
    public static let maximumColumnNameBytes = 64
    /// Rows in a file. 2,000,000 (C-MAPSS FD001 training has 20,631).
    public static let maximumRows = 2_000_000
    /// Readings (rows × columns) in a file: 48,000,000 (384 MB of doubles).
    public static let maximumReadings = 48_000_000
    /// Distinct units. 100,000.
    public static let maximumUnits = 100_000
}
