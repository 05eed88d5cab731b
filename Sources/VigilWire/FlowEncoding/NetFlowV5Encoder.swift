/// NetFlow v5 datagrams: a 24-byte header and up to 30 records of 48 bytes (IPv4 only).
///
/// The header's `sysUptime` is taken at the export time to the millisecond (`unix_secs` and `unix_nsecs`
/// together), so a decoder that reads both gets each record's times back exactly:
/// `first = unix_secs·1000 + unix_nsecs/10^6 − sysUptime + FIRST`.
public enum NetFlowV5Encoder {
    public static let headerByteCount = 24
    public static let recordByteCount = 48

    /// Writes one datagram of `records` (IPv4, 16-bit interfaces and AS numbers, 32-bit counters: wider
    /// values are truncated, as a v5 exporter would).
    /// - Parameters:
    ///   - records: 1 to 30 records.
    ///   - header: the exporter's clock and domain; `sequenceNumber` is the count of flows sent before.
    ///   - samplingInterval: 1 in N packets sampled (0 or 1: unsampled); at most 16383.
    ///   - cursor: where to write; must have room for the datagram.
    public static func encode(
        records: UnsafeBufferPointer<FlowRecord>,
        header: FlowExportHeader,
        samplingInterval: UInt32,
        into cursor: inout FlowWriteCursor
    ) {
        precondition((1...FlowEncodingLimits.maximumRecordsPerDatagram).contains(records.count))
        precondition(samplingInterval < 1 << 14, "NetFlow v5 sampling interval has 14 bits")
        cursor.require(headerByteCount + records.count * recordByteCount)
        let exportMilliseconds = header.exportNanoseconds / 1_000_000
        cursor.put(UInt16(5))
        cursor.put(UInt16(records.count))
        cursor.put(header.uptime(atMilliseconds: exportMilliseconds))
        cursor.put(UInt32(truncatingIfNeeded: exportMilliseconds / 1_000))
        cursor.put(UInt32(truncatingIfNeeded: (exportMilliseconds % 1_000) * 1_000_000))
        cursor.put(header.sequenceNumber)
        cursor.put(UInt8(truncatingIfNeeded: header.observationDomain >> 8))
        cursor.put(UInt8(truncatingIfNeeded: header.observationDomain))
        // Sampling mode 1 (packet interval) in the top 2 bits, the interval in the other 14.
        cursor.put(samplingInterval > 1 ? UInt16(1 << 14) | UInt16(samplingInterval) : 0)
        for record in records {
            cursor.put4Bytes(record.sourceAddress)
            cursor.put4Bytes(record.destinationAddress)
            cursor.put(UInt32(0))  // next hop
            cursor.put(UInt16(truncatingIfNeeded: record.inputInterface))
            cursor.put(UInt16(truncatingIfNeeded: record.outputInterface))
            cursor.put(UInt32(truncatingIfNeeded: record.packets))
            cursor.put(UInt32(truncatingIfNeeded: record.octets))
            cursor.put(header.uptime(atMilliseconds: record.startMilliseconds))
            cursor.put(header.uptime(atMilliseconds: record.endMilliseconds))
            cursor.put(record.sourcePort)
            cursor.put(record.destinationPort)
            cursor.put(UInt8(0))
            cursor.put(record.tcpFlags)
            cursor.put(record.protocolNumber)
            cursor.put(record.typeOfService)
            cursor.put(UInt16(truncatingIfNeeded: record.sourceAS))
            cursor.put(UInt16(truncatingIfNeeded: record.destinationAS))
            cursor.put(UInt8(0))  // source mask
            cursor.put(UInt8(0))  // destination mask
            cursor.put(UInt16(0))
        }
    }
}
