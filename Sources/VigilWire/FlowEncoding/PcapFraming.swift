/// Classic pcap (LINKTYPE_ETHERNET) framing of UDP datagrams: the file header, and per datagram a record
/// header, an Ethernet header, an IPv4 (with its header checksum) or IPv6 header, and a UDP header (its
/// checksum computed for IPv6, where it is mandatory; 0, "none", for IPv4). Little-endian, as written on
/// x86 and ARM hosts. Pure: bytes into a caller's buffer.
public enum PcapFraming {
    public static let fileHeaderByteCount = 24
    public static let recordHeaderByteCount = 16
    /// The bytes before a datagram's payload, at most: record header, Ethernet, IPv6, UDP.
    public static let maximumHeadroom = recordHeaderByteCount + 14 + 40 + 8
    /// The snap length the file header announces (no record is cut).
    public static let snapLength: UInt32 = 65_535

    /// The 24-byte file header.
    /// - Parameters:
    ///   - nanosecondTimestamps: the nanosecond variant (magic `a1b23c4d`) rather than microseconds.
    ///   - cursor: where to write.
    public static func writeFileHeader(nanosecondTimestamps: Bool, into cursor: inout FlowWriteCursor) {
        cursor.require(fileHeaderByteCount)
        cursor.put((nanosecondTimestamps ? UInt32(0xA1B2_3C4D) : UInt32(0xA1B2_C3D4)).byteSwapped)
        cursor.put(UInt16(2).byteSwapped)
        cursor.put(UInt16(4).byteSwapped)
        cursor.put(UInt32(0))  // thiszone
        cursor.put(UInt32(0))  // sigfigs
        cursor.put(snapLength.byteSwapped)
        cursor.put(UInt32(1).byteSwapped)  // LINKTYPE_ETHERNET
    }

    /// The headroom a datagram between these addresses needs (record, Ethernet, IP and UDP headers).
    @inlinable
    public static func headroom(ipv6: Bool) -> Int { recordHeaderByteCount + 14 + (ipv6 ? 40 : 20) + 8 }

    /// Writes the record, Ethernet, IP and UDP headers in the `headroom(ipv6:)` bytes that end where the
    /// payload starts.
    /// - Parameters:
    ///   - payload: the datagram, already in place; the headers go just before it.
    ///   - source, destination: the exporter and the collector (both IPv4, or both IPv6).
    ///   - timestampNanoseconds: the capture time, nanoseconds since the Unix epoch.
    ///   - nanosecondTimestamps: as the file header says.
    ///   - identification: the IPv4 identification field (a per-exporter counter).
    /// - Returns: the start of the frame's pcap record: `payload.baseAddress − headroom`.
    @discardableResult
    public static func writeHeaders(
        before payload: UnsafeMutableRawBufferPointer,
        source: IPAddress,
        sourcePort: UInt16,
        destination: IPAddress,
        destinationPort: UInt16,
        timestampNanoseconds: Int64,
        nanosecondTimestamps: Bool,
        identification: UInt16
    ) -> UnsafeMutableRawPointer {
        let ipv6 = !destination.isIPv4
        precondition(source.isIPv4 == destination.isIPv4, "an IPv4 and an IPv6 address in one packet")
        let room = headroom(ipv6: ipv6)
        let start = payload.baseAddress! - room
        var cursor = FlowWriteCursor(UnsafeMutableRawBufferPointer(start: start, count: room))
        let ipLength = (ipv6 ? 40 : 20) + 8 + payload.count
        let frameLength = UInt32(14 + ipLength)
        let seconds = timestampNanoseconds / 1_000_000_000
        let fraction = timestampNanoseconds - seconds * 1_000_000_000
        cursor.put(UInt32(truncatingIfNeeded: seconds).byteSwapped)
        cursor.put(UInt32(truncatingIfNeeded: nanosecondTimestamps ? fraction : fraction / 1_000).byteSwapped)
        cursor.put(frameLength.byteSwapped)
        cursor.put(frameLength.byteSwapped)
        // Ethernet: locally administered MACs, the collector's then the exporter's.
        cursor.put(UInt16(0x0200))
        cursor.put(UInt32(0x0000_0001))
        cursor.put(UInt16(0x0200))
        cursor.put(UInt32(truncatingIfNeeded: source.low) | 0x0100_0000)
        cursor.put(UInt16(ipv6 ? 0x86DD : 0x0800))
        let ip = cursor.offset
        let udpLength = UInt16(truncatingIfNeeded: 8 + payload.count)
        var pseudoHeaderSum: UInt64 = 0
        if ipv6 {
            cursor.put(UInt32(6 << 28))
            cursor.put(udpLength)
            cursor.put(UInt8(17))
            cursor.put(UInt8(64))
            cursor.put16Bytes(source)
            cursor.put16Bytes(destination)
            // The pseudo-header: both addresses, the upper-layer length and the next header.
            pseudoHeaderSum = InternetChecksum.sum(cursor.written(from: ip + 8)) &+ UInt64(udpLength) &+ 17
        } else {
            cursor.put(UInt8(0x45))
            cursor.put(UInt8(0))
            cursor.put(UInt16(truncatingIfNeeded: ipLength))
            cursor.put(identification)
            cursor.put(UInt16(0x4000))  // don't fragment
            cursor.put(UInt8(64))
            cursor.put(UInt8(17))
            cursor.put(UInt16(0))
            cursor.put4Bytes(source)
            cursor.put4Bytes(destination)
            cursor.patch(InternetChecksum.checksum(cursor.written(from: ip)), at: ip + 10)
        }
        let udp = cursor.offset
        cursor.put(sourcePort)
        cursor.put(destinationPort)
        cursor.put(udpLength)
        cursor.put(UInt16(0))
        if ipv6 {
            var sum = InternetChecksum.sum(cursor.written(from: udp), initial: pseudoHeaderSum)
            sum = InternetChecksum.sum(UnsafeRawBufferPointer(payload), initial: sum)
            let checksum = ~InternetChecksum.fold(sum)
            cursor.patch(checksum == 0 ? 0xFFFF : checksum, at: udp + 6)
        }
        assert(cursor.offset == room)
        return start
    }
}
