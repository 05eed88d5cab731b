/// What the headers of one packet say about its flow: the key fields a ``FlowRecord`` carries, and where the
/// transport header and the IP payload are, for a reader that wants the payload (the capture reader's UDP
/// datagrams).
///
/// Offsets are into the buffer that was parsed. A packet may be cut short (an sFlow header sample holds the
/// first 128 bytes or so; a capture its snaplen): the IP header must be there whole, the transport header
/// need not be (ports, flags stay 0 and ``transportHeaderComplete`` is false).
public struct ParsedPacket: Sendable, Equatable {
    public var sourceAddress = IPAddress.unspecified
    public var destinationAddress = IPAddress.unspecified
    /// Transport ports; for ICMP and ICMPv6, `type << 8 | code` as the destination port (NetFlow's convention).
    public var sourcePort: UInt16 = 0
    public var destinationPort: UInt16 = 0
    /// IP protocol number of the transport (after IPv6 extension headers).
    public var protocolNumber: UInt8 = 0
    /// TCP flags (byte 13 of the TCP header), 0 for other protocols.
    public var tcpFlags: UInt8 = 0
    /// IPv4 type of service or IPv6 traffic class.
    public var typeOfService: UInt8 = 0
    /// 4 or 6.
    public var ipVersion: UInt8 = 0
    /// The first (outer) VLAN id of an 802.1Q / 802.1ad tag, 0 when untagged.
    public var vlan: UInt16 = 0
    /// An IPv4 fragment (MF set or offset ≠ 0) or an IPv6 packet with a fragment header that is not atomic.
    /// Only a first fragment (offset 0) has its transport header parsed.
    public var isFragment = false
    /// Where the IP header starts.
    public var ipOffset = 0
    /// Where the transport header starts (after IPv4 options and IPv6 extension headers).
    public var transportOffset = 0
    /// Where the IP packet ends by its own length field (IPv4 total length, IPv6 payload length); may be
    /// past the end of the buffer when the packet was cut short. A length of 0 (segmentation offload,
    /// jumbograms) counts as "to the end of the buffer".
    public var ipEnd = 0
    /// Whether the transport header's ports (and TCP flags) were in the buffer.
    public var transportHeaderComplete = false

    public init() {}
}

/// Why a packet's headers could not be parsed to a flow key. ``offset`` is into the parsed buffer.
public struct PacketHeaderError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The buffer ends inside the link or IP header.
        case truncated
        /// An ethertype (or link-layer protocol) other than IPv4 and IPv6, or an IP version other than 4/6.
        case notIP = "not_ip"
        /// An IPv4 header length below 20 or past the total length; more IPv6 extension headers than
        /// ``PacketHeaderParser/maximumExtensionHeaders``; more VLAN tags than
        /// ``PacketHeaderParser/maximumVLANTags``.
        case badIPHeader = "bad_ip_header"
    }

    public var kind: Kind
    public var offset: Int
    public var detail: String

    public init(_ kind: Kind, offset: Int, _ detail: String) {
        self.kind = kind
        self.offset = offset
        self.detail = detail
    }

    public var description: String { "\(kind.rawValue) at byte \(offset): \(detail)" }
}

/// Parses raw frames to a flow key: Ethernet II with 802.1Q / QinQ tags, IPv4 (options, fragments), IPv6
/// (hop-by-hop, routing, destination options, AH and fragment extension headers), then TCP, UDP, ICMP and
/// ICMPv6. Used by sFlow's raw packet header records and by the capture reader.
///
/// Pure and allocation-free on success. Bounds: at most ``maximumVLANTags`` tags and
/// ``maximumExtensionHeaders`` IPv6 extension headers are followed; every length a header claims is checked
/// against the buffer before a byte past it is read.
public enum PacketHeaderParser {
    /// VLAN tags (0x8100, 0x88a8, 0x9100) followed before the ethertype that must be IP.
    public static let maximumVLANTags = 4
    /// IPv6 extension headers followed before the transport header.
    public static let maximumExtensionHeaders = 8

    /// Parses an Ethernet II frame (destination, source, ethertype, ...).
    /// - Parameter frame: the frame from its destination MAC address; it may be cut short after the IP header.
    /// - Returns: the flow key, or why it could not be read.
    public static func parseEthernet(_ frame: UnsafeRawBufferPointer) -> Result<ParsedPacket, PacketHeaderError> {
        guard frame.count >= 14 else {
            return .failure(.init(.truncated, offset: 0, "Ethernet header needs 14 bytes, have \(frame.count)"))
        }
        return parse(frame, etherType: frame._loadBigEndian16(at: 12), at: 14)
    }

    /// Parses what follows an ethertype field: VLAN tags (the first tag's id is kept), then IPv4 or IPv6.
    /// Linux cooked captures (SLL, SLL2) name the ethertype in their own header and enter here.
    /// - Parameters:
    ///   - buffer: the whole frame.
    ///   - etherType: the ethertype read before `offset`.
    ///   - offset: where the ethertype's payload starts.
    public static func parse(
        _ buffer: UnsafeRawBufferPointer,
        etherType: UInt16,
        at offset: Int
    ) -> Result<ParsedPacket, PacketHeaderError> {
        var type = etherType
        var position = offset
        var vlan: UInt16 = 0
        var tags = 0
        while type == 0x8100 || type == 0x88A8 || type == 0x9100 {
            tags += 1
            guard tags <= maximumVLANTags else {
                return .failure(.init(.badIPHeader, offset: position, "more than \(maximumVLANTags) VLAN tags"))
            }
            guard position + 4 <= buffer.count else {
                return .failure(.init(.truncated, offset: position, "VLAN tag needs 4 bytes"))
            }
            if tags == 1 { vlan = buffer._loadBigEndian16(at: position) & 0x0FFF }
            type = buffer._loadBigEndian16(at: position + 2)
            position += 4
        }
        var result: Result<ParsedPacket, PacketHeaderError>
        switch type {
        case 0x0800: result = parseIPv4(buffer, at: position)
        case 0x86DD: result = parseIPv6(buffer, at: position)
        default:
            return .failure(.init(.notIP, offset: position - 2, "ethertype 0x\(String(type, radix: 16))"))
        }
        if case .success(var packet) = result {
            packet.vlan = vlan
            result = .success(packet)
        }
        return result
    }

    /// Parses an IP packet without a link layer, telling IPv4 from IPv6 by the version nibble (raw IP
    /// captures, the null/loopback link type).
    public static func parseIP(
        _ buffer: UnsafeRawBufferPointer,
        at offset: Int = 0
    ) -> Result<
        ParsedPacket, PacketHeaderError
    > {
        guard offset >= 0 && offset < buffer.count else {
            return .failure(.init(.truncated, offset: offset, "no IP header"))
        }
        switch buffer._loadByte(at: offset) >> 4 {
        case 4: return parseIPv4(buffer, at: offset)
        case 6: return parseIPv6(buffer, at: offset)
        case let version: return .failure(.init(.notIP, offset: offset, "IP version \(version)"))
        }
    }

    /// Parses an IPv4 header at `offset` and its transport header (sFlow header protocol 11).
    public static func parseIPv4(
        _ buffer: UnsafeRawBufferPointer,
        at offset: Int = 0
    ) -> Result<
        ParsedPacket, PacketHeaderError
    > {
        guard offset >= 0 && offset + 20 <= buffer.count else {
            return .failure(.init(.truncated, offset: offset, "IPv4 header needs 20 bytes"))
        }
        let first = buffer._loadByte(at: offset)
        guard first >> 4 == 4 else {
            return .failure(.init(.notIP, offset: offset, "IP version \(first >> 4) where 4 was expected"))
        }
        let headerLength = Int(first & 0x0F) * 4
        guard headerLength >= 20 else {
            return .failure(.init(.badIPHeader, offset: offset, "IPv4 header length \(headerLength) below 20"))
        }
        guard offset + headerLength <= buffer.count else {
            return .failure(.init(.truncated, offset: offset, "IPv4 header of \(headerLength) bytes is cut"))
        }
        let totalLength = Int(buffer._loadBigEndian16(at: offset + 2))
        guard totalLength == 0 || totalLength >= headerLength else {
            return .failure(
                .init(.badIPHeader, offset: offset, "IPv4 total length \(totalLength) below its header \(headerLength)")
            )
        }
        var packet = ParsedPacket()
        packet.ipVersion = 4
        packet.ipOffset = offset
        packet.typeOfService = buffer._loadByte(at: offset + 1)
        let fragment = buffer._loadBigEndian16(at: offset + 6)
        let fragmentOffset = fragment & 0x1FFF
        packet.isFragment = fragment & 0x2000 != 0 || fragmentOffset != 0
        packet.protocolNumber = buffer._loadByte(at: offset + 9)
        packet.sourceAddress = buffer._loadAddress(at: offset + 12, byteCount: 4)
        packet.destinationAddress = buffer._loadAddress(at: offset + 16, byteCount: 4)
        packet.transportOffset = offset + headerLength
        packet.ipEnd = totalLength == 0 ? buffer.count : offset + totalLength
        if fragmentOffset == 0 { _parseTransport(buffer, into: &packet) }
        return .success(packet)
    }

    /// Parses an IPv6 header at `offset`, its extension headers and its transport header (sFlow header
    /// protocol 12).
    public static func parseIPv6(
        _ buffer: UnsafeRawBufferPointer,
        at offset: Int = 0
    ) -> Result<
        ParsedPacket, PacketHeaderError
    > {
        guard offset >= 0 && offset + 40 <= buffer.count else {
            return .failure(.init(.truncated, offset: offset, "IPv6 header needs 40 bytes"))
        }
        let word = buffer._loadBigEndian32(at: offset)
        guard word >> 28 == 6 else {
            return .failure(.init(.notIP, offset: offset, "IP version \(word >> 28) where 6 was expected"))
        }
        var packet = ParsedPacket()
        packet.ipVersion = 6
        packet.ipOffset = offset
        packet.typeOfService = UInt8(truncatingIfNeeded: word >> 20)
        let payloadLength = Int(buffer._loadBigEndian16(at: offset + 4))
        packet.ipEnd = payloadLength == 0 ? buffer.count : offset + 40 + payloadLength
        packet.sourceAddress = buffer._loadAddress(at: offset + 8, byteCount: 16)
        packet.destinationAddress = buffer._loadAddress(at: offset + 24, byteCount: 16)
        var next = buffer._loadByte(at: offset + 6)
        var position = offset + 40
        var extensions = 0
        var firstFragment = true
        // Hop-by-hop 0, routing 43, fragment 44, AH 51, destination options 60.
        while next == 0 || next == 43 || next == 44 || next == 51 || next == 60 {
            extensions += 1
            guard extensions <= maximumExtensionHeaders else {
                return .failure(
                    .init(.badIPHeader, offset: position, "more than \(maximumExtensionHeaders) extension headers")
                )
            }
            guard position + 8 <= buffer.count else {
                return .failure(.init(.truncated, offset: position, "IPv6 extension header \(next) is cut"))
            }
            let length: Int
            switch next {
            case 44:
                let fragment = buffer._loadBigEndian16(at: position + 2)
                // An atomic fragment (offset 0, no more fragments; RFC 6946) is a whole packet.
                if fragment & 0xFFF9 != 0 {
                    packet.isFragment = true
                    firstFragment = fragment & 0xFFF8 == 0
                }
                length = 8
            case 51: length = (Int(buffer._loadByte(at: position + 1)) + 2) * 4
            default: length = (Int(buffer._loadByte(at: position + 1)) + 1) * 8
            }
            next = buffer._loadByte(at: position)
            position += length
        }
        packet.protocolNumber = next
        packet.transportOffset = position
        if firstFragment { _parseTransport(buffer, into: &packet) }
        return .success(packet)
    }

    /// Reads ports and flags at `packet.transportOffset` if they are in the buffer.
    @inline(__always)
    static func _parseTransport(_ buffer: UnsafeRawBufferPointer, into packet: inout ParsedPacket) {
        let at = packet.transportOffset
        switch packet.protocolNumber {
        case 6:  // TCP: ports, then flags at byte 13.
            guard at + 14 <= buffer.count else { return }
            packet.sourcePort = buffer._loadBigEndian16(at: at)
            packet.destinationPort = buffer._loadBigEndian16(at: at + 2)
            packet.tcpFlags = buffer._loadByte(at: at + 13)
            packet.transportHeaderComplete = true
        case 17, 132, 136:  // UDP, SCTP, UDP-Lite: ports first.
            guard at + 4 <= buffer.count else { return }
            packet.sourcePort = buffer._loadBigEndian16(at: at)
            packet.destinationPort = buffer._loadBigEndian16(at: at + 2)
            packet.transportHeaderComplete = at + (packet.protocolNumber == 17 ? 8 : 4) <= buffer.count
        case 1, 58:  // ICMP, ICMPv6: type << 8 | code.
            guard at + 2 <= buffer.count else { return }
            packet.destinationPort = buffer._loadBigEndian16(at: at)
            packet.transportHeaderComplete = true
        default:
            return
        }
    }
}

extension FlowRecord {
    /// Copies a parsed packet's flow key into the record (addresses, ports, protocol, flags, ToS, IP
    /// version; the VLAN when the packet had a tag).
    @inlinable
    public mutating func setKey(from packet: ParsedPacket) {
        sourceAddress = packet.sourceAddress
        destinationAddress = packet.destinationAddress
        sourcePort = packet.sourcePort
        destinationPort = packet.destinationPort
        protocolNumber = packet.protocolNumber
        tcpFlags = packet.tcpFlags
        typeOfService = packet.typeOfService
        ipVersion = packet.ipVersion
        if packet.vlan != 0 { vlan = packet.vlan }
    }
}
