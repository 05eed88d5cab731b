/// Writes big-endian fields into a caller-provided buffer: the one unsafe place of the flow encoders.
///
/// Invariant: `offset <= capacity`, and every write stays inside `base[0..<capacity]`. Encoders check the
/// room a whole datagram needs once, up front (``require(_:)``), so the writes themselves are unchecked in
/// release builds and checked in debug builds.
public struct FlowWriteCursor {
    @usableFromInline let _base: UnsafeMutableRawPointer
    @usableFromInline let _capacity: Int
    /// Bytes written so far (the next write's position).
    public var offset: Int

    /// A cursor at the start of `buffer`.
    @inlinable
    public init(_ buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.baseAddress != nil || buffer.isEmpty, "a flow datagram buffer without storage")
        _base = buffer.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 0x10)!
        _capacity = buffer.count
        offset = 0
    }

    /// The bytes left after `offset`.
    @inlinable
    public var remaining: Int { _capacity - offset }

    /// Stops the program if fewer than `byteCount` bytes are left: a buffer too small for a datagram is a
    /// programming error of the caller (``FlowEncodingLimits/maximumDatagramBytes`` is always enough).
    @inlinable
    public func require(_ byteCount: Int) {
        precondition(byteCount <= remaining, "flow datagram buffer of \(_capacity) bytes too small")
    }

    @inlinable
    @inline(__always)
    mutating func _advance(_ byteCount: Int) -> UnsafeMutableRawPointer {
        assert(byteCount <= remaining, "flow write past the end of the buffer")
        let pointer = _base + offset
        offset &+= byteCount
        return pointer
    }

    @inlinable
    @inline(__always)
    public mutating func put(_ value: UInt8) {
        _advance(1).storeBytes(of: value, as: UInt8.self)
    }

    @inlinable
    @inline(__always)
    public mutating func put(_ value: UInt16) {
        _advance(2).storeBytes(of: value.bigEndian, as: UInt16.self)
    }

    @inlinable
    @inline(__always)
    public mutating func put(_ value: UInt32) {
        _advance(4).storeBytes(of: value.bigEndian, as: UInt32.self)
    }

    @inlinable
    @inline(__always)
    public mutating func put(_ value: UInt64) {
        _advance(8).storeBytes(of: value.bigEndian, as: UInt64.self)
    }

    /// An address's 16 bytes (IPv6, or IPv4-mapped), network order.
    @inlinable
    @inline(__always)
    public mutating func put16Bytes(_ address: IPAddress) {
        let pointer = _advance(16)
        pointer.storeBytes(of: address.high.bigEndian, as: UInt64.self)
        pointer.storeBytes(of: address.low.bigEndian, toByteOffset: 8, as: UInt64.self)
    }

    /// An IPv4 address's 4 bytes (the low 32 bits of the mapped address).
    @inlinable
    @inline(__always)
    public mutating func put4Bytes(_ address: IPAddress) {
        put(UInt32(truncatingIfNeeded: address.low))
    }

    /// `count` zero bytes.
    @inlinable
    public mutating func putZeros(_ count: Int) {
        _advance(count).initializeMemory(as: UInt8.self, repeating: 0, count: count)
    }

    /// Raw bytes, as they are.
    @inlinable
    public mutating func put(bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        _advance(bytes.count).copyMemory(from: source, byteCount: bytes.count)
    }

    /// Overwrites a 16-bit field written earlier (a length or count known only at the end).
    @inlinable
    public func patch(_ value: UInt16, at position: Int) {
        assert(position >= 0 && position + 2 <= offset, "patch outside the written bytes")
        (_base + position).storeBytes(of: value.bigEndian, as: UInt16.self)
    }

    /// Overwrites a 32-bit field written earlier.
    @inlinable
    public func patch(_ value: UInt32, at position: Int) {
        assert(position >= 0 && position + 4 <= offset, "patch outside the written bytes")
        (_base + position).storeBytes(of: value.bigEndian, as: UInt32.self)
    }

    /// Pads with zeros to a multiple of 4 bytes from `start` (NetFlow v9 flowsets, sFlow opaque data).
    @inlinable
    public mutating func padToFourBytes(from start: Int) {
        let padding = (4 - (offset - start) & 3) & 3
        if padding > 0 { putZeros(padding) }
    }

    /// The written bytes, for checksums over them.
    @inlinable
    public func written(from start: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: _base + start, count: offset - start)
    }
}

/// Bounds of the flow encoders.
public enum FlowEncodingLimits {
    /// Flow records in one datagram: NetFlow v5's limit, and what routers keep to for v9, IPFIX and sFlow.
    public static let maximumRecordsPerDatagram = 30
    /// Room for any datagram the encoders write: 30 IPv6 records of the largest template, plus templates,
    /// options and a counter sample (the largest is well under 5 KiB).
    public static let maximumDatagramBytes = 8 * 1024
}
