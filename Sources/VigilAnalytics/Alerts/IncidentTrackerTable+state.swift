import VigilCore

/// A series' incident lifecycle in a checkpoint: whether an incident is firing and since when, its recent
/// hits and quiet run, so a restart neither fires it again nor resolves it falsely.
extension IncidentTrackerTable {
    public func writeState(localIndex: Int, to writer: inout StateWriter) {
        precondition(localIndex >= 0 && localIndex < capacity, "local index \(localIndex) outside 0..<\(capacity)")
        writer.put(_states[localIndex].rawValue)
        writer.put(_hitMasks[localIndex])
        writer.put(_quietRuns[localIndex])
        writer.put(_lastWindowStarts[localIndex])
        writer.put(_startsAt[localIndex])
        writer.put(_quietSince[localIndex])
        writer.put(_peaks[localIndex])
    }

    public mutating func restoreState(localIndex: Int, from reader: inout StateReader) throws(StateReader.Malformed) {
        precondition(localIndex >= 0 && localIndex < capacity, "local index \(localIndex) outside 0..<\(capacity)")
        let raw = try reader.get(IncidentState.RawValue.self, "incident state")
        guard let state = IncidentState(rawValue: raw) else { throw reader.malformed("incident state \(raw)") }
        _states[localIndex] = state
        _hitMasks[localIndex] = try reader.get(UInt8.self, "incident hits")
        _quietRuns[localIndex] = try reader.get(UInt16.self, "incident quiet run")
        _lastWindowStarts[localIndex] = try reader.time("incident last window")
        _startsAt[localIndex] = try reader.time("incident start")
        _quietSince[localIndex] = try reader.time("incident quiet since")
        _peaks[localIndex] = try reader.float("incident peak")
    }
}
