/// The flow formats Vigil decodes, told apart by a datagram's first bytes.
public enum FlowFormat: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case netFlowV5 = 5
    case netFlowV9 = 9
    case ipfix = 10
    case sFlowV5 = 50

    public var description: String {
        switch self {
        case .netFlowV5: "netflow-v5"
        case .netFlowV9: "netflow-v9"
        case .ipfix: "ipfix"
        case .sFlowV5: "sflow-v5"
        }
    }
}

/// Who exported a datagram: the address it came from (for sFlow, the agent address the datagram names)
/// and the observation domain within it: the IPFIX observation domain id, the NetFlow v9 source id, NetFlow
/// v5's `engine_type << 8 | engine_id`, sFlow's sub-agent id. Templates, sequence numbers and sampling are
/// kept per exporter (RFC 7011 section 8, RFC 3954 section 5.1).
public struct FlowExporterKey: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var observationDomain: UInt32

    @inlinable
    public init(address: IPAddress, observationDomain: UInt32) {
        self.address = address
        self.observationDomain = observationDomain
    }

    public var description: String { "\(address)/\(observationDomain)" }
}

/// What a consumer learns about a datagram before its records.
public struct FlowDatagramInfo: Sendable, Equatable {
    public var format: FlowFormat
    public var exporter: FlowExporterKey
    /// The exporter's clock when it sent the datagram (NetFlow and IPFIX headers' export time), nanoseconds
    /// since the Unix epoch; for sFlow, which carries no absolute time, the arrival time.
    public var exportNanoseconds: Int64
    /// When the datagram arrived (receive time, or the capture's timestamp), nanoseconds since the Unix epoch.
    public var arrivalNanoseconds: Int64
    /// The header's sequence number (v5: flows sent before; v9: datagrams; IPFIX: data records; sFlow:
    /// datagrams).
    public var sequenceNumber: UInt32

    public init(
        format: FlowFormat,
        exporter: FlowExporterKey,
        exportNanoseconds: Int64,
        arrivalNanoseconds: Int64,
        sequenceNumber: UInt32
    ) {
        self.format = format
        self.exporter = exporter
        self.exportNanoseconds = exportNanoseconds
        self.arrivalNanoseconds = arrivalNanoseconds
        self.sequenceNumber = sequenceNumber
    }
}

/// What a template set did.
public enum FlowTemplateEvent: Sendable, Equatable {
    /// A template (or options template) learned, or re-sent unchanged (a refresh).
    case learned(templateID: UInt16, fieldCount: Int, isOptions: Bool)
    /// A template id given a different layout.
    case redefined(templateID: UInt16, fieldCount: Int, isOptions: Bool)
    /// A template withdrawn (IPFIX withdrawal: field count 0), or all of a domain's (template id 2 or 3).
    case withdrawn(templateID: UInt16)
}

/// Receives what flow decoders find, in datagram order. Decoders are generic over it (no existential call
/// per record); every method but ``flowRecord(_:)`` is cold.
///
/// Calls for one datagram: ``flowDatagram(_:)`` once its header is valid, then any of the others in the
/// order the datagram holds them. Data held back for a template that had not arrived is given when it does,
/// after that datagram's ``flowDatagram(_:)`` (its own info is passed with the records then).
public protocol FlowConsumer {
    /// Whether ``flowRecord(_:info:)`` reads a record's detail: its source port, type of service, TCP flags,
    /// AS numbers, VLAN, IP version field, direction and start and end times. A consumer that only counts
    /// traffic (bytes, packets and flows by interface and sampling, addresses, destination port and
    /// protocol) says false, and NetFlow v9 and IPFIX records may then come with those left at their
    /// defaults, which saves reading and converting them. Default true.
    static var readsRecordDetail: Bool { get }
    /// A datagram's header was read: its exporter, format and time.
    mutating func flowDatagram(_ info: FlowDatagramInfo)
    /// One flow data record of the current datagram (or of held data now decoded, with `info` of the
    /// datagram that carried it). Hot.
    mutating func flowRecord(_ record: FlowRecord, info: FlowDatagramInfo)
    /// An sFlow counter sample's generic interface counters.
    mutating func flowInterfaceCounters(_ counters: InterfaceCounterRecord, info: FlowDatagramInfo)
    /// An options data record (sampler tables, interface names, ...): counted; the decoder keeps what it
    /// understands (sampling intervals) itself.
    mutating func flowOptionsRecord(info: FlowDatagramInfo)
    /// A template or options template record.
    mutating func flowTemplate(_ event: FlowTemplateEvent, info: FlowDatagramInfo)
    /// The exporter's sequence numbers skipped `missing` units (datagrams or records, per format): a loss
    /// estimate between exporter and Vigil.
    mutating func flowSequenceGap(missing: UInt64, info: FlowDatagramInfo)
    /// Something in a datagram could not be decoded. `info` is nil when the header itself was bad. The
    /// decoder went on with what it could (the next set or sample) or dropped the rest of the datagram.
    mutating func flowError(_ error: FlowDecodeError, info: FlowDatagramInfo?)
}

extension FlowConsumer {
    public static var readsRecordDetail: Bool { true }
    public mutating func flowDatagram(_ info: FlowDatagramInfo) {}
    public mutating func flowInterfaceCounters(_ counters: InterfaceCounterRecord, info: FlowDatagramInfo) {}
    public mutating func flowOptionsRecord(info: FlowDatagramInfo) {}
    public mutating func flowTemplate(_ event: FlowTemplateEvent, info: FlowDatagramInfo) {}
    public mutating func flowSequenceGap(missing: UInt64, info: FlowDatagramInfo) {}
}
