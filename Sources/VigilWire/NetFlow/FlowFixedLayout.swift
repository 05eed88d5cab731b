/// Where each field Vigil reads sits in a record of a template without variable-length fields: per
/// ``_FlowFieldTarget``, its offset in the record and how to read it in one unaligned 8-byte load.
///
/// Why not the field program: running the program costs an indirect jump per field (the switch on its
/// target), and profiles of v9 replay showed that jump dominating the decoder. Reading the layout is
/// straight-line code with one predictable branch per target, the same for every record of a set.
///
/// Why one 8-byte load per field, whatever its length (1 to 8 bytes): a switch on the length cost an
/// indirect jump and about six instructions more per field. The load ends at the field's last byte, so it
/// starts up to 7 bytes before the field: before the record's own start for its first fields. Records are
/// read only at offsets of at least ``bytesReadBeforeRecord`` into their buffer (a datagram's header
/// comes first; held data is copied behind as many bytes of padding), which keeps the load in the buffer.
@usableFromInline
struct _FlowFixedLayout: Sendable {
    /// One target's place: `offset` -1 when the template does not carry it.
    @usableFromInline
    struct Slot: Sendable {
        /// The field's first byte, from the record's start.
        @usableFromInline var offset: Int32
        /// The first byte of the 8 loaded (`offset + length - 8`), from the record's start.
        @usableFromInline var loadOffset: Int32
        /// The field's bytes of the big-endian load: its low `length` bytes.
        @usableFromInline var mask: UInt64

        @usableFromInline static let absent = Slot(offset: -1, loadOffset: 0, mask: 0)

        @inlinable
        init(offset: Int32, loadOffset: Int32, mask: UInt64) {
            self.offset = offset
            self.loadOffset = loadOffset
            self.mask = mask
        }
    }

    /// Slots by target raw value.
    @usableFromInline var slots: [Slot]

    @usableFromInline static let targetCount = Int(_FlowFieldTarget.endTime.rawValue) + 1

    /// How far before a record's start a read may begin: a record must start at least this many bytes into
    /// the buffer it is read from.
    @usableFromInline static let bytesReadBeforeRecord = 7

    @inlinable
    init() {
        slots = [Slot](repeating: .absent, count: Self.targetCount)
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
                let length = Int(operation.length)
                precondition((1...16).contains(length), "field lengths are checked when the template is compiled")
                // Addresses (16-byte IPv6 ones included) are read by their offset alone; the load and mask
                // serve the integers of 1 to 8 bytes.
                let loaded = min(length, 8)
                slots[Int(operation.target.rawValue)] = Slot(
                    offset: Int32(position),
                    loadOffset: Int32(position + loaded - 8),
                    mask: loaded == 8 ? .max : (1 << (8 * UInt64(loaded))) - 1
                )
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
        slots: UnsafeBufferPointer<_FlowFixedLayout.Slot>,
        _ base: UnsafeRawPointer,
        at start: Int,
        detail: Bool,
        record: inout FlowRecord,
        scratch: inout _FlowRecordScratch
    ) {
        assert(start >= _FlowFixedLayout.bytesReadBeforeRecord)
        @inline(__always)
        func read(_ target: _FlowFieldTarget) -> UInt64? {
            let slot = slots[Int(target.rawValue)]
            guard slot.offset >= 0 else { return nil }
            return _FlowBytes.u64(base, start &+ Int(slot.loadOffset)) & slot.mask
        }
        @inline(__always)
        func address(_ v4: _FlowFieldTarget, _ v6: _FlowFieldTarget) -> IPAddress? {
            let v6Offset = slots[Int(v6.rawValue)].offset
            let v4Offset = slots[Int(v4.rawValue)].offset
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
        if let value = read(.destinationPort) { record.destinationPort = UInt16(truncatingIfNeeded: value) }
        if let value = address(.sourceIPv4, .sourceIPv6) { record.sourceAddress = value }
        if let value = address(.destinationIPv4, .destinationIPv6) { record.destinationAddress = value }
        if let value = read(.inputInterface) { record.inputInterface = UInt32(truncatingIfNeeded: value) }
        if let value = read(.outputInterface) { record.outputInterface = UInt32(truncatingIfNeeded: value) }
        // What the decoder itself needs (ICMP, sampling, options data) whatever the consumer reads.
        if let value = read(.icmpTypeCode) { scratch.icmpTypeCode = value }
        if let value = read(.samplingInterval) { scratch.samplingInterval = value }
        if let value = read(.samplerID) { scratch.samplerID = value }
        if let value = read(.packetInterval) { scratch.packetInterval = value }
        if let value = read(.packetSpace) { scratch.packetSpace = value }
        if let value = read(.systemInitMilliseconds) { scratch.systemInitMilliseconds = value }
        // `FlowConsumer.readsRecordDetail` (a constant of the specialised consumer).
        guard detail else { return }
        if let value = read(.typeOfService) { record.typeOfService = UInt8(truncatingIfNeeded: value) }
        if let value = read(.tcpFlags) { record.tcpFlags = UInt8(truncatingIfNeeded: value) }
        if let value = read(.sourcePort) { record.sourcePort = UInt16(truncatingIfNeeded: value) }
        if let value = read(.sourceAS) { record.sourceAS = UInt32(truncatingIfNeeded: value) }
        if let value = read(.destinationAS) { record.destinationAS = UInt32(truncatingIfNeeded: value) }
        if let value = read(.vlan) { record.vlan = UInt16(truncatingIfNeeded: value) }
        if let value = read(.ipVersion), value == 4 || value == 6 { record.ipVersion = UInt8(value) }
        if let value = read(.direction) { record.direction = value == 1 ? .egress : .ingress }
        if let value = read(.startTime) { scratch.start = value }
        if let value = read(.endTime) { scratch.end = value }
    }
}
