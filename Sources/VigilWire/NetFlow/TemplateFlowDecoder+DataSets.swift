extension TemplateFlowDecoder {
    /// Decodes a data set with its template, or holds it until the template arrives.
    ///
    /// - Returns: records decoded, or nil when the set was held (its record count is unknown).
    mutating func _decodeOrHoldDataSet<C: FlowConsumer>(
        _ setID: UInt16,
        _ base: UnsafeRawPointer,
        from start: Int,
        end: Int,
        exporterIndex: Int,
        context: _FlowDatagramContext,
        consumer: inout C
    ) -> UInt32? {
        guard let box = _exporters[exporterIndex].templates[setID] else {
            guard end > start else { return 0 }
            _hold(
                setID,
                base,
                from: start,
                end: end,
                exporterIndex: exporterIndex,
                context: context,
                consumer: &consumer
            )
            return nil
        }
        return _decodeDataSet(
            box,
            base,
            from: start,
            end: end,
            errorOffsetBias: 0,
            exporterIndex: exporterIndex,
            context: context,
            consumer: &consumer
        )
    }

    /// Decodes the records of a data set body `base[start..<end]`. Bytes after the last record too few for
    /// another are padding. O(set bytes); allocates nothing.
    ///
    /// - Parameter errorOffsetBias: added to error offsets (held bodies are copies; their offsets are the
    ///   datagram's).
    /// - Returns: records decoded (options records included).
    mutating func _decodeDataSet<C: FlowConsumer>(
        _ box: _FlowTemplateBox,
        _ base: UnsafeRawPointer,
        from start: Int,
        end: Int,
        errorOffsetBias: Int,
        exporterIndex: Int,
        context: _FlowDatagramContext,
        consumer: inout C
    ) -> UInt32 {
        let template = box.template
        let info = context.info
        let recordContext = _FlowRecordContext(
            isIPFIX: context.isIPFIX,
            headerUptime: context.headerUptime,
            exportMilliseconds: context.exportMilliseconds,
            systemInitMilliseconds: _exporters[exporterIndex].systemInitMilliseconds,
            defaultSamplingInterval: _exporters[exporterIndex].defaultSamplingInterval
        )
        let samplers = template.hasSamplerID && !template.isOptions ? _exporters[exporterIndex].samplers : []
        let minimumRecordLength = template.minimumRecordLength
        var count: UInt32 = 0
        var cursor = start
        // The layout's loads begin up to 7 bytes before a record (see `_FlowFixedLayout`).
        precondition(start >= _FlowFixedLayout.bytesReadBeforeRecord)
        let layoutByteCount = template.layoutByteCount
        let detail = C.readsRecordDetail
        template.fixedLayout.slots.withUnsafeBufferPointer { slots in
            template.operations.withUnsafeBufferPointer { allOperations in
                // With variable-length fields: what the program runs after the layout's fields.
                let operations = UnsafeBufferPointer(rebasing: allOperations[template.layoutOperationCount...])
                // Bounded: every record advances `cursor` by at least minimumRecordLength ≥ 1 byte.
                while end &- cursor >= minimumRecordLength {
                    var record = template.baseRecord
                    var scratch = _FlowRecordScratch()
                    // Every field of a fixed-length template; with variable-length fields, those before the
                    // first of them, all within the minimum length.
                    _FlowRecordProgram.runLayout(
                        slots: slots,
                        base,
                        at: cursor,
                        detail: detail,
                        record: &record,
                        scratch: &scratch
                    )
                    if template.hasVariableLength {
                        guard
                            let next = _FlowRecordProgram.runChecked(
                                operations,
                                trailingSkip: template.trailingSkip,
                                base,
                                at: cursor &+ layoutByteCount,
                                end: end,
                                record: &record,
                                scratch: &scratch
                            )
                        else {
                            consumer.flowError(
                                FlowDecodeError(
                                    .truncated,
                                    offset: cursor + errorOffsetBias,
                                    "record of template with variable-length fields runs past its set (\(end - cursor) "
                                        + "bytes left); rest of the set dropped"
                                ),
                                info: info
                            )
                            break
                        }
                        cursor = next
                    } else {
                        cursor &+= minimumRecordLength
                    }
                    count &+= 1
                    if template.isOptions {
                        _learnFromOptionsRecord(scratch, template: template, exporterIndex: exporterIndex)
                        consumer.flowOptionsRecord(info: info)
                        continue
                    }
                    if detail && template.startTime != .none {
                        record.startMilliseconds = _FlowRecordProgram.milliseconds(
                            scratch.start,
                            template.startTime,
                            context: recordContext,
                            recordSystemInit: scratch.systemInitMilliseconds
                        )
                    }
                    if detail && template.endTime != .none {
                        record.endMilliseconds = _FlowRecordProgram.milliseconds(
                            scratch.end,
                            template.endTime,
                            context: recordContext,
                            recordSystemInit: scratch.systemInitMilliseconds
                        )
                    }
                    if template.hasICMPTypeCode && record.destinationPort == 0 {
                        record.destinationPort = UInt16(truncatingIfNeeded: scratch.icmpTypeCode)
                    }
                    var interval = template.hasRecordSamplingInterval ? scratch.recordSamplingInterval : 0
                    if interval == 0 && template.hasSamplerID {
                        for sampler in samplers where sampler.id == scratch.samplerID {
                            interval = sampler.interval
                            break
                        }
                    }
                    record.samplingInterval = interval != 0 ? interval : recordContext.defaultSamplingInterval
                    consumer.flowRecord(record, info: info)
                }
            }
        }
        return count
    }

    /// Keeps what an options record says about sampling and time: a sampler id with an interval becomes a
    /// sampler (new ones past `maximumSamplersPerExporter` are not kept); an interval without a sampler id
    /// becomes the exporter's default; `systemInitTimeMilliseconds` the base of its IPFIX uptime times.
    mutating func _learnFromOptionsRecord(_ scratch: _FlowRecordScratch, template: _FlowTemplate, exporterIndex: Int) {
        if template.hasRecordSamplingInterval {
            let interval = scratch.recordSamplingInterval
            if interval > 0 {
                if template.hasSamplerID {
                    let samplerID = scratch.samplerID
                    if _exporters[exporterIndex].samplingInterval(ofSampler: samplerID) != interval,
                        _exporters[exporterIndex].learnSampler(
                            id: samplerID,
                            interval: interval,
                            limit: limits.maximumSamplersPerExporter
                        )
                    {
                        _stateGeneration &+= 1
                    }
                } else if _exporters[exporterIndex].defaultSamplingInterval != interval {
                    _exporters[exporterIndex].defaultSamplingInterval = interval
                    _stateGeneration &+= 1
                }
            }
        }
        if template.hasSystemInitTime && scratch.systemInitMilliseconds != 0
            && _exporters[exporterIndex].systemInitMilliseconds != scratch.systemInitMilliseconds
        {
            _exporters[exporterIndex].systemInitMilliseconds = scratch.systemInitMilliseconds
            _stateGeneration &+= 1
        }
    }
}
