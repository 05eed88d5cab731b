import Testing
import VigilCore
import VigilWire

@Suite("sFlow decoder and capture reader under mutation")
struct SFlowCaptureMutationTests {
    /// Valid inputs the mutations start from.
    static let sFlowSeeds: [[UInt8]] = {
        let header = SFlowBuilder.rawHeader(protocol: 1, frameLength: 1518, SFlowDecoderTests.taggedTCPFrame)
        let v6 = SFlowBuilder.rawHeader(
            protocol: 12,
            frameLength: 200,
            Frames.ipv6(
                Frames.v6Source,
                Frames.v6Destination,
                next: 0,
                [17, 0, 0, 0, 0, 0, 0, 0] + Frames.udp(1, 2, [])
            )
        )
        var sampled = WireBuilder()
        for value: UInt32 in [1400, 17, 1, 2, 5000, 2055, 0, 0x10] { sampled.u32(value) }
        let flow = SFlowBuilder.flowSample(
            rate: 10,
            input: 1,
            output: 2,
            records: [header, SFlowBuilder.record(3, sampled.bytes)]
        )
        let expanded = SFlowBuilder.expandedFlowSample(rate: 10, input: (0, 1), output: (0, 2), records: [v6])
        let counters = SFlowBuilder.counterSample(
            expanded: false,
            records: [SFlowBuilder.genericCounters(ifIndex: 1, status: 3)]
        )
        return [
            SFlowBuilder.datagram(samples: [(1, flow), (2, counters)]),
            SFlowBuilder.datagram(agent6: Frames.v6Source, samples: [(3, expanded), (1, flow)]),
            SFlowBuilder.datagram(samples: [(4, SFlowBuilder.counterSample(expanded: true, records: [])), (1, flow)]),
        ]
    }()

    static let captureSeeds: [[UInt8]] = {
        var b = PcapngBuilder(littleEndian: false)
        b.sectionHeader()
        b.interface(linkType: 1, timestampResolution: 0x80 | 20)
        b.interface(linkType: 113)
        b.enhancedPacket(interface: 0, units: 77, Captures.udpFrame(1))
        b.simplePacket(Captures.udpFrame(2))
        var sll = [UInt8](repeating: 0, count: 14) + [0x08, 0x00]
        sll += Captures.udpPacket(3)
        b.enhancedPacket(interface: 1, units: 78, sll)
        return [
            b.w.bytes,
            Captures.pcap(littleEndian: true, packets: CaptureReaderTests.threePackets),
            Captures.pcap(
                littleEndian: false,
                nanoseconds: true,
                linkType: 101,
                packets: [(1, 2, Captures.udpPacket(4))]
            ),
        ]
    }()

    /// Values that make lengths and counts lie.
    static let interestingWords: [UInt32] = [0, 1, 3, 4, 8, 0x7F, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF]

    static func mutate(_ seed: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var bytes = seed
        for _ in 0...(random.next() % 4) {
            guard !bytes.isEmpty else { break }
            let at = Int(random.next() % UInt64(bytes.count))
            switch random.next() % 6 {
            case 0:
                bytes[at] = UInt8(truncatingIfNeeded: random.next())
            case 1:
                bytes[at] ^= 1 << UInt8(random.next() % 8)
            case 2:  // A whole word (a length, a count, a format) set to a lying value.
                let word = at & ~3
                guard word + 4 <= bytes.count else { continue }
                let value =
                    random.next() % 2 == 0
                    ? interestingWords[Int(random.next() % UInt64(interestingWords.count))]
                    : UInt32(truncatingIfNeeded: random.next())
                for index in 0..<4 { bytes[word + index] = UInt8(truncatingIfNeeded: value >> (24 - 8 * index)) }
            case 3:
                bytes.removeLast(bytes.count - at)
            case 4:
                let end = min(bytes.count, at + Int(random.next() % 64))
                bytes.insert(contentsOf: bytes[at..<end], at: at)
            default:
                bytes.removeSubrange(at..<min(bytes.count, at + 1 + Int(random.next() % 8)))
            }
        }
        return bytes
    }

    @Test(
        "100,000 seeded mutations each of sFlow datagrams and captures (×VIGIL_FUZZ_SCALE in make fuzz): no crash, no hang, bounded output"
    )
    func seededMutations() {
        var random = SplitMix64(seed: 0x5F10_CA97)
        var decoder = SFlowDecoder()
        var records = 0
        var datagrams = 0
        for iteration in 0..<(200_000 * fuzzScale) {
            if iteration % 2 == 0 {
                let seed = Self.sFlowSeeds[Int(random.next() % UInt64(Self.sFlowSeeds.count))]
                let bytes = Self.mutate(seed, &random)
                let consumer = decodeSFlow(bytes, decoder: &decoder)
                // A record needs at least a 8-byte sample header and 32 bytes of fields.
                #expect(consumer.records.count + consumer.counters.count <= bytes.count / 40 + 1)
                records += consumer.records.count
            } else {
                let seed = Self.captureSeeds[Int(random.next() % UInt64(Self.captureSeeds.count))]
                let bytes = Self.mutate(seed, &random)
                let chunk = random.next() % 3 == 0 ? Int(1 + random.next() % 64) : Int.max
                let (consumer, reader) = readCapture(bytes, chunk: chunk)
                #expect(consumer.datagrams.count <= consumer.packets)
                #expect(reader.streamOffset <= Int64(bytes.count))
                datagrams += consumer.datagrams.count
            }
        }
        // The mutations leave many inputs valid: the decoders were exercised, not just rejecting.
        #expect(records > 10_000)
        #expect(datagrams > 10_000)
        #expect(decoder.exporterCount <= FlowDecoderLimits().maximumExporters)
    }
}
