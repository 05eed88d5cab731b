import VigilCore

extension ShardWindowTable {
    /// Emits and frees every window whose end <= watermark (the higher of `watermark` and the table's),
    /// after any windows `add` force-closed. Per series in start order; across series by local index.
    ///
    /// - Parameters:
    ///   - watermark: the engine's watermark; the table keeps the highest it has seen.
    ///   - emit: called once per closed window, synchronously.
    /// - Complexity: O(1) when no window is due (the earliest open end is tracked) and nothing was
    ///   force-closed; otherwise O(local series) plus the windows emitted.
    public mutating func closeWindows(watermark: Int64, emit: (WindowAggregate) -> Void) {
        if watermark > _watermarkNanoseconds { _watermarkNanoseconds = watermark }
        let watermarkNanoseconds = _watermarkNanoseconds
        if !_pending.isEmpty { _emitPending(emit) }
        if _statistics.openWindows == 0 || watermarkNanoseconds < _earliestOpenEndNanoseconds { return }
        let windowNanoseconds = _windowNanoseconds
        var earliestOpenEndNanoseconds = Int64.max
        for localIndex in 0..<_series.count {
            let end0 = _series[localIndex].slot0.startNanoseconds &+ windowNanoseconds
            let end1 = _series[localIndex].slot1.startNanoseconds &+ windowNanoseconds
            let due0 = _series[localIndex].slot0.isOpen && end0 <= watermarkNanoseconds
            let due1 = _series[localIndex].slot1.isOpen && end1 <= watermarkNanoseconds
            if due0 || due1 {
                _closeSlots(localIndex: localIndex, slot0: due0, slot1: due1, emit: emit)
            }
            if _series[localIndex].slot0.isOpen && end0 < earliestOpenEndNanoseconds {
                earliestOpenEndNanoseconds = end0
            }
            if _series[localIndex].slot1.isOpen && end1 < earliestOpenEndNanoseconds {
                earliestOpenEndNanoseconds = end1
            }
        }
        _earliestOpenEndNanoseconds = earliestOpenEndNanoseconds
    }

    /// Emits every open window (force-closed ones first), at shutdown or end of input, and raises the
    /// watermark to the latest end emitted so that no window is ever emitted twice.
    ///
    /// - Complexity: O(local series) plus the windows emitted.
    public mutating func closeAll(emit: (WindowAggregate) -> Void) {
        if !_pending.isEmpty { _emitPending(emit) }
        if _statistics.openWindows == 0 { return }
        var latestEndNanoseconds = _watermarkNanoseconds
        for localIndex in 0..<_series.count {
            let slot0 = _series[localIndex].slot0.isOpen
            let slot1 = _series[localIndex].slot1.isOpen
            if !slot0 && !slot1 { continue }
            let start = max(
                slot0 ? _series[localIndex].slot0.startNanoseconds : .min,
                slot1 ? _series[localIndex].slot1.startNanoseconds : .min
            )
            latestEndNanoseconds = max(latestEndNanoseconds, start + _windowNanoseconds)
            _closeSlots(localIndex: localIndex, slot0: slot0, slot1: slot1, emit: emit)
        }
        _watermarkNanoseconds = latestEndNanoseconds
        _earliestOpenEndNanoseconds = .max
    }

    /// Emits the chosen slots of one series, older window first, and frees them.
    @usableFromInline
    mutating func _closeSlots(localIndex: Int, slot0: Bool, slot1: Bool, emit: (WindowAggregate) -> Void) {
        let seriesID = _seriesID(localIndex: localIndex)
        let isCounter = _series[localIndex].kind.isCounter
        let slot1First =
            slot0 && slot1 && _series[localIndex].slot1.startNanoseconds < _series[localIndex].slot0.startNanoseconds
        if slot1First {
            emit(_series[localIndex].slot1.aggregate(seriesID: seriesID, isCounter: isCounter))
            emit(_series[localIndex].slot0.aggregate(seriesID: seriesID, isCounter: isCounter))
        } else {
            if slot0 { emit(_series[localIndex].slot0.aggregate(seriesID: seriesID, isCounter: isCounter)) }
            if slot1 { emit(_series[localIndex].slot1.aggregate(seriesID: seriesID, isCounter: isCounter)) }
        }
        let closedCount = (slot0 ? 1 : 0) + (slot1 ? 1 : 0)
        if slot0 { _series[localIndex].slot0.count = 0 }
        if slot1 { _series[localIndex].slot1.count = 0 }
        _statistics.windowsClosed &+= UInt64(closedCount)
        _statistics.openWindows -= closedCount
    }

    @usableFromInline
    mutating func _emitPending(_ emit: (WindowAggregate) -> Void) {
        for closed in _pending { emit(closed) }
        _statistics.windowsClosed &+= UInt64(_pending.count)
        _pending.removeAll(keepingCapacity: true)
    }
}
