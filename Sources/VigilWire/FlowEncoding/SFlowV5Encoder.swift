/// What an sFlow agent keeps per data source (an interface): its flow and counter sample sequence numbers,
/// its sample pool, and the interface's counters.
public struct SFlowDataSource: Sendable, Equatable {
    public var flowSampleSequence: UInt32 = 0
    public var counterSampleSequence: UInt32 = 0
    /// Packets that could have been sampled (the interface's packets seen), for the flow samples' pool.
    public var samplePool: UInt32 = 0
    public var counters = InterfaceCounterRecord()

    public init() {}
}

/// sFlow v5 datagrams (sFlow.org v5): a header naming the agent, then an optional counter sample (format 2,
/// generic interface counters) and one flow sample (format 1) per record, each with a raw packet header
/// record (format 1, Ethernet) rebuilt from the record: Ethernet, IPv4 or IPv6, and TCP, UDP or ICMP headers.
///
/// A record stands for one sampled packet: its ``FlowRecord/octets`` is the frame's length (Ethernet header
/// and IP packet, no FCS: `stripped` 0), its packets 1; the data source is the input interface.
public enum SFlowV5Encoder {
    /// Writes one datagram.
    /// - Parameters:
    ///   - records: up to 30 sampled packets; `inputInterface` must index `sources`.
    ///   - header: the agent's clock, address, sub-agent id and datagram sequence number.
    ///   - samplingRate: 1 in N packets.
    ///   - counterSource: an interface whose counter sample to send first, or nil.
    ///   - sources: the agent's data sources by ifIndex; their sequence numbers and pools advance.
    ///   - cursor: where to write.
    public static func encode(
        records: UnsafeBufferPointer<FlowRecord>,
        header: FlowExportHeader,
        samplingRate: UInt32,
        counterSource: UInt32?,
        sources: UnsafeMutableBufferPointer<SFlowDataSource>,
        into cursor: inout FlowWriteCursor
    ) -> FlowEncodedDatagram {
        precondition(records.count <= FlowEncodingLimits.maximumRecordsPerDatagram)
        cursor.require(256 + records.count * 160)
        var result = FlowEncodedDatagram()
        let start = cursor.offset
        let exportMilliseconds = header.exportNanoseconds / 1_000_000
        cursor.put(UInt32(5))
        if header.agentAddress.isIPv4 {
            cursor.put(UInt32(1))
            cursor.put4Bytes(header.agentAddress)
        } else {
            cursor.put(UInt32(2))
            cursor.put16Bytes(header.agentAddress)
        }
        cursor.put(header.observationDomain)
        cursor.put(header.sequenceNumber)
        cursor.put(header.uptime(atMilliseconds: exportMilliseconds))
        let sampleCountPosition = cursor.offset
        cursor.put(UInt32(0))
        if let counterSource {
            writeCounterSample(source: &sources[Int(counterSource)], into: &cursor)
            result.counterSamples = 1
        }
        for record in records {
            writeFlowSample(
                record,
                samplingRate: samplingRate,
                source: &sources[Int(record.inputInterface)],
                into: &cursor
            )
        }
        result.flowRecords = records.count
        cursor.patch(UInt32(result.flowRecords + result.counterSamples), at: sampleCountPosition)
        result.byteCount = cursor.offset - start
        return result
    }

    @inlinable
    static func writeFlowSample(
        _ record: FlowRecord,
        samplingRate: UInt32,
        source: inout SFlowDataSource,
        into cursor: inout FlowWriteCursor
    ) {
        source.flowSampleSequence &+= 1
        source.samplePool &+= samplingRate
        let sample = cursor.offset
        cursor.put(UInt32(1))  // enterprise 0, format 1: flow sample
        cursor.put(UInt32(0))  // length, patched
        cursor.put(source.flowSampleSequence)
        cursor.put(record.inputInterface & 0x00FF_FFFF)  // source id: type 0 (ifIndex)
        cursor.put(samplingRate)
        cursor.put(source.samplePool)
        cursor.put(UInt32(0))  // drops
        cursor.put(record.inputInterface & 0x3FFF_FFFF)
        cursor.put(record.outputInterface & 0x3FFF_FFFF)
        cursor.put(UInt32(1))  // one flow record
        let flowRecord = cursor.offset
        cursor.put(UInt32(1))  // enterprise 0, format 1: raw packet header
        cursor.put(UInt32(0))
        cursor.put(UInt32(1))  // header protocol: Ethernet
        cursor.put(UInt32(truncatingIfNeeded: record.octets))  // frame length
        cursor.put(UInt32(0))  // stripped
        let headerLengthPosition = cursor.offset
        cursor.put(UInt32(0))
        let packet = cursor.offset
        writePacketHeaders(record, into: &cursor)
        cursor.patch(UInt32(cursor.offset - packet), at: headerLengthPosition)
        cursor.padToFourBytes(from: packet)
        cursor.patch(UInt32(cursor.offset - flowRecord - 8), at: flowRecord + 4)
        cursor.patch(UInt32(cursor.offset - sample - 8), at: sample + 4)
    }

    /// The sampled packet's Ethernet, IP and transport headers (no payload).
    @inlinable
    static func writePacketHeaders(_ record: FlowRecord, into cursor: inout FlowWriteCursor) {
        let isIPv4 = record.sourceAddress.isIPv4
        let frameLength = Int(truncatingIfNeeded: record.octets)
        // Ethernet: locally administered MACs naming the interfaces.
        cursor.put(UInt16(0x0200))
        cursor.put(UInt32(0x0000_0000) | (record.outputInterface & 0xFFFF))
        cursor.put(UInt16(0x0200))
        cursor.put(UInt32(0x0001_0000) | (record.inputInterface & 0xFFFF))
        cursor.put(UInt16(isIPv4 ? 0x0800 : 0x86DD))
        let ipLength = frameLength - 14
        if isIPv4 {
            let ip = cursor.offset
            cursor.put(UInt8(0x45))
            cursor.put(record.typeOfService)
            cursor.put(UInt16(truncatingIfNeeded: ipLength))
            cursor.put(UInt16(0))  // identification
            cursor.put(UInt16(0x4000))  // don't fragment
            cursor.put(UInt8(64))
            cursor.put(record.protocolNumber)
            cursor.put(UInt16(0))  // checksum, patched
            cursor.put4Bytes(record.sourceAddress)
            cursor.put4Bytes(record.destinationAddress)
            cursor.patch(InternetChecksum.checksum(cursor.written(from: ip)), at: ip + 10)
        } else {
            cursor.put(UInt32(6 << 28) | UInt32(record.typeOfService) << 20)
            cursor.put(UInt16(truncatingIfNeeded: ipLength - 40))
            cursor.put(record.protocolNumber)
            cursor.put(UInt8(64))
            cursor.put16Bytes(record.sourceAddress)
            cursor.put16Bytes(record.destinationAddress)
        }
        switch record.protocolNumber {
        case 6:
            cursor.put(record.sourcePort)
            cursor.put(record.destinationPort)
            cursor.put(UInt32(0))  // sequence
            cursor.put(UInt32(0))  // acknowledgement
            cursor.put(UInt8(0x50))  // data offset 5 words
            cursor.put(record.tcpFlags)
            cursor.put(UInt16(65_535))  // window
            cursor.put(UInt32(0))  // checksum (not computed: the payload is not sampled), urgent pointer
        case 17:
            cursor.put(record.sourcePort)
            cursor.put(record.destinationPort)
            cursor.put(UInt16(truncatingIfNeeded: ipLength - (isIPv4 ? 20 : 40)))
            cursor.put(UInt16(0))
        default:
            // ICMP and ICMPv6: type and code from the destination port (NetFlow's convention), then zeros.
            cursor.put(record.destinationPort)
            cursor.put(UInt16(0))
            cursor.put(UInt32(0))
        }
    }

    /// The smallest frame a record's headers fit in (its ``FlowRecord/octets`` must be at least this).
    @inlinable
    public static func minimumFrameLength(ipVersion: UInt8, protocolNumber: UInt8) -> Int {
        14 + (ipVersion == 6 ? 40 : 20) + (protocolNumber == 6 ? 20 : 8)
    }

    static func writeCounterSample(source: inout SFlowDataSource, into cursor: inout FlowWriteCursor) {
        source.counterSampleSequence &+= 1
        let counters = source.counters
        cursor.put(UInt32(2))  // enterprise 0, format 2: counter sample
        cursor.put(UInt32(4 + 4 + 4 + 8 + 88))
        cursor.put(source.counterSampleSequence)
        cursor.put(counters.interfaceIndex & 0x00FF_FFFF)
        cursor.put(UInt32(1))  // one counter record
        cursor.put(UInt32(1))  // enterprise 0, format 1: generic interface counters
        cursor.put(UInt32(88))
        cursor.put(counters.interfaceIndex)
        cursor.put(UInt32(6))  // ifType: ethernetCsmacd
        cursor.put(counters.speedBitsPerSecond)
        cursor.put(UInt32(1))  // ifDirection: full duplex
        cursor.put(UInt32(counters.operationallyUp ? 3 : 1))  // ifStatus: admin up, oper up/down
        cursor.put(counters.inputOctets)
        cursor.put(counters.inputUnicastPackets)
        cursor.put(counters.inputMulticastPackets)
        cursor.put(counters.inputBroadcastPackets)
        cursor.put(counters.inputDiscards)
        cursor.put(counters.inputErrors)
        cursor.put(UInt32(0))  // ifInUnknownProtos
        cursor.put(counters.outputOctets)
        cursor.put(counters.outputUnicastPackets)
        cursor.put(counters.outputMulticastPackets)
        cursor.put(counters.outputBroadcastPackets)
        cursor.put(counters.outputDiscards)
        cursor.put(counters.outputErrors)
        cursor.put(UInt32(0))  // ifPromiscuousMode
    }
}

/// The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of 16-bit words.
public enum InternetChecksum {
    /// The checksum of `bytes` (an odd last byte padded with zero), plus `initial` (a pseudo-header's sum).
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, initial: UInt64 = 0) -> UInt16 {
        ~fold(sum(bytes, initial: initial))
    }

    /// The unfolded sum of `bytes` as big-endian 16-bit words.
    @inlinable
    public static func sum(_ bytes: UnsafeRawBufferPointer, initial: UInt64 = 0) -> UInt64 {
        var total = initial
        var index = 0
        let count = bytes.count
        while index + 4 <= count {
            total &+= UInt64(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt32.self)))
            index += 4
        }
        if index + 2 <= count {
            total &+= UInt64(UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt16.self)))
            index += 2
        }
        if index < count { total &+= UInt64(bytes[index]) << 8 }
        return total
    }

    /// Folds a sum to 16 bits with end-around carries.
    @inlinable
    public static func fold(_ sum: UInt64) -> UInt16 {
        var total = sum
        while total >> 16 != 0 { total = (total & 0xFFFF) + (total >> 16) }
        return UInt16(total)
    }
}
