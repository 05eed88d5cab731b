import VigilCore

/// A thresholded series' forecaster state in a checkpoint: both scales' rings of points, the points being
/// accumulated and the last fits, and the baseline, so the forecast does not relearn 48 hours after a
/// restart. The threshold itself comes from the configuration (`--failure-threshold`), not the checkpoint.
extension DegradationForecasterTable {
    public func writeState(localIndex: Int, to writer: inout StateWriter) {
        precondition(localIndex >= 0 && localIndex < capacity, "local index \(localIndex) outside 0..<\(capacity)")
        _fine.writeState(localIndex, to: &writer)
        _coarse.writeState(localIndex, to: &writer)
        writer.put(_baselines[localIndex])
        writer.put(_baselinePoints[localIndex])
        writer.put(_baselineDeviations[localIndex])
    }

    /// Replaces a registered series' history with what ``writeState(localIndex:to:)`` wrote (with the same
    /// slot counts); its threshold and direction stay as registered.
    public mutating func restoreState(localIndex: Int, from reader: inout StateReader) throws(StateReader.Malformed) {
        precondition(localIndex >= 0 && localIndex < capacity, "local index \(localIndex) outside 0..<\(capacity)")
        try _fine.restoreState(localIndex, from: &reader)
        try _coarse.restoreState(localIndex, from: &reader)
        _baselines[localIndex] = try reader.float("forecast baseline")
        _baselinePoints[localIndex] = try reader.get(UInt16.self, "forecast baseline points")
        _baselineDeviations[localIndex] = try reader.float("forecast baseline deviation")
    }
}

extension _ScaleColumns {
    func writeState(_ localIndex: Int, to writer: inout StateWriter) {
        writer.putRaw(values, localIndex * slotCount..<(localIndex + 1) * slotCount)
        writer.put(newestSlots[localIndex])
        writer.put(accumulatingSlots[localIndex])
        writer.put(sums[localIndex])
        writer.put(counts[localIndex])
        writer.put(fitValid[localIndex])
        writer.put(fitLevels[localIndex])
        writer.put(fitSlopes[localIndex])
        writer.put(fitTaus[localIndex])
        writer.put(fitTimes[localIndex])
    }

    mutating func restoreState(_ localIndex: Int, from reader: inout StateReader) throws(StateReader.Malformed) {
        try reader.getRaw(into: &values, localIndex * slotCount..<(localIndex + 1) * slotCount, "forecast points")
        // Slot numbers are multiplied by the slot width: at most 2^40 (34,000 years of 1 s slots), or none.
        for (column, what) in [(\_ScaleColumns.newestSlots, "newest slot"), (\.accumulatingSlots, "accumulating slot")] {
            let slot = try reader.time("forecast \(what)")
            guard slot == .min || slot.magnitude < 1 << 40 else {
                throw reader.malformed("forecast \(what) \(slot) out of range")
            }
            self[keyPath: column][localIndex] = slot
        }
        sums[localIndex] = try reader.double("forecast sum")
        counts[localIndex] = try reader.get(UInt16.self, "forecast count")
        fitValid[localIndex] = try reader.bool("forecast fit flag")
        fitLevels[localIndex] = try reader.float("forecast fit level")
        fitSlopes[localIndex] = try reader.float("forecast fit slope")
        fitTaus[localIndex] = try reader.float("forecast fit tau")
        fitTimes[localIndex] = try reader.time("forecast fit time", allowingNone: false)
    }
}
