import VigilCore

/// A series' detector state in a checkpoint: its buckets (centre, spread, updates), level, windows seen,
/// level-shift run and scoring, so a restarted engine scores the next window as the stopped one would have.
extension SeasonalAnomalyDetectorTable {
    /// The bucket count a checkpoint must have been written with to restore here.
    public var bucketCount: Int { _bucketCount }

    public func writeState(localIndex: Int, to writer: inout StateWriter) {
        precondition(localIndex >= 0 && localIndex < capacity, "local index \(localIndex) outside 0..<\(capacity)")
        let base = localIndex * _bucketCount
        writer.putRaw(UnsafePointer(_columns.centres + base), count: _bucketCount)
        writer.putRaw(UnsafePointer(_columns.spreads + base), count: _bucketCount)
        writer.putRaw(UnsafePointer(_columns.bucketUpdates + base), count: _bucketCount)
        writer.put(_columns.levels[localIndex])
        writer.put(_columns.windowsSeen[localIndex])
        writer.put(_columns.shiftRuns[localIndex])
        writer.put(_columns.isCounter[localIndex])
        writer.put(_columns.isMultiplicative[localIndex])
    }

    /// Replaces a series' state with what ``writeState(localIndex:to:)`` wrote (with this bucket count).
    public mutating func restoreState(localIndex: Int, from reader: inout StateReader) throws(StateReader.Malformed) {
        precondition(localIndex >= 0 && localIndex < capacity, "local index \(localIndex) outside 0..<\(capacity)")
        _makeUnique()
        let base = localIndex * _bucketCount
        try reader.getRaw(into: _columns.centres + base, count: _bucketCount, "detector centres")
        try reader.getRaw(into: _columns.spreads + base, count: _bucketCount, "detector spreads")
        try reader.getRaw(into: _columns.bucketUpdates + base, count: _bucketCount, "detector updates")
        _columns.levels[localIndex] = try reader.float("detector level")
        _columns.windowsSeen[localIndex] = try reader.get(UInt32.self, "detector windows seen")
        _columns.shiftRuns[localIndex] = try reader.get(Int16.self, "detector shift run")
        _columns.isCounter[localIndex] = try reader.bool("detector counter flag")
        _columns.isMultiplicative[localIndex] = try reader.bool("detector scaling")
    }
}
