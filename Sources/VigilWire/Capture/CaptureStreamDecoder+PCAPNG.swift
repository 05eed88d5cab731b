// pcapng blocks (draft-ietf-opsawg-pcapng): section header, interface description, enhanced, simple and
// obsolete packet blocks; every other block is skipped by its length.

extension CaptureStreamDecoder {
    static let _sectionHeaderBlock: UInt32 = 0x0A0D_0D0A
    static let _interfaceDescriptionBlock: UInt32 = 1
    static let _obsoletePacketBlock: UInt32 = 2
    static let _simplePacketBlock: UInt32 = 3
    static let _enhancedPacketBlock: UInt32 = 6

    /// Reads one block (type, total length, body, total length again). Returns the bytes used, 0 when more
    /// are needed (or the reader failed).
    mutating func _readBlock<D: CapturedDatagramConsumer>(
        _ bytes: UnsafeRawBufferPointer,
        bigEndian sectionBigEndian: Bool,
        at offset: Int64,
        into consumer: inout D
    ) -> Int {
        guard bytes.count >= 12 else { return 0 }
        var bigEndian = sectionBigEndian
        let isSectionHeader = bytes._loadBigEndian32(at: 0) == Self._sectionHeaderBlock
        if isSectionHeader {
            switch bytes._loadBigEndian32(at: 8) {
            case 0x1A2B_3C4D: bigEndian = true
            case 0x4D3C_2B1A: bigEndian = false
            case let other:
                return _fail(
                    at: offset + 8,
                    "section header byte-order magic 0x\(String(other, radix: 16)), expected 1a2b3c4d",
                    into: &consumer
                )
            }
        }
        let type = bytes._load32(at: 0, bigEndian: bigEndian)
        let length = Int(bytes._load32(at: 4, bigEndian: bigEndian))
        guard length >= 12 && length % 4 == 0 else {
            return _fail(
                at: offset + 4,
                "block (type \(type)) total length \(length): not a multiple of 4 of at least 12",
                into: &consumer
            )
        }
        let isPacketOrHeader =
            isSectionHeader || type == Self._interfaceDescriptionBlock || type == Self._enhancedPacketBlock
            || type == Self._simplePacketBlock || type == Self._obsoletePacketBlock
        guard length <= Self.maximumRecordByteCount else {
            guard !isPacketOrHeader else {
                return _fail(
                    at: offset + 4,
                    "block (type \(type)) of \(length) bytes, above \(Self.maximumRecordByteCount)",
                    into: &consumer
                )
            }
            // Too long to hold, and nothing in it is needed: passed over as it streams by.
            _skipRemaining = length - 12
            return 12
        }
        guard bytes.count >= length else { return 0 }
        let trailer = Int(bytes._load32(at: length - 4, bigEndian: bigEndian))
        guard trailer == length else {
            return _fail(
                at: offset + Int64(length - 4),
                "block (type \(type)) total length \(length) at its start, \(trailer) at its end",
                into: &consumer
            )
        }
        let body = UnsafeRawBufferPointer(rebasing: bytes[8..<(length - 4)])
        let bodyOffset = offset + 8
        if isSectionHeader {
            guard body.count >= 16 else {
                return _fail(at: offset, "section header block of \(length) bytes, at least 28 needed", into: &consumer)
            }
            let major = body._load16(at: 4, bigEndian: bigEndian)
            guard major == 1 else {
                return _fail(at: bodyOffset + 4, "pcapng major version \(major), expected 1", into: &consumer)
            }
            // The section length (body offset 8) may be -1 (unknown); blocks are read one by one regardless.
            _format = .pcapng(bigEndian: bigEndian)
            _interfaces.removeAll(keepingCapacity: true)
            return length
        }
        switch type {
        case Self._interfaceDescriptionBlock:
            guard body.count >= 8 else {
                return _fail(at: offset, "interface description block of \(length) bytes", into: &consumer)
            }
            guard _interfaces.count < Self.maximumInterfaces else {
                return _fail(at: offset, "more than \(Self.maximumInterfaces) interfaces in a section", into: &consumer)
            }
            var interface = _Interface(
                linkType: UInt32(body._load16(at: 0, bigEndian: bigEndian)),
                snapLength: Int(body._load32(at: 4, bigEndian: bigEndian)),
                exponent: 6,
                powerOfTwo: false,
                offsetSeconds: 0
            )
            _readInterfaceOptions(body, from: 8, bigEndian: bigEndian, into: &interface)
            _interfaces.append(interface)
        case Self._enhancedPacketBlock, Self._obsoletePacketBlock:
            guard body.count >= 20 else {
                return _fail(at: offset, "packet block (type \(type)) of \(length) bytes", into: &consumer)
            }
            let interfaceID =
                type == Self._enhancedPacketBlock
                ? Int(body._load32(at: 0, bigEndian: bigEndian)) : Int(body._load16(at: 0, bigEndian: bigEndian))
            let capturedLength = Int(body._load32(at: 12, bigEndian: bigEndian))
            guard capturedLength <= body.count - 20 && capturedLength <= Self.maximumPacketByteCount else {
                return _fail(
                    at: bodyOffset + 12,
                    "captured length \(capturedLength) in a block with \(body.count - 20) bytes for it",
                    into: &consumer
                )
            }
            guard interfaceID < _interfaces.count else {
                return _fail(
                    at: bodyOffset,
                    "interface \(interfaceID) when the section described \(_interfaces.count)",
                    into: &consumer
                )
            }
            let interface = _interfaces[interfaceID]
            let units =
                UInt64(body._load32(at: 4, bigEndian: bigEndian)) << 32
                | UInt64(body._load32(at: 8, bigEndian: bigEndian))
            _lastTimestampNanoseconds = Self._nanoseconds(units, interface: interface)
            _packet(
                UnsafeRawBufferPointer(rebasing: body[20..<(20 + capturedLength)]),
                linkType: interface.linkType,
                originalLength: Int(body._load32(at: 16, bigEndian: bigEndian)),
                timestampNanoseconds: _lastTimestampNanoseconds,
                at: offset,
                into: &consumer
            )
        case Self._simplePacketBlock:
            guard body.count >= 4 else {
                return _fail(at: offset, "simple packet block of \(length) bytes", into: &consumer)
            }
            guard let interface = _interfaces.first else {
                return _fail(at: offset, "simple packet block before any interface description", into: &consumer)
            }
            let originalLength = Int(body._load32(at: 0, bigEndian: bigEndian))
            var capturedLength = min(originalLength, body.count - 4)
            if interface.snapLength > 0 { capturedLength = min(capturedLength, interface.snapLength) }
            _packet(
                UnsafeRawBufferPointer(rebasing: body[4..<(4 + capturedLength)]),
                linkType: interface.linkType,
                originalLength: originalLength,
                timestampNanoseconds: _lastTimestampNanoseconds,
                at: offset,
                into: &consumer
            )
        default:
            break  // Name resolution, statistics, custom, ...: not needed.
        }
        return length
    }

    /// Reads `if_tsresol` (9) and `if_tsoffset` (14) from an interface description's options.
    func _readInterfaceOptions(
        _ body: UnsafeRawBufferPointer,
        from start: Int,
        bigEndian: Bool,
        into interface: inout _Interface
    ) {
        var position = start
        while position + 4 <= body.count {
            let code = body._load16(at: position, bigEndian: bigEndian)
            let length = Int(body._load16(at: position + 2, bigEndian: bigEndian))
            let value = position + 4
            guard code != 0, length <= body.count - value else { return }  // End of options, or an overrun.
            switch code {
            case 9 where length >= 1:
                let resolution = body._loadByte(at: value)
                interface.powerOfTwo = resolution & 0x80 != 0
                interface.exponent = Int(resolution & 0x7F)
            case 14 where length >= 8:
                let high = UInt64(body._load32(at: value, bigEndian: bigEndian))
                let low = UInt64(body._load32(at: value + 4, bigEndian: bigEndian))
                let seconds = bigEndian ? high << 32 | low : low << 32 | high
                interface.offsetSeconds = Int64(bitPattern: seconds)
            default:
                break
            }
            position = value + (length + 3) & ~3
        }
    }

    /// A pcapng timestamp (in the interface's units since its offset) in nanoseconds since the Unix epoch.
    /// Wraps, never traps, on absurd values.
    static func _nanoseconds(_ units: UInt64, interface: _Interface) -> Int64 {
        var nanoseconds: UInt64
        if interface.powerOfTwo {
            let product = units.multipliedFullWidth(by: 1_000_000_000)
            let shift = interface.exponent
            if shift == 0 {
                nanoseconds = product.low
            } else if shift < 64 {
                nanoseconds = product.low >> UInt64(shift) | product.high << UInt64(64 - shift)
            } else if shift < 128 {
                nanoseconds = product.high >> UInt64(shift - 64)
            } else {
                nanoseconds = 0
            }
        } else if interface.exponent <= 9 {
            nanoseconds = units &* _powerOfTen(9 - interface.exponent)
        } else if interface.exponent - 9 <= 19 {
            nanoseconds = units / _powerOfTen(interface.exponent - 9)
        } else {
            nanoseconds = 0
        }
        return Int64(bitPattern: nanoseconds) &+ interface.offsetSeconds &* 1_000_000_000
    }

    /// 10^n for n in 0...19.
    static func _powerOfTen(_ n: Int) -> UInt64 {
        var value: UInt64 = 1
        for _ in 0..<n { value &*= 10 }
        return value
    }
}
