extension TemplateFlowDecoder {
    /// Decodes a template set (v9 0, IPFIX 2) or options template set (v9 1, IPFIX 3): each record is
    /// learned, refreshed, redefined or (IPFIX) withdrawn and reported; held data whose template arrived is
    /// decoded after the set.
    ///
    /// Record layouts: v9 template `id, count, count × (type, length)`; v9 options template `id,
    /// scopeBytes, optionBytes, scope fields, option fields` (each 4 bytes); IPFIX template `id, count,
    /// fields`; IPFIX options template `id, count, scopeCount, fields`; an IPFIX field with the enterprise
    /// bit set is followed by a 4-byte enterprise number. Bytes left too few for a record header, or all
    /// zero, are padding.
    mutating func _decodeTemplateSet<C: FlowConsumer>(
        _ base: UnsafeRawPointer,
        from start: Int,
        end: Int,
        isOptions: Bool,
        exporterIndex: Int,
        context: _FlowDatagramContext,
        consumer: inout C
    ) {
        let isIPFIX = context.isIPFIX
        let info = context.info
        var learnedAny = false
        var offset = start
        func fail(_ reason: FlowDecodeError.Reason, at errorOffset: Int, _ detail: String) {
            consumer.flowError(FlowDecodeError(reason, offset: errorOffset, detail), info: info)
        }
        // Bounded: every record advances `offset` by at least 4 bytes; every error returns.
        while end - offset >= (isOptions && !isIPFIX ? 6 : 4), !Self._isZero(base, from: offset, end: end) {
            let templateID = _FlowBytes.u16(base, offset)
            var fieldCount = Int(_FlowBytes.u16(base, offset + 2))
            var scopeCount = 0
            var fieldOffset = offset + 4
            if isIPFIX && fieldCount == 0 {
                // Withdrawal (RFC 7011 8.1): one template, or all of the set's kind with id 2 (3 for options).
                guard templateID >= 256 || templateID == (isOptions ? 3 : 2) else {
                    fail(.badTemplate, at: offset, "withdrawal of template id \(templateID) (must be ≥ 256, or 2/3)")
                    return
                }
                let withdrawn = _exporters[exporterIndex].withdraw(templateID: templateID)
                if withdrawn > 0 {
                    _templateCount -= withdrawn
                    _stateGeneration &+= 1
                }
                consumer.flowTemplate(.withdrawn(templateID: templateID), info: info)
                offset += 4
                continue
            }
            if isOptions {
                guard end - offset >= 6 else {
                    fail(.truncated, at: offset, "options template \(templateID) header needs 6 bytes")
                    return
                }
                if isIPFIX {
                    scopeCount = Int(_FlowBytes.u16(base, offset + 4))
                } else {
                    let scopeBytes = fieldCount
                    let optionBytes = Int(_FlowBytes.u16(base, offset + 4))
                    guard scopeBytes % 4 == 0, optionBytes % 4 == 0 else {
                        _rejectTemplate(templateID, exporterIndex)
                        fail(
                            .badTemplate,
                            at: offset,
                            "options template \(templateID): scope length \(scopeBytes) and option length "
                                + "\(optionBytes) must be multiples of 4"
                        )
                        return
                    }
                    scopeCount = scopeBytes / 4
                    fieldCount = scopeCount + optionBytes / 4
                }
                fieldOffset = offset + 6
            }
            guard templateID >= 256 else {
                fail(.badTemplate, at: offset, "template id \(templateID) (data template ids are ≥ 256)")
                return
            }
            guard fieldCount > 0, fieldCount <= limits.maximumFieldsPerTemplate else {
                _rejectTemplate(templateID, exporterIndex)
                fail(
                    .badTemplate,
                    at: offset,
                    "template \(templateID) has \(fieldCount) fields (1...\(limits.maximumFieldsPerTemplate))"
                )
                return
            }
            guard !isOptions || (scopeCount > 0 && scopeCount <= fieldCount) else {
                _rejectTemplate(templateID, exporterIndex)
                fail(
                    .badTemplate,
                    at: offset,
                    "options template \(templateID): scope field count \(scopeCount) (1...\(fieldCount))"
                )
                return
            }
            guard let recordEnd = _parseFields(base, from: fieldOffset, end: end, count: fieldCount, isIPFIX: isIPFIX)
            else {
                _rejectTemplate(templateID, exporterIndex)
                fail(.truncated, at: offset, "template \(templateID): \(fieldCount) fields run past the set")
                return
            }
            let existing = _exporters[exporterIndex].templates[templateID]?.template
            let event: FlowTemplateEvent
            if let existing, existing.isOptions == isOptions, existing.scopeFieldCount == scopeCount,
                existing.isIPFIX == isIPFIX, existing.fields == _scratchFields
            {
                event = .learned(templateID: templateID, fieldCount: fieldCount, isOptions: isOptions)
            } else {
                guard existing != nil || _exporters[exporterIndex].templates.count < limits.maximumTemplatesPerExporter
                else {
                    fail(
                        .templateLimit,
                        at: offset,
                        "template \(templateID) refused: exporter \(info.exporter) has "
                            + "\(limits.maximumTemplatesPerExporter) templates"
                    )
                    offset = recordEnd
                    continue
                }
                guard existing != nil || _templateCount < limits.maximumTemplates else {
                    fail(
                        .templateLimit,
                        at: offset,
                        "template \(templateID) of exporter \(info.exporter) refused: \(limits.maximumTemplates) "
                            + "templates held across all exporters"
                    )
                    offset = recordEnd
                    continue
                }
                switch _FlowTemplate.compile(
                    fields: _scratchFields,
                    scopeFieldCount: scopeCount,
                    isOptions: isOptions,
                    isIPFIX: isIPFIX
                ) {
                case .failure(.badFieldLength(let index, let length)):
                    _rejectTemplate(templateID, exporterIndex)
                    fail(.badFieldLength, at: offset, "template \(templateID) field \(index) has length \(length)")
                    return
                case .failure(.recordTooLong(let byteCount)):
                    _rejectTemplate(templateID, exporterIndex)
                    fail(.badTemplate, at: offset, "template \(templateID) records of \(byteCount) bytes fit no set")
                    return
                case .success(let template):
                    _exporters[exporterIndex].templates[templateID] = _FlowTemplateBox(template)
                    if existing == nil { _templateCount += 1 }
                    _stateGeneration &+= 1
                }
                event =
                    existing == nil
                    ? .learned(templateID: templateID, fieldCount: fieldCount, isOptions: isOptions)
                    : .redefined(templateID: templateID, fieldCount: fieldCount, isOptions: isOptions)
            }
            consumer.flowTemplate(event, info: info)
            learnedAny = true
            offset = recordEnd
        }
        if learnedAny && !_exporters[exporterIndex].held.isEmpty {
            _releaseHeldSets(exporterIndex, consumer: &consumer)
        }
    }

    /// Parses `count` field specifiers at `start` into `_scratchFields`.
    ///
    /// - Returns: where they end, or nil when they run past `end`.
    mutating func _parseFields(_ base: UnsafeRawPointer, from start: Int, end: Int, count: Int, isIPFIX: Bool) -> Int? {
        _scratchFields.removeAll(keepingCapacity: true)
        var offset = start
        // Bounded: `count` ≤ limits.maximumFieldsPerTemplate.
        for _ in 0..<count {
            guard end - offset >= 4 else { return nil }
            var element = _FlowBytes.u16(base, offset)
            let length = _FlowBytes.u16(base, offset + 2)
            offset += 4
            var enterprise: UInt32 = 0
            if isIPFIX && element & 0x8000 != 0 {
                guard end - offset >= 4 else { return nil }
                enterprise = _FlowBytes.u32(base, offset)
                element &= 0x7FFF
                offset += 4
            }
            _scratchFields.append(_FlowFieldSpecifier(element: element, length: length, enterprise: enterprise))
        }
        return offset
    }

    /// A template record for `templateID` was bad: the exporter's old layout for that id, if any, no longer
    /// describes its data, so it is removed.
    mutating func _rejectTemplate(_ templateID: UInt16, _ exporterIndex: Int) {
        guard templateID >= 256, _exporters[exporterIndex].templates.removeValue(forKey: templateID) != nil else {
            return
        }
        _templateCount -= 1
        _stateGeneration &+= 1
    }

    /// Whether `base[start..<end]` is all zero bytes (set padding).
    static func _isZero(_ base: UnsafeRawPointer, from start: Int, end: Int) -> Bool {
        var offset = start
        while offset < end {
            if _FlowBytes.u8(base, offset) != 0 { return false }
            offset += 1
        }
        return true
    }
}
