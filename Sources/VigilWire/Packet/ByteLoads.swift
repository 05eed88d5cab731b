// Unaligned fixed-width loads for the flow and capture decoders.
//
// Invariant: every caller has checked `offset >= 0 && offset + width <= count` against the buffer (a
// container's length, never a length the input claims) before the load; debug builds assert it.

extension UnsafeRawBufferPointer {
    @inline(__always)
    func _loadByte(at offset: Int) -> UInt8 {
        assert(offset >= 0 && offset < count, "load of 1 byte at \(offset) in \(count)")
        return self[offset]
    }

    @inline(__always)
    func _loadBigEndian16(at offset: Int) -> UInt16 {
        assert(offset >= 0 && offset + 2 <= count, "load of 2 bytes at \(offset) in \(count)")
        return UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always)
    func _loadBigEndian32(at offset: Int) -> UInt32 {
        assert(offset >= 0 && offset + 4 <= count, "load of 4 bytes at \(offset) in \(count)")
        return UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    func _loadBigEndian64(at offset: Int) -> UInt64 {
        assert(offset >= 0 && offset + 8 <= count, "load of 8 bytes at \(offset) in \(count)")
        return UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// A 16-bit word in the given byte order (capture files are written in the writer's order).
    @inline(__always)
    func _load16(at offset: Int, bigEndian: Bool) -> UInt16 {
        assert(offset >= 0 && offset + 2 <= count, "load of 2 bytes at \(offset) in \(count)")
        let raw = loadUnaligned(fromByteOffset: offset, as: UInt16.self)
        return bigEndian ? UInt16(bigEndian: raw) : UInt16(littleEndian: raw)
    }

    @inline(__always)
    func _load32(at offset: Int, bigEndian: Bool) -> UInt32 {
        assert(offset >= 0 && offset + 4 <= count, "load of 4 bytes at \(offset) in \(count)")
        let raw = loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        return bigEndian ? UInt32(bigEndian: raw) : UInt32(littleEndian: raw)
    }

    /// The address of `byteCount` (4 or 16) bytes at `offset`; the caller has checked they are there.
    @inline(__always)
    func _loadAddress(at offset: Int, byteCount: Int) -> IPAddress {
        assert(offset >= 0 && offset + byteCount <= count, "load of \(byteCount) bytes at \(offset) in \(count)")
        return IPAddress(bytes: baseAddress! + offset, byteCount: byteCount) ?? .unspecified
    }
}
