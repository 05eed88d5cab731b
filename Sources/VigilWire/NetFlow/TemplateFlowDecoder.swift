/// Decodes NetFlow v9 (RFC 3954) and IPFIX (RFC 7011, information elements of RFC 7012) datagrams, which
/// share one template machinery; the version is read from each datagram's header.
///
/// Pure: bytes in, ``FlowConsumer`` calls out, time only as the caller's arrival time. State is kept per
/// exporter (``FlowExporterKey``: the source address with the v9 source id or IPFIX observation domain)
/// and, when the caller gives it, UDP source port: templates, samplers learned from options data, the next
/// expected sequence number, and data sets held for a template that has not arrived. Every table is
/// bounded by ``FlowDecoderLimits`` (an exporter at a new port counts as one more exporter).
///
/// Why the port: RFC 7011 section 8 scopes templates to the transport session and observation domain, and
/// a UDP session is told by its ports. An exporter that restarts sends from a new port and may reuse
/// template ids for other layouts (pmacct's `options-map-reassignment` capture does); keyed by port, its
/// data waits for the new session's templates instead of being misread with the old ones, and its new
/// sequence numbers are not a gap. Callers without the port pass none and get one session per exporter.
///
/// Templates are compiled to a per-field program (``_FlowTemplate``), so a data record costs one pass over
/// its fields with no lookups and no allocation; the only dictionary lookups are one per datagram (the
/// exporter) and one per data set (its template).
///
/// Decisions on hostile or odd input (each a ``FlowDecodeError`` with the offset it concerns):
/// - A set header that is short or runs past the datagram: `truncated`, the rest of the datagram is dropped.
/// - Set ids 2-255 (v9) or 0, 1, 4-255 (IPFIX): `reserved_set_id`, the set is skipped.
/// - IPFIX: a header length other than the datagram's: `length_mismatch`, the datagram is dropped. The v9
///   header `count` is not checked (exporters disagree on what it counts).
/// - A template record that is bad (`bad_template`, `bad_field_length`, or a truncated one) stops its set.
///   If its id was known, that template is removed too: the data that follows was encoded for the new
///   layout, which the decoder cannot read, so it is held (and dropped as `template_not_found`) rather than
///   misread with the old one. Other exporters' templates are never touched.
/// - A template id new to an exporter at `maximumTemplatesPerExporter`, or new to the decoder when all
///   exporters hold `maximumTemplates`: `template_limit`, that record is skipped and the set goes on (data
///   for it is held, then dropped as `template_not_found`). A new exporter at `maximumExporters`: `exporter_limit`, datagram dropped.
/// - Bytes at the end of a set too few for a record (or for a template record), padding, are ignored.
/// - A variable-length record that runs past its set: `truncated`, the rest of the set is dropped.
/// - Fields Vigil does not read, enterprise-specific ones included, are skipped; a known field with a
///   length it cannot have (an IPv4 address of 3 bytes, an integer over 8) is skipped too.
public struct TemplateFlowDecoder {
    public let limits: FlowDecoderLimits
    @usableFromInline var _exporterIndices: [_FlowSessionKey: Int] = [:]
    /// The session of the last datagram and its index: an exporter's datagrams come in runs, and this saves
    /// hashing the session key for each (indices never change; see `_exporters`).
    @usableFromInline var _lastSession: _FlowSessionKey?
    @usableFromInline var _lastExporterIndex = 0
    /// Never shrinks: an exporter's index stays valid for the decoder's life.
    @usableFromInline var _exporters: [_FlowExporterState] = []
    /// Templates held across all exporters, at most `limits.maximumTemplates`.
    @usableFromInline var _templateCount = 0
    /// Bytes of held set bodies across all exporters, at most `limits.maximumHeldBytes`.
    @usableFromInline var _heldByteCount = 0
    /// Exporters holding data, so a full hold finds the oldest without visiting every exporter.
    @usableFromInline var _exportersHoldingData: Set<Int> = []
    /// Reused for parsing template records, so a template refresh allocates nothing.
    @usableFromInline var _scratchFields: [_FlowFieldSpecifier] = []
    /// Moves whenever what ``stateSnapshot()`` would hold changes (a template learned, redefined, withdrawn
    /// or removed; a sampler, default interval or system init time changed), never on a refresh.
    @usableFromInline var _stateGeneration: UInt64 = 0

    /// NetFlow v9 header bytes.
    public static let v9HeaderByteCount = 20
    /// IPFIX message header bytes.
    public static let ipfixHeaderByteCount = 16

    public init(limits: FlowDecoderLimits = .init()) {
        self.limits = limits
        _scratchFields.reserveCapacity(64)
    }

    /// Exporters with state.
    public var exporterCount: Int { _exporters.count }

    /// Templates and options templates held across all exporters.
    public var templateCount: Int { _templateCount }

    /// Bytes of data sets held for templates that have not arrived, across all exporters.
    public var heldByteCount: Int { _heldByteCount }

    /// Templates and options templates `exporter` (sending from `sourcePort`) has now.
    public func templateCount(of exporter: FlowExporterKey, sourcePort: UInt16? = nil) -> Int {
        _exporterIndices[_FlowSessionKey(exporter: exporter, sourcePort: sourcePort)].map {
            _exporters[$0].templates.count
        } ?? 0
    }

    /// Data sets held for `exporter` (sending from `sourcePort`).
    public func heldSetCount(of exporter: FlowExporterKey, sourcePort: UInt16? = nil) -> Int {
        _exporterIndices[_FlowSessionKey(exporter: exporter, sourcePort: sourcePort)].map {
            _exporters[$0].held.count
        } ?? 0
    }

    /// Decodes one datagram.
    ///
    /// O(datagram bytes) plus, when a template arrives for held data, the held sets decoded then.
    ///
    /// - Parameters:
    ///   - datagram: the UDP payload; only read during the call (held data is copied).
    ///   - address: the exporter's address (the datagram's source).
    ///   - sourcePort: the datagram's UDP source port, when known: templates and sequence numbers are kept
    ///     per port (the transport session), so an exporter's restart starts afresh.
    ///   - arrivalNanoseconds: receive time, nanoseconds since the Unix epoch; ages held data.
    ///   - consumer: receives the header, templates, records, gaps and errors, in datagram order.
    public mutating func decode<C: FlowConsumer>(
        _ datagram: UnsafeRawBufferPointer,
        from address: IPAddress,
        sourcePort: UInt16? = nil,
        arrivalNanoseconds: Int64,
        into consumer: inout C
    ) {
        let end = datagram.count
        guard end >= 2, let base = datagram.baseAddress else {
            consumer.flowError(FlowDecodeError(.shortHeader, offset: 0, "datagram of \(end) bytes"), info: nil)
            return
        }
        let version = _FlowBytes.u16(base, 0)
        let isIPFIX: Bool
        switch version {
        case 9: isIPFIX = false
        case 10: isIPFIX = true
        default:
            consumer.flowError(
                FlowDecodeError(.notAFlowDatagram, offset: 0, "version \(version) is neither NetFlow v9 nor IPFIX"),
                info: nil
            )
            return
        }
        let headerByteCount = isIPFIX ? Self.ipfixHeaderByteCount : Self.v9HeaderByteCount
        guard end >= headerByteCount else {
            consumer.flowError(
                FlowDecodeError(
                    .shortHeader,
                    offset: 0,
                    "\(isIPFIX ? "IPFIX" : "NetFlow v9") header needs \(headerByteCount) bytes, datagram has \(end)"
                ),
                info: nil
            )
            return
        }
        let context: _FlowDatagramContext
        if isIPFIX {
            let length = Int(_FlowBytes.u16(base, 2))
            guard length == end else {
                consumer.flowError(
                    FlowDecodeError(.lengthMismatch, offset: 2, "IPFIX header length \(length), datagram has \(end)"),
                    info: nil
                )
                return
            }
            let exportSeconds = Int64(_FlowBytes.u32(base, 4))
            context = _FlowDatagramContext(
                info: FlowDatagramInfo(
                    format: .ipfix,
                    exporter: FlowExporterKey(address: address, observationDomain: _FlowBytes.u32(base, 12)),
                    exportNanoseconds: exportSeconds &* 1_000_000_000,
                    arrivalNanoseconds: arrivalNanoseconds,
                    sequenceNumber: _FlowBytes.u32(base, 8)
                ),
                isIPFIX: true,
                headerUptime: 0,
                exportMilliseconds: exportSeconds &* 1000
            )
        } else {
            let exportSeconds = Int64(_FlowBytes.u32(base, 8))
            context = _FlowDatagramContext(
                info: FlowDatagramInfo(
                    format: .netFlowV9,
                    exporter: FlowExporterKey(address: address, observationDomain: _FlowBytes.u32(base, 16)),
                    exportNanoseconds: exportSeconds &* 1_000_000_000,
                    arrivalNanoseconds: arrivalNanoseconds,
                    sequenceNumber: _FlowBytes.u32(base, 12)
                ),
                isIPFIX: false,
                headerUptime: _FlowBytes.u32(base, 4),
                exportMilliseconds: exportSeconds &* 1000
            )
        }
        let info = context.info
        guard let exporterIndex = _exporterIndex(for: _FlowSessionKey(exporter: info.exporter, sourcePort: sourcePort))
        else {
            consumer.flowError(
                FlowDecodeError(
                    .exporterLimit,
                    offset: 0,
                    "exporter \(info.exporter) refused: \(limits.maximumExporters) exporters already known"
                ),
                info: info
            )
            return
        }
        consumer.flowDatagram(info)
        _expireHeldSets(exporterIndex, now: arrivalNanoseconds, consumer: &consumer)

        let sequence = info.sequenceNumber
        let missing = _exporters[exporterIndex].sequence.gap(before: sequence)
        if missing > 0 { consumer.flowSequenceGap(missing: missing, info: info) }
        // v9 counts datagrams; IPFIX data records, known once the sets are decoded.
        if !isIPFIX { _exporters[exporterIndex].sequence.advance(from: sequence, units: 1) }

        let records = _decodeSets(
            base,
            from: headerByteCount,
            end: end,
            exporterIndex: exporterIndex,
            context: context,
            consumer: &consumer
        )
        if isIPFIX { _exporters[exporterIndex].sequence.advance(from: sequence, units: records) }
    }

    /// Decodes the sets of a datagram whose header is valid.
    ///
    /// - Returns: data records (options records included) the sets held, or nil when that cannot be known
    ///   (a set held for its template, or a set cut short).
    mutating func _decodeSets<C: FlowConsumer>(
        _ base: UnsafeRawPointer,
        from start: Int,
        end: Int,
        exporterIndex: Int,
        context: _FlowDatagramContext,
        consumer: inout C
    ) -> UInt32? {
        let isIPFIX = context.isIPFIX
        let templateSetID: UInt16 = isIPFIX ? 2 : 0
        let optionsSetID: UInt16 = isIPFIX ? 3 : 1
        var records: UInt32? = 0
        var offset = start
        // Bounded: each set advances `offset` by its length, at least 4.
        while offset < end {
            guard end - offset >= 4 else {
                consumer.flowError(
                    FlowDecodeError(.truncated, offset: offset, "\(end - offset) bytes after the last set"),
                    info: context.info
                )
                return nil
            }
            let setID = _FlowBytes.u16(base, offset)
            let setLength = Int(_FlowBytes.u16(base, offset + 2))
            guard setLength >= 4, setLength <= end - offset else {
                consumer.flowError(
                    FlowDecodeError(
                        .truncated,
                        offset: offset,
                        "set \(setID) length \(setLength) (at least 4), \(end - offset) bytes left in the datagram"
                    ),
                    info: context.info
                )
                return nil
            }
            let bodyStart = offset + 4
            let bodyEnd = offset + setLength
            switch setID {
            case templateSetID, optionsSetID:
                _decodeTemplateSet(
                    base,
                    from: bodyStart,
                    end: bodyEnd,
                    isOptions: setID == optionsSetID,
                    exporterIndex: exporterIndex,
                    context: context,
                    consumer: &consumer
                )
            case 256...:
                let count = _decodeOrHoldDataSet(
                    setID,
                    base,
                    from: bodyStart,
                    end: bodyEnd,
                    exporterIndex: exporterIndex,
                    context: context,
                    consumer: &consumer
                )
                if let count, let sum = records { records = sum &+ count } else { records = nil }
            default:
                consumer.flowError(
                    FlowDecodeError(
                        .reservedSetID,
                        offset: offset,
                        "set id \(setID) is reserved in \(isIPFIX ? "IPFIX" : "NetFlow v9"); set skipped"
                    ),
                    info: context.info
                )
            }
            offset = bodyEnd
        }
        return records
    }

    /// The index of a session's state, created if new and the limit allows.
    mutating func _exporterIndex(for session: _FlowSessionKey) -> Int? {
        if session == _lastSession { return _lastExporterIndex }
        let index: Int
        if let known = _exporterIndices[session] {
            index = known
        } else {
            guard _exporters.count < limits.maximumExporters else { return nil }
            index = _exporters.count
            _exporters.append(_FlowExporterState())
            _exporterIndices[session] = index
        }
        _lastSession = session
        _lastExporterIndex = index
        return index
    }
}

/// What template state is kept per: the exporter and, when known, its UDP source port.
@usableFromInline
struct _FlowSessionKey: Hashable, Sendable {
    @usableFromInline var exporter: FlowExporterKey
    @usableFromInline var sourcePort: UInt16?
}
