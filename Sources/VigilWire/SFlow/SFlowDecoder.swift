/// Decodes sFlow version 5 datagrams (sflow.org, `sflow_version_5.txt`) into ``FlowRecord``s and
/// ``InterfaceCounterRecord``s.
///
/// Pure: bytes in, values out; the arrival time is a parameter (sFlow carries no absolute time, so it is also
/// the export time). The exporter is the agent address the datagram names with its sub-agent id as the
/// observation domain.
///
/// What is read (enterprise 0 only; anything else is skipped by its length):
/// - flow samples (format 1) and expanded flow samples (format 3): one ``FlowRecord`` per sample, keyed from
///   its raw packet header record (format 1; header protocol 1 Ethernet, 11 IPv4, 12 IPv6) or, without one,
///   from a sampled IPv4 / IPv6 record (formats 3, 4); the VLAN from the header's tag, else from an extended
///   switch record (1001). Octets are the sampled frame's length (the raw header's `frame_length`, or the
///   sampled IP record's length), packets 1, the sampling interval the sample's rate.
/// - counter samples (format 2) and expanded counter samples (format 4): generic interface counters (format 1).
///
/// Hostile input: every length (sample, record, opaque) is checked against its container before a byte of
/// it is read; a sample count the datagram cannot hold is `length_mismatch`. A bad sample is reported and the
/// next one decoded when the sample's own length can be trusted, otherwise the rest of the datagram is
/// dropped. Each step of every loop consumes at least 8 bytes, so the work is linear in the datagram's size.
///
/// Bounds: sequence numbers are kept for at most `limits.maximumExporters` agents (agent address and
/// sub-agent); a datagram from one more is decoded but its sequence is not followed (`exporter_limit`,
/// reported once per datagram). Decoding a sample allocates nothing; only errors build their message.
public struct SFlowDecoder {
    public let limits: FlowDecoderLimits
    /// The last datagram sequence number seen per agent and sub-agent.
    @usableFromInline var _lastSequence: [FlowExporterKey: UInt32]

    public init(limits: FlowDecoderLimits = .init()) {
        self.limits = limits
        self._lastSequence = [:]
    }

    /// Agents (address and sub-agent id) whose datagram sequence numbers are followed.
    public var exporterCount: Int { _lastSequence.count }

    /// Decodes one sFlow v5 datagram.
    /// - Parameters:
    ///   - datagram: the UDP payload.
    ///   - address: where the datagram came from (sFlow names its agent inside; this is not used for the key).
    ///   - arrivalNanoseconds: when it arrived, nanoseconds since the Unix epoch.
    ///   - consumer: receives the datagram's info, its records, counters, sequence gaps and errors.
    public mutating func decode<C: FlowConsumer>(
        _ datagram: UnsafeRawBufferPointer,
        from address: IPAddress,
        arrivalNanoseconds: Int64,
        into consumer: inout C
    ) {
        let bytes = datagram
        guard bytes.count >= 8 else {
            consumer.flowError(
                .init(.shortHeader, offset: 0, "sFlow header needs at least 28 bytes, have \(bytes.count)"),
                info: nil
            )
            return
        }
        let version = bytes._loadBigEndian32(at: 0)
        guard version == 5 else {
            consumer.flowError(.init(.notAFlowDatagram, offset: 0, "sFlow version \(version), expected 5"), info: nil)
            return
        }
        let addressType = bytes._loadBigEndian32(at: 4)
        let addressLength: Int
        switch addressType {
        case 1: addressLength = 4
        case 2: addressLength = 16
        default:
            consumer.flowError(
                .init(.notAFlowDatagram, offset: 4, "agent address type \(addressType), expected 1 (IPv4) or 2 (IPv6)"),
                info: nil
            )
            return
        }
        let headerLength = 8 + addressLength + 16
        guard bytes.count >= headerLength else {
            consumer.flowError(
                .init(.shortHeader, offset: 0, "sFlow header needs \(headerLength) bytes, have \(bytes.count)"),
                info: nil
            )
            return
        }
        let agent = bytes._loadAddress(at: 8, byteCount: addressLength)
        var position = 8 + addressLength
        let subAgent = bytes._loadBigEndian32(at: position)
        let sequence = bytes._loadBigEndian32(at: position + 4)
        // Uptime (position + 8) is the agent's clock in milliseconds: not absolute, not used.
        let sampleCount = bytes._loadBigEndian32(at: position + 12)
        position += 16
        let info = FlowDatagramInfo(
            format: .sFlowV5,
            exporter: FlowExporterKey(address: agent, observationDomain: subAgent),
            exportNanoseconds: arrivalNanoseconds,
            arrivalNanoseconds: arrivalNanoseconds,
            sequenceNumber: sequence
        )
        consumer.flowDatagram(info)
        _followSequence(info, into: &consumer)

        var decoded: UInt32 = 0
        while decoded < sampleCount {
            guard position + 8 <= bytes.count else {
                consumer.flowError(
                    .init(
                        .lengthMismatch,
                        offset: position,
                        "header claims \(sampleCount) samples, the datagram ends after \(decoded)"
                    ),
                    info: info
                )
                return
            }
            let format = bytes._loadBigEndian32(at: position)
            let length = Int(bytes._loadBigEndian32(at: position + 4))
            let start = position + 8
            guard length <= bytes.count - start else {
                consumer.flowError(
                    .init(
                        .truncated,
                        offset: position,
                        "sample (format \(Self._formatName(format))) of \(length) bytes, \(bytes.count - start) left"
                    ),
                    info: info
                )
                return
            }
            guard length % 4 == 0 else {
                consumer.flowError(
                    .init(.badSampleLength, offset: position, "sample length \(length) is not a multiple of 4"),
                    info: info
                )
                return
            }
            let sample = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)])
            switch format {
            case 1: _decodeFlowSample(sample, expanded: false, base: start, info: info, into: &consumer)
            case 3: _decodeFlowSample(sample, expanded: true, base: start, info: info, into: &consumer)
            case 2: _decodeCounterSample(sample, expanded: false, base: start, info: info, into: &consumer)
            case 4: _decodeCounterSample(sample, expanded: true, base: start, info: info, into: &consumer)
            default: break  // Another enterprise's or a later format: skipped by its length.
            }
            position = start + length
            decoded += 1
        }
        if position != bytes.count {
            consumer.flowError(
                .init(
                    .lengthMismatch,
                    offset: position,
                    "\(bytes.count - position) bytes after the \(sampleCount) samples the header claims"
                ),
                info: info
            )
        }
    }

    /// Reports the datagrams lost since the agent's last one; the table holds at most
    /// `limits.maximumExporters` agents.
    @inline(__always)
    mutating func _followSequence<C: FlowConsumer>(_ info: FlowDatagramInfo, into consumer: inout C) {
        let sequence = info.sequenceNumber
        if let index = _lastSequence.index(forKey: info.exporter) {
            let last = _lastSequence.values[index]
            let ahead = sequence &- last
            // Ahead by 2 ..< 2^31: datagrams were lost. 0 (a duplicate) or behind (reordered, or the agent
            // restarted its count) is not a loss; the new number is followed from here.
            if ahead > 1 && ahead < 0x8000_0000 {
                consumer.flowSequenceGap(missing: UInt64(ahead - 1), info: info)
            }
            _lastSequence.values[index] = sequence
        } else if _lastSequence.count < limits.maximumExporters {
            _lastSequence[info.exporter] = sequence
        } else {
            consumer.flowError(
                .init(
                    .exporterLimit,
                    offset: 0,
                    "sequence numbers already followed for \(limits.maximumExporters) agents; \(info.exporter) is not"
                ),
                info: info
            )
        }
    }

    static func _formatName(_ format: UInt32) -> String { "\(format >> 12):\(format & 0xFFF)" }
}
