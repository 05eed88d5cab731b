/// What of a v9/IPFIX decoder outlives the process: per transport session (exporter address, v9 source id
/// or IPFIX observation domain, UDP source port), its templates and options templates as the exporter sent
/// them, its samplers, its default sampling interval and its IPFIX system init time. A collector that
/// restores them decodes the first data it receives after a restart instead of holding it until the
/// router's next template refresh (minutes on many routers) and dropping it as `template_not_found`.
///
/// Not kept: sequence numbers (the first datagram after a restart starts the count afresh, so records sent
/// while the collector was down are not reported as a gap) and data held for a template (it is dropped and
/// counted at the end of a run).
///
/// Layout, big-endian like the wire formats it comes from (``FlowTemplateState/version`` 1):
/// ```
/// u32 sessions
/// per session: u64 address high, u64 address low, u32 observation domain, u8 has port, u16 port,
///              u32 default sampling interval, u64 system init ms,
///              u16 samplers × (u64 id, u32 interval),
///              u16 templates × (u16 id, u8 flags (1 options, 2 IPFIX), u16 scope fields, u16 fields,
///                               fields × (u16 element, u16 length, u32 enterprise))
/// ```
/// Restoring reads it as hostile input: every count is checked against the bytes left and the decoder's
/// ``FlowDecoderLimits``, and every layout is compiled by the same code as one that arrives on the wire.
public enum FlowTemplateState {
    /// The layout version written; restoring refuses any other.
    public static let version: UInt16 = 1

    /// What restoring found.
    public struct RestoreReport: Sendable, Equatable {
        /// Transport sessions with state restored.
        public var sessions = 0
        /// Templates and options templates restored.
        public var templates = 0
        /// Samplers restored.
        public var samplers = 0
        /// Templates (or sessions, samplers) not restored, each within the limits or layout rules.
        public var refused = 0
        /// Why the first refusals happened (at most ``maximumReasons``).
        public var reasons: [String] = []

        static let maximumReasons = 5

        mutating func refuse(_ reason: @autoclosure () -> String, count: Int = 1) {
            refused += count
            if reasons.count < Self.maximumReasons { reasons.append(reason()) }
        }
    }

    /// Why a snapshot could not be read at all (nothing of it is restored).
    public struct Malformed: Error, Sendable, Equatable, CustomStringConvertible {
        public var offset: Int
        public var detail: String
        public var description: String { "flow template state malformed at byte \(offset): \(detail)" }
    }
}

extension TemplateFlowDecoder {
    /// Moves whenever what ``stateSnapshot()`` would hold changes; a caller that saved the snapshot of one
    /// generation need not save again until it moves. O(1).
    public var stateGeneration: UInt64 { _stateGeneration }

    /// The templates, samplers and sampling state of every session (``FlowTemplateState``), in a stable
    /// order (by exporter, port, template id), so equal state gives equal bytes. O(templates × fields).
    public func stateSnapshot() -> [UInt8] {
        var bytes: [UInt8] = []
        func put<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
        }
        let sessions = _exporterIndices.sorted { lhs, rhs in
            let (a, b) = (lhs.key, rhs.key)
            if a.exporter.address != b.exporter.address { return a.exporter.address < b.exporter.address }
            if a.exporter.observationDomain != b.exporter.observationDomain {
                return a.exporter.observationDomain < b.exporter.observationDomain
            }
            return (a.sourcePort.map { Int($0) } ?? -1) < (b.sourcePort.map { Int($0) } ?? -1)
        }
        // Sessions with nothing worth keeping (only a sequence number) are left out.
        let kept = sessions.filter { _, index in
            let state = _exporters[index]
            return !state.templates.isEmpty || !state.samplers.isEmpty || state.defaultSamplingInterval != 0
                || state.systemInitMilliseconds != 0
        }
        put(UInt32(kept.count))
        for (session, index) in kept {
            let state = _exporters[index]
            put(session.exporter.address.high)
            put(session.exporter.address.low)
            put(session.exporter.observationDomain)
            put(UInt8(session.sourcePort == nil ? 0 : 1))
            put(session.sourcePort ?? 0)
            put(state.defaultSamplingInterval)
            put(state.systemInitMilliseconds)
            put(UInt16(state.samplers.count))
            for sampler in state.samplers {
                put(sampler.id)
                put(sampler.interval)
            }
            put(UInt16(state.templates.count))
            for (id, box) in state.templates.sorted(by: { $0.key < $1.key }) {
                let template = box.template
                put(id)
                put(UInt8((template.isOptions ? 1 : 0) | (template.isIPFIX ? 2 : 0)))
                put(UInt16(template.scopeFieldCount))
                put(UInt16(template.fields.count))
                for field in template.fields {
                    put(field.element)
                    put(field.length)
                    put(field.enterprise)
                }
            }
        }
        return bytes
    }

    /// Restores a ``stateSnapshot()`` into a decoder that has decoded nothing yet: sessions, templates and
    /// samplers within this decoder's limits are kept, others refused and reported (limits may have
    /// shrunk since the snapshot was taken). Does not move ``stateGeneration``.
    ///
    /// - Throws: ``FlowTemplateState/Malformed`` when the bytes are not a snapshot (a count runs past the
    ///   end, bytes are left over); the decoder is then as it was.
    public mutating func restoreState(
        from snapshot: UnsafeRawBufferPointer
    ) throws(FlowTemplateState.Malformed)
        -> FlowTemplateState.RestoreReport
    {
        precondition(_exporters.isEmpty, "restoreState(from:) is for a decoder that has decoded nothing")
        var restored = TemplateFlowDecoder(limits: limits)
        let report = try restored._restore(from: snapshot)
        restored._stateGeneration = _stateGeneration
        self = restored
        return report
    }

    private mutating func _restore(
        from snapshot: UnsafeRawBufferPointer
    ) throws(FlowTemplateState.Malformed)
        -> FlowTemplateState.RestoreReport
    {
        var reader = _StateReader(snapshot)
        var report = FlowTemplateState.RestoreReport()
        let sessionCount = Int(try reader.u32("session count"))
        // Bounded: each session reads at least 35 bytes or throws.
        for _ in 0..<sessionCount {
            let address = IPAddress(high: try reader.u64("address"), low: try reader.u64("address"))
            let exporter = FlowExporterKey(address: address, observationDomain: try reader.u32("observation domain"))
            let hasPort = try reader.u8("port flag")
            let port = try reader.u16("port")
            guard hasPort <= 1 else { throw reader.malformed("port flag \(hasPort) (0 or 1)") }
            let session = _FlowSessionKey(exporter: exporter, sourcePort: hasPort == 1 ? port : nil)
            var state = _FlowExporterState()
            state.defaultSamplingInterval = try reader.u32("default sampling interval")
            state.systemInitMilliseconds = try reader.u64("system init time")
            let samplerCount = Int(try reader.u16("sampler count"))
            for _ in 0..<samplerCount {
                let id = try reader.u64("sampler id")
                let interval = try reader.u32("sampler interval")
                if interval > 0,
                    state.learnSampler(id: id, interval: interval, limit: limits.maximumSamplersPerExporter)
                {
                    report.samplers += 1
                } else {
                    report.refuse("exporter \(exporter): sampler \(id) (interval \(interval)) past the sampler limit")
                }
            }
            let templateCount = Int(try reader.u16("template count"))
            for _ in 0..<templateCount {
                let id = try reader.u16("template id")
                let flags = try reader.u8("template flags")
                let scopeCount = Int(try reader.u16("scope field count"))
                let fieldCount = Int(try reader.u16("field count"))
                _scratchFields.removeAll(keepingCapacity: true)
                for _ in 0..<fieldCount {
                    _scratchFields.append(
                        _FlowFieldSpecifier(
                            element: try reader.u16("field element"),
                            length: try reader.u16("field length"),
                            enterprise: try reader.u32("field enterprise")
                        )
                    )
                }
                if let refusal = _restoreTemplate(id, flags: flags, scopeCount: scopeCount, into: &state) {
                    report.refuse("exporter \(exporter) template \(id): \(refusal)")
                } else {
                    report.templates += 1
                }
            }
            guard _exporterIndices[session] == nil else { throw reader.malformed("session \(exporter) twice") }
            guard _exporters.count < limits.maximumExporters else {
                report.refuse(
                    "exporter \(exporter): past \(limits.maximumExporters) exporters",
                    count: state.templates.count
                )
                report.templates -= state.templates.count
                continue
            }
            _exporterIndices[session] = _exporters.count
            _templateCount += state.templates.count
            _exporters.append(state)
            report.sessions += 1
        }
        guard reader.remaining == 0 else { throw reader.malformed("\(reader.remaining) bytes after the last session") }
        return report
    }

    /// Compiles one restored layout (in `_scratchFields`) into `state` under the same rules as a template
    /// record on the wire.
    ///
    /// - Returns: why it was refused, or nil.
    private func _restoreTemplate(
        _ id: UInt16,
        flags: UInt8,
        scopeCount: Int,
        into state: inout _FlowExporterState
    )
        -> String?
    {
        let fieldCount = _scratchFields.count
        let isOptions = flags & 1 != 0
        guard flags & ~3 == 0 else { return "flags \(flags)" }
        guard id >= 256 else { return "template ids are ≥ 256" }
        guard fieldCount > 0, fieldCount <= limits.maximumFieldsPerTemplate else {
            return "\(fieldCount) fields (1...\(limits.maximumFieldsPerTemplate))"
        }
        guard isOptions ? (scopeCount > 0 && scopeCount <= fieldCount) : scopeCount == 0 else {
            return "scope field count \(scopeCount)"
        }
        guard state.templates[id] == nil else { return "the same id twice" }
        guard state.templates.count < limits.maximumTemplatesPerExporter else {
            return "past \(limits.maximumTemplatesPerExporter) templates per exporter"
        }
        guard _templateCount + state.templates.count < limits.maximumTemplates else {
            return "past \(limits.maximumTemplates) templates across exporters"
        }
        switch _FlowTemplate.compile(
            fields: _scratchFields,
            scopeFieldCount: scopeCount,
            isOptions: isOptions,
            isIPFIX: flags & 2 != 0
        ) {
        case .failure(.badFieldLength(let index, let length)): return "field \(index) has length \(length)"
        case .failure(.recordTooLong(let byteCount)): return "records of \(byteCount) bytes fit no set"
        case .success(let template):
            state.templates[id] = _FlowTemplateBox(template)
            return nil
        }
    }
}

/// Reads big-endian integers from a snapshot, each checked against the bytes left.
private struct _StateReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    func malformed(_ detail: String) -> FlowTemplateState.Malformed {
        FlowTemplateState.Malformed(offset: offset, detail: detail)
    }

    mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws(FlowTemplateState.Malformed) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size, let base = bytes.baseAddress else {
            throw malformed("\(what) needs \(size) bytes, \(remaining) left")
        }
        let value = T(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += size
        return value
    }

    mutating func u8(_ what: String) throws(FlowTemplateState.Malformed) -> UInt8 { try read(UInt8.self, what) }
    mutating func u16(_ what: String) throws(FlowTemplateState.Malformed) -> UInt16 { try read(UInt16.self, what) }
    mutating func u32(_ what: String) throws(FlowTemplateState.Malformed) -> UInt32 { try read(UInt32.self, what) }
    mutating func u64(_ what: String) throws(FlowTemplateState.Malformed) -> UInt64 { try read(UInt64.self, what) }
}
