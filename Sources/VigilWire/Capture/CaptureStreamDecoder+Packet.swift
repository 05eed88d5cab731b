// From a captured packet to its UDP datagram: the link layer, then IP and UDP through
// ``PacketHeaderParser``.

extension CaptureStreamDecoder {
    /// Hands the packet's UDP payload to the consumer, or reports why there is none.
    /// - Parameters:
    ///   - packet: the captured bytes (at most the snaplen).
    ///   - originalLength: the packet's length on the wire.
    ///   - offset: the record's stream offset, for errors.
    mutating func _packet<D: CapturedDatagramConsumer>(
        _ packet: UnsafeRawBufferPointer,
        linkType: UInt32,
        originalLength: Int,
        timestampNanoseconds: Int64,
        at offset: Int64,
        into consumer: inout D
    ) {
        packetCount += 1
        consumer.capturedPacket()
        let cut = originalLength > packet.count
        let parsed: Result<ParsedPacket, PacketHeaderError>
        switch linkType {
        case 1:  // Ethernet.
            parsed = PacketHeaderParser.parseEthernet(packet)
        case 101, 12, 14:  // Raw IP (LINKTYPE_RAW, and the DLT_RAW values of some systems).
            parsed = PacketHeaderParser.parseIP(packet)
        case 228:
            parsed = PacketHeaderParser.parseIPv4(packet)
        case 229:
            parsed = PacketHeaderParser.parseIPv6(packet)
        case 113:  // Linux cooked v1: packet type, ARPHRD, address length, 8 address bytes, protocol.
            guard packet.count >= 16 else {
                parsed = .failure(.init(.truncated, offset: 0, "Linux cooked header needs 16 bytes"))
                break
            }
            parsed = PacketHeaderParser.parse(packet, etherType: packet._loadBigEndian16(at: 14), at: 16)
        case 276:  // Linux cooked v2: protocol, reserved, ifindex, ARPHRD, packet type, address length, address.
            guard packet.count >= 20 else {
                parsed = .failure(.init(.truncated, offset: 0, "Linux cooked v2 header needs 20 bytes"))
                break
            }
            parsed = PacketHeaderParser.parse(packet, etherType: packet._loadBigEndian16(at: 0), at: 20)
        case 0, 108:  // BSD null (address family in the writer's order) and loop (network order).
            guard packet.count >= 4 else {
                parsed = .failure(.init(.truncated, offset: 0, "null link header needs 4 bytes"))
                break
            }
            let family = packet._load32(at: 0, bigEndian: true)
            // AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24, 28 or 30 (the BSDs, macOS).
            switch linkType == 108 ? family : min(family, family.byteSwapped) {
            case 2: parsed = PacketHeaderParser.parseIPv4(packet, at: 4)
            case 10, 24, 28, 30: parsed = PacketHeaderParser.parseIPv6(packet, at: 4)
            default: parsed = .failure(.init(.notIP, offset: 0, "address family \(family)"))
            }
        default:
            consumer.captureError(
                .init(
                    .unsupportedLinkType,
                    offset: Int(offset),
                    "link type \(linkType) (read: 0, 1, 12, 14, 101, 108, 113, 228, 229, 276)"
                )
            )
            return
        }
        let ip: ParsedPacket
        switch parsed {
        case .success(let value):
            ip = value
        case .failure(let error):
            let reason: FlowDecodeError.Reason = error.kind == .truncated ? .truncatedCapture : .unsupportedLinkType
            let captured = cut ? " (captured \(packet.count) of \(originalLength) bytes)" : ""
            consumer.captureError(.init(reason, offset: Int(offset), "\(error.description)\(captured)"))
            return
        }
        guard !ip.isFragment else {
            consumer.captureError(
                .init(
                    .ipFragment,
                    offset: Int(offset),
                    "IPv\(ip.ipVersion) fragment \(ip.sourceAddress) → \(ip.destinationAddress) (not reassembled)"
                )
            )
            return
        }
        guard ip.protocolNumber == 17 else {
            consumer.captureError(
                .init(
                    .notUDP,
                    offset: Int(offset),
                    "IP protocol \(ip.protocolNumber) (\(ip.sourceAddress) → \(ip.destinationAddress))"
                )
            )
            return
        }
        let udp = ip.transportOffset
        guard udp + 8 <= packet.count else {
            consumer.captureError(
                .init(
                    .truncatedCapture,
                    offset: Int(offset),
                    "UDP header cut: captured \(packet.count) of \(originalLength) bytes"
                )
            )
            return
        }
        let udpLength = Int(packet._loadBigEndian16(at: udp + 4))
        // 0 is an IPv6 jumbogram's: the IP payload length says it.
        let end = udpLength == 0 ? ip.ipEnd : udp + udpLength
        guard end >= udp + 8, end <= ip.ipEnd else {
            consumer.captureError(
                .init(
                    .notUDP,
                    offset: Int(offset),
                    "UDP length \(udpLength) does not fit its IP packet of \(ip.ipEnd - ip.ipOffset) bytes"
                )
            )
            return
        }
        guard end <= packet.count else {
            consumer.captureError(
                .init(
                    .truncatedCapture,
                    offset: Int(offset),
                    "UDP datagram of \(end - udp) bytes cut: captured \(packet.count) of \(originalLength) bytes"
                )
            )
            return
        }
        datagramCount += 1
        consumer.capturedDatagram(
            UnsafeRawBufferPointer(rebasing: packet[(udp + 8)..<end]),
            source: ip.sourceAddress,
            sourcePort: ip.sourcePort,
            destination: ip.destinationAddress,
            destinationPort: ip.destinationPort,
            timestampNanoseconds: timestampNanoseconds
        )
    }
}
