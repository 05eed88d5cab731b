// Flow and counter samples, and the records inside them (sflow_version_5.txt, "Flow Data" and
// "Counter Data"). Every offset below is into the sample; `base` is the sample's offset in the datagram,
// for error messages.

extension SFlowDecoder {
    /// Bytes before the first record: compact (format 1) and expanded (format 3) flow samples.
    static let _flowSampleFixedBytes = (compact: 32, expanded: 44)
    /// Bytes before the first record: compact (format 2) and expanded (format 4) counter samples.
    static let _counterSampleFixedBytes = (compact: 12, expanded: 16)
    /// Generic interface counters (counter record format 1).
    static let _genericInterfaceCountersBytes = 88

    /// An interface named in a compact sample: the top 2 bits are the format (0: an ifIndex; 1: the packet
    /// was dropped; 2: it went to several interfaces), the low 30 the value. Only an ifIndex is kept;
    /// 0x3FFFFFFF ("internal") and the other formats give 0.
    @inline(__always)
    static func _compactInterface(_ word: UInt32) -> UInt32 {
        let value = word & 0x3FFF_FFFF
        return word >> 30 == 0 && value != 0x3FFF_FFFF ? value : 0
    }

    /// An interface named in an expanded sample: a format word and a value word (same formats).
    @inline(__always)
    static func _expandedInterface(format: UInt32, value: UInt32) -> UInt32 {
        format == 0 && value != 0x3FFF_FFFF ? value : 0
    }

    mutating func _decodeFlowSample<C: FlowConsumer>(
        _ sample: UnsafeRawBufferPointer,
        expanded: Bool,
        base: Int,
        info: FlowDatagramInfo,
        into consumer: inout C
    ) {
        let fixed = expanded ? Self._flowSampleFixedBytes.expanded : Self._flowSampleFixedBytes.compact
        guard sample.count >= fixed else {
            consumer.flowError(
                .init(
                    .badSampleLength,
                    offset: base,
                    "\(expanded ? "expanded " : "")flow sample of \(sample.count) bytes, its fields need \(fixed)"
                ),
                info: info
            )
            return
        }
        var record = FlowRecord()
        let recordCount: UInt32
        if expanded {
            record.samplingInterval = sample._loadBigEndian32(at: 12)
            record.inputInterface = Self._expandedInterface(
                format: sample._loadBigEndian32(at: 24),
                value: sample._loadBigEndian32(at: 28)
            )
            record.outputInterface = Self._expandedInterface(
                format: sample._loadBigEndian32(at: 32),
                value: sample._loadBigEndian32(at: 36)
            )
            recordCount = sample._loadBigEndian32(at: 40)
        } else {
            record.samplingInterval = sample._loadBigEndian32(at: 8)
            record.inputInterface = Self._compactInterface(sample._loadBigEndian32(at: 20))
            record.outputInterface = Self._compactInterface(sample._loadBigEndian32(at: 24))
            recordCount = sample._loadBigEndian32(at: 28)
        }
        record.packets = 1
        // Where the key came from: 2 a raw packet header, 1 a sampled IPv4/IPv6 record, 0 nowhere yet.
        var keySource = 0
        var switchVLAN: UInt16 = 0
        var position = fixed
        var decoded: UInt32 = 0
        while decoded < recordCount {
            guard
                let (format, body) = _nextRecord(
                    sample,
                    at: &position,
                    decoded: decoded,
                    claimed: recordCount,
                    base: base,
                    info: info,
                    into: &consumer
                )
            else { break }
            decoded += 1
            let bodyBase = base + position - body.count
            switch format {
            case 1:  // Raw packet header.
                if _readRawHeader(body, base: bodyBase, record: &record, info: info, into: &consumer) {
                    keySource = 2
                }
            case 3 where keySource < 2, 4 where keySource < 2:  // Sampled IPv4, sampled IPv6.
                let isIPv6 = format == 4
                let addressBytes = isIPv6 ? 16 : 4
                // octets, protocol, two addresses, then ports, TCP flags and ToS (4 bytes each).
                let portsAt = 8 + 2 * addressBytes
                guard body.count >= portsAt + 16 else {
                    _shortRecord(
                        isIPv6 ? "sampled IPv6" : "sampled IPv4",
                        body.count,
                        needed: portsAt + 16,
                        base: bodyBase,
                        info: info,
                        into: &consumer
                    )
                    continue
                }
                record.octets = UInt64(body._loadBigEndian32(at: 0))
                record.protocolNumber = UInt8(truncatingIfNeeded: body._loadBigEndian32(at: 4))
                record.sourceAddress = body._loadAddress(at: 8, byteCount: addressBytes)
                record.destinationAddress = body._loadAddress(at: 8 + addressBytes, byteCount: addressBytes)
                record.sourcePort = UInt16(truncatingIfNeeded: body._loadBigEndian32(at: portsAt))
                record.destinationPort = UInt16(truncatingIfNeeded: body._loadBigEndian32(at: portsAt + 4))
                record.tcpFlags = UInt8(truncatingIfNeeded: body._loadBigEndian32(at: portsAt + 8))
                record.typeOfService = UInt8(truncatingIfNeeded: body._loadBigEndian32(at: portsAt + 12))
                record.ipVersion = isIPv6 ? 6 : 4
                keySource = 1
            case 1001:  // Extended switch: source VLAN, priority, destination VLAN, priority.
                guard body.count >= 16 else {
                    _shortRecord("extended switch", body.count, needed: 16, base: bodyBase, info: info, into: &consumer)
                    continue
                }
                switchVLAN = UInt16(truncatingIfNeeded: body._loadBigEndian32(at: 0) & 0x0FFF)
            default:
                continue  // Another record, or a sampled IP record after a raw header: skipped by its length.
            }
        }
        guard keySource > 0 else { return }
        if record.vlan == 0 { record.vlan = switchVLAN }
        consumer.flowRecord(record, info: info)
    }

    mutating func _decodeCounterSample<C: FlowConsumer>(
        _ sample: UnsafeRawBufferPointer,
        expanded: Bool,
        base: Int,
        info: FlowDatagramInfo,
        into consumer: inout C
    ) {
        let fixed = expanded ? Self._counterSampleFixedBytes.expanded : Self._counterSampleFixedBytes.compact
        guard sample.count >= fixed else {
            consumer.flowError(
                .init(
                    .badSampleLength,
                    offset: base,
                    "\(expanded ? "expanded " : "")counter sample of \(sample.count) bytes, its fields need \(fixed)"
                ),
                info: info
            )
            return
        }
        let recordCount = sample._loadBigEndian32(at: fixed - 4)
        var position = fixed
        var decoded: UInt32 = 0
        while decoded < recordCount {
            guard
                let (format, body) = _nextRecord(
                    sample,
                    at: &position,
                    decoded: decoded,
                    claimed: recordCount,
                    base: base,
                    info: info,
                    into: &consumer
                )
            else { return }
            decoded += 1
            guard format == 1 else { continue }  // Ethernet, processor, ... counters: skipped by length.
            let bodyBase = base + position - body.count
            guard body.count >= Self._genericInterfaceCountersBytes else {
                _shortRecord(
                    "generic interface counters",
                    body.count,
                    needed: Self._genericInterfaceCountersBytes,
                    base: bodyBase,
                    info: info,
                    into: &consumer
                )
                continue
            }
            var counters = InterfaceCounterRecord()
            counters.interfaceIndex = body._loadBigEndian32(at: 0)
            // ifType at 4.
            counters.speedBitsPerSecond = body._loadBigEndian64(at: 8)
            // ifDirection at 16.
            counters.operationallyUp = body._loadBigEndian32(at: 20) & 0b10 != 0
            counters.inputOctets = body._loadBigEndian64(at: 24)
            counters.inputUnicastPackets = body._loadBigEndian32(at: 32)
            counters.inputMulticastPackets = body._loadBigEndian32(at: 36)
            counters.inputBroadcastPackets = body._loadBigEndian32(at: 40)
            counters.inputDiscards = body._loadBigEndian32(at: 44)
            counters.inputErrors = body._loadBigEndian32(at: 48)
            // ifInUnknownProtos at 52.
            counters.outputOctets = body._loadBigEndian64(at: 56)
            counters.outputUnicastPackets = body._loadBigEndian32(at: 64)
            counters.outputMulticastPackets = body._loadBigEndian32(at: 68)
            counters.outputBroadcastPackets = body._loadBigEndian32(at: 72)
            counters.outputDiscards = body._loadBigEndian32(at: 76)
            counters.outputErrors = body._loadBigEndian32(at: 80)
            // ifPromiscuousMode at 84.
            consumer.flowInterfaceCounters(counters, info: info)
        }
    }

    /// The next record of a sample: its format and body, with `position` moved past it; nil (after
    /// reporting why) when the sample cannot hold it, which ends the sample.
    @inline(__always)
    func _nextRecord<C: FlowConsumer>(
        _ sample: UnsafeRawBufferPointer,
        at position: inout Int,
        decoded: UInt32,
        claimed: UInt32,
        base: Int,
        info: FlowDatagramInfo,
        into consumer: inout C
    ) -> (format: UInt32, body: UnsafeRawBufferPointer)? {
        guard position + 8 <= sample.count else {
            consumer.flowError(
                .init(
                    .badSampleLength,
                    offset: base + position,
                    "sample claims \(claimed) records, its \(sample.count) bytes end after \(decoded)"
                ),
                info: info
            )
            return nil
        }
        let format = sample._loadBigEndian32(at: position)
        let length = Int(sample._loadBigEndian32(at: position + 4))
        let start = position + 8
        guard length <= sample.count - start else {
            consumer.flowError(
                .init(
                    .truncated,
                    offset: base + position,
                    "record (format \(Self._formatName(format))) of \(length) bytes, its sample has \(sample.count - start) left"
                ),
                info: info
            )
            return nil
        }
        guard length % 4 == 0 else {
            consumer.flowError(
                .init(.badSampleLength, offset: base + position, "record length \(length) is not a multiple of 4"),
                info: info
            )
            return nil
        }
        position = start + length
        return (format, UnsafeRawBufferPointer(rebasing: sample[start..<(start + length)]))
    }

    func _shortRecord<C: FlowConsumer>(
        _ name: String,
        _ length: Int,
        needed: Int,
        base: Int,
        info: FlowDatagramInfo,
        into consumer: inout C
    ) {
        consumer.flowError(
            .init(.badSampleLength, offset: base, "\(name) record of \(length) bytes, its fields need \(needed)"),
            info: info
        )
    }

    /// Reads a raw packet header record (header protocol, frame length, stripped, header opaque) into the
    /// record's key, octets (the frame length) and VLAN. Returns whether it gave a key: an IP packet, or a
    /// frame whose ethertype is not IP (its bytes are still traffic: counted with no addresses).
    func _readRawHeader<C: FlowConsumer>(
        _ body: UnsafeRawBufferPointer,
        base: Int,
        record: inout FlowRecord,
        info: FlowDatagramInfo,
        into consumer: inout C
    ) -> Bool {
        guard body.count >= 16 else {
            _shortRecord("raw packet header", body.count, needed: 16, base: base, info: info, into: &consumer)
            return false
        }
        let headerProtocol = body._loadBigEndian32(at: 0)
        let frameLength = body._loadBigEndian32(at: 4)
        let stripped = body._loadBigEndian32(at: 8)
        let headerLength = Int(body._loadBigEndian32(at: 12))
        guard headerLength <= body.count - 16 else {
            consumer.flowError(
                .init(
                    .badSampleLength,
                    offset: base + 12,
                    "raw packet header of \(headerLength) bytes in a record with \(body.count - 16) left"
                ),
                info: info
            )
            return false
        }
        guard stripped <= frameLength, UInt64(headerLength) <= UInt64(frameLength - stripped) else {
            consumer.flowError(
                .init(
                    .badPacketHeader,
                    offset: base + 4,
                    "header of \(headerLength) bytes, frame length \(frameLength), stripped \(stripped)"
                ),
                info: info
            )
            return false
        }
        let header = UnsafeRawBufferPointer(rebasing: body[16..<(16 + headerLength)])
        let parsed: Result<ParsedPacket, PacketHeaderError>
        switch headerProtocol {
        case 1: parsed = PacketHeaderParser.parseEthernet(header)
        case 11: parsed = PacketHeaderParser.parseIPv4(header)
        case 12: parsed = PacketHeaderParser.parseIPv6(header)
        default:
            consumer.flowError(
                .init(
                    .badPacketHeader,
                    offset: base,
                    "header protocol \(headerProtocol) (decoded: 1 Ethernet, 11 IPv4, 12 IPv6)"
                ),
                info: info
            )
            return false
        }
        switch parsed {
        case .success(let packet):
            record.setKey(from: packet)
        case .failure(let error) where error.kind == .notIP && headerProtocol == 1:
            // ARP, LLDP, ...: no addresses, but the frame's VLAN and bytes.
            if header.count >= 18 && header._loadBigEndian16(at: 12) == 0x8100 {
                record.vlan = header._loadBigEndian16(at: 14) & 0x0FFF
            }
        case .failure(let error):
            consumer.flowError(
                .init(.badPacketHeader, offset: base + 16 + error.offset, error.description),
                info: info
            )
            return false
        }
        record.octets = UInt64(frameLength)
        return true
    }
}
