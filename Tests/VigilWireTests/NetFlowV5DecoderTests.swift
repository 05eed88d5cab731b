import Testing
import VigilWire

/// A v5 datagram of `count` copies of one record (the record's first/last uptime given).
private func v5Datagram(
    count: Int,
    sequence: UInt32,
    uptime: UInt32 = 100_000,
    first: UInt32 = 90_000,
    last: UInt32 = 99_000,
    sampling: UInt16 = 0x4000 | 100
) -> [UInt8] {
    var w = WireBytes()
    w.u16(5)
    w.u16(UInt16(count))
    w.u32(uptime)
    w.u32(1_700_000_000)
    w.u32(500_000_000)
    w.u32(sequence)
    w.u8(1)  // engine_type
    w.u8(2)  // engine_id
    w.u16(sampling)
    for _ in 0..<count {
        w.ipv4(10, 0, 0, 1)
        w.ipv4(192, 168, 1, 2)
        w.ipv4(0, 0, 0, 0)  // nexthop
        w.u16(3)
        w.u16(4)
        w.u32(10)  // packets
        w.u32(1500)  // octets
        w.u32(first)
        w.u32(last)
        w.u16(1234)
        w.u16(80)
        w.u8(0)
        w.u8(0x1B)
        w.u8(6)
        w.u8(0x10)
        w.u16(65001)
        w.u16(65002)
        w.u8(24)
        w.u8(16)
        w.u16(0)
    }
    return w.bytes
}

private func decodeV5(_ datagrams: [[UInt8]], decoder: inout NetFlowV5Decoder) -> RecordingFlowConsumer {
    var consumer = RecordingFlowConsumer()
    for datagram in datagrams {
        datagram.withUnsafeBytes {
            decoder.decode($0, from: exporterAddress, arrivalNanoseconds: 42, into: &consumer)
        }
    }
    return consumer
}

@Suite("NetFlow v5")
struct NetFlowV5DecoderTests {
    @Test("a v5 record decodes to hand-computed fields, epoch times and the header's sampling interval")
    func decodesRecord() {
        var decoder = NetFlowV5Decoder()
        let consumer = decodeV5([v5Datagram(count: 1, sequence: 1000)], decoder: &decoder)
        #expect(consumer.errors.isEmpty)
        guard case .datagram(let info) = consumer.events.first else {
            Issue.record("no datagram event")
            return
        }
        #expect(info.format == .netFlowV5)
        #expect(info.exporter == FlowExporterKey(address: exporterAddress, observationDomain: 0x0102))
        #expect(info.exportNanoseconds == 1_700_000_000_500_000_000)
        #expect(info.sequenceNumber == 1000)
        var expected = FlowRecord()
        expected.sourceAddress = IPAddress(ipv4: 0x0A00_0001)
        expected.destinationAddress = IPAddress(ipv4: 0xC0A8_0102)
        expected.inputInterface = 3
        expected.outputInterface = 4
        expected.packets = 10
        expected.octets = 1500
        // export 1_700_000_000_500 ms; first was 10 s and last 1 s of uptime before it.
        expected.startMilliseconds = 1_699_999_990_500
        expected.endMilliseconds = 1_699_999_999_500
        expected.sourcePort = 1234
        expected.destinationPort = 80
        expected.tcpFlags = 0x1B
        expected.protocolNumber = 6
        expected.typeOfService = 0x10
        expected.sourceAS = 65001
        expected.destinationAS = 65002
        expected.ipVersion = 4
        expected.samplingInterval = 100
        #expect(consumer.records == [expected])
    }

    @Test("an uptime that wrapped between first and the header still gives a time just before the export")
    func uptimeWrap() {
        var decoder = NetFlowV5Decoder()
        let consumer = decodeV5(
            [v5Datagram(count: 1, sequence: 0, uptime: 500, first: UInt32.max - 499, last: 500, sampling: 0)],
            decoder: &decoder
        )
        #expect(consumer.records.map(\.startMilliseconds) == [1_699_999_999_500])
        #expect(consumer.records.map(\.endMilliseconds) == [1_700_000_000_500])
        #expect(consumer.records.map(\.samplingInterval) == [0])
    }

    @Test("flow_sequence gaps count missing flows; a restart (backwards) resets without a gap")
    func sequenceGaps() {
        var decoder = NetFlowV5Decoder()
        let consumer = decodeV5(
            [
                v5Datagram(count: 2, sequence: 1000),  // expects 1002 next
                v5Datagram(count: 3, sequence: 1005),  // 3 missing; expects 1008
                v5Datagram(count: 1, sequence: 10),  // restart
                v5Datagram(count: 1, sequence: 11),
                v5Datagram(count: 1, sequence: UInt32.max),  // forward 2^32 - 13: a backward jump, reset
                v5Datagram(count: 1, sequence: 2),  // wraps: expected 0, so 2 missing
            ],
            decoder: &decoder
        )
        #expect(consumer.gaps == [3, 2])
        #expect(consumer.records.count == 9)
    }

    @Test("a count outside 1...30 or a length that disagrees with it drops the datagram as length_mismatch")
    func lengthMismatch() {
        var decoder = NetFlowV5Decoder()
        var short = v5Datagram(count: 2, sequence: 0)
        short.removeLast()
        var zero = v5Datagram(count: 1, sequence: 0)
        zero[3] = 0
        var over = v5Datagram(count: 30, sequence: 0)
        over[3] = 31
        let consumer = decodeV5(
            [short, zero, over, Array(v5Datagram(count: 1, sequence: 0).prefix(23))],
            decoder: &decoder
        )
        #expect(consumer.reasons == [.lengthMismatch, .lengthMismatch, .lengthMismatch, .shortHeader])
        #expect(consumer.records.isEmpty)
        #expect(consumer.events.allSatisfy { $0 == .error($0.reasonForTest!, hasInfo: false) })
    }

    @Test("exporters past maximumExporters are refused as exporter_limit")
    func exporterLimit() {
        var limits = FlowDecoderLimits()
        limits.maximumExporters = 1
        var decoder = NetFlowV5Decoder(limits: limits)
        var other = v5Datagram(count: 1, sequence: 0)
        other[21] = 9  // another engine id: another exporter
        let consumer = decodeV5([v5Datagram(count: 1, sequence: 0), other], decoder: &decoder)
        #expect(consumer.reasons == [.exporterLimit])
        #expect(consumer.records.count == 1)
        #expect(decoder.exporterCount == 1)
    }
}

extension FlowEvent {
    var reasonForTest: FlowDecodeError.Reason? {
        if case .error(let reason, _) = self { reason } else { nil }
    }
}
