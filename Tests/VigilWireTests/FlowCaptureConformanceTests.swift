import Foundation
import Testing
import VigilWire

/// A UDP payload from a capture, with its source address and capture time.
struct CapturedDatagram {
    var source: IPAddress
    var sourcePort: UInt16
    var nanoseconds: Int64
    var payload: [UInt8]
}

/// A minimal classic-pcap reader for conformance tests only (the engine's pcap reader lives elsewhere):
/// Ethernet (with 802.1Q tags), raw IP, Linux SLL/SLL2 links; IPv4 and IPv6 (no extension headers); UDP.
/// Everything else, fragments included, is skipped.
func udpDatagrams(inPcap bytes: [UInt8]) -> [CapturedDatagram] {
    guard bytes.count >= 24 else { return [] }
    func u16be(_ o: Int) -> Int { Int(bytes[o]) << 8 | Int(bytes[o + 1]) }
    let magic = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
    let littleEndian: Bool
    var nanosecondResolution = false
    switch magic {
    case 0xA1B2_C3D4: littleEndian = true
    case 0xA1B2_3C4D: (littleEndian, nanosecondResolution) = (true, true)
    case 0xD4C3_B2A1: littleEndian = false
    case 0x4D3C_B2A1: (littleEndian, nanosecondResolution) = (false, true)
    default: return []
    }
    func u32(_ o: Int) -> Int {
        let b = (0..<4).map { Int(bytes[o + $0]) }
        return littleEndian ? b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24 : b[3] | b[2] << 8 | b[1] << 16 | b[0] << 24
    }
    let linkType = u32(20)
    var out: [CapturedDatagram] = []
    var offset = 24
    while offset + 16 <= bytes.count {
        let seconds = u32(offset)
        let fraction = u32(offset + 4)
        let captured = u32(offset + 8)
        let start = offset + 16
        offset = start + captured
        guard offset <= bytes.count else { break }
        var ip = start
        var etherType = 0
        switch linkType {
        case 1:
            guard captured >= 14 else { continue }
            etherType = u16be(start + 12)
            ip = start + 14
            while etherType == 0x8100 || etherType == 0x88A8, ip + 4 <= offset {
                etherType = u16be(ip + 2)
                ip += 4
            }
        case 101, 12, 14:
            guard captured >= 1 else { continue }
            etherType = bytes[start] >> 4 == 6 ? 0x86DD : 0x0800
        case 113:
            guard captured >= 16 else { continue }
            etherType = u16be(start + 14)
            ip = start + 16
        case 276:
            guard captured >= 20 else { continue }
            etherType = u16be(start)
            ip = start + 20
        default: return []
        }
        var source = IPAddress.unspecified
        var udp = 0
        if etherType == 0x0800 {
            guard ip + 20 <= offset else { continue }
            let headerLength = Int(bytes[ip] & 0xF) * 4
            let fragment = u16be(ip + 6)
            guard bytes[ip + 9] == 17, fragment & 0x3FFF == 0 else { continue }
            source = IPAddress(ipv4: UInt32(u16be(ip + 12)) << 16 | UInt32(u16be(ip + 14)))
            udp = ip + headerLength
        } else if etherType == 0x86DD {
            guard ip + 40 <= offset, bytes[ip + 6] == 17 else { continue }
            var high: UInt64 = 0
            var low: UInt64 = 0
            for index in 0..<8 { high = high << 8 | UInt64(bytes[ip + 8 + index]) }
            for index in 0..<8 { low = low << 8 | UInt64(bytes[ip + 16 + index]) }
            source = IPAddress(high: high, low: low)
            udp = ip + 40
        } else {
            continue
        }
        guard udp + 8 <= offset else { continue }
        let udpLength = u16be(udp + 4)
        guard udpLength >= 8, udp + udpLength <= offset else { continue }
        let nanoseconds = Int64(seconds) * 1_000_000_000 + Int64(fraction) * (nanosecondResolution ? 1 : 1000)
        out.append(
            CapturedDatagram(
                source: source,
                sourcePort: UInt16(u16be(udp)),
                nanoseconds: nanoseconds,
                payload: Array(bytes[(udp + 8)..<(udp + udpLength)])
            )
        )
    }
    return out
}

/// `<repo>/../shared/data/captures`, found from this file's path.
private let capturesDirectory: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("shared/data/captures")

/// Counts a decoder run is compared on, as tshark's COUNTS.tsv gives them.
private struct CaptureCounts: Equatable, CustomStringConvertible {
    var dataRecords = 0
    var optionRecords = 0
    var templates = 0
    var description: String { "data \(dataRecords), options \(optionRecords), templates \(templates)" }
}

private struct CountingConsumer: FlowConsumer {
    var counts = CaptureCounts()
    var errors: [FlowDecodeError] = []
    mutating func flowRecord(_ record: FlowRecord, info: FlowDatagramInfo) { counts.dataRecords += 1 }
    mutating func flowOptionsRecord(info: FlowDatagramInfo) { counts.optionRecords += 1 }
    mutating func flowTemplate(_ event: FlowTemplateEvent, info: FlowDatagramInfo) {
        if case .withdrawn = event { return }
        counts.templates += 1
    }
    mutating func flowError(_ error: FlowDecodeError, info: FlowDatagramInfo?) { errors.append(error) }
}

@Suite("Flow captures")
struct FlowCaptureConformanceTests {
    @Test("real v9 and IPFIX captures decode to tshark's record, options record and template counts (COUNTS.tsv)")
    func countsMatchTshark() throws {
        let countsFile = capturesDirectory.appendingPathComponent("COUNTS.tsv")
        guard let table = try? String(contentsOf: countsFile, encoding: .utf8) else {
            print("skipped: no captures at \(capturesDirectory.path) (the shared data directory is absent)")
            return
        }
        var checked = 0
        for line in table.split(separator: "\n").dropFirst() {
            let columns = line.split(separator: "\t").map(String.init)
            guard columns.count == 6 else { continue }
            let expected = CaptureCounts(
                dataRecords: Int(columns[3])!,
                optionRecords: Int(columns[4])!,
                templates: Int(columns[5])!
            )
            let bytes = try [UInt8](Data(contentsOf: capturesDirectory.appendingPathComponent(columns[0])))
            let datagrams = udpDatagrams(inPcap: bytes)
            #expect(datagrams.count == Int(columns[1])!, "\(columns[0]): UDP datagrams")
            var decoder = FlowDatagramDecoder()
            var consumer = CountingConsumer()
            for datagram in datagrams {
                datagram.payload.withUnsafeBytes {
                    decoder.decode(
                        $0,
                        from: datagram.source,
                        sourcePort: datagram.sourcePort,
                        arrivalNanoseconds: datagram.nanoseconds,
                        into: &consumer
                    )
                }
            }
            #expect(consumer.counts == expected, "\(columns[0]): errors \(consumer.errors)")
            #expect(consumer.errors.isEmpty, "\(columns[0]): \(consumer.errors)")
            checked += 1
        }
        #expect(checked == 11)
    }
}
