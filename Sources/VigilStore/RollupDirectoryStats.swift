import VigilCore

/// What `vigil rollups stats` reports about a directory of segments.
///
/// Bytes and rows count readable segments only; damaged ones are listed apart.
public struct RollupDirectoryStats: Sendable {
    public var segments = 0
    public var rows = 0
    /// Bytes of the readable segment files.
    public var bytes = 0
    /// Distinct series, by `SeriesKey.description` (segment-local ids differ between engine runs).
    public private(set) var seriesKeys: Set<String> = []
    /// Earliest window start and latest window end (start + width) among the rows.
    public var firstWindowStartNanoseconds: Int64?
    public var lastWindowEndNanoseconds: Int64?
    /// Distinct window widths, ascending (one, unless the configuration changed).
    public private(set) var windowWidthsNanoseconds: [Int64] = []
    public var damaged: [RollupDirectory.DamagedSegment] = []

    public init() {}

    public var series: Int { seriesKeys.count }
    /// `rows × 9` (see ``RollupSegment/valuesPerRow``).
    public var values: Int { rows * RollupSegment.valuesPerRow }
    /// `bytes / values`; 0 when there are no rows.
    public var bytesPerValue: Double { values == 0 ? 0 : Double(bytes) / Double(values) }

    /// Counts one readable segment. Complexity: O(series in the segment).
    public mutating func add(_ segment: RollupSegment) {
        let header = segment.header
        segments += 1
        rows += header.rowCount
        bytes += segment.fileByteCount
        for entry in segment.series { seriesKeys.insert(entry.descriptor.key.description) }
        let end = header.lastWindowStartNanoseconds &+ header.windowNanoseconds
        firstWindowStartNanoseconds = min(firstWindowStartNanoseconds ?? .max, header.firstWindowStartNanoseconds)
        lastWindowEndNanoseconds = max(lastWindowEndNanoseconds ?? .min, end)
        if !windowWidthsNanoseconds.contains(header.windowNanoseconds) {
            windowWidthsNanoseconds.append(header.windowNanoseconds)
            windowWidthsNanoseconds.sort()
        }
    }

    /// Reads the segments of `directory` one at a time (memory: one segment) and sums them up.
    ///
    /// - Throws: ``RollupIOError`` when the directory is missing or unreadable.
    public static func collect(directory: String) throws -> RollupDirectoryStats {
        var stats = RollupDirectoryStats()
        for path in try RollupDirectory.segmentPaths(directory) {
            do {
                stats.add(try RollupSegmentReader.read(path))
            } catch let error as RollupSegmentError {
                stats.damaged.append(RollupDirectory.DamagedSegment(path: path, reason: error))
            }
        }
        return stats
    }

    /// One JSON object, snake_case keys: `segments`, `rows`, `series`, `values`, `bytes`, `bytes_per_value`,
    /// `first_window_start`, `last_window_end` (RFC 3339 or null), `window_widths_ns`, `damaged_segments`
    /// (a count) and `damaged` (path and reason of each).
    public func json() -> String {
        func time(_ nanoseconds: Int64?) -> String {
            nanoseconds.map { "\"\(EventTime.rfc3339(nanoseconds: $0))\"" } ?? "null"
        }
        var text = "{\"segments\":\(segments),\"rows\":\(rows),\"series\":\(series),\"values\":\(values)"
        text += ",\"bytes\":\(bytes),\"bytes_per_value\":\(bytesPerValue)"
        text += ",\"first_window_start\":\(time(firstWindowStartNanoseconds))"
        text += ",\"last_window_end\":\(time(lastWindowEndNanoseconds))"
        text += ",\"window_widths_ns\":[\(windowWidthsNanoseconds.map(String.init).joined(separator: ","))]"
        text += ",\"damaged_segments\":\(damaged.count),\"damaged\":["
        text += damaged.map { damage in
            "{\"path\":\(RollupTextFormat.jsonString(damage.path)),"
                + "\"reason\":\(RollupTextFormat.jsonString(damage.reason.description))}"
        }.joined(separator: ",")
        return text + "]}"
    }
}
