import VigilCore

/// One series of a segment's dictionary: the segment-local copy of what the engine knew about it, so a
/// segment can be read without the engine's registry.
public struct RollupSeriesEntry: Sendable, Equatable {
    public var seriesID: SeriesID
    public var descriptor: SeriesDescriptor
    /// How many consecutive rows of ``RollupSegment/rows`` belong to this series.
    public var rowCount: Int

    public init(seriesID: SeriesID, descriptor: SeriesDescriptor, rowCount: Int) {
        self.seriesID = seriesID
        self.descriptor = descriptor
        self.rowCount = rowCount
    }
}

/// A decoded segment: its header, series dictionary and rows.
public struct RollupSegment: Sendable {
    public var header: RollupSegmentHeader
    /// Sorted by series id; the rows are in the same order, each series' rows contiguous.
    public var series: [RollupSeriesEntry]
    /// Sorted by series id, then window start.
    public var rows: [WindowAggregate]
    /// Size of the segment file.
    public var fileByteCount: Int

    public init(header: RollupSegmentHeader, series: [RollupSeriesEntry], rows: [WindowAggregate], fileByteCount: Int) {
        self.header = header
        self.series = series
        self.rows = rows
        self.fileByteCount = fileByteCount
    }

    /// Values in the bytes-per-value figure: 9 per row (count, sum, min, max, mean, stddev, first, last,
    /// rate: what `vigil rollups cat` prints).
    public static let valuesPerRow = 9

    /// The descriptor of a series in this segment. Complexity: O(log series).
    public func descriptor(for seriesID: SeriesID) -> SeriesDescriptor? {
        var low = 0
        var high = series.count
        while low < high {
            let middle = (low + high) / 2
            if series[middle].seriesID < seriesID { low = middle + 1 } else { high = middle }
        }
        return low < series.count && series[low].seriesID == seriesID ? series[low].descriptor : nil
    }
}
