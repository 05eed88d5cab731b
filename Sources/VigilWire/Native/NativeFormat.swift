import VigilCore

/// The kind of a native frame (header byte 5).
public enum NativeFrameType: UInt8, Sendable, CaseIterable {
    /// Declares wire ids: which series each one stands for.
    case schema = 1
    /// Carries samples: columns of timestamps, values and wire ids.
    case data = 2
    /// A sender's hello: its sender id, and whether it wants acknowledgements (``NativeHello``).
    case hello = 3
    /// Vigil's acknowledgements of a sender's numbered frames (``NativeAcknowledgement``); only Vigil sends
    /// them, so a reader of senders' streams treats one as an unknown type.
    case acknowledgement = 4
}

/// Constants and sizes of the native wire format v1 (docs/wire-format.md).
///
/// Every value is an `@inlinable` computed property rather than a stored one, so the decoder's hot loop
/// folds them into constants across module boundaries.
public enum NativeFormat {
    /// The frame magic `"VGIL"` (bytes `56 47 49 4C`) read as a little-endian `UInt32`.
    @inlinable public static var magic: UInt32 { 0x4C49_4756 }
    /// The only version this module reads and writes.
    @inlinable public static var version: UInt8 { 1 }
    /// Size of the fixed frame header.
    @inlinable public static var headerByteCount: Int { 24 }
    /// The header CRC32C covers header bytes `0..<20`.
    @inlinable public static var headerChecksummedByteCount: Int { 20 }
    /// Header flag bit 0: the frame is numbered; its sequence number is the header's `u32` at byte 16.
    @inlinable public static var sequencedFlag: UInt16 { 1 }
    /// The decoder's default payload limit (4 MiB).
    @inlinable public static var defaultMaxPayloadBytes: Int { 4 << 20 }
    /// Wire ids are 24-bit: `0...maxWireSeriesID`.
    @inlinable public static var maxWireSeriesID: UInt32 { (1 << 24) - 1 }
    /// Upper bound on a schema entry's extra labels.
    @inlinable public static var maxExtraLabelCount: Int { 32 }
    /// Upper bound on the UTF-8 length of any schema string (device, interface, metric, unit, label name or value).
    @inlinable public static var maxStringByteCount: Int { 1024 }
    /// A data payload is `u32 count`, `u32 reserved`, then the columns.
    @inlinable public static var dataPayloadPrefixByteCount: Int { 8 }
    /// Bytes per sample in a data payload: i64 timestamp + f64 value + u32 wire id.
    @inlinable public static var dataBytesPerSample: Int { 20 }
    /// The smallest schema entry: wire id, kind, label count and four empty strings.
    @inlinable public static var minSchemaEntryByteCount: Int { 4 + 1 + 1 + 4 * 2 }
    /// The largest schema entry: four strings and 32 label pairs, each string at its maximum length.
    @inlinable public static var maxSchemaEntryByteCount: Int {
        4 + 1 + 1 + (4 + 2 * maxExtraLabelCount) * (2 + maxStringByteCount)
    }

    /// The payload length of a data frame carrying `sampleCount` samples: `8 + 20 × sampleCount`.
    @inlinable
    public static func dataPayloadByteCount(sampleCount: Int) -> Int {
        dataPayloadPrefixByteCount + dataBytesPerSample * sampleCount
    }

    /// The most samples a data frame can carry under a payload limit.
    @inlinable
    public static func maxSamplesPerDataFrame(maxPayloadBytes: Int) -> Int {
        max(0, (maxPayloadBytes - dataPayloadPrefixByteCount) / dataBytesPerSample)
    }
}

/// Byte offsets of the header fields, shared by the encoder and the decoder.
@usableFromInline
enum _NativeHeader {
    @inlinable static var magicOffset: Int { 0 }
    @inlinable static var versionOffset: Int { 4 }
    @inlinable static var typeOffset: Int { 5 }
    @inlinable static var flagsOffset: Int { 6 }
    @inlinable static var payloadLengthOffset: Int { 8 }
    @inlinable static var payloadChecksumOffset: Int { 12 }
    @inlinable static var reservedOffset: Int { 16 }
    @inlinable static var headerChecksumOffset: Int { 20 }
}

/// One declaration from a schema frame: wire id `wireID` stands for the series `descriptor` from now on in
/// this stream (a later declaration of the same wire id replaces it).
public struct SchemaEntry: Sendable, Equatable, Hashable {
    /// The stream-local id data frames use; must be at most ``NativeFormat/maxWireSeriesID``.
    public var wireID: UInt32
    public var descriptor: SeriesDescriptor

    public init(wireID: UInt32, descriptor: SeriesDescriptor) {
        self.wireID = wireID
        self.descriptor = descriptor
    }
}

/// Which part of a schema entry a defect or limit refers to.
public enum SchemaField: Equatable, Hashable, Sendable, CustomStringConvertible {
    case entryCount
    case wireID
    case kind
    case extraLabelCount
    case device
    case interface
    case metric
    case unit
    /// The name of extra label `index` (0-based, in wire order).
    case labelName(index: Int)
    /// The value of extra label `index` (0-based, in wire order).
    case labelValue(index: Int)

    public var description: String {
        switch self {
        case .entryCount: return "entry count"
        case .wireID: return "wire id"
        case .kind: return "metric kind"
        case .extraLabelCount: return "extra label count"
        case .device: return "device"
        case .interface: return "interface"
        case .metric: return "metric"
        case .unit: return "unit"
        case .labelName(let index): return "name of extra label \(index)"
        case .labelValue(let index): return "value of extra label \(index)"
        }
    }
}
