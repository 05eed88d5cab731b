import Foundation
import Testing
import VigilWire

/// Hand-built captures.
enum Captures {
    /// Ethernet / IPv4 / UDP from 10.0.0.n:2055 to 10.0.0.254:9995 carrying `[n, n, n, n]`.
    static func udpFrame(_ n: UInt8) -> [UInt8] {
        Frames.ethernet(etherType: 0x0800, udpPacket(n))
    }

    static func udpPacket(_ n: UInt8) -> [UInt8] {
        Frames.ipv4(0x0A00_0000 | UInt32(n), 0x0A00_00FE, protocol: 17, Frames.udp(2055, 9995, [n, n, n, n]))
    }

    static func pcap(
        littleEndian: Bool = true,
        nanoseconds: Bool = false,
        linkType: UInt32 = 1,
        snapLength: UInt32 = 65535,
        packets: [(seconds: UInt32, fraction: UInt32, data: [UInt8])],
        originalLengths: [Int: UInt32] = [:]
    ) -> [UInt8] {
        var w = WireBuilder(littleEndian: littleEndian)
        w.u32(nanoseconds ? 0xA1B2_3C4D : 0xA1B2_C3D4)
        w.u16(2)
        w.u16(4)
        w.u32(0)
        w.u32(0)
        w.u32(snapLength)
        w.u32(linkType)
        for (index, packet) in packets.enumerated() {
            w.u32(packet.seconds)
            w.u32(packet.fraction)
            w.u32(UInt32(packet.data.count))
            w.u32(originalLengths[index] ?? UInt32(packet.data.count))
            w.raw(packet.data)
        }
        return w.bytes
    }
}

/// pcapng blocks in one byte order.
struct PcapngBuilder {
    var w: WireBuilder

    init(littleEndian: Bool) {
        w = WireBuilder(littleEndian: littleEndian)
    }

    mutating func block(_ type: UInt32, _ body: (inout WireBuilder) -> Void) {
        var inner = WireBuilder(littleEndian: w.littleEndian)
        body(&inner)
        inner.pad4()
        w.u32(type)
        w.u32(UInt32(12 + inner.bytes.count))
        w.raw(inner.bytes)
        w.u32(UInt32(12 + inner.bytes.count))
    }

    mutating func sectionHeader() {
        block(0x0A0D_0D0A) {
            $0.u32(0x1A2B_3C4D)
            $0.u16(1)
            $0.u16(0)
            $0.u64(UInt64.max)  // section length -1: unknown
        }
    }

    mutating func interface(linkType: UInt16, timestampResolution: UInt8? = nil) {
        block(1) {
            $0.u16(linkType)
            $0.u16(0)
            $0.u32(0)
            $0.u16(2)  // if_name "x", to be skipped
            $0.u16(1)
            $0.raw([0x78, 0, 0, 0])
            if let timestampResolution {
                $0.u16(9)
                $0.u16(1)
                $0.raw([timestampResolution, 0, 0, 0])
            }
            $0.u32(0)  // opt_endofopt
        }
    }

    mutating func enhancedPacket(interface: UInt32, units: UInt64, _ data: [UInt8]) {
        block(6) {
            $0.u32(interface)
            $0.u32(UInt32(units >> 32))
            $0.u32(UInt32(truncatingIfNeeded: units))
            $0.u32(UInt32(data.count))
            $0.u32(UInt32(data.count))
            $0.raw(data)
        }
    }

    mutating func simplePacket(_ data: [UInt8]) {
        block(3) {
            $0.u32(UInt32(data.count))
            $0.raw(data)
        }
    }
}

@Suite("Capture reader: pcap and pcapng")
struct CaptureReaderTests {
    static let threePackets: [(seconds: UInt32, fraction: UInt32, data: [UInt8])] = [
        (1_700_000_000, 123_456, Captures.udpFrame(1)),
        (1_700_000_001, 0, Captures.udpFrame(2)),
        (1_700_000_002, 999_999, Captures.udpFrame(3)),
    ]

    @Test("classic pcap in both byte orders and both resolutions gives the same datagrams and exact timestamps")
    func classicPcap() {
        for littleEndian in [true, false] {
            for nanoseconds in [false, true] {
                let bytes = Captures.pcap(
                    littleEndian: littleEndian,
                    nanoseconds: nanoseconds,
                    packets: Self.threePackets
                )
                let (consumer, decoder) = readCapture(bytes)
                #expect(consumer.errors.isEmpty)
                #expect(consumer.packets == 3 && decoder.packetCount == 3 && decoder.datagramCount == 3)
                #expect(consumer.datagrams.map(\.payload) == [[1, 1, 1, 1], [2, 2, 2, 2], [3, 3, 3, 3]])
                let unit: Int64 = nanoseconds ? 1 : 1_000
                #expect(
                    consumer.datagrams.map(\.timestampNanoseconds) == [
                        1_700_000_000_000_000_000 + 123_456 * unit, 1_700_000_001_000_000_000,
                        1_700_000_002_000_000_000 + 999_999 * unit,
                    ]
                )
                let first = consumer.datagrams[0]
                #expect(first.source == IPAddress(ipv4: 0x0A00_0001) && first.sourcePort == 2055)
                #expect(first.destination == IPAddress(ipv4: 0x0A00_00FE) && first.destinationPort == 9995)
            }
        }
    }

    @Test("pcapng with two interfaces of different if_tsresol (µs default, ns, 2^-10), EPB and SPB, both byte orders")
    func pcapngInterfaces() {
        for littleEndian in [true, false] {
            var b = PcapngBuilder(littleEndian: littleEndian)
            b.sectionHeader()
            b.interface(linkType: 1)  // default: microseconds
            b.interface(linkType: 101, timestampResolution: 9)  // nanoseconds, raw IP
            b.interface(linkType: 1, timestampResolution: 0x80 | 10)  // 1/1024 s
            b.block(0x0000_0BAD) { $0.raw([1, 2, 3, 4, 5]) }  // a custom block: skipped
            b.enhancedPacket(interface: 0, units: 1_700_000_000_000_001, Captures.udpFrame(1))
            b.enhancedPacket(interface: 1, units: 1_700_000_000_000_000_002, Captures.udpPacket(2))
            b.simplePacket(Captures.udpFrame(3))  // first interface, last timestamp
            b.enhancedPacket(interface: 2, units: 3 * 1024 + 512, Captures.udpFrame(4))
            let (consumer, _) = readCapture(b.w.bytes)
            #expect(consumer.errors.isEmpty)
            #expect(consumer.datagrams.map(\.payload) == [[1, 1, 1, 1], [2, 2, 2, 2], [3, 3, 3, 3], [4, 4, 4, 4]])
            #expect(
                consumer.datagrams.map(\.timestampNanoseconds) == [
                    1_700_000_000_000_001_000, 1_700_000_000_000_000_002, 1_700_000_000_000_000_002, 3_500_000_000,
                ]
            )
        }
    }

    @Test("Linux cooked (SLL, SLL2), raw IP and BSD null link types give the datagram")
    func linkTypes() {
        let packet = Captures.udpPacket(7)
        var sll = WireBuilder()
        sll.raw([0, 0, 0, 1, 0, 6] + [UInt8](repeating: 0xAA, count: 8))
        sll.u16(0x0800)
        var sll2 = WireBuilder()
        sll2.u16(0x0800)
        sll2.u16(0)
        sll2.u32(3)
        sll2.raw([0, 1, 0, 6] + [UInt8](repeating: 0xAA, count: 8))
        let cases: [(UInt32, [UInt8])] = [
            (113, sll.bytes + packet), (276, sll2.bytes + packet), (101, packet), (12, packet),
            (0, [2, 0, 0, 0] + packet), (0, [0, 0, 0, 2] + packet), (108, [0, 0, 0, 2] + packet),
        ]
        for (linkType, data) in cases {
            let (consumer, _) = readCapture(Captures.pcap(linkType: linkType, packets: [(1, 0, data)]))
            #expect(consumer.errors.isEmpty, "link type \(linkType)")
            #expect(consumer.datagrams.map(\.payload) == [[7, 7, 7, 7]], "link type \(linkType)")
        }
        let v6 = Frames.ipv6(Frames.v6Source, Frames.v6Destination, next: 17, Frames.udp(1, 2, [9]))
        let (consumer, _) = readCapture(Captures.pcap(linkType: 0, packets: [(1, 0, [30, 0, 0, 0] + v6)]))
        #expect(consumer.datagrams.map(\.payload) == [[9]])
        #expect(consumer.datagrams.first?.source.description == "2001:db8::1")
    }

    @Test("fragments, non-UDP, non-IP and unknown link types are counted and skipped; the rest still decodes")
    func skippedPackets() {
        let fragment = Frames.ethernet(
            etherType: 0x0800,
            Frames.ipv4(1, 2, protocol: 17, flagsAndOffset: 0x2000, Frames.udp(1, 2, [1]))
        )
        let laterFragment = Frames.ethernet(
            etherType: 0x0800,
            Frames.ipv4(1, 2, protocol: 17, flagsAndOffset: 185, [1])
        )
        let v6Fragment = Frames.ethernet(
            etherType: 0x86DD,
            Frames.ipv6(
                Frames.v6Source,
                Frames.v6Destination,
                next: 44,
                [17, 0, 0, 1, 0, 0, 0, 9] + Frames.udp(1, 2, [])
            )
        )
        let tcp = Frames.ethernet(etherType: 0x0800, Frames.ipv4(1, 2, protocol: 6, Frames.tcp(1, 2, flags: 2)))
        let arp = Frames.ethernet(etherType: 0x0806, [UInt8](repeating: 0, count: 28))
        let bytes = Captures.pcap(
            packets: [
                (1, 0, fragment), (1, 0, laterFragment), (1, 0, v6Fragment), (1, 0, tcp), (1, 0, arp),
                (1, 0, Captures.udpFrame(5)),
            ]
        )
        let (consumer, decoder) = readCapture(bytes)
        #expect(consumer.reasons == [.ipFragment, .ipFragment, .ipFragment, .notUDP, .unsupportedLinkType])
        #expect(consumer.datagrams.map(\.payload) == [[5, 5, 5, 5]])
        #expect(decoder.packetCount == 6 && decoder.datagramCount == 1)
        let (other, _) = readCapture(Captures.pcap(linkType: 147, packets: [(1, 0, [1, 2, 3]), (1, 0, [4])]))
        #expect(other.reasons == [.unsupportedLinkType, .unsupportedLinkType])
    }

    @Test("a packet cut by the snaplen before its UDP payload ends is truncated_capture; a cut FCS is not")
    func snaplenCut() {
        let frame = Captures.udpFrame(6)
        let cut = Array(frame.prefix(frame.count - 2))
        let bytes = Captures.pcap(
            packets: [(1, 0, cut), (1, 0, frame), (1, 0, frame)],
            originalLengths: [0: UInt32(frame.count), 2: UInt32(frame.count + 4)]
        )
        let (consumer, _) = readCapture(bytes)
        #expect(consumer.reasons == [.truncatedCapture])
        #expect(consumer.datagrams.count == 2)
    }

    @Test("a capture ending inside its last record reports truncated_capture after the whole records")
    func truncatedLastRecord() {
        let bytes = Captures.pcap(packets: Self.threePackets)
        for cut in [1, 10, 17, 30] {
            let (consumer, _) = readCapture(Array(bytes.dropLast(cut)))
            #expect(consumer.datagrams.count == 2, "cut \(cut)")
            #expect(consumer.reasons == [.truncatedCapture], "cut \(cut)")
        }
        let (header, _) = readCapture(Array(bytes.prefix(10)))
        #expect(header.reasons == [.truncatedCapture])
    }

    @Test(
        "a bad magic, snaplen 0 or above 256 KiB, a record above the snaplen, a pcapng length mismatch stop with bad_capture"
    )
    func badCaptures() {
        #expect(readCapture([1, 2, 3, 4, 5, 6, 7, 8]).0.reasons == [.badCapture])
        #expect(readCapture(Captures.pcap(snapLength: 0, packets: Self.threePackets)).0.reasons == [.badCapture])
        #expect(readCapture(Captures.pcap(snapLength: 262_145, packets: Self.threePackets)).0.reasons == [.badCapture])
        let (overSnap, decoder) = readCapture(Captures.pcap(snapLength: 40, packets: Self.threePackets))
        #expect(overSnap.reasons == [.badCapture] && overSnap.datagrams.isEmpty && decoder.hasFailed)
        var b = PcapngBuilder(littleEndian: true)
        b.sectionHeader()
        b.interface(linkType: 1)
        b.enhancedPacket(interface: 0, units: 1, Captures.udpFrame(1))
        var mismatched = b.w.bytes
        mismatched[mismatched.count - 4] &+= 4
        b.enhancedPacket(interface: 0, units: 1, Captures.udpFrame(2))
        #expect(readCapture(mismatched).0.reasons == [.badCapture])
        var unaligned = b.w.bytes
        unaligned[4] = 30
        #expect(readCapture(unaligned).0.reasons == [.badCapture])
        var unknownInterface = PcapngBuilder(littleEndian: false)
        unknownInterface.sectionHeader()
        unknownInterface.enhancedPacket(interface: 0, units: 1, Captures.udpFrame(1))
        #expect(readCapture(unknownInterface.w.bytes).0.reasons == [.badCapture])
    }

    @Test("feeding a capture 1, 2, ... N bytes at a time gives the same datagrams and errors as feeding it whole")
    func everySplit() {
        var b = PcapngBuilder(littleEndian: true)
        b.sectionHeader()
        b.interface(linkType: 1, timestampResolution: 9)
        b.enhancedPacket(interface: 0, units: 5, Captures.udpFrame(1))
        b.block(0x0000_0BAD) { $0.raw([1, 2, 3, 4]) }
        b.simplePacket(Captures.udpFrame(2))
        b.enhancedPacket(interface: 0, units: 6, Frames.ethernet(etherType: 0x0806, [0, 0, 0, 0]))
        let captures = [b.w.bytes, Captures.pcap(littleEndian: false, packets: Self.threePackets)]
        for bytes in captures {
            let (whole, _) = readCapture(bytes)
            #expect(whole.datagrams.count >= 2)
            for chunk in 1...bytes.count {
                let (pieces, _) = readCapture(bytes, chunk: chunk)
                #expect(pieces.datagrams == whole.datagrams && pieces.errors == whole.errors, "chunk \(chunk)")
            }
        }
    }

    @Test("an oversized unknown pcapng block is passed over as it streams by, without being held")
    func oversizedUnknownBlock() {
        var b = PcapngBuilder(littleEndian: true)
        b.sectionHeader()
        b.interface(linkType: 1)
        b.block(0x0000_0BAD) { $0.raw([UInt8](repeating: 7, count: CaptureStreamDecoder.maximumRecordByteCount)) }
        b.enhancedPacket(interface: 0, units: 1, Captures.udpFrame(8))
        let (consumer, _) = readCapture(b.w.bytes, chunk: 4096)
        #expect(consumer.errors.isEmpty)
        #expect(consumer.datagrams.map(\.payload) == [[8, 8, 8, 8]])
    }
}

@Suite("Capture reader: real NetFlow/IPFIX captures")
struct CaptureConformanceTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/data/captures").standardized

    static let counts = directory.appendingPathComponent("COUNTS.tsv")

    @Test(
        "each capture in shared/data/captures gives COUNTS.tsv's packet count of UDP datagrams",
        .enabled(
            if: FileManager.default.fileExists(atPath: counts.path),
            "the shared captures (<repo>/../shared/data/captures/COUNTS.tsv) are absent"
        )
    )
    func realCaptureCounts() throws {
        let table = try String(contentsOf: Self.counts, encoding: .utf8)
        var files = 0
        for line in table.split(separator: "\n").dropFirst() {
            let columns = line.split(separator: "\t")
            guard columns.count >= 2, let expected = Int(columns[1]) else { continue }
            let bytes = try [UInt8](Data(contentsOf: Self.directory.appendingPathComponent(String(columns[0]))))
            let (consumer, _) = readCapture(bytes, chunk: 1500)
            #expect(consumer.datagrams.count == expected, "\(columns[0])")
            #expect(consumer.errors.isEmpty, "\(columns[0]): \(consumer.errors.prefix(3))")
            files += 1
        }
        #expect(files == 11)
    }
}
