import Testing
import VigilWire

@Suite("sFlow v5 decoder")
struct SFlowDecoderTests {
    /// 10.1.2.3:12345 → 192.0.2.9:443, SYN|ACK, ToS 0x20, in VLAN 42.
    static let taggedTCPFrame = Frames.ethernet(
        vlans: [42],
        etherType: 0x0800,
        Frames.ipv4(0x0A01_0203, 0xC000_0209, protocol: 6, tos: 0x20, Frames.tcp(12345, 443, flags: 0x12))
    )

    @Test("a flow sample with an Ethernet/802.1Q/IPv4/TCP header gives one record with the hand-computed key")
    func taggedIPv4TCP() {
        let sample = SFlowBuilder.flowSample(
            rate: 512,
            input: 7,
            output: 0x8000_0002,  // format 2: sent to 2 interfaces, no single ifIndex
            records: [SFlowBuilder.rawHeader(protocol: 1, frameLength: 1518, Self.taggedTCPFrame)]
        )
        let consumer = decodeSFlow(SFlowBuilder.datagram(subAgent: 3, sequence: 99, samples: [(1, sample)]))
        #expect(consumer.errors.isEmpty)
        #expect(consumer.datagrams.count == 1)
        let info = consumer.datagrams[0]
        #expect(info.format == .sFlowV5)
        #expect(info.exporter == FlowExporterKey(address: IPAddress(ipv4: 0xC000_0201), observationDomain: 3))
        #expect(info.exportNanoseconds == 1_000 && info.arrivalNanoseconds == 1_000)
        #expect(info.sequenceNumber == 99)
        var expected = FlowRecord()
        expected.sourceAddress = IPAddress(ipv4: 0x0A01_0203)
        expected.destinationAddress = IPAddress(ipv4: 0xC000_0209)
        expected.sourcePort = 12345
        expected.destinationPort = 443
        expected.protocolNumber = 6
        expected.tcpFlags = 0x12
        expected.typeOfService = 0x20
        expected.ipVersion = 4
        expected.vlan = 42
        expected.inputInterface = 7
        expected.outputInterface = 0
        expected.octets = 1518
        expected.packets = 1
        expected.samplingInterval = 512
        #expect(consumer.records == [expected])
    }

    @Test("an expanded flow sample with a QinQ IPv6/UDP header keeps the outer VLAN and 32-bit interfaces")
    func expandedIPv6UDP() {
        let frame = Frames.ethernet(
            vlans: [100, 200],
            etherType: 0x86DD,
            Frames.ipv6(
                Frames.v6Source,
                Frames.v6Destination,
                next: 17,
                trafficClass: 0xB8,
                Frames.udp(53, 40000, [1, 2])
            )
        )
        var switchRecord = WireBuilder()
        for value: UInt32 in [7, 0, 8, 0] { switchRecord.u32(value) }
        let sample = SFlowBuilder.expandedFlowSample(
            rate: 1000,
            input: (0, 1_000_000_000),
            output: (0, 5),
            records: [
                SFlowBuilder.record(1001, switchRecord.bytes),
                SFlowBuilder.rawHeader(protocol: 1, frameLength: 90, frame),
            ]
        )
        let consumer = decodeSFlow(
            SFlowBuilder.datagram(agent6: Frames.v6Destination, subAgent: 1, samples: [(3, sample)])
        )
        #expect(consumer.errors.isEmpty)
        #expect(consumer.datagrams.first?.exporter.address.description == "2001:db8::2")
        #expect(consumer.records.count == 1)
        let record = consumer.records[0]
        #expect(record.sourceAddress.description == "2001:db8::1")
        #expect(record.destinationAddress.description == "2001:db8::2")
        #expect(record.sourcePort == 53 && record.destinationPort == 40000 && record.protocolNumber == 17)
        #expect(record.typeOfService == 0xB8 && record.ipVersion == 6)
        #expect(record.vlan == 100)  // the header's outer tag, not the extended switch's 7
        #expect(record.inputInterface == 1_000_000_000 && record.outputInterface == 5)
        #expect(record.octets == 90 && record.packets == 1 && record.samplingInterval == 1000)
    }

    @Test("header protocol 11 (IPv4, no link layer) with ICMP gives type << 8 | code as the destination port")
    func ipv4ICMPHeader() {
        let packet = Frames.ipv4(0x0A00_0001, 0x0A00_0002, protocol: 1, [3, 1, 0, 0, 0, 0, 0, 0])
        let sample = SFlowBuilder.flowSample(
            rate: 1,
            input: 0x3FFF_FFFF,  // "internal": no ifIndex
            output: 9,
            records: [SFlowBuilder.rawHeader(protocol: 11, frameLength: 28, stripped: 0, packet)]
        )
        let consumer = decodeSFlow(SFlowBuilder.datagram(samples: [(1, sample)]))
        #expect(consumer.errors.isEmpty)
        #expect(consumer.records.map(\.destinationPort) == [0x0301])
        #expect(consumer.records.map(\.inputInterface) == [0])
        #expect(consumer.records.map(\.outputInterface) == [9])
        #expect(consumer.records.map(\.vlan) == [0])
    }

    @Test("header protocol 12 (IPv6): hop-by-hop and destination options are skipped to the TCP ports")
    func ipv6ExtensionHeaders() {
        let hopByHop: [UInt8] = [60, 0, 1, 4, 0, 0, 0, 0]  // next: destination options; 8 bytes
        let destinationOptions: [UInt8] = [6, 1] + [UInt8](repeating: 0, count: 14)  // next: TCP; 16 bytes
        let packet = Frames.ipv6(
            Frames.v6Source,
            Frames.v6Destination,
            next: 0,
            hopByHop + destinationOptions + Frames.tcp(2000, 22, flags: 0x02)
        )
        let sample = SFlowBuilder.flowSample(
            rate: 1,
            input: 1,
            output: 2,
            records: [SFlowBuilder.rawHeader(protocol: 12, frameLength: 200, packet)]
        )
        let consumer = decodeSFlow(SFlowBuilder.datagram(samples: [(1, sample)]))
        #expect(consumer.errors.isEmpty)
        #expect(consumer.records.map(\.protocolNumber) == [6])
        #expect(consumer.records.map(\.sourcePort) == [2000])
        #expect(consumer.records.map(\.destinationPort) == [22])
        #expect(consumer.records.map(\.tcpFlags) == [0x02])
    }

    @Test("a first IPv4 fragment keeps its ports; a later fragment has none")
    func ipv4Fragments() {
        let first = Frames.ipv4(1, 2, protocol: 17, flagsAndOffset: 0x2000, Frames.udp(7, 8, [0]))
        let later = Frames.ipv4(1, 2, protocol: 17, flagsAndOffset: 100, Frames.udp(7, 8, [0]))
        let sample = { (packet: [UInt8]) in
            (
                UInt32(1),
                SFlowBuilder.flowSample(
                    rate: 1,
                    input: 1,
                    output: 2,
                    records: [SFlowBuilder.rawHeader(protocol: 11, frameLength: 1500, stripped: 0, packet)]
                )
            )
        }
        let consumer = decodeSFlow(SFlowBuilder.datagram(samples: [sample(first), sample(later)]))
        #expect(consumer.errors.isEmpty)
        #expect(consumer.records.map(\.sourcePort) == [7, 0])
        #expect(consumer.records.map(\.protocolNumber) == [17, 17])
    }

    @Test("without a raw header, a sampled IPv4 record and an extended switch record give the key and VLAN")
    func sampledIPv4WithSwitch() {
        var sampled = WireBuilder()
        for value: UInt32 in [1400, 17, 0x0A00_0001, 0x0A00_0002, 5000, 2055, 0, 0x10] { sampled.u32(value) }
        var switchRecord = WireBuilder()
        for value: UInt32 in [55, 0, 56, 0] { switchRecord.u32(value) }
        let sample = SFlowBuilder.flowSample(
            rate: 64,
            input: 1,
            output: 2,
            records: [SFlowBuilder.record(3, sampled.bytes), SFlowBuilder.record(1001, switchRecord.bytes)]
        )
        let consumer = decodeSFlow(SFlowBuilder.datagram(samples: [(1, sample)]))
        #expect(consumer.errors.isEmpty)
        var expected = FlowRecord()
        expected.sourceAddress = IPAddress(ipv4: 0x0A00_0001)
        expected.destinationAddress = IPAddress(ipv4: 0x0A00_0002)
        expected.sourcePort = 5000
        expected.destinationPort = 2055
        expected.protocolNumber = 17
        expected.typeOfService = 0x10
        expected.ipVersion = 4
        expected.vlan = 55
        expected.inputInterface = 1
        expected.outputInterface = 2
        expected.octets = 1400
        expected.packets = 1
        expected.samplingInterval = 64
        #expect(consumer.records == [expected])
    }

    @Test("compact and expanded counter samples give generic interface counters; ifStatus bit 1 is 'up'")
    func counterSamples() {
        let compact = SFlowBuilder.counterSample(
            expanded: false,
            records: [
                SFlowBuilder.record(2, [UInt8](repeating: 0, count: 52)),
                SFlowBuilder.genericCounters(ifIndex: 5, status: 3),
            ]
        )
        let expanded = SFlowBuilder.counterSample(
            expanded: true,
            records: [SFlowBuilder.genericCounters(ifIndex: 6, status: 1)]
        )
        let consumer = decodeSFlow(SFlowBuilder.datagram(samples: [(2, compact), (4, expanded)]))
        #expect(consumer.errors.isEmpty)
        #expect(consumer.records.isEmpty)
        var expected = InterfaceCounterRecord()
        expected.interfaceIndex = 5
        expected.speedBitsPerSecond = 10_000_000_000
        expected.inputOctets = 1_000_001
        expected.inputUnicastPackets = 11
        expected.inputMulticastPackets = 12
        expected.inputBroadcastPackets = 13
        expected.inputDiscards = 14
        expected.inputErrors = 15
        expected.outputOctets = 2_000_002
        expected.outputUnicastPackets = 21
        expected.outputMulticastPackets = 22
        expected.outputBroadcastPackets = 23
        expected.outputDiscards = 24
        expected.outputErrors = 25
        expected.operationallyUp = true
        var down = expected
        down.interfaceIndex = 6
        down.operationallyUp = false
        #expect(consumer.counters == [expected, down])
    }

    @Test("samples of other enterprises or formats are skipped by length and the next sample is decoded")
    func unknownSamplesSkipped() {
        let sample = SFlowBuilder.flowSample(
            rate: 1,
            input: 1,
            output: 2,
            records: [
                SFlowBuilder.record(2, [UInt8](repeating: 0, count: 24)),
                SFlowBuilder.rawHeader(protocol: 1, frameLength: 100, Self.taggedTCPFrame),
            ]
        )
        let consumer = decodeSFlow(
            SFlowBuilder.datagram(samples: [((9 << 12) | 1, [1, 2, 3, 4, 5, 6, 7, 8]), (1, sample)])
        )
        #expect(consumer.errors.isEmpty)
        #expect(consumer.records.count == 1)
    }

    @Test("datagram sequence gaps are reported per agent and sub-agent; a restart is not a gap")
    func sequenceGaps() {
        var decoder = SFlowDecoder()
        var gaps: [UInt64] = []
        for (subAgent, sequence) in [(0, 10), (0, 11), (1, 500), (0, 15), (1, 501), (0, 2), (0, 3), (1, 503)] {
            let datagram = SFlowBuilder.datagram(subAgent: UInt32(subAgent), sequence: UInt32(sequence), samples: [])
            gaps += decodeSFlow(datagram, decoder: &decoder).gaps
        }
        #expect(gaps == [3, 1])
        #expect(decoder.exporterCount == 2)
    }

    @Test("agents beyond limits.maximumExporters are decoded but not followed (exporter_limit)")
    func exporterLimit() {
        var limits = FlowDecoderLimits()
        limits.maximumExporters = 1
        var decoder = SFlowDecoder(limits: limits)
        let first = decodeSFlow(SFlowBuilder.datagram(subAgent: 0, samples: []), decoder: &decoder)
        let second = decodeSFlow(SFlowBuilder.datagram(subAgent: 1, samples: []), decoder: &decoder)
        #expect(first.errors.isEmpty)
        #expect(second.reasons == [.exporterLimit])
        #expect(second.datagrams.count == 1)
        #expect(decoder.exporterCount == 1)
    }
}

@Suite("sFlow v5 decoder: hostile lengths")
struct SFlowHostileLengthTests {
    static let goodHeader = SFlowBuilder.rawHeader(protocol: 1, frameLength: 100, SFlowDecoderTests.taggedTCPFrame)

    static func flow(_ records: [[UInt8]], recordCount: UInt32? = nil) -> [UInt8] {
        SFlowBuilder.flowSample(rate: 1, input: 1, output: 2, recordCount: recordCount, records: records)
    }

    @Test("a header that is not version 5, or too short, is reported with no datagram info")
    func badHeaders() {
        #expect(decodeSFlow([0, 0, 0]).reasons == [.shortHeader])
        var v4 = SFlowBuilder.datagram(samples: [])
        v4[3] = 4
        #expect(decodeSFlow(v4).reasons == [.notAFlowDatagram])
        var badAddressType = SFlowBuilder.datagram(samples: [])
        badAddressType[7] = 9
        #expect(decodeSFlow(badAddressType).reasons == [.notAFlowDatagram])
        let cut = Array(SFlowBuilder.datagram(samples: []).prefix(20))
        let consumer = decodeSFlow(cut)
        #expect(consumer.reasons == [.shortHeader] && consumer.datagrams.isEmpty)
    }

    @Test("a sample longer than the datagram is truncated")
    func sampleLengthPastDatagram() {
        var bytes = SFlowBuilder.datagram(samples: [(1, Self.flow([Self.goodHeader]))])
        bytes[31] &+= 8  // the sample's length (header 28 bytes, format 4, length's last byte at 35)
        bytes[35] &+= 8
        let consumer = decodeSFlow(bytes)
        #expect(consumer.reasons == [.truncated])
        #expect(consumer.records.isEmpty)
    }

    @Test("a sample count the datagram cannot hold is a length mismatch, after the samples that are there")
    func sampleCountLies() {
        let consumer = decodeSFlow(
            SFlowBuilder.datagram(sampleCount: 1_000_000, samples: [(1, Self.flow([Self.goodHeader]))])
        )
        #expect(consumer.reasons == [.lengthMismatch])
        #expect(consumer.records.count == 1)
        #expect(decodeSFlow(SFlowBuilder.datagram(sampleCount: UInt32.max, samples: [])).reasons == [.lengthMismatch])
    }

    @Test("a sample length that is not a multiple of 4 is a bad sample length, and ends the datagram")
    func misalignedSample() {
        #expect(
            decodeSFlow(SFlowBuilder.datagram(samples: [(1, [0, 0, 0, 0, 0, 0])])).reasons == [
                .badSampleLength
            ]
        )
    }

    @Test("a flow sample too short for its fields is a bad sample length; the next sample still decodes")
    func shortFlowSample() {
        let consumer = decodeSFlow(
            SFlowBuilder.datagram(samples: [(1, [UInt8](repeating: 0, count: 28)), (1, Self.flow([Self.goodHeader]))])
        )
        #expect(consumer.reasons == [.badSampleLength])
        #expect(consumer.records.count == 1)
    }

    @Test("a record longer than its sample is truncated")
    func recordLengthPastSample() {
        var record = Self.goodHeader
        record[7] &+= 64
        let consumer = decodeSFlow(SFlowBuilder.datagram(samples: [(1, Self.flow([record]))]))
        #expect(consumer.reasons == [.truncated])
        #expect(consumer.records.isEmpty)
    }

    @Test("a record count the sample cannot hold is a bad sample length")
    func recordCountLies() {
        let consumer = decodeSFlow(SFlowBuilder.datagram(samples: [(1, Self.flow([Self.goodHeader], recordCount: 40))]))
        #expect(consumer.reasons == [.badSampleLength])
        #expect(consumer.records.count == 1)  // the record that was there still counts
    }

    @Test("a header opaque longer than its record is a bad sample length")
    func headerOpaquePastRecord() {
        var record = Self.goodHeader
        record[8 + 15] &+= 100  // header length (record body offset 12)
        let consumer = decodeSFlow(SFlowBuilder.datagram(samples: [(1, Self.flow([record]))]))
        #expect(consumer.reasons == [.badSampleLength])
    }

    @Test("a header longer than frame_length - stripped, or stripped above frame_length, is a bad packet header")
    func headerPastFrame() {
        let short = SFlowBuilder.rawHeader(protocol: 1, frameLength: 40, SFlowDecoderTests.taggedTCPFrame)
        #expect(decodeSFlow(SFlowBuilder.datagram(samples: [(1, Self.flow([short]))])).reasons == [.badPacketHeader])
        let stripped = SFlowBuilder.rawHeader(protocol: 1, frameLength: 4, stripped: 8, [])
        #expect(decodeSFlow(SFlowBuilder.datagram(samples: [(1, Self.flow([stripped]))])).reasons == [.badPacketHeader])
    }

    @Test("an IP header cut inside the sampled bytes, or an unknown header protocol, is a bad packet header")
    func unparseableHeader() {
        let cut = SFlowBuilder.rawHeader(
            protocol: 1,
            frameLength: 100,
            Array(SFlowDecoderTests.taggedTCPFrame.prefix(30))
        )
        #expect(decodeSFlow(SFlowBuilder.datagram(samples: [(1, Self.flow([cut]))])).reasons == [.badPacketHeader])
        let other = SFlowBuilder.rawHeader(protocol: 7, frameLength: 100, [1, 2, 3, 4])
        #expect(decodeSFlow(SFlowBuilder.datagram(samples: [(1, Self.flow([other]))])).reasons == [.badPacketHeader])
        var badIHL = SFlowBuilder.rawHeader(protocol: 11, frameLength: 100, Frames.ipv4(1, 2, protocol: 6, []))
        badIHL[8 + 16] = 0x43
        #expect(decodeSFlow(SFlowBuilder.datagram(samples: [(1, Self.flow([badIHL]))])).reasons == [.badPacketHeader])
    }

    @Test("a generic counters record too short for its 88 bytes is a bad sample length")
    func shortCounters() {
        let sample = SFlowBuilder.counterSample(
            expanded: false,
            records: [SFlowBuilder.record(1, [UInt8](repeating: 0, count: 84))]
        )
        let consumer = decodeSFlow(SFlowBuilder.datagram(samples: [(2, sample)]))
        #expect(consumer.reasons == [.badSampleLength])
        #expect(consumer.counters.isEmpty)
    }
}
