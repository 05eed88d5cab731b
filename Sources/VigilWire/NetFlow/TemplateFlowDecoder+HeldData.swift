extension TemplateFlowDecoder {
    /// Holds a copy of a data set body whose template has not arrived. Room is made by dropping the
    /// exporter's oldest held sets, then the oldest across all exporters, each reported as
    /// `template_not_found`; a body larger than either bound is dropped at once.
    mutating func _hold<C: FlowConsumer>(
        _ setID: UInt16,
        _ base: UnsafeRawPointer,
        from start: Int,
        end: Int,
        exporterIndex: Int,
        context: _FlowDatagramContext,
        consumer: inout C
    ) {
        let byteCount = end - start
        guard byteCount <= limits.maximumHeldBytesPerExporter, byteCount <= limits.maximumHeldBytes else {
            consumer.flowError(
                FlowDecodeError(
                    .templateNotFound,
                    offset: start - 4,
                    "data set for unknown template \(setID) (\(byteCount) bytes) exceeds the hold; dropped"
                ),
                info: context.info
            )
            return
        }
        // Bounded: each step drops one held set, and the set fits once all are dropped.
        while _exporters[exporterIndex].heldByteCount + byteCount > limits.maximumHeldBytesPerExporter {
            _dropOldestHeldSet(exporterIndex, because: "the exporter's hold is full", consumer: &consumer)
        }
        while _heldByteCount + byteCount > limits.maximumHeldBytes {
            var oldest = exporterIndex
            var oldestArrival = Int64.max
            for index in _exportersHoldingData {
                let arrival = _exporters[index].held[0].context.info.arrivalNanoseconds
                if arrival < oldestArrival {
                    oldest = index
                    oldestArrival = arrival
                }
            }
            _dropOldestHeldSet(oldest, because: "the decoder's hold is full", consumer: &consumer)
        }
        let body = [UInt8](UnsafeRawBufferPointer(start: base + start, count: byteCount))
        _exporters[exporterIndex].held.append(
            _HeldFlowSet(setID: setID, bodyOffset: start, body: body, context: context)
        )
        _exporters[exporterIndex].heldByteCount += byteCount
        _heldByteCount += byteCount
        _exportersHoldingData.insert(exporterIndex)
    }

    /// Drops the exporter's held sets that arrived more than `heldDataNanoseconds` before `now` (oldest
    /// first, stopping at the first that is young enough).
    mutating func _expireHeldSets<C: FlowConsumer>(_ exporterIndex: Int, now: Int64, consumer: inout C) {
        while let first = _exporters[exporterIndex].held.first,
            now &- first.context.info.arrivalNanoseconds > limits.heldDataNanoseconds
        {
            _dropOldestHeldSet(
                exporterIndex,
                because: "its template did not arrive within \(limits.heldDataNanoseconds) ns",
                consumer: &consumer
            )
        }
    }

    mutating func _dropOldestHeldSet<C: FlowConsumer>(_ exporterIndex: Int, because why: String, consumer: inout C) {
        let dropped = _exporters[exporterIndex].held.removeFirst()
        _forget(dropped, exporterIndex)
        consumer.flowError(
            FlowDecodeError(
                .templateNotFound,
                offset: dropped.bodyOffset - 4,
                "data set for template \(dropped.setID) (\(dropped.body.count) bytes) held and dropped: \(why)"
            ),
            info: dropped.context.info
        )
    }

    /// Decodes, in arrival order, the exporter's held sets whose templates it now has, each with the info
    /// of the datagram that carried it.
    mutating func _releaseHeldSets<C: FlowConsumer>(_ exporterIndex: Int, consumer: inout C) {
        var index = 0
        // Bounded: each step removes a held set or moves past one.
        while index < _exporters[exporterIndex].held.count {
            let set = _exporters[exporterIndex].held[index]
            guard let box = _exporters[exporterIndex].templates[set.setID] else {
                index += 1
                continue
            }
            _exporters[exporterIndex].held.remove(at: index)
            _forget(set, exporterIndex)
            // Behind padding, as a datagram's records are behind its header: the fixed layout's loads
            // begin up to `bytesReadBeforeRecord` bytes before a record.
            let padding = _FlowFixedLayout.bytesReadBeforeRecord
            withUnsafeTemporaryAllocation(byteCount: padding + set.body.count, alignment: 8) { padded in
                padded.initializeMemory(as: UInt8.self, repeating: 0)
                set.body.withUnsafeBytes {
                    UnsafeMutableRawBufferPointer(rebasing: padded[padding...]).copyMemory(from: $0)
                }
                _ = _decodeDataSet(
                    box,
                    UnsafeRawPointer(padded.baseAddress!),
                    from: padding,
                    end: padding + set.body.count,
                    errorOffsetBias: set.bodyOffset - padding,
                    exporterIndex: exporterIndex,
                    context: set.context,
                    consumer: &consumer
                )
            }
        }
    }

    /// Accounts for a held set removed from its exporter's queue.
    mutating func _forget(_ set: _HeldFlowSet, _ exporterIndex: Int) {
        _exporters[exporterIndex].heldByteCount -= set.body.count
        _heldByteCount -= set.body.count
        if _exporters[exporterIndex].held.isEmpty { _exportersHoldingData.remove(exporterIndex) }
    }
}

extension TemplateFlowDecoder {
    /// At the end of the input: every set still held for a template that never came is dropped and reported
    /// (`template_not_found`), so data that was never decoded is counted rather than forgotten.
    public mutating func dropHeldData<C: FlowConsumer>(into consumer: inout C) {
        for exporterIndex in _exportersHoldingData.sorted() {
            while !_exporters[exporterIndex].held.isEmpty {
                _dropOldestHeldSet(
                    exporterIndex,
                    because: "the input ended before its template came",
                    consumer: &consumer
                )
            }
        }
    }
}
