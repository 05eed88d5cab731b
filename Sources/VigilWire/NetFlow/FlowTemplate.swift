/// One field of a template as the exporter sent it: element id (enterprise bit cleared), length (65535:
/// IPFIX variable length), and the private enterprise number (0 for IANA elements).
@usableFromInline
struct _FlowFieldSpecifier: Equatable, Sendable {
    @usableFromInline var element: UInt16
    @usableFromInline var length: UInt16
    @usableFromInline var enterprise: UInt32

    @inlinable
    init(element: UInt16, length: UInt16, enterprise: UInt32) {
        self.element = element
        self.length = length
        self.enterprise = enterprise
    }

    /// The IPFIX length that announces a variable-length field (RFC 7011 7).
    static let variableLength: UInt16 = 0xFFFF
}

/// One step of a compiled template: skip `skipBefore` bytes (fields Vigil does not read, merged), then read
/// a field of `length` bytes (-1: an IPFIX variable-length field, its length read from the record) into
/// `target`. 8 bytes, so a 20-field program is 160 bytes of cache.
@usableFromInline
struct _FlowFieldOperation: Sendable {
    @usableFromInline var skipBefore: Int32
    @usableFromInline var length: Int16
    @usableFromInline var target: _FlowFieldTarget

    @inlinable
    init(skipBefore: Int32, length: Int16, target: _FlowFieldTarget) {
        self.skipBefore = skipBefore
        self.length = length
        self.target = target
    }
}

/// A compiled template as the decoder's tables keep it: one reference, so that a data set takes its template
/// for one retain instead of copying its arrays (a retain and a release each) out of the table. Immutable.
@usableFromInline
final class _FlowTemplateBox: Sendable {
    @usableFromInline let template: _FlowTemplate

    @usableFromInline
    init(_ template: _FlowTemplate) { self.template = template }
}

/// A template (or options template) compiled for the record loop: the field layout kept to tell a refresh
/// from a redefinition, the per-field program, and what the record needs resolved after its fields.
///
/// Invariants (established by ``compile(fields:scopeFieldCount:isOptions:isIPFIX:)``): `minimumRecordLength`
/// ≥ 1, so a record loop always advances; without variable-length fields every record is exactly
/// `minimumRecordLength` bytes and the program reads nothing past it; fixed lengths of read fields are those
/// their targets accept (integers 1...8 bytes, addresses 4 or 16).
@usableFromInline
struct _FlowTemplate: Sendable {
    @usableFromInline var fields: [_FlowFieldSpecifier]
    @usableFromInline var scopeFieldCount: Int
    @usableFromInline var isOptions: Bool
    /// Whether the layout came in IPFIX (65535 is variable length, scope fields are elements) or v9.
    @usableFromInline var isIPFIX: Bool
    @usableFromInline var operations: [_FlowFieldOperation]
    /// Bytes of unread fixed fields after the last operation.
    @usableFromInline var trailingSkip: Int
    /// Fixed bytes plus one per variable-length field (its shortest length prefix).
    @usableFromInline var minimumRecordLength: Int
    @usableFromInline var hasVariableLength: Bool
    /// The record every data record starts from: ipVersion from the address fields present, flows 1.
    @usableFromInline var baseRecord: FlowRecord
    @usableFromInline var startTime: _FlowTimeSource
    @usableFromInline var endTime: _FlowTimeSource
    @usableFromInline var hasICMPTypeCode: Bool
    @usableFromInline var hasRecordSamplingInterval: Bool
    @usableFromInline var hasSamplerID: Bool
    @usableFromInline var hasSystemInitTime: Bool
    /// Where each field read through the layout sits (the fast path of the record loop): the first
    /// `layoutOperationCount` operations, all of them without variable-length fields, else those before the
    /// first variable-length field, which sit at the same offsets in every record. The program runs the rest.
    @usableFromInline var fixedLayout = _FlowFixedLayout()
    @usableFromInline var layoutOperationCount = 0
    /// Where the operations after the layout's start (their first skip included), from a record's start.
    @usableFromInline var layoutByteCount = 0

    /// Why a layout cannot be compiled.
    enum CompileFailure: Error {
        /// A field of length 0 (outside variable length), or longer than any set can hold.
        case badFieldLength(fieldIndex: Int, length: UInt16)
        /// Records longer than any set can hold.
        case recordTooLong(byteCount: Int)
    }

    /// The largest set body: a 16-bit set length less its 4-byte header.
    static let maximumSetBodyLength = 65_535 - 4

    /// Compiles a layout. O(fields).
    ///
    /// - Parameters:
    ///   - fields: the layout; the first `scopeFieldCount` are options scope fields.
    ///   - isIPFIX: whether 65535 means variable length, and scope fields are ordinary elements (in v9 they
    ///     are scope types 1-5, never record fields).
    static func compile(
        fields: [_FlowFieldSpecifier],
        scopeFieldCount: Int,
        isOptions: Bool,
        isIPFIX: Bool
    ) -> Result<_FlowTemplate, CompileFailure> {
        // What each field may be read as, before choosing between alternatives.
        func readable(_ index: Int) -> UInt16? {
            let field = fields[index]
            guard field.enterprise == 0, isIPFIX || index >= scopeFieldCount else { return nil }
            return field.element
        }
        func usableLength(_ index: Int) -> Int? {
            let length = fields[index].length
            return isIPFIX && length == _FlowFieldSpecifier.variableLength ? nil : Int(length)
        }
        func has(_ element: UInt16) -> Bool {
            fields.indices.contains { readable($0) == element && usableLength($0).map { (1...8).contains($0) } == true }
        }
        let octetsElement =
            [_FlowElement.octetDeltaCount, _FlowElement.postOctetDeltaCount, _FlowElement.octetTotalCount]
            .first(where: has)
        let packetsElement =
            [_FlowElement.packetDeltaCount, _FlowElement.postPacketDeltaCount, _FlowElement.packetTotalCount]
            .first(where: has)
        let start = _FlowElement.startTimes.first { has($0.0) }
        let end = _FlowElement.endTimes.first { has($0.0) }

        var template = _FlowTemplate(
            fields: fields,
            scopeFieldCount: scopeFieldCount,
            isOptions: isOptions,
            isIPFIX: isIPFIX,
            operations: [],
            trailingSkip: 0,
            minimumRecordLength: 0,
            hasVariableLength: false,
            baseRecord: FlowRecord(),
            startTime: start?.1 ?? .none,
            endTime: end?.1 ?? .none,
            hasICMPTypeCode: false,
            hasRecordSamplingInterval: false,
            hasSamplerID: false,
            hasSystemInitTime: false
        )
        template.operations.reserveCapacity(fields.count)
        var pendingSkip = 0
        for index in fields.indices {
            let field = fields[index]
            guard let length = usableLength(index) else {
                // Variable length: walked by the program even when not read.
                template.operations.append(
                    _FlowFieldOperation(skipBefore: Int32(pendingSkip), length: -1, target: .skip)
                )
                pendingSkip = 0
                template.hasVariableLength = true
                template.minimumRecordLength += 1
                continue
            }
            guard length > 0, length <= maximumSetBodyLength else {
                return .failure(.badFieldLength(fieldIndex: index, length: field.length))
            }
            template.minimumRecordLength += length
            var target = _FlowFieldTarget.skip
            if let element = readable(index) {
                let integer = (1...8).contains(length)
                switch element {
                case octetsElement where integer: target = .octets
                case packetsElement where integer: target = .packets
                case start?.0 where integer: target = .startTime
                case end?.0 where integer: target = .endTime
                case _FlowElement.octetDeltaCount, _FlowElement.postOctetDeltaCount, _FlowElement.octetTotalCount,
                    _FlowElement.packetDeltaCount, _FlowElement.postPacketDeltaCount, _FlowElement.packetTotalCount:
                    target = .skip
                default: target = _FlowElement.directTarget(element, length: length)
                }
            }
            guard target != .skip else {
                pendingSkip += length
                continue
            }
            template.operations.append(
                _FlowFieldOperation(skipBefore: Int32(pendingSkip), length: Int16(length), target: target)
            )
            pendingSkip = 0
            switch target {
            case .sourceIPv4, .destinationIPv4: template.baseRecord.ipVersion = 4
            case .sourceIPv6, .destinationIPv6: template.baseRecord.ipVersion = 6
            case .icmpTypeCode: template.hasICMPTypeCode = true
            case .samplingInterval, .packetInterval: template.hasRecordSamplingInterval = true
            case .samplerID: template.hasSamplerID = true
            case .systemInitMilliseconds: template.hasSystemInitTime = true
            default: break
            }
        }
        template.trailingSkip = pendingSkip
        let layoutOperations = template.operations.prefix { $0.length >= 0 }
        template.layoutOperationCount = layoutOperations.count
        template.layoutByteCount = layoutOperations.reduce(0) { $0 + Int($1.skipBefore) + Int($1.length) }
        template.fixedLayout = _FlowFixedLayout(operations: Array(layoutOperations))
        guard template.minimumRecordLength <= maximumSetBodyLength else {
            return .failure(.recordTooLong(byteCount: template.minimumRecordLength))
        }
        // Every field is at least one byte and a template has at least one field (checked by the caller).
        precondition(template.minimumRecordLength >= 1, "a compiled template's records must be at least one byte")
        return .success(template)
    }
}
