import VigilWire

/// One thing a flow decoder told its consumer.
enum FlowEvent: Equatable {
    case datagram(FlowDatagramInfo)
    case record(FlowRecord)
    case optionsRecord
    case template(FlowTemplateEvent)
    case gap(UInt64)
    case error(FlowDecodeError.Reason, hasInfo: Bool)
}

/// Records every consumer call.
struct RecordingFlowConsumer: FlowConsumer {
    var events: [FlowEvent] = []
    var errors: [FlowDecodeError] = []
    var recordInfos: [FlowDatagramInfo] = []

    mutating func flowDatagram(_ info: FlowDatagramInfo) { events.append(.datagram(info)) }
    mutating func flowRecord(_ record: FlowRecord, info: FlowDatagramInfo) {
        events.append(.record(record))
        recordInfos.append(info)
    }
    mutating func flowOptionsRecord(info: FlowDatagramInfo) { events.append(.optionsRecord) }
    mutating func flowTemplate(_ event: FlowTemplateEvent, info: FlowDatagramInfo) {
        events.append(.template(event))
    }
    mutating func flowSequenceGap(missing: UInt64, info: FlowDatagramInfo) { events.append(.gap(missing)) }
    mutating func flowError(_ error: FlowDecodeError, info: FlowDatagramInfo?) {
        events.append(.error(error.reason, hasInfo: info != nil))
        errors.append(error)
    }

    var records: [FlowRecord] {
        events.compactMap { if case .record(let record) = $0 { record } else { nil } }
    }
    var templates: [FlowTemplateEvent] {
        events.compactMap { if case .template(let event) = $0 { event } else { nil } }
    }
    var gaps: [UInt64] { events.compactMap { if case .gap(let missing) = $0 { missing } else { nil } } }
    var reasons: [FlowDecodeError.Reason] { errors.map(\.reason) }
    var optionsRecordCount: Int { events.filter { $0 == .optionsRecord }.count }
}

/// Builds big-endian bytes.
struct WireBytes {
    var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) { bytes += [UInt8(value >> 8), UInt8(value & 0xFF)] }
    mutating func u32(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { u8(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }
    mutating func u64(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { u8(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }
    /// An unsigned integer in `length` bytes (reduced-size encoding).
    mutating func uint(_ value: UInt64, length: Int) {
        for index in (0..<length).reversed() { u8(UInt8(truncatingIfNeeded: value >> UInt64(8 * index))) }
    }
    mutating func ipv4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) { bytes += [a, b, c, d] }
    mutating func append(_ other: [UInt8]) { bytes += other }
}

/// A set: id, length (computed unless given), body.
func flowSet(_ id: UInt16, _ body: [UInt8], length: UInt16? = nil) -> [UInt8] {
    var w = WireBytes()
    w.u16(id)
    w.u16(length ?? UInt16(4 + body.count))
    w.append(body)
    return w.bytes
}

/// A template record body: id, count, then (element, length[, enterprise]) fields; `enterprise` non-nil
/// sets bit 15 and appends the PEN (IPFIX).
func templateRecord(_ id: UInt16, _ fields: [(UInt16, UInt16, UInt32?)]) -> [UInt8] {
    var w = WireBytes()
    w.u16(id)
    w.u16(UInt16(fields.count))
    for (element, length, enterprise) in fields {
        w.u16(enterprise == nil ? element : element | 0x8000)
        w.u16(length)
        if let enterprise { w.u32(enterprise) }
    }
    return w.bytes
}

func templateRecord(_ id: UInt16, _ fields: [(UInt16, UInt16)]) -> [UInt8] {
    templateRecord(id, fields.map { ($0.0, $0.1, nil) })
}

/// A NetFlow v9 datagram: header then sets.
func v9Datagram(
    sequence: UInt32,
    sourceID: UInt32 = 1,
    uptimeMilliseconds: UInt32 = 100_000,
    unixSeconds: UInt32 = 1_700_000_000,
    sets: [[UInt8]]
) -> [UInt8] {
    var w = WireBytes()
    w.u16(9)
    w.u16(UInt16(sets.count))
    w.u32(uptimeMilliseconds)
    w.u32(unixSeconds)
    w.u32(sequence)
    w.u32(sourceID)
    for set in sets { w.append(set) }
    return w.bytes
}

/// An IPFIX message: header (length computed unless given) then sets.
func ipfixMessage(
    sequence: UInt32,
    domain: UInt32 = 7,
    exportSeconds: UInt32 = 1_700_000_000,
    length: UInt16? = nil,
    sets: [[UInt8]]
) -> [UInt8] {
    let body = sets.flatMap { $0 }
    var w = WireBytes()
    w.u16(10)
    w.u16(length ?? UInt16(16 + body.count))
    w.u32(exportSeconds)
    w.u32(sequence)
    w.u32(domain)
    w.append(body)
    return w.bytes
}

let exporterAddress = IPAddress(ipv4: 0x0A00_0001)

extension TemplateFlowDecoder {
    /// Decodes datagrams in order into one recording consumer.
    mutating func run(
        _ datagrams: [[UInt8]],
        from address: IPAddress = exporterAddress,
        arrivalNanoseconds: Int64 = 1_700_000_000_000_000_000,
        into consumer: inout RecordingFlowConsumer
    ) {
        for datagram in datagrams {
            datagram.withUnsafeBytes {
                decode($0, from: address, arrivalNanoseconds: arrivalNanoseconds, into: &consumer)
            }
        }
    }

    mutating func run(_ datagrams: [[UInt8]], from address: IPAddress = exporterAddress) -> RecordingFlowConsumer {
        var consumer = RecordingFlowConsumer()
        run(datagrams, from: address, into: &consumer)
        return consumer
    }
}
