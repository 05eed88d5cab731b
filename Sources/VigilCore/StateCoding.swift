/// Little-endian writing of checkpoint state (`docs/state-format.md`): fixed-width integers and floats,
/// length-prefixed strings, and raw runs of trivial values (a column's slice), appended to one growing
/// buffer. Not for the hot path: a checkpoint is written at most once per `--checkpoint-interval`.
public struct StateWriter {
    @usableFromInline var _bytes: [UInt8] = []
    /// What was written.
    public var bytes: [UInt8] { _bytes }

    public init(reservingCapacity capacity: Int = 0) { _bytes.reserveCapacity(capacity) }

    @inlinable
    public mutating func put<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { _bytes.append(contentsOf: $0) }
    }

    @inlinable
    public mutating func put(_ value: Double) { put(value.bitPattern) }
    @inlinable
    public mutating func put(_ value: Float) { put(value.bitPattern) }
    @inlinable
    public mutating func put(_ value: Bool) { put(UInt8(value ? 1 : 0)) }

    /// A string as a u32 byte count and its UTF-8 bytes.
    @inlinable
    public mutating func put(_ value: String) {
        put(UInt32(value.utf8.count))
        _bytes.append(contentsOf: value.utf8)
    }

    /// Writes a u32 placeholder for the length of what follows and returns where it is, for
    /// ``endLength(at:)``: a length-prefixed record without building it in a buffer of its own.
    @inlinable
    public mutating func beginLength() -> Int {
        let position = _bytes.count
        put(UInt32(0))
        return position
    }

    /// Fills the placeholder ``beginLength()`` wrote with the bytes written since.
    @inlinable
    public mutating func endLength(at position: Int) {
        let length = UInt32(_bytes.count - position - 4).littleEndian
        withUnsafeBytes(of: length) { length in
            for index in 0..<4 { _bytes[position + index] = length[index] }
        }
    }

    /// `count` trivial values from `base`, as they lie in memory (little-endian on every platform Vigil
    /// builds for).
    @inlinable
    public mutating func putRaw<T>(_ base: UnsafePointer<T>, count: Int) {
        precondition(_isPOD(T.self), "putRaw takes trivial values only")
        _bytes.append(contentsOf: UnsafeRawBufferPointer(start: base, count: count * MemoryLayout<T>.stride))
    }

    /// The elements `range` of `array`, as ``putRaw(_:count:)``.
    @inlinable
    public mutating func putRaw<T>(_ array: [T], _ range: Range<Int>) {
        array.withUnsafeBufferPointer { putRaw($0.baseAddress! + range.lowerBound, count: range.count) }
    }
}

/// Reads what a ``StateWriter`` wrote, every read checked against the bytes left: a damaged or hostile
/// checkpoint throws ``StateReader/Malformed``, never reads past the end, never allocates more than it holds.
public struct StateReader {
    public struct Malformed: Error, Sendable, Equatable, CustomStringConvertible {
        public var offset: Int
        public var detail: String
        public var description: String { "state malformed at byte \(offset): \(detail)" }

        public init(offset: Int, detail: String) {
            self.offset = offset
            self.detail = detail
        }
    }

    @usableFromInline let bytes: [UInt8]
    @usableFromInline var _offset: Int
    public var offset: Int { _offset }

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self._offset = offset
    }

    public var remaining: Int { bytes.count - offset }

    @inlinable
    public func malformed(_ detail: String) -> Malformed { Malformed(offset: offset, detail: detail) }

    @inlinable
    mutating func need(_ count: Int, _ what: String) throws(Malformed) {
        guard count >= 0, remaining >= count else {
            throw malformed("\(what) needs \(count) bytes, \(remaining) left")
        }
    }

    @inlinable
    public mutating func get<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws(Malformed) -> T {
        try need(MemoryLayout<T>.size, what)
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
        _offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    /// A time in nanoseconds (or a slot number) that arithmetic may be done with: within ±2^62, or
    /// `Int64.min` where that is the "none yet" mark (`allowingNone`). Hostile values past that would trap
    /// the first subtraction that uses them.
    @inlinable
    public mutating func time(_ what: String, allowingNone: Bool = true) throws(Malformed) -> Int64 {
        let value = try get(Int64.self, what)
        guard (allowingNone && value == .min) || value.magnitude < 1 << 62 else {
            throw malformed("\(what) \(value) out of range")
        }
        return value
    }

    @inlinable
    public mutating func double(_ what: String) throws(Malformed) -> Double {
        Double(bitPattern: try get(UInt64.self, what))
    }

    @inlinable
    public mutating func float(_ what: String) throws(Malformed) -> Float {
        Float(bitPattern: try get(UInt32.self, what))
    }

    @inlinable
    public mutating func bool(_ what: String) throws(Malformed) -> Bool {
        let byte = try get(UInt8.self, what)
        guard byte <= 1 else { throw malformed("\(what): \(byte) is not 0 or 1") }
        return byte == 1
    }

    @inlinable
    public mutating func skip(_ count: Int, _ what: String) throws(Malformed) {
        try need(count, what)
        _offset += count
    }

    /// A string of at most `maximumByteCount` UTF-8 bytes.
    @inlinable
    public mutating func string(_ what: String, maximumByteCount: Int = 1 << 16) throws(Malformed) -> String {
        let count = Int(try get(UInt32.self, "\(what) length"))
        guard count <= maximumByteCount else {
            throw malformed("\(what) of \(count) bytes (at most \(maximumByteCount))")
        }
        try need(count, what)
        defer { _offset += count }
        return String(decoding: bytes[offset..<(offset + count)], as: UTF8.self)
    }

    /// `count` trivial values into `destination`, as ``StateWriter/putRaw(_:count:)`` wrote them.
    @inlinable
    public mutating func getRaw<T>(
        into destination: UnsafeMutablePointer<T>,
        count: Int,
        _ what: String
    ) throws(Malformed) {
        precondition(_isPOD(T.self), "getRaw takes trivial values only")
        let byteCount = count * MemoryLayout<T>.stride
        try need(byteCount, what)
        bytes.withUnsafeBytes { source in
            UnsafeMutableRawPointer(destination).copyMemory(from: source.baseAddress! + offset, byteCount: byteCount)
        }
        _offset += byteCount
    }

    /// The elements `range` of `array`, as ``getRaw(into:count:_:)``.
    @inlinable
    public mutating func getRaw<T>(into array: inout [T], _ range: Range<Int>, _ what: String) throws(Malformed) {
        try array.withUnsafeMutableBufferPointer { (buffer) throws(Malformed) in
            try getRaw(into: buffer.baseAddress! + range.lowerBound, count: range.count, what)
        }
    }
}
