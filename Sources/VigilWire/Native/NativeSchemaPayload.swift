import VigilCore

/// The result of parsing a schema payload: every entry, or the first defect and its payload-relative offset.
@usableFromInline
enum _SchemaParseOutcome {
    case entries([SchemaEntry])
    case malformed(payloadByteOffset: Int, defect: NativeSchemaDefect)
}

@usableFromInline
struct _SchemaDefectAt: Error {
    let payloadByteOffset: Int
    let defect: NativeSchemaDefect
}

/// Parses a whole schema payload (CRC already checked). All or nothing: a defect anywhere rejects the frame.
///
/// O(payload bytes); allocates the entries and their strings. Bounded: the entry count is checked against
/// the payload size before anything is reserved, and every read is checked against the bytes left.
@usableFromInline
func _parseSchemaPayload(_ payload: UnsafeRawBufferPointer) -> _SchemaParseOutcome {
    var reader = _SchemaPayloadReader(bytes: payload)
    do throws(_SchemaDefectAt) {
        let entryCount = try reader.readUInt32(.entryCount)
        let maxEntryCount = (payload.count - 4) / NativeFormat.minSchemaEntryByteCount
        guard UInt64(entryCount) <= UInt64(maxEntryCount) else {
            throw _SchemaDefectAt(
                payloadByteOffset: 0,
                defect: .entryCountExceedsPayload(count: entryCount, payloadBytes: payload.count)
            )
        }
        var entries: [SchemaEntry] = []
        entries.reserveCapacity(Int(entryCount))
        for _ in 0..<Int(entryCount) {
            entries.append(try reader.readEntry())
        }
        guard reader.remainingByteCount == 0 else {
            throw _SchemaDefectAt(
                payloadByteOffset: reader.position,
                defect: .trailingBytes(count: reader.remainingByteCount)
            )
        }
        return .entries(entries)
    } catch {
        return .malformed(payloadByteOffset: error.payloadByteOffset, defect: error.defect)
    }
}

/// A bounds-checked little-endian cursor over a schema payload.
///
/// Invariant: `0 <= position <= bytes.count`; every read checks `remainingByteCount` first.
struct _SchemaPayloadReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var position: Int = 0

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    var remainingByteCount: Int { bytes.count - position }

    mutating func readEntry() throws(_SchemaDefectAt) -> SchemaEntry {
        let wireIDOffset = position
        let wireID = try readUInt32(.wireID)
        guard wireID <= NativeFormat.maxWireSeriesID else {
            throw _SchemaDefectAt(payloadByteOffset: wireIDOffset, defect: .wireIDOutOfRange(wireID: wireID))
        }
        let kindOffset = position
        let kindRawValue = try readUInt8(.kind)
        guard let kind = MetricKind(rawValue: kindRawValue) else {
            throw _SchemaDefectAt(payloadByteOffset: kindOffset, defect: .unknownMetricKind(rawValue: kindRawValue))
        }
        let labelCountOffset = position
        let extraLabelCount = Int(try readUInt8(.extraLabelCount))
        guard extraLabelCount <= NativeFormat.maxExtraLabelCount else {
            throw _SchemaDefectAt(
                payloadByteOffset: labelCountOffset,
                defect: .tooManyExtraLabels(count: extraLabelCount)
            )
        }
        let device = try readString(.device)
        let interface = try readString(.interface)
        let metric = try readString(.metric)
        let unit = try readString(.unit)
        var extraLabels: [Label] = []
        extraLabels.reserveCapacity(extraLabelCount)
        for index in 0..<extraLabelCount {
            let name = try readString(.labelName(index: index))
            let value = try readString(.labelValue(index: index))
            extraLabels.append(Label(name: name, value: value))
        }
        let key = SeriesKey(device: device, interface: interface, metric: metric, extraLabels: extraLabels)
        return SchemaEntry(wireID: wireID, descriptor: SeriesDescriptor(key: key, kind: kind, unit: unit))
    }

    mutating func readUInt8(_ field: SchemaField) throws(_SchemaDefectAt) -> UInt8 {
        try require(1, for: field)
        defer { position += 1 }
        return bytes.load(fromByteOffset: position, as: UInt8.self)
    }

    mutating func readUInt16(_ field: SchemaField) throws(_SchemaDefectAt) -> UInt16 {
        try require(2, for: field)
        defer { position += 2 }
        return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt16.self))
    }

    mutating func readUInt32(_ field: SchemaField) throws(_SchemaDefectAt) -> UInt32 {
        try require(4, for: field)
        defer { position += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    /// A `u16` byte length, then that many bytes of valid UTF-8 (at most 1024).
    mutating func readString(_ field: SchemaField) throws(_SchemaDefectAt) -> String {
        let lengthOffset = position
        let byteCount = Int(try readUInt16(field))
        guard byteCount <= NativeFormat.maxStringByteCount else {
            throw _SchemaDefectAt(
                payloadByteOffset: lengthOffset,
                defect: .stringTooLong(field: field, byteCount: byteCount)
            )
        }
        try require(byteCount, for: field)
        let stringOffset = position
        let utf8 = UnsafeRawBufferPointer(rebasing: bytes[stringOffset..<stringOffset + byteCount])
        // Decoding repairs invalid sequences with U+FFFD, so the input was valid exactly when the decoded
        // string's UTF-8 is the input (portable; `String(validating:)` needs macOS 15). Labels are nearly
        // always ASCII, which is valid as it stands: that check is a byte scan, not a second walk of the string.
        let string = String(decoding: utf8, as: UTF8.self)
        guard Self.isASCII(utf8) || string.utf8.elementsEqual(utf8) else {
            throw _SchemaDefectAt(payloadByteOffset: stringOffset, defect: .invalidUTF8(field: field))
        }
        position += byteCount
        return string
    }

    private static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var highBits: UInt8 = 0
        for byte in bytes { highBits |= byte }
        return highBits < 0x80
    }

    private func require(_ byteCount: Int, for field: SchemaField) throws(_SchemaDefectAt) {
        guard remainingByteCount >= byteCount else {
            throw _SchemaDefectAt(
                payloadByteOffset: position,
                defect: .truncated(field: field, needed: byteCount, available: remainingByteCount)
            )
        }
    }
}
