/// Values of one record that are resolved after all its fields are read (a template may send them in any
/// order): times, ICMP type-code, sampling, the IPFIX uptime base.
@usableFromInline
struct _FlowRecordScratch {
    @usableFromInline var start: UInt64 = 0
    @usableFromInline var end: UInt64 = 0
    @usableFromInline var icmpTypeCode: UInt64 = 0
    @usableFromInline var samplingInterval: UInt64 = 0
    @usableFromInline var samplerID: UInt64 = 0
    @usableFromInline var packetInterval: UInt64 = 0
    @usableFromInline var packetSpace: UInt64 = 0
    @usableFromInline var systemInitMilliseconds: UInt64 = 0

    @inlinable
    init() {}

    /// The record's own sampling interval, 1 in N (0 when it gave none): RFC 5477's
    /// `(samplingPacketInterval + samplingPacketSpace) / samplingPacketInterval` when the interval is given,
    /// else `samplingInterval` (34) or `samplerRandomInterval` (50). Clamped to `UInt32.max`.
    @inlinable
    var recordSamplingInterval: UInt32 {
        if packetInterval > 0 {
            let (sum, overflow) = packetInterval.addingReportingOverflow(packetSpace)
            return overflow ? UInt32.max : UInt32(clamping: sum / packetInterval)
        }
        return UInt32(clamping: samplingInterval)
    }
}

/// What resolving a record needs from its datagram and exporter, fixed for a set.
@usableFromInline
struct _FlowRecordContext {
    @usableFromInline var isIPFIX: Bool
    /// v9 header sysUptime and export time (Unix milliseconds).
    @usableFromInline var headerUptime: UInt32
    @usableFromInline var exportMilliseconds: Int64
    /// IPFIX: the exporter's systemInitTimeMilliseconds from options data (0: unknown).
    @usableFromInline var systemInitMilliseconds: UInt64
    @usableFromInline var defaultSamplingInterval: UInt32
}

/// The record loop's two halves: running a template's program over a record's bytes, and resolving what
/// the fields left for after the record.
@usableFromInline
enum _FlowRecordProgram {
    /// Stores one field. The caller has checked that `length` bytes at `offset` are inside the set, and
    /// the template compiler that `length` suits `target`.
    @inlinable
    @inline(__always)
    static func store(
        _ target: _FlowFieldTarget,
        _ base: UnsafeRawPointer,
        _ offset: Int,
        _ length: Int,
        record: inout FlowRecord,
        scratch: inout _FlowRecordScratch
    ) {
        switch target {
        case .skip: break
        case .octets: record.octets = _FlowBytes.unsigned(base, offset, length: length)
        case .packets: record.packets = _FlowBytes.unsigned(base, offset, length: length)
        case .flows: record.flows = _FlowBytes.unsigned(base, offset, length: length)
        case .protocolNumber:
            record.protocolNumber = UInt8(truncatingIfNeeded: _FlowBytes.unsigned(base, offset, length: length))
        case .typeOfService:
            record.typeOfService = UInt8(truncatingIfNeeded: _FlowBytes.unsigned(base, offset, length: length))
        case .tcpFlags:
            record.tcpFlags = UInt8(truncatingIfNeeded: _FlowBytes.unsigned(base, offset, length: length))
        case .sourcePort:
            record.sourcePort = UInt16(truncatingIfNeeded: _FlowBytes.unsigned(base, offset, length: length))
        case .destinationPort:
            record.destinationPort = UInt16(truncatingIfNeeded: _FlowBytes.unsigned(base, offset, length: length))
        case .sourceIPv4: record.sourceAddress = IPAddress(ipv4: _FlowBytes.u32(base, offset))
        case .destinationIPv4: record.destinationAddress = IPAddress(ipv4: _FlowBytes.u32(base, offset))
        case .sourceIPv6:
            record.sourceAddress = IPAddress(high: _FlowBytes.u64(base, offset), low: _FlowBytes.u64(base, offset &+ 8))
        case .destinationIPv6:
            record.destinationAddress = IPAddress(
                high: _FlowBytes.u64(base, offset),
                low: _FlowBytes.u64(base, offset &+ 8)
            )
        case .inputInterface:
            record.inputInterface = UInt32(truncatingIfNeeded: _FlowBytes.unsigned(base, offset, length: length))
        case .outputInterface:
            record.outputInterface = UInt32(truncatingIfNeeded: _FlowBytes.unsigned(base, offset, length: length))
        case .sourceAS:
            record.sourceAS = UInt32(truncatingIfNeeded: _FlowBytes.unsigned(base, offset, length: length))
        case .destinationAS:
            record.destinationAS = UInt32(truncatingIfNeeded: _FlowBytes.unsigned(base, offset, length: length))
        case .vlan: record.vlan = UInt16(truncatingIfNeeded: _FlowBytes.unsigned(base, offset, length: length))
        case .ipVersion:
            let version = _FlowBytes.unsigned(base, offset, length: length)
            if version == 4 || version == 6 { record.ipVersion = UInt8(version) }
        case .direction:
            record.direction = _FlowBytes.unsigned(base, offset, length: length) == 1 ? .egress : .ingress
        case .icmpTypeCode: scratch.icmpTypeCode = _FlowBytes.unsigned(base, offset, length: length)
        case .samplingInterval: scratch.samplingInterval = _FlowBytes.unsigned(base, offset, length: length)
        case .samplerID: scratch.samplerID = _FlowBytes.unsigned(base, offset, length: length)
        case .packetInterval: scratch.packetInterval = _FlowBytes.unsigned(base, offset, length: length)
        case .packetSpace: scratch.packetSpace = _FlowBytes.unsigned(base, offset, length: length)
        case .systemInitMilliseconds:
            scratch.systemInitMilliseconds = _FlowBytes.unsigned(base, offset, length: length)
        case .startTime: scratch.start = _FlowBytes.unsigned(base, offset, length: length)
        case .endTime: scratch.end = _FlowBytes.unsigned(base, offset, length: length)
        }
    }

    /// Runs a program without variable-length fields over the record at `start`. The caller has checked
    /// that the template's `minimumRecordLength` bytes (the whole record) are there.
    @inlinable
    @inline(__always)
    static func runFixed(
        _ operations: UnsafeBufferPointer<_FlowFieldOperation>,
        _ base: UnsafeRawPointer,
        at start: Int,
        record: inout FlowRecord,
        scratch: inout _FlowRecordScratch
    ) {
        var position = start
        for operation in operations {
            position &+= Int(operation.skipBefore)
            let length = Int(operation.length)
            store(operation.target, base, position, length, record: &record, scratch: &scratch)
            position &+= length
        }
    }

    /// Runs a program with variable-length fields over the record at `start`, checking every length
    /// against `end` (RFC 7011 7: a length byte below 255, or 255 and a 16-bit length).
    ///
    /// - Returns: where the record ends, or nil when it runs past `end`.
    @inlinable
    static func runChecked(
        _ operations: UnsafeBufferPointer<_FlowFieldOperation>,
        trailingSkip: Int,
        _ base: UnsafeRawPointer,
        at start: Int,
        end: Int,
        record: inout FlowRecord,
        scratch: inout _FlowRecordScratch
    ) -> Int? {
        var position = start
        for operation in operations {
            position &+= Int(operation.skipBefore)
            var length = Int(operation.length)
            if length < 0 {
                guard position < end else { return nil }
                length = Int(_FlowBytes.u8(base, position))
                position &+= 1
                if length == 255 {
                    guard end &- position >= 2 else { return nil }
                    length = Int(_FlowBytes.u16(base, position))
                    position &+= 2
                }
            }
            guard position <= end, end &- position >= length else { return nil }
            store(operation.target, base, position, length, record: &record, scratch: &scratch)
            position &+= length
        }
        position &+= trailingSkip
        return position <= end ? position : nil
    }

    /// Unix milliseconds of a time field read as `source` (0 when it cannot be known).
    @inlinable
    @inline(__always)
    static func milliseconds(
        _ raw: UInt64,
        _ source: _FlowTimeSource,
        context: _FlowRecordContext,
        recordSystemInit: UInt64
    ) -> Int64 {
        switch source {
        case .none: return 0
        case .uptime:
            guard context.isIPFIX else {
                return _flowEpochMilliseconds(
                    uptimeMilliseconds: UInt32(truncatingIfNeeded: raw),
                    headerUptime: context.headerUptime,
                    exportMilliseconds: context.exportMilliseconds
                )
            }
            let base = recordSystemInit != 0 ? recordSystemInit : context.systemInitMilliseconds
            return base == 0 ? 0 : Int64(truncatingIfNeeded: base &+ raw)
        case .seconds: return Int64(truncatingIfNeeded: raw) &* 1000
        case .milliseconds: return Int64(truncatingIfNeeded: raw)
        case .ntp:
            // NTP era 0: seconds since 1900-01-01; the Unix epoch is 2,208,988,800 s later.
            let seconds = Int64(raw >> 32) &- 2_208_988_800
            let fractionMilliseconds = Int64(((raw & 0xFFFF_FFFF) &* 1000) >> 32)
            return seconds &* 1000 &+ fractionMilliseconds
        }
    }
}
