import Foundation

/// A tiny classic-pcap reader for the tests of `vigil generate flows`: the UDP payloads of Ethernet/IPv4 or
/// IPv6 frames, with the IPv4 header checksum and every length checked. Written here, apart from Vigil's
/// encoders and decoders, so the tests do not check the generator with its own code.
struct FlowCapture {
    struct Frame {
        var timestampNanoseconds: Int64
        var source: [UInt8]
        var destinationPort: UInt16
        var payload: [UInt8]
    }

    var nanosecondTimestamps: Bool
    var frames: [Frame] = []

    enum Problem: Error, CustomStringConvertible {
        case bad(String)
        var description: String {
            switch self {
            case .bad(let text): text
            }
        }
    }

    init(path: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard bytes.count >= 24 else { throw Problem.bad("short file") }
        let magic = Self.le32(bytes, 0)
        guard magic == 0xA1B2_C3D4 || magic == 0xA1B2_3C4D else { throw Problem.bad("magic \(magic)") }
        nanosecondTimestamps = magic == 0xA1B2_3C4D
        guard Self.le32(bytes, 20) == 1 else { throw Problem.bad("link type") }
        var offset = 24
        while offset < bytes.count {
            guard offset + 16 <= bytes.count else { throw Problem.bad("torn record header at \(offset)") }
            let seconds = Int64(Self.le32(bytes, offset))
            let fraction = Int64(Self.le32(bytes, offset + 4))
            let included = Int(Self.le32(bytes, offset + 8))
            guard Int(Self.le32(bytes, offset + 12)) == included, offset + 16 + included <= bytes.count else {
                throw Problem.bad("record lengths at \(offset)")
            }
            let frame = Array(bytes[(offset + 16)..<(offset + 16 + included)])
            offset += 16 + included
            let etherType = Self.be16(frame, 12)
            var source: [UInt8]
            var udp: Int
            if etherType == 0x0800 {
                guard frame[14] == 0x45, frame[23] == 17, Int(Self.be16(frame, 16)) == included - 14 else {
                    throw Problem.bad("IPv4 header")
                }
                var sum: UInt32 = 0
                for word in stride(from: 14, to: 34, by: 2) { sum += UInt32(Self.be16(frame, word)) }
                while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
                guard sum == 0xFFFF else { throw Problem.bad("IPv4 header checksum") }
                source = Array(frame[26..<30])
                udp = 34
            } else if etherType == 0x86DD {
                guard frame[20] == 17, Int(Self.be16(frame, 18)) == included - 54 else { throw Problem.bad("IPv6") }
                source = Array(frame[22..<38])
                udp = 54
            } else {
                throw Problem.bad("ether type \(etherType)")
            }
            guard Int(Self.be16(frame, udp + 4)) == included - udp else { throw Problem.bad("UDP length") }
            frames.append(
                Frame(
                    timestampNanoseconds: seconds * 1_000_000_000
                        + (nanosecondTimestamps ? fraction : fraction * 1_000),
                    source: source,
                    destinationPort: Self.be16(frame, udp + 2),
                    payload: Array(frame[(udp + 8)...])
                )
            )
        }
    }

    static func le32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
    }

    static func be16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    static func be32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        UInt32(be16(bytes, offset)) << 16 | UInt32(be16(bytes, offset + 2))
    }

    static func be64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        UInt64(be32(bytes, offset)) << 32 | UInt64(be32(bytes, offset + 4))
    }
}

/// What a walk of one flow datagram finds, by the formats' own rules (and the generator's documented
/// templates, whose record layouts are fixed).
struct FlowDatagramCounts: Equatable {
    var records = 0
    var octets: UInt64 = 0
    var packets: UInt64 = 0
    var templates = 0
    var optionsRecords = 0
    var counterSamples = 0

    static func += (lhs: inout FlowDatagramCounts, rhs: FlowDatagramCounts) {
        lhs.records += rhs.records
        lhs.octets += rhs.octets
        lhs.packets += rhs.packets
        lhs.templates += rhs.templates
        lhs.optionsRecords += rhs.optionsRecords
        lhs.counterSamples += rhs.counterSamples
    }

    init() {}

    init(format: String, datagram p: [UInt8]) throws {
        typealias C = FlowCapture
        switch format {
        case "v5":
            guard C.be16(p, 0) == 5 else { throw FlowCapture.Problem.bad("version") }
            records = Int(C.be16(p, 2))
            guard p.count == 24 + records * 48 else { throw FlowCapture.Problem.bad("v5 length") }
            for index in 0..<records {
                packets += UInt64(C.be32(p, 24 + index * 48 + 16))
                octets += UInt64(C.be32(p, 24 + index * 48 + 20))
            }
        case "v9":
            guard C.be16(p, 0) == 9 else { throw FlowCapture.Problem.bad("version") }
            var offset = 20
            while offset < p.count {
                let id = C.be16(p, offset)
                let length = Int(C.be16(p, offset + 2))
                guard length >= 4, offset + length <= p.count else { throw FlowCapture.Problem.bad("flowset length") }
                switch id {
                case 0:
                    var at = offset + 4
                    while at + 4 <= offset + length {
                        templates += 1
                        at += 4 + Int(C.be16(p, at + 2)) * 4
                    }
                case 1: templates += 1
                case 258: optionsRecords += (length - 4) / 10
                case 256, 257:
                    let size = id == 256 ? 57 : 81
                    let address = id == 256 ? 8 : 32
                    for index in 0..<((length - 4) / size) {
                        let record = offset + 4 + index * size + address
                        octets += C.be64(p, record + 15)
                        packets += C.be64(p, record + 23)
                        records += 1
                    }
                default: throw FlowCapture.Problem.bad("flowset id \(id)")
                }
                offset += length
            }
            guard Int(C.be16(p, 2)) == records + templates + optionsRecords else {
                throw FlowCapture.Problem.bad("v9 count")
            }
        case "ipfix":
            guard C.be16(p, 0) == 10, Int(C.be16(p, 2)) == p.count else { throw FlowCapture.Problem.bad("header") }
            var offset = 16
            while offset < p.count {
                let id = C.be16(p, offset)
                let length = Int(C.be16(p, offset + 2))
                guard length >= 4, offset + length <= p.count else { throw FlowCapture.Problem.bad("set length") }
                switch id {
                case 2:
                    var at = offset + 4
                    while at + 4 <= offset + length {
                        templates += 1
                        let fields = Int(C.be16(p, at + 2))
                        at += 4
                        for _ in 0..<fields { at += C.be16(p, at) & 0x8000 != 0 ? 8 : 4 }
                    }
                case 3: templates += 1
                case 258: optionsRecords += (length - 4) / 12
                case 256, 257:
                    var at = offset + 4
                    let address = id == 256 ? 8 : 32
                    while at < offset + length {
                        octets += C.be64(p, at + address + 16)
                        packets += C.be64(p, at + address + 24)
                        at += address + 66 + Int(p[at + address + 61])
                        records += 1
                    }
                    guard at == offset + length else { throw FlowCapture.Problem.bad("data set walk") }
                default: throw FlowCapture.Problem.bad("set id \(id)")
                }
                offset += length
            }
        case "sflow":
            guard C.be32(p, 0) == 5 else { throw FlowCapture.Problem.bad("version") }
            var offset = C.be32(p, 4) == 1 ? 12 : 24
            let samples = Int(C.be32(p, offset + 12))
            offset += 16
            for _ in 0..<samples {
                let tag = C.be32(p, offset)
                let length = Int(C.be32(p, offset + 4))
                if tag == 1 {
                    records += 1
                    packets += 1
                    octets += UInt64(C.be32(p, offset + 8 + 32 + 12))
                } else if tag == 2 {
                    counterSamples += 1
                } else {
                    throw FlowCapture.Problem.bad("sample tag \(tag)")
                }
                offset += 8 + length
            }
            guard offset == p.count else { throw FlowCapture.Problem.bad("sFlow sample walk") }
        default:
            throw FlowCapture.Problem.bad("format \(format)")
        }
    }
}
