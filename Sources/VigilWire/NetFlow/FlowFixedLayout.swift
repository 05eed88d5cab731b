/// Where each field Vigil reads sits in a record of a template without variable-length fields: an
/// absolute offset and a length per ``_FlowFieldTarget`` (offset -1: the template does not carry it).
///
/// Why not the field program: running the program costs an indirect jump per field (the switch on its
/// target), and profiles of v9 replay showed that jump dominating the decoder. Reading the layout is
/// straight-line code with one predictable branch per target, the same for every record of a set.
@usableFromInline
struct _FlowFixedLayout: Sendable {
    /// Offsets by target raw value; `-1` when absent.
    @usableFromInline var offsets: [Int32]
    @usableFromInline var lengths: [Int32]

    @usableFromInline static let targetCount = Int(_FlowFieldTarget.endTime.rawValue) + 1

    @inlinable
    init() {
        offsets = [Int32](repeating: -1, count: Self.targetCount)
        lengths = [Int32](repeating: 0, count: Self.targetCount)
    }

    /// The layout of a program without variable-length fields: a later field of the same target wins, as
    /// it does when the program runs.
    @usableFromInline
    init(operations: [_FlowFieldOperation]) {
        self.init()
        var position = 0
        for operation in operations {
            position += Int(operation.skipBefore)
            precondition(operation.length >= 0, "a fixed layout has no variable-length fields")
            if operation.target != .skip {
                offsets[Int(operation.target.rawValue)] = Int32(position)
                lengths[Int(operation.target.rawValue)] = Int32(operation.length)
            }
            position += Int(operation.length)
        }
    }
}

extension _FlowRecordProgram {
    /// Reads the record at `start` through `layout` (a template without variable-length fields). The caller
    /// has checked that the template's `minimumRecordLength` bytes are there; every offset plus its length
    /// lies within them.
    @inlinable
    @inline(__always)
    static func runLayout(
        offsets: UnsafeBufferPointer<Int32>,
        lengths: UnsafeBufferPointer<Int32>,
        _ base: UnsafeRawPointer,
        at start: Int,
        record: inout FlowRecord,
        scratch: inout _FlowRecordScratch
    ) {
        @inline(__always)
        func read(_ target: _FlowFieldTarget) -> UInt64? {
            let index = Int(target.rawValue)
            let offset = offsets[index]
            guard offset >= 0 else { return nil }
            return _FlowBytes.unsigned(base, start &+ Int(offset), length: Int(lengths[index]))
        }
        @inline(__always)
        func address(_ v4: _FlowFieldTarget, _ v6: _FlowFieldTarget) -> IPAddress? {
            let v6Offset = offsets[Int(v6.rawValue)]
            let v4Offset = offsets[Int(v4.rawValue)]
            // Both in one template: the later field wins, as when the program runs.
            if v6Offset > v4Offset {
                let at = start &+ Int(v6Offset)
                return IPAddress(high: _FlowBytes.u64(base, at), low: _FlowBytes.u64(base, at &+ 8))
            }
            guard v4Offset >= 0 else { return nil }
            return IPAddress(ipv4: _FlowBytes.u32(base, start &+ Int(v4Offset)))
        }
        if let value = read(.octets) { record.octets = value }
        if let value = read(.packets) { record.packets = value }
        if let value = read(.flows) { record.flows = value }
        if let value = read(.protocolNumber) { record.protocolNumber = UInt8(truncatingIfNeeded: value) }
        if let value = read(.typeOfService) { record.typeOfService = UInt8(truncatingIfNeeded: value) }
        if let value = read(.tcpFlags) { record.tcpFlags = UInt8(truncatingIfNeeded: value) }
        if let value = read(.sourcePort) { record.sourcePort = UInt16(truncatingIfNeeded: value) }
        if let value = read(.destinationPort) { record.destinationPort = UInt16(truncatingIfNeeded: value) }
        if let value = address(.sourceIPv4, .sourceIPv6) { record.sourceAddress = value }
        if let value = address(.destinationIPv4, .destinationIPv6) { record.destinationAddress = value }
        if let value = read(.inputInterface) { record.inputInterface = UInt32(truncatingIfNeeded: value) }
        if let value = read(.outputInterface) { record.outputInterface = UInt32(truncatingIfNeeded: value) }
        if let value = read(.sourceAS) { record.sourceAS = UInt32(truncatingIfNeeded: value) }
        if let value = read(.destinationAS) { record.destinationAS = UInt32(truncatingIfNeeded: value) }
        if let value = read(.vlan) { record.vlan = UInt16(truncatingIfNeeded: value) }
        if let value = read(.ipVersion), value == 4 || value == 6 { record.ipVersion = UInt8(value) }
        if let value = read(.direction) { record.direction = value == 1 ? .egress : .ingress }
        if let value = read(.icmpTypeCode) { scratch.icmpTypeCode = value }
        if let value = read(.samplingInterval) { scratch.samplingInterval = value }
        if let value = read(.samplerID) { scratch.samplerID = value }
        if let value = read(.packetInterval) { scratch.packetInterval = value }
        if let value = read(.packetSpace) { scratch.packetSpace = value }
        if let value = read(.systemInitMilliseconds) { scratch.systemInitMilliseconds = value }
        if let value = read(.startTime) { scratch.start = value }
        if let value = read(.endTime) { scratch.end = value }
    }
}
