/// A sampler an exporter described in options data: its id (`samplerId` 48 / `selectorId` 302) and
/// interval, 1 in N.
@usableFromInline
struct _FlowSampler: Sendable {
    @usableFromInline var id: UInt64
    @usableFromInline var interval: UInt32
}

/// What a datagram's records need from its header, kept with data held for a template.
@usableFromInline
struct _FlowDatagramContext: Sendable {
    @usableFromInline var info: FlowDatagramInfo
    @usableFromInline var isIPFIX: Bool
    @usableFromInline var headerUptime: UInt32
    @usableFromInline var exportMilliseconds: Int64
}

/// A data set whose template had not arrived: its body copied, with the datagram it came in.
@usableFromInline
struct _HeldFlowSet: Sendable {
    @usableFromInline var setID: UInt16
    /// Offset of the set's body in its datagram (error offsets of held data are the datagram's).
    @usableFromInline var bodyOffset: Int
    @usableFromInline var body: [UInt8]
    @usableFromInline var context: _FlowDatagramContext
}

/// One exporter's state (address and v9 source id / IPFIX observation domain): templates, samplers,
/// sequence, held data. Every table is bounded by ``FlowDecoderLimits``.
@usableFromInline
struct _FlowExporterState: Sendable {
    /// Templates and options templates by id (≥ 256), at most `maximumTemplatesPerExporter`.
    @usableFromInline var templates: [UInt16: _FlowTemplateBox] = [:]
    @usableFromInline var sequence = _FlowSequenceTracker()
    /// At most `maximumSamplersPerExporter`; looked up by linear scan (exporters have a handful).
    @usableFromInline var samplers: [_FlowSampler] = []
    /// From an options record with a sampling interval and no sampler id (0: none).
    @usableFromInline var defaultSamplingInterval: UInt32 = 0
    /// IPFIX `systemInitTimeMilliseconds` from options data (0: unknown).
    @usableFromInline var systemInitMilliseconds: UInt64 = 0
    /// Oldest first; at most `maximumHeldBytesPerExporter` bytes of bodies.
    @usableFromInline var held: [_HeldFlowSet] = []
    @usableFromInline var heldByteCount = 0

    init() {}

    /// The interval of sampler `id`, or 0.
    @inlinable
    func samplingInterval(ofSampler id: UInt64) -> UInt32 {
        for sampler in samplers where sampler.id == id { return sampler.interval }
        return 0
    }

    /// Remembers (or updates) a sampler's interval.
    ///
    /// - Returns: false when the sampler is new and the table is full (it is not remembered).
    mutating func learnSampler(id: UInt64, interval: UInt32, limit: Int) -> Bool {
        if let index = samplers.firstIndex(where: { $0.id == id }) {
            samplers[index].interval = interval
            return true
        }
        guard samplers.count < limit else { return false }
        samplers.append(_FlowSampler(id: id, interval: interval))
        return true
    }

    /// Removes templates: one id, or (IPFIX) all templates (id 2) or all options templates (id 3) at once.
    ///
    /// - Returns: how many were removed.
    @discardableResult
    mutating func withdraw(templateID: UInt16) -> Int {
        let before = templates.count
        if templateID == 2 || templateID == 3 {
            let optionsWithdrawn = templateID == 3
            templates = templates.filter { $0.value.template.isOptions != optionsWithdrawn }
        } else {
            templates[templateID] = nil
        }
        return before - templates.count
    }
}
