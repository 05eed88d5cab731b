/// Append-only little-endian and LEB128 writer for building segments. Off the hot path: a segment is
/// encoded once per `rowsPerSegment` rows.
struct ByteWriter {
    var bytes: [UInt8]

    init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func appendLittleEndian<T: FixedWidthInteger & UnsignedInteger>(_ value: T) {
        var remaining = value
        for _ in 0..<MemoryLayout<T>.size {
            bytes.append(UInt8(truncatingIfNeeded: remaining))
            remaining >>= 8
        }
    }

    /// Unsigned LEB128: 7 bits per byte, high bit set on all but the last; at most 10 bytes.
    mutating func appendVarint(_ value: UInt64) {
        var remaining = value
        while remaining >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        bytes.append(UInt8(remaining))
    }

    /// Zigzag (0, -1, 1, -2 → 0, 1, 2, 3) then LEB128, so small negative deltas stay short.
    mutating func appendSignedVarint(_ value: Int64) {
        appendVarint(zigzag(value))
    }

    /// A varint length then the UTF-8 bytes.
    mutating func appendString(_ text: String) {
        // Straight from the string's UTF-8 view: no intermediate array per dictionary string.
        appendVarint(UInt64(text.utf8.count))
        bytes.append(contentsOf: text.utf8)
    }

    mutating func append(contentsOf other: [UInt8]) {
        bytes.append(contentsOf: other)
    }
}

@inline(__always) func zigzag(_ value: Int64) -> UInt64 {
    UInt64(bitPattern: (value << 1) ^ (value >> 63))
}

@inline(__always) func unzigzag(_ value: UInt64) -> Int64 {
    Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
}

/// Number of bytes `appendVarint` writes for `value` (1 to 10).
@inline(__always) func varintByteCount(_ value: UInt64) -> Int {
    value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
}

/// A bounds-checked cursor over bytes read from a file. Every read checks the remaining length first
/// and throws ``RollupSegmentError/truncated(section:offset:needed:available:)`` instead of trapping.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let section: String
    /// Offset of `bytes` within the section, for error messages.
    let baseOffset: Int
    private(set) var offset: Int = 0

    init(_ bytes: UnsafeRawBufferPointer, section: String, baseOffset: Int = 0) {
        self.bytes = bytes
        self.section = section
        self.baseOffset = baseOffset
    }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset == bytes.count }

    private func need(_ count: Int) throws {
        guard count <= remaining else {
            throw RollupSegmentError.truncated(
                section: section,
                offset: baseOffset + offset,
                needed: count,
                available: remaining
            )
        }
    }

    mutating func readLittleEndian<T: FixedWidthInteger & UnsignedInteger>() throws -> T {
        let size = MemoryLayout<T>.size
        try need(size)
        var value: T = 0
        for index in 0..<size {
            value |= T(bytes[offset + index]) << (8 * index)
        }
        offset += size
        return value
    }

    mutating func readByte() throws -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Reads an LEB128 varint of at most 10 bytes; a longer one, or one that overflows 64 bits, is malformed.
    @inline(__always)
    mutating func readVarint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        for _ in 0..<10 {
            let byte = try readByte()
            if shift == 63 && byte > 1 { break }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        throw RollupSegmentError.malformed(
            section: section,
            offset: baseOffset + offset,
            reason: "varint longer than 64 bits"
        )
    }

    @inline(__always)
    mutating func readSignedVarint() throws -> Int64 {
        unzigzag(try readVarint())
    }

    /// A varint length checked against `limit` and the bytes left, so a hostile length allocates nothing.
    mutating func readLength(limit: Int, what: String) throws -> Int {
        let start = baseOffset + offset
        let length = try readVarint()
        guard length <= UInt64(limit) else {
            throw RollupSegmentError.malformed(
                section: section,
                offset: start,
                reason: "\(what) length \(length) > \(limit)"
            )
        }
        try need(Int(length))
        return Int(length)
    }

    mutating func readString(what: String) throws -> String {
        let length = try readLength(limit: SegmentLayout.maximumStringByteCount, what: what)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])
        offset += length
        return String(decoding: slice, as: UTF8.self)
    }

    /// A sub-reader over the next `count` bytes, which this reader skips.
    mutating func subReader(count: Int, section: String) throws -> ByteReader {
        try need(count)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
        defer { offset += count }
        return ByteReader(slice, section: section, baseOffset: baseOffset + offset)
    }
}
