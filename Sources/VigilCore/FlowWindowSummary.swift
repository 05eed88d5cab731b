/// One entry of a heavy-hitter list: a key, its estimated bytes, and how far that estimate may be above the
/// truth. The true bytes of the key lie in `bytes - errorBytes ... bytes` (Space-Saving overestimates).
public struct FlowTopEntry: Sendable, Equatable {
    public var key: FlowKey
    public var bytes: UInt64
    public var errorBytes: UInt64

    public init(key: FlowKey, bytes: UInt64, errorBytes: UInt64) {
        self.key = key
        self.bytes = bytes
        self.errorBytes = errorBytes
    }

    /// The least the key can have had: `bytes - errorBytes`.
    public var guaranteedBytes: UInt64 { bytes - min(errorBytes, bytes) }
}

/// A heavy-hitter list: entries by descending bytes, and a bound for every key not listed.
///
/// `absentBoundBytes` is the most a key missing from the list can have had: 0 when the list is exhaustive
/// (every key seen is listed, so the counts are exact), else the count the sketch would give it.
public struct FlowTopList: Sendable, Equatable {
    public var entries: [FlowTopEntry]
    public var absentBoundBytes: UInt64

    public init(entries: [FlowTopEntry] = [], absentBoundBytes: UInt64 = 0) {
        self.entries = entries
        self.absentBoundBytes = absentBoundBytes
    }
}

/// HyperLogLog registers of one destination: `1 << precision` bytes, each the highest rank seen in its bucket.
public struct FlowDistinctRegisters: Sendable, Equatable {
    public var precision: Int
    public var registers: [UInt8]

    public init(precision: Int, registers: [UInt8]) {
        precondition((4...16).contains(precision), "precision must be 4...16")
        precondition(registers.count == 1 << precision, "registers must be 2^precision bytes")
        self.precision = precision
        self.registers = registers
    }
}

/// What one exporter sent in one window, as heavy-hitter lists: written to the rollup directory as
/// `flows-*.vgf` files (docs/rollup-format.md, "Flow summary files") and read back by `vigil flows top`.
public struct FlowWindowSummary: Sendable, Equatable {
    /// The exporter, as `address/observation domain` (`192.0.2.1/0`).
    public var exporter: String
    public var windowStartNanoseconds: Int64
    public var windowNanoseconds: Int64
    /// Flow records counted in the window.
    public var records: UInt64
    /// Bytes of every record in the window, scaled by sampling: the denominator of a share.
    public var totalBytes: UInt64
    /// One list per ``FlowKeyKind``, in its raw-value order.
    public var lists: [FlowTopList]
    /// Distinct sources of each entry of the destination list, in its order (nil: not kept).
    public var destinationDistinct: [FlowDistinctRegisters?]

    public init(
        exporter: String,
        windowStartNanoseconds: Int64,
        windowNanoseconds: Int64,
        records: UInt64,
        totalBytes: UInt64,
        lists: [FlowTopList],
        destinationDistinct: [FlowDistinctRegisters?]
    ) {
        precondition(lists.count == FlowKeyKind.allCases.count, "one list per key kind")
        self.exporter = exporter
        self.windowStartNanoseconds = windowStartNanoseconds
        self.windowNanoseconds = windowNanoseconds
        self.records = records
        self.totalBytes = totalBytes
        self.lists = lists
        self.destinationDistinct = destinationDistinct
    }

    /// The list of `kind`.
    public func list(_ kind: FlowKeyKind) -> FlowTopList { lists[Int(kind.rawValue)] }
}
