import VigilWire

/// Builds big-endian (XDR, network order) or little-endian byte strings for hand-made datagrams and captures.
struct WireBuilder {
    var bytes: [UInt8] = []
    var littleEndian = false

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) {
        let ordered =
            littleEndian ? [UInt8(value & 0xFF), UInt8(value >> 8)] : [UInt8(value >> 8), UInt8(value & 0xFF)]
        bytes += ordered
    }
    mutating func u32(_ value: UInt32) {
        var ordered = (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) }
        if littleEndian { ordered.reverse() }
        bytes += ordered
    }
    mutating func u64(_ value: UInt64) {
        var ordered = (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
        if littleEndian { ordered.reverse() }
        bytes += ordered
    }
    mutating func raw(_ more: [UInt8]) { bytes += more }
    mutating func pad4() { while bytes.count % 4 != 0 { bytes.append(0) } }
}

/// Packet headers, hand-made: checksums are left 0 (nothing here checks them).
enum Frames {
    static func ethernet(vlans: [UInt16] = [], etherType: UInt16, _ payload: [UInt8]) -> [UInt8] {
        var w = WireBuilder()
        w.raw([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
        // Each tag is its TPID (802.1ad outside a QinQ pair) then its tag control (priority 0, the VLAN id).
        for (index, vlan) in vlans.enumerated() {
            w.u16(index == 0 && vlans.count > 1 ? 0x88A8 : 0x8100)
            w.u16(vlan)
        }
        w.u16(etherType)
        w.raw(payload)
        return w.bytes
    }

    static func ipv4(
        _ source: UInt32,
        _ destination: UInt32,
        protocol number: UInt8,
        tos: UInt8 = 0,
        flagsAndOffset: UInt16 = 0,
        _ payload: [UInt8]
    ) -> [UInt8] {
        var w = WireBuilder()
        w.u8(0x45)
        w.u8(tos)
        w.u16(UInt16(20 + payload.count))
        w.u16(0x1234)
        w.u16(flagsAndOffset)
        w.u8(64)
        w.u8(number)
        w.u16(0)
        w.u32(source)
        w.u32(destination)
        w.raw(payload)
        return w.bytes
    }

    static func ipv6(
        _ source: [UInt8],
        _ destination: [UInt8],
        next: UInt8,
        trafficClass: UInt8 = 0,
        _ payload: [UInt8]
    ) -> [UInt8] {
        var w = WireBuilder()
        w.u32(6 << 28 | UInt32(trafficClass) << 20)
        w.u16(UInt16(payload.count))
        w.u8(next)
        w.u8(64)
        w.raw(source)
        w.raw(destination)
        w.raw(payload)
        return w.bytes
    }

    static func tcp(_ sourcePort: UInt16, _ destinationPort: UInt16, flags: UInt8) -> [UInt8] {
        var w = WireBuilder()
        w.u16(sourcePort)
        w.u16(destinationPort)
        w.u32(1)
        w.u32(0)
        w.u8(0x50)
        w.u8(flags)
        w.u16(1024)
        w.u32(0)
        return w.bytes
    }

    static func udp(_ sourcePort: UInt16, _ destinationPort: UInt16, _ payload: [UInt8]) -> [UInt8] {
        var w = WireBuilder()
        w.u16(sourcePort)
        w.u16(destinationPort)
        w.u16(UInt16(8 + payload.count))
        w.u16(0)
        w.raw(payload)
        return w.bytes
    }

    static let v6Source: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1]
    static let v6Destination: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [2]
}

/// Everything a flow decoder told its consumer.
struct SFlowRecordingConsumer: FlowConsumer {
    var datagrams: [FlowDatagramInfo] = []
    var records: [FlowRecord] = []
    var counters: [InterfaceCounterRecord] = []
    var gaps: [UInt64] = []
    var errors: [FlowDecodeError] = []

    var reasons: [FlowDecodeError.Reason] { errors.map(\.reason) }

    mutating func flowDatagram(_ info: FlowDatagramInfo) { datagrams.append(info) }
    mutating func flowRecord(_ record: FlowRecord, info: FlowDatagramInfo) { records.append(record) }
    mutating func flowInterfaceCounters(_ counters: InterfaceCounterRecord, info: FlowDatagramInfo) {
        self.counters.append(counters)
    }
    mutating func flowSequenceGap(missing: UInt64, info: FlowDatagramInfo) { gaps.append(missing) }
    mutating func flowError(_ error: FlowDecodeError, info: FlowDatagramInfo?) { errors.append(error) }
}

/// Everything a capture reader told its consumer; payloads copied out.
struct RecordingCaptureConsumer: CapturedDatagramConsumer {
    struct Datagram: Equatable {
        var payload: [UInt8]
        var source: IPAddress
        var sourcePort: UInt16
        var destination: IPAddress
        var destinationPort: UInt16
        var timestampNanoseconds: Int64
    }
    var datagrams: [Datagram] = []
    var errors: [FlowDecodeError] = []
    var packets = 0

    var reasons: [FlowDecodeError.Reason] { errors.map(\.reason) }

    mutating func capturedDatagram(
        _ payload: UnsafeRawBufferPointer,
        source: IPAddress,
        sourcePort: UInt16,
        destination: IPAddress,
        destinationPort: UInt16,
        timestampNanoseconds: Int64
    ) {
        datagrams.append(
            .init(
                payload: Array(payload),
                source: source,
                sourcePort: sourcePort,
                destination: destination,
                destinationPort: destinationPort,
                timestampNanoseconds: timestampNanoseconds
            )
        )
    }
    mutating func captureError(_ error: FlowDecodeError) { errors.append(error) }
    mutating func capturedPacket() { packets += 1 }
}

/// Decodes one sFlow datagram with a fresh decoder (unless one is given).
func decodeSFlow(_ bytes: [UInt8], decoder: inout SFlowDecoder, arrival: Int64 = 1_000) -> SFlowRecordingConsumer {
    var consumer = SFlowRecordingConsumer()
    bytes.withUnsafeBytes {
        decoder.decode($0, from: IPAddress(ipv4: 0x0A00_0001), arrivalNanoseconds: arrival, into: &consumer)
    }
    return consumer
}

func decodeSFlow(_ bytes: [UInt8]) -> SFlowRecordingConsumer {
    var decoder = SFlowDecoder()
    return decodeSFlow(bytes, decoder: &decoder)
}

/// Feeds a capture the way a reader of a pipe does: `chunk` bytes at a time, keeping the unconsumed tail.
func readCapture(_ bytes: [UInt8], chunk: Int = .max) -> (RecordingCaptureConsumer, CaptureStreamDecoder) {
    var decoder = CaptureStreamDecoder()
    var consumer = RecordingCaptureConsumer()
    var pending: [UInt8] = []
    var next = 0
    while next < bytes.count {
        let end = min(bytes.count, next + min(chunk, bytes.count - next))
        pending += bytes[next..<end]
        next = end
        let used = pending.withUnsafeBytes { decoder.decode($0, into: &consumer) }
        pending.removeFirst(used)
    }
    pending.withUnsafeBytes { decoder.finish(remaining: $0, into: &consumer) }
    return (consumer, decoder)
}

/// sFlow v5 datagrams and their parts.
enum SFlowBuilder {
    /// A datagram with an IPv4 agent (or IPv6 when `agent6` is given).
    static func datagram(
        agent: UInt32 = 0xC000_0201,
        agent6: [UInt8]? = nil,
        subAgent: UInt32 = 0,
        sequence: UInt32 = 1,
        sampleCount: UInt32? = nil,
        samples: [(format: UInt32, body: [UInt8])]
    ) -> [UInt8] {
        var w = WireBuilder()
        w.u32(5)
        if let agent6 {
            w.u32(2)
            w.raw(agent6)
        } else {
            w.u32(1)
            w.u32(agent)
        }
        w.u32(subAgent)
        w.u32(sequence)
        w.u32(123_456)
        w.u32(sampleCount ?? UInt32(samples.count))
        for sample in samples {
            w.u32(sample.format)
            w.u32(UInt32(sample.body.count))
            w.raw(sample.body)
        }
        return w.bytes
    }

    static func record(_ format: UInt32, _ body: [UInt8]) -> [UInt8] {
        var w = WireBuilder()
        w.u32(format)
        w.u32(UInt32(body.count))
        w.raw(body)
        return w.bytes
    }

    /// A compact flow sample (format 1) body.
    static func flowSample(
        rate: UInt32,
        input: UInt32,
        output: UInt32,
        recordCount: UInt32? = nil,
        records: [[UInt8]]
    ) -> [UInt8] {
        var w = WireBuilder()
        w.u32(7)  // sequence
        w.u32(3)  // source id: ifIndex 3
        w.u32(rate)
        w.u32(rate * 10)  // pool
        w.u32(0)  // drops
        w.u32(input)
        w.u32(output)
        w.u32(recordCount ?? UInt32(records.count))
        for record in records { w.raw(record) }
        return w.bytes
    }

    /// An expanded flow sample (format 3) body.
    static func expandedFlowSample(
        rate: UInt32,
        input: (format: UInt32, value: UInt32),
        output: (format: UInt32, value: UInt32),
        records: [[UInt8]]
    ) -> [UInt8] {
        var w = WireBuilder()
        w.u32(7)
        w.u32(0)
        w.u32(3)
        w.u32(rate)
        w.u32(rate * 10)
        w.u32(0)
        w.u32(input.format)
        w.u32(input.value)
        w.u32(output.format)
        w.u32(output.value)
        w.u32(UInt32(records.count))
        for record in records { w.raw(record) }
        return w.bytes
    }

    /// A raw packet header record (format 1) with the header padded to 4 bytes.
    static func rawHeader(
        protocol number: UInt32,
        frameLength: UInt32,
        stripped: UInt32 = 4,
        _ header: [UInt8]
    )
        -> [UInt8]
    {
        var w = WireBuilder()
        w.u32(number)
        w.u32(frameLength)
        w.u32(stripped)
        w.u32(UInt32(header.count))
        w.raw(header)
        w.pad4()
        return record(1, w.bytes)
    }

    /// Generic interface counters (counter record format 1), 88 bytes, each field a distinct value.
    static func genericCounters(ifIndex: UInt32, status: UInt32) -> [UInt8] {
        var w = WireBuilder()
        w.u32(ifIndex)
        w.u32(6)  // ifType ethernetCsmacd
        w.u64(10_000_000_000)
        w.u32(1)  // full duplex
        w.u32(status)
        w.u64(1_000_001)
        for value: UInt32 in [11, 12, 13, 14, 15, 16] { w.u32(value) }
        w.u64(2_000_002)
        for value: UInt32 in [21, 22, 23, 24, 25, 0] { w.u32(value) }
        return record(1, w.bytes)
    }

    static func counterSample(expanded: Bool, records: [[UInt8]]) -> [UInt8] {
        var w = WireBuilder()
        w.u32(9)
        if expanded {
            w.u32(0)
            w.u32(5)
        } else {
            w.u32(5)
        }
        w.u32(UInt32(records.count))
        for record in records { w.raw(record) }
        return w.bytes
    }
}
