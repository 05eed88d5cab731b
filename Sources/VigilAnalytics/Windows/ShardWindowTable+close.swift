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
        _makeUnique()
        let states = _storage._states
        let windowNanoseconds = _windowNanoseconds
        var earliestOpenEndNanoseconds = Int64.max
        // Reads the start and count of each series' two slots, in address order (the hardware prefetcher
        // follows), not the whole lines.
        for localIndex in 0..<_seriesCount {
            let state = states + localIndex
            let isOpen0 = state.pointee.slot0.isOpen
            let isOpen1 = state.pointee.slot1.isOpen
            let end0 = state.pointee.slot0.startNanoseconds &+ windowNanoseconds
            let end1 = state.pointee.slot1.startNanoseconds &+ windowNanoseconds
            let due0 = isOpen0 && end0 <= watermarkNanoseconds
            let due1 = isOpen1 && end1 <= watermarkNanoseconds
            if due0 || due1 {
                _closeSlots(localIndex: localIndex, slot0: due0, slot1: due1, emit: emit)
            }
            if isOpen0 && !due0 && end0 < earliestOpenEndNanoseconds {
                earliestOpenEndNanoseconds = end0
            }
            if isOpen1 && !due1 && end1 < earliestOpenEndNanoseconds {
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
        _makeUnique()
        let states = _storage._states
        var latestEndNanoseconds = _watermarkNanoseconds
        for localIndex in 0..<_seriesCount {
            let slot0 = states[localIndex].slot0.isOpen
            let slot1 = states[localIndex].slot1.isOpen
            if !slot0 && !slot1 { continue }
            let start = max(
                slot0 ? states[localIndex].slot0.startNanoseconds : .min,
                slot1 ? states[localIndex].slot1.startNanoseconds : .min
            )
            latestEndNanoseconds = max(latestEndNanoseconds, start + _windowNanoseconds)
            _closeSlots(localIndex: localIndex, slot0: slot0, slot1: slot1, emit: emit)
        }
        _watermarkNanoseconds = latestEndNanoseconds
        _earliestOpenEndNanoseconds = .max
    }

    /// Emits the chosen slots of one series, older window first, and frees them. The storage is unique.
    /// Each window is built once, straight into the call (no optional copies held for ordering).
    @usableFromInline
    mutating func _closeSlots(localIndex: Int, slot0: Bool, slot1: Bool, emit: (WindowAggregate) -> Void) {
        let seriesID = _seriesID(localIndex: localIndex)
        let state = _storage._states + localIndex
        let tags = _storage._slotTags + localIndex
        let isCounter = _storage._flags[localIndex] & _SeriesWindowState.kindMask != 0
        // The older of two due windows goes first.
        let first =
            slot0 && slot1
            ? (state.pointee.slot1.startNanoseconds < state.pointee.slot0.startNanoseconds ? 1 : 0)
            : (slot0 ? 0 : 1)
        @inline(__always)
        func emitAndFree(_ slotIndex: Int) {
            emit(Self._aggregate(state: state, slotIndex: slotIndex, seriesID: seriesID, isCounter: isCounter))
            Self._slot(state, slotIndex).pointee.count = 0
            tags.pointee = _SeriesWindowState.retagged(tags.pointee, slot: slotIndex, nibble: 0)
        }
        emitAndFree(first)
        if slot0 && slot1 { emitAndFree(1 &- first) }
        let closedCount = (slot0 ? 1 : 0) + (slot1 ? 1 : 0)
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
