import VigilCore

/// A series' window state in a checkpoint (`docs/state-format.md`, section `shard-state`): its open slots,
/// its counter's previous reading and the increases credited to each slot, its first samples and its
/// forced-close bound, field by field, so that restoring it into another shard (another `--shards`, another
/// local index) continues the same windows.
extension ShardWindowTable {
    /// Writes the state of `id` (registered in this table). O(1).
    public func writeState(of id: SeriesID, to writer: inout StateWriter) {
        precondition(isRegistered(id), "series \(id) is not registered in shard \(_shardIndex)")
        let localIndex = _localIndex(of: id)
        let state = _storage._states[localIndex]
        writer.put(_storage._slotTags[localIndex])
        func put(_ slot: _WindowSlot) {
            writer.put(slot.startNanoseconds)
            writer.put(slot.count)
            writer.put(slot.sum)
            writer.put(slot.minimum)
            writer.put(slot.maximum)
            writer.put(slot.sumOfSquaredDeviations)
            writer.put(slot.last)
            writer.put(slot.lastTimestamp)
        }
        put(state.slot0)
        put(state.slot1)
        let counter = state.counter
        writer.put(counter.previousValue)
        writer.put(counter.previousTimestamp)
        writer.put(counter.recentIncrease)
        writer.put(counter.recentIntervalNanoseconds)
        writer.put(counter.increase0)
        writer.put(counter.intervalNanoseconds0)
        writer.put(counter.increase1)
        writer.put(counter.intervalNanoseconds1)
        let firsts = state.firsts
        writer.put(firsts.first0)
        writer.put(firsts.firstTimestamp0)
        writer.put(firsts.first1)
        writer.put(firsts.firstTimestamp1)
        writer.put(firsts.hasCounterSums0)
        writer.put(firsts.hasCounterSums1)
        writer.put(firsts.forceClosedThroughNanoseconds)
    }

    /// Registers `id` with `kind` and replaces its window state with what ``writeState(of:to:)`` wrote.
    /// Open windows count as open here (they close when the watermark passes them, as any other).
    ///
    /// - Throws: ``StateReader/Malformed`` when the bytes run short, a time is out of range or a slot's tag
    ///   disagrees with it; the series is then not registered here.
    public mutating func restoreState(
        of id: SeriesID,
        kind: MetricKind,
        from reader: inout StateReader
    )
        throws(StateReader.Malformed)
    {
        let tags = try reader.get(UInt8.self, "slot tags")
        func slot() throws(StateReader.Malformed) -> _WindowSlot {
            var slot = _WindowSlot()
            slot.startNanoseconds = try reader.time("window start", allowingNone: false)
            slot.count = try reader.get(UInt32.self, "window count")
            slot.sum = try reader.double("window sum")
            slot.minimum = try reader.double("window minimum")
            slot.maximum = try reader.double("window maximum")
            slot.sumOfSquaredDeviations = try reader.double("window deviations")
            slot.last = try reader.double("window last")
            slot.lastTimestamp = try reader.time("window last time", allowingNone: false)
            return slot
        }
        let slots = (try slot(), try slot())
        var counter = _CounterState()
        counter.previousValue = try reader.double("counter previous value")
        counter.previousTimestamp = try reader.time("counter previous time", allowingNone: false)
        counter.recentIncrease = try reader.double("counter recent increase")
        counter.recentIntervalNanoseconds = try reader.double("counter recent interval")
        counter.increase0 = try reader.double("counter increase 0")
        counter.intervalNanoseconds0 = try reader.double("counter interval 0")
        counter.increase1 = try reader.double("counter increase 1")
        counter.intervalNanoseconds1 = try reader.double("counter interval 1")
        var firsts = _WindowFirsts()
        firsts.first0 = try reader.double("first 0")
        firsts.firstTimestamp0 = try reader.get(Int64.self, "first time 0")
        firsts.first1 = try reader.double("first 1")
        firsts.firstTimestamp1 = try reader.get(Int64.self, "first time 1")
        firsts.hasCounterSums0 = try reader.bool("counter sums 0")
        firsts.hasCounterSums1 = try reader.bool("counter sums 1")
        firsts.forceClosedThroughNanoseconds = try reader.time("forced-close bound")
        // The tag byte must say what the slots hold, or the batch loop would touch the wrong line.
        for (index, slot) in [(0, slots.0), (1, slots.1)] {
            var expected: UInt8 = 0
            if slot.isOpen {
                guard let window = _configuration.window(containing: slot.startNanoseconds),
                    window.startNanoseconds == slot.startNanoseconds
                else { throw reader.malformed("slot \(index) of series \(id) starts off the window grid") }
                expected = _SeriesWindowState.tagNibble(windowIndex: Int(truncatingIfNeeded: window.index))
            }
            guard _SeriesWindowState.nibble(tags, slot: index) == expected else {
                throw reader.malformed("slot \(index) of series \(id) does not match its tag")
            }
        }
        // Registered only once the whole record has been read and checked: a refused record leaves the series
        // unknown to this table, to be registered as new when its first sample comes.
        registerSeries(id, kind: kind)
        let localIndex = _localIndex(of: id)
        _makeUnique()
        let state = _storage._states + localIndex
        state.pointee.slot0 = slots.0
        state.pointee.slot1 = slots.1
        state.pointee.counter = counter
        state.pointee.firsts = firsts
        _storage._slotTags[localIndex] = tags
        for slot in [slots.0, slots.1] where slot.isOpen {
            _statistics.openWindows += 1
            _earliestOpenEndNanoseconds = min(_earliestOpenEndNanoseconds, slot.startNanoseconds + _windowNanoseconds)
        }
    }

    /// Raises the table's watermark to one a checkpoint recorded, so that samples the run before a restart
    /// would have judged late are late here too. Never lowers it.
    public mutating func restoreWatermark(_ watermarkNanoseconds: Int64) {
        _watermarkNanoseconds = max(_watermarkNanoseconds, watermarkNanoseconds)
    }

    /// Every registered series of this table, by local index.
    public var registeredSeries: [SeriesID] {
        (0..<_seriesCount).compactMap { localIndex in
            _storage._flags[localIndex] & _SeriesWindowState.registeredFlag != 0
                ? _seriesID(localIndex: localIndex) : nil
        }
    }
}
