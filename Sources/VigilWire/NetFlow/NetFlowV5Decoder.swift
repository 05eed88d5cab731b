/// Decodes NetFlow v5 datagrams: a 24-byte header and 1 to 30 records of 48 bytes (Cisco's "NetFlow Export
/// Datagram Format", version 5).
///
/// Pure: bytes in, ``FlowConsumer`` calls out; the only state kept is each exporter's next expected
/// `flow_sequence`, for at most ``FlowDecoderLimits/maximumExporters`` exporters. The exporter key is the
/// datagram's source address with `engine_type << 8 | engine_id` as its observation domain.
///
/// Header fields and what becomes of them:
/// - `count` must be 1...30 and the datagram exactly `24 + 48 * count` bytes long, else the whole datagram
///   is dropped as ``FlowDecodeError/Reason/lengthMismatch`` (v5 has no sets to resynchronise on).
/// - `sysUptime`, `unix_secs`, `unix_nsecs`: export time; records' `first`/`last` (uptime milliseconds)
///   become Unix milliseconds as `export - (sysUptime - first)`.
/// - `flow_sequence` counts flows sent before this datagram: a forward jump over the expected value is a
///   ``FlowConsumer/flowSequenceGap(missing:info:)`` (see ``_FlowSequenceTracker`` for the rules).
/// - `sampling_interval`: the top 2 bits are the mode, the low 14 the interval N (1 in N), given to every
///   record; 0 means unknown and stays 0.
public struct NetFlowV5Decoder {
    public let limits: FlowDecoderLimits
    @usableFromInline var _sequences: [FlowExporterKey: _FlowSequenceTracker] = [:]

    /// Header bytes.
    public static let headerByteCount = 24
    /// Bytes per record.
    public static let recordByteCount = 48
    /// Records one datagram may carry.
    public static let maximumRecordCount = 30

    public init(limits: FlowDecoderLimits = .init()) {
        self.limits = limits
    }

    /// Exporters with sequence state.
    public var exporterCount: Int { _sequences.count }

    /// Decodes one datagram.
    ///
    /// - Parameters:
    ///   - datagram: the UDP payload; only read during the call.
    ///   - address: the exporter's address (the datagram's source).
    ///   - arrivalNanoseconds: receive time, nanoseconds since the Unix epoch.
    ///   - consumer: receives the datagram's header, its records, a sequence gap, or the error that
    ///     stopped it.
    public mutating func decode<C: FlowConsumer>(
        _ datagram: UnsafeRawBufferPointer,
        from address: IPAddress,
        arrivalNanoseconds: Int64,
        into consumer: inout C
    ) {
        let byteCount = datagram.count
        guard byteCount >= Self.headerByteCount, let base = datagram.baseAddress else {
            consumer.flowError(
                FlowDecodeError(
                    .shortHeader,
                    offset: 0,
                    "NetFlow v5 header needs \(Self.headerByteCount) bytes, datagram has \(byteCount)"
                ),
                info: nil
            )
            return
        }
        let version = _FlowBytes.u16(base, 0)
        let count = Int(_FlowBytes.u16(base, 2))
        guard version == 5 else {
            consumer.flowError(
                FlowDecodeError(.notAFlowDatagram, offset: 0, "NetFlow v5 decoder given version \(version)"),
                info: nil
            )
            return
        }
        let expectedByteCount = Self.headerByteCount + Self.recordByteCount * count
        guard (1...Self.maximumRecordCount).contains(count), byteCount == expectedByteCount else {
            consumer.flowError(
                FlowDecodeError(
                    .lengthMismatch,
                    offset: 2,
                    "NetFlow v5 count \(count) (1...\(Self.maximumRecordCount)) needs \(expectedByteCount) bytes, "
                        + "datagram has \(byteCount)"
                ),
                info: nil
            )
            return
        }
        let uptime = _FlowBytes.u32(base, 4)
        let seconds = Int64(_FlowBytes.u32(base, 8))
        let nanoseconds = Int64(_FlowBytes.u32(base, 12))
        let sequence = _FlowBytes.u32(base, 16)
        let engine = UInt32(_FlowBytes.u16(base, 20))
        let samplingInterval = UInt32(_FlowBytes.u16(base, 22) & 0x3FFF)
        let exporter = FlowExporterKey(address: address, observationDomain: engine)
        let info = FlowDatagramInfo(
            format: .netFlowV5,
            exporter: exporter,
            exportNanoseconds: seconds &* 1_000_000_000 &+ nanoseconds,
            arrivalNanoseconds: arrivalNanoseconds,
            sequenceNumber: sequence
        )
        // Bounded by limits.maximumExporters: a new exporter past it is refused, not added.
        var tracker = _sequences[exporter]
        if tracker == nil {
            guard _sequences.count < limits.maximumExporters else {
                consumer.flowError(
                    FlowDecodeError(
                        .exporterLimit,
                        offset: 0,
                        "exporter \(exporter) refused: \(limits.maximumExporters) exporters already known"
                    ),
                    info: info
                )
                return
            }
            tracker = _FlowSequenceTracker()
        }
        consumer.flowDatagram(info)
        let missing = tracker!.gap(before: sequence)
        if missing > 0 { consumer.flowSequenceGap(missing: missing, info: info) }
        tracker!.advance(from: sequence, units: UInt32(count))
        _sequences[exporter] = tracker

        let exportMilliseconds = seconds &* 1000 &+ nanoseconds / 1_000_000
        var record = FlowRecord()
        record.ipVersion = 4
        record.samplingInterval = samplingInterval
        var offset = Self.headerByteCount
        // Bounded: `count` ≤ 30 records, each inside the datagram (checked above).
        for _ in 0..<count {
            let r = base + offset
            record.sourceAddress = IPAddress(ipv4: _FlowBytes.u32(r, 0))
            record.destinationAddress = IPAddress(ipv4: _FlowBytes.u32(r, 4))
            record.inputInterface = UInt32(_FlowBytes.u16(r, 12))
            record.outputInterface = UInt32(_FlowBytes.u16(r, 14))
            record.packets = UInt64(_FlowBytes.u32(r, 16))
            record.octets = UInt64(_FlowBytes.u32(r, 20))
            record.startMilliseconds = _flowEpochMilliseconds(
                uptimeMilliseconds: _FlowBytes.u32(r, 24),
                headerUptime: uptime,
                exportMilliseconds: exportMilliseconds
            )
            record.endMilliseconds = _flowEpochMilliseconds(
                uptimeMilliseconds: _FlowBytes.u32(r, 28),
                headerUptime: uptime,
                exportMilliseconds: exportMilliseconds
            )
            record.sourcePort = _FlowBytes.u16(r, 32)
            record.destinationPort = _FlowBytes.u16(r, 34)
            record.tcpFlags = _FlowBytes.u8(r, 37)
            record.protocolNumber = _FlowBytes.u8(r, 38)
            record.typeOfService = _FlowBytes.u8(r, 39)
            record.sourceAS = UInt32(_FlowBytes.u16(r, 40))
            record.destinationAS = UInt32(_FlowBytes.u16(r, 42))
            consumer.flowRecord(record, info: info)
            offset &+= Self.recordByteCount
        }
    }
}
