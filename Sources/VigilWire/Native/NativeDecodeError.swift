/// Something wrong with the input of a ``NativeStreamDecoder``. Each case carries the absolute stream byte
/// offset of the frame (or skipped run) it concerns, so a user can find the damage with `xxd -s`.
///
/// Every error is counted in ``NativeDecoderStatistics`` under its ``kind`` and passed to the delegate once;
/// the decoder then resynchronises at the next valid frame.
public enum NativeDecodeError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// `byteCount` bytes starting at `offset` did not begin a valid frame and were skipped. Reported once per
    /// contiguous run, when the run ends (a valid header follows, or the stream finishes).
    case garbageSkipped(offset: Int64, byteCount: Int)
    /// A magic at `offset` whose header CRC32C does not match: the header (and its length) cannot be trusted,
    /// so the decoder rescans from `offset + 1`.
    case headerChecksumMismatch(offset: Int64, expected: UInt32, computed: UInt32)
    /// A header with a valid CRC but a version this decoder does not read. The frame is skipped whole when its
    /// length is within the limit and its payload CRC matches; with a payload CRC that fails, the decoder resumes
    /// at the next valid header inside the frame, as for ``payloadChecksumMismatch(offset:expected:computed:)``;
    /// with a length over the limit, it rescans from `offset + 1`.
    case unsupportedVersion(offset: Int64, version: UInt8)
    /// A valid v1 header of a frame type this decoder does not know; the frame is skipped whole.
    case unknownFrameType(offset: Int64, type: UInt8)
    /// A valid v1 header announcing a payload longer than the decoder's limit; the decoder rescans from
    /// `offset + 1` rather than wait for that many bytes.
    case payloadTooLarge(offset: Int64, length: UInt32, limit: Int)
    /// The payload's CRC32C does not match the header's; the frame is skipped.
    case payloadChecksumMismatch(offset: Int64, expected: UInt32, computed: UInt32)
    /// The schema payload of the frame at `offset` is malformed at absolute byte `fieldOffset`; the whole
    /// frame is skipped (none of its entries are declared).
    case malformedSchema(offset: Int64, fieldOffset: Int64, reason: NativeSchemaDefect)
    /// The data payload of the frame at `offset` is malformed; the frame is skipped.
    case malformedData(offset: Int64, reason: NativeDataDefect)
    /// The stream ended inside a frame: `needed` bytes make the frame, only `available` arrived.
    case truncatedFrame(offset: Int64, needed: Int, available: Int)
    /// A hello frame whose payload is not 16 bytes, or whose sender id is 0; the frame is skipped.
    case malformedHello(offset: Int64, byteCount: Int)

    /// The error's kind, the key of its counter.
    public enum Kind: Int, Sendable, CaseIterable, CustomStringConvertible {
        case garbageSkipped
        case headerChecksumMismatch
        case unsupportedVersion
        case unknownFrameType
        case payloadTooLarge
        case payloadChecksumMismatch
        case malformedSchema
        case malformedData
        case truncatedFrame
        case malformedHello

        /// A stable snake_case name for the run summary and metrics.
        public var counterName: String {
            switch self {
            case .garbageSkipped: return "garbage_skipped"
            case .headerChecksumMismatch: return "header_checksum"
            case .unsupportedVersion: return "unsupported_version"
            case .unknownFrameType: return "unknown_frame_type"
            case .payloadTooLarge: return "payload_too_large"
            case .payloadChecksumMismatch: return "payload_checksum"
            case .malformedSchema: return "malformed_schema"
            case .malformedData: return "malformed_data"
            case .truncatedFrame: return "truncated_frame"
            case .malformedHello: return "malformed_hello"
            }
        }

        public var description: String { counterName }
    }

    public var kind: Kind {
        switch self {
        case .garbageSkipped: return .garbageSkipped
        case .headerChecksumMismatch: return .headerChecksumMismatch
        case .unsupportedVersion: return .unsupportedVersion
        case .unknownFrameType: return .unknownFrameType
        case .payloadTooLarge: return .payloadTooLarge
        case .payloadChecksumMismatch: return .payloadChecksumMismatch
        case .malformedSchema: return .malformedSchema
        case .malformedData: return .malformedData
        case .truncatedFrame: return .truncatedFrame
        case .malformedHello: return .malformedHello
        }
    }

    /// A stable snake_case name for the run summary and metrics, e.g. `payload_checksum`.
    public var counterName: String { kind.counterName }

    /// The absolute stream offset of the frame or run the error concerns.
    public var offset: Int64 {
        switch self {
        case .garbageSkipped(let offset, _), .headerChecksumMismatch(let offset, _, _),
            .unsupportedVersion(let offset, _), .unknownFrameType(let offset, _), .payloadTooLarge(let offset, _, _),
            .payloadChecksumMismatch(let offset, _, _), .malformedSchema(let offset, _, _),
            .malformedData(let offset, _), .truncatedFrame(let offset, _, _), .malformedHello(let offset, _):
            return offset
        }
    }

    public var description: String {
        switch self {
        case .garbageSkipped(let offset, let byteCount):
            return "skipped \(byteCount) bytes at byte \(offset) that do not start a valid frame"
        case .headerChecksumMismatch(let offset, let expected, let computed):
            return "bad header CRC32C in frame at byte \(offset): header says \(_hex(expected)), "
                + "bytes 0..<20 give \(_hex(computed)); rescanning from the next byte"
        case .unsupportedVersion(let offset, let version):
            return "unsupported version \(version) in frame at byte \(offset): this decoder reads version "
                + "\(NativeFormat.version)"
        case .unknownFrameType(let offset, let type):
            return "unknown frame type \(type) in frame at byte \(offset): expected 1 (schema), 2 (data) or 3 "
                + "(hello); frame skipped"
        case .payloadTooLarge(let offset, let length, let limit):
            return "payload of \(length) bytes in frame at byte \(offset) exceeds the limit of \(limit) bytes; "
                + "rescanning from the next byte"
        case .payloadChecksumMismatch(let offset, let expected, let computed):
            return "bad payload CRC32C in frame at byte \(offset): header says \(_hex(expected)), "
                + "payload gives \(_hex(computed)); frame skipped"
        case .malformedSchema(let offset, let fieldOffset, let reason):
            return "malformed schema frame at byte \(offset): \(reason) (at byte \(fieldOffset)); frame skipped"
        case .malformedData(let offset, let reason):
            return "malformed data frame at byte \(offset): \(reason); frame skipped"
        case .truncatedFrame(let offset, let needed, let available):
            return "stream ends inside the frame at byte \(offset): the frame needs \(needed) bytes, "
                + "only \(available) arrived"
        case .malformedHello(let offset, let byteCount):
            return "malformed hello frame at byte \(offset): \(byteCount)-byte payload (a hello is 16 bytes with "
                + "a sender id other than 0); frame skipped"
        }
    }
}

/// What is wrong with a schema payload.
public enum NativeSchemaDefect: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// Reading `field` needs `needed` more bytes, the payload has `available` left.
    case truncated(field: SchemaField, needed: Int, available: Int)
    /// `count` entries of at least 14 bytes each cannot fit in a payload of `payloadBytes`.
    case entryCountExceedsPayload(count: UInt32, payloadBytes: Int)
    /// Wire ids are 24-bit.
    case wireIDOutOfRange(wireID: UInt32)
    /// The kind byte is not a ``MetricKind`` raw value (0, 1 or 2).
    case unknownMetricKind(rawValue: UInt8)
    /// More than 32 extra labels.
    case tooManyExtraLabels(count: Int)
    /// A string longer than 1024 bytes.
    case stringTooLong(field: SchemaField, byteCount: Int)
    /// A string that is not valid UTF-8.
    case invalidUTF8(field: SchemaField)
    /// The declared entries end `count` bytes before the payload does.
    case trailingBytes(count: Int)

    public var description: String {
        switch self {
        case .truncated(let field, let needed, let available):
            return "the \(field) needs \(needed) bytes but only \(available) remain in the payload"
        case .entryCountExceedsPayload(let count, let payloadBytes):
            return "\(count) entries cannot fit in a payload of \(payloadBytes) bytes "
                + "(an entry takes at least \(NativeFormat.minSchemaEntryByteCount))"
        case .wireIDOutOfRange(let wireID):
            return "wire id \(wireID) exceeds the 24-bit maximum \(NativeFormat.maxWireSeriesID)"
        case .unknownMetricKind(let rawValue):
            return "metric kind \(rawValue) is not 0 (gauge), 1 (counter32) or 2 (counter64)"
        case .tooManyExtraLabels(let count):
            return "\(count) extra labels exceed the maximum of \(NativeFormat.maxExtraLabelCount)"
        case .stringTooLong(let field, let byteCount):
            return "the \(field) is \(byteCount) bytes long, more than the maximum "
                + "\(NativeFormat.maxStringByteCount)"
        case .invalidUTF8(let field):
            return "the \(field) is not valid UTF-8"
        case .trailingBytes(let count):
            return "\(count) bytes follow the last entry"
        }
    }
}

/// What is wrong with a data payload.
public enum NativeDataDefect: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// Shorter than the 8-byte count and reserved prefix.
    case payloadTooShort(byteCount: Int)
    /// `count` samples need `8 + 20 × count = expectedBytes`, the payload has `actualBytes`.
    case lengthMismatch(count: UInt32, expectedBytes: Int, actualBytes: Int)

    public var description: String {
        switch self {
        case .payloadTooShort(let byteCount):
            return "the payload is \(byteCount) bytes, shorter than the 8-byte count and reserved fields"
        case .lengthMismatch(let count, let expectedBytes, let actualBytes):
            return "\(count) samples need a payload of \(expectedBytes) bytes, the frame has \(actualBytes)"
        }
    }
}

/// Why ``NativeEncoder`` refused a schema entry (the output is left unchanged).
public enum NativeEncodeError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    case wireIDOutOfRange(wireID: UInt32)
    case tooManyExtraLabels(wireID: UInt32, count: Int)
    case stringTooLong(wireID: UInt32, field: SchemaField, byteCount: Int)

    public var description: String {
        switch self {
        case .wireIDOutOfRange(let wireID):
            return "wire id \(wireID) exceeds the 24-bit maximum \(NativeFormat.maxWireSeriesID)"
        case .tooManyExtraLabels(let wireID, let count):
            return "wire id \(wireID) has \(count) extra labels, more than the maximum "
                + "\(NativeFormat.maxExtraLabelCount)"
        case .stringTooLong(let wireID, let field, let byteCount):
            return "the \(field) of wire id \(wireID) is \(byteCount) bytes long, more than the maximum "
                + "\(NativeFormat.maxStringByteCount)"
        }
    }
}

private func _hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16, uppercase: false)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
