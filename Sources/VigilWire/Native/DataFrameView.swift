/// A decoded data frame: `count` samples read lazily from the payload columns.
///
/// Valid only during ``NativeDecoderDelegate/nativeDecoder(didDecode:)``: it points into the buffer the
/// caller passed to ``NativeStreamDecoder/decode(_:delegate:)``. The payload CRC has been checked and its
/// length matches `count`; wire ids are not checked against any schema (the engine maps them).
///
/// Layout of the payload it reads: `u32 count`, `u32 reserved`, `count × i64` timestamps, `count × f64` values,
/// `count × u32` wire ids, all little-endian and with no alignment guarantee.
public struct DataFrameView {
    /// Number of samples in the frame.
    public let count: Int
    /// Absolute stream offset of the frame's header, for error messages about its contents.
    public let streamOffset: Int64
    /// Start of the timestamp column (payload byte 8). Invariant: `count × 20` readable bytes follow.
    @usableFromInline let _columns: UnsafeRawPointer

    @inlinable
    init(count: Int, streamOffset: Int64, columns: UnsafeRawPointer) {
        self.count = count
        self.streamOffset = streamOffset
        self._columns = columns
    }

    @inlinable var _valuesByteOffset: Int { 8 &* count }
    @inlinable var _wireIDsByteOffset: Int { 16 &* count }

    /// Event time of sample `index`, nanoseconds since the Unix epoch. O(1).
    @inlinable
    public func timestamp(at index: Int) -> Int64 {
        precondition(index >= 0 && index < count, "sample index out of range")
        return Int64(littleEndian: _columns.loadUnaligned(fromByteOffset: 8 &* index, as: Int64.self))
    }

    /// Value of sample `index`. O(1).
    @inlinable
    public func value(at index: Int) -> Double {
        precondition(index >= 0 && index < count, "sample index out of range")
        let bits = _columns.loadUnaligned(fromByteOffset: _valuesByteOffset &+ 8 &* index, as: UInt64.self)
        return Double(bitPattern: UInt64(littleEndian: bits))
    }

    /// Stream-local wire id of sample `index`. O(1).
    @inlinable
    public func wireID(at index: Int) -> UInt32 {
        precondition(index >= 0 && index < count, "sample index out of range")
        return UInt32(
            littleEndian: _columns.loadUnaligned(fromByteOffset: _wireIDsByteOffset &+ 4 &* index, as: UInt32.self)
        )
    }

    /// Copies the samples in `range` into three columns (each with room for `range.count` elements).
    ///
    /// Three `memcpy`s on little-endian hosts; a byte-swapping loop elsewhere. O(`range.count`).
    @inlinable
    public func copy(
        range: Range<Int>,
        timestamps: UnsafeMutablePointer<Int64>,
        wireIDs: UnsafeMutablePointer<UInt32>,
        values: UnsafeMutablePointer<Double>
    ) {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "sample range out of bounds")
        let sampleCount = range.count
        #if _endian(little)
        UnsafeMutableRawPointer(timestamps).copyMemory(
            from: _columns + 8 &* range.lowerBound,
            byteCount: 8 &* sampleCount
        )
        UnsafeMutableRawPointer(values).copyMemory(
            from: _columns + (_valuesByteOffset &+ 8 &* range.lowerBound),
            byteCount: 8 &* sampleCount
        )
        UnsafeMutableRawPointer(wireIDs).copyMemory(
            from: _columns + (_wireIDsByteOffset &+ 4 &* range.lowerBound),
            byteCount: 4 &* sampleCount
        )
        #else
        for (slot, index) in range.enumerated() {
            timestamps[slot] = timestamp(at: index)
            values[slot] = value(at: index)
            wireIDs[slot] = wireID(at: index)
        }
        #endif
    }
}

/// Receives what a ``NativeStreamDecoder`` decodes. The decoder is generic over it, so calls are direct
/// (and inlined) rather than through an existential.
public protocol NativeDecoderDelegate {
    /// A schema entry: `entry.wireID` stands for `entry.descriptor` from now on (replacing any earlier
    /// declaration). A schema frame's entries arrive in frame order, and only when the whole frame is valid.
    mutating func nativeDecoder(didDeclare entry: SchemaEntry)
    /// A data frame; `frame` is valid only during this call.
    mutating func nativeDecoder(didDecode frame: DataFrameView)
    /// A decode error; the decoder has already counted it and continues with the next frame.
    mutating func nativeDecoder(didFail error: NativeDecodeError)
    /// A sender's hello (frame type 3).
    mutating func nativeDecoder(didReceive hello: NativeHello)
    /// A numbered frame (header flag bit 0) of `type` (schema or data) whose checksums are valid is about to
    /// be decoded: return false to skip it whole (a retry of a frame already taken).
    mutating func nativeDecoder(
        shouldDecodeFrameNumbered sequence: UInt32,
        type: NativeFrameType,
        offset: Int64
    ) -> Bool
    /// The numbered frame that was let through has been decoded: `delivered` is false when its payload was
    /// malformed (nothing of it was delivered; the error came first).
    mutating func nativeDecoder(didFinishFrameNumbered sequence: UInt32, delivered: Bool)
}

extension NativeDecoderDelegate {
    /// Hellos are for the engine's acknowledgements; other delegates ignore them.
    public mutating func nativeDecoder(didReceive hello: NativeHello) {}
    /// Without acknowledgements, every numbered frame is decoded.
    public mutating func nativeDecoder(
        shouldDecodeFrameNumbered sequence: UInt32,
        type: NativeFrameType,
        offset: Int64
    ) -> Bool { true }
    public mutating func nativeDecoder(didFinishFrameNumbered sequence: UInt32, delivered: Bool) {}
}
