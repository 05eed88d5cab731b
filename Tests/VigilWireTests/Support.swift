import VigilCore
import VigilWire

/// One thing the decoder told its delegate; data frames are copied out (the view dies with the call), values
/// as bit patterns so NaNs compare equal.
enum DecodeEvent: Equatable, CustomStringConvertible {
    case declared(SchemaEntry)
    case data(offset: Int64, timestamps: [Int64], wireIDs: [UInt32], valueBits: [UInt64])
    case failed(NativeDecodeError)

    var description: String {
        switch self {
        case .declared(let entry): return "declared(\(entry.wireID): \(entry.descriptor.key))"
        case .data(let offset, let timestamps, _, _): return "data(at \(offset), \(timestamps.count) samples)"
        case .failed(let error): return "failed(\(error))"
        }
    }
}

/// Records every delegate call, copying data frames through `DataFrameView.copy` and checking that the
/// element accessors agree with it.
struct RecordingDelegate: NativeDecoderDelegate {
    var events: [DecodeEvent] = []
    var accessorMismatches = 0

    mutating func nativeDecoder(didDeclare entry: SchemaEntry) {
        events.append(.declared(entry))
    }

    mutating func nativeDecoder(didDecode frame: DataFrameView) {
        var timestamps = [Int64](repeating: 0, count: frame.count)
        var wireIDs = [UInt32](repeating: 0, count: frame.count)
        var values = [Double](repeating: 0, count: frame.count)
        timestamps.withUnsafeMutableBufferPointer { t in
            wireIDs.withUnsafeMutableBufferPointer { w in
                values.withUnsafeMutableBufferPointer { v in
                    frame.copy(
                        range: 0..<frame.count,
                        timestamps: t.baseAddress!,
                        wireIDs: w.baseAddress!,
                        values: v.baseAddress!
                    )
                }
            }
        }
        for index in 0..<frame.count
        where frame.timestamp(at: index) != timestamps[index] || frame.wireID(at: index) != wireIDs[index]
            || frame.value(at: index).bitPattern != values[index].bitPattern
        {
            accessorMismatches += 1
        }
        events.append(
            .data(
                offset: frame.streamOffset,
                timestamps: timestamps,
                wireIDs: wireIDs,
                valueBits: values.map(\.bitPattern)
            )
        )
    }

    mutating func nativeDecoder(didFail error: NativeDecodeError) {
        events.append(.failed(error))
    }

    var errors: [NativeDecodeError] {
        events.compactMap { if case .failed(let error) = $0 { return error } else { return nil } }
    }

    var declarations: [SchemaEntry] {
        events.compactMap { if case .declared(let entry) = $0 { return entry } else { return nil } }
    }

    /// Data frames keyed by stream offset.
    var dataFrames: [DecodeEvent] {
        events.filter { if case .data = $0 { return true } else { return false } }
    }

    /// All samples of all data frames, concatenated.
    var samples: (timestamps: [Int64], wireIDs: [UInt32], valueBits: [UInt64]) {
        var result: ([Int64], [UInt32], [UInt64]) = ([], [], [])
        for case .data(_, let timestamps, let wireIDs, let valueBits) in events {
            result.0 += timestamps
            result.1 += wireIDs
            result.2 += valueBits
        }
        return result
    }
}

/// Decodes `bytes` in one `decode` call plus `finish`.
func decodeAll(
    _ bytes: [UInt8],
    maxPayloadBytes: Int = NativeFormat.defaultMaxPayloadBytes
) -> (delegate: RecordingDelegate, decoder: NativeStreamDecoder) {
    var decoder = NativeStreamDecoder(maxPayloadBytes: maxPayloadBytes)
    var delegate = RecordingDelegate()
    bytes.withUnsafeBytes { buffer in
        let consumed = decoder.decode(buffer, delegate: &delegate)
        decoder.finish(remaining: UnsafeRawBufferPointer(rebasing: buffer[consumed...]), delegate: &delegate)
    }
    return (delegate, decoder)
}

/// Decodes `bytes` the way a real source does: chunks of seeded random sizes appended to a carry buffer that
/// keeps the unconsumed tail of each call.
func decodeInChunks(
    _ bytes: [UInt8],
    generator: inout SplitMix64,
    maxChunkByteCount: Int,
    maxPayloadBytes: Int = NativeFormat.defaultMaxPayloadBytes
) -> (delegate: RecordingDelegate, decoder: NativeStreamDecoder) {
    var decoder = NativeStreamDecoder(maxPayloadBytes: maxPayloadBytes)
    var delegate = RecordingDelegate()
    var carry: [UInt8] = []
    var position = 0
    while position < bytes.count {
        let chunkByteCount = min(1 + Int(generator.next() % UInt64(maxChunkByteCount)), bytes.count - position)
        carry += bytes[position..<position + chunkByteCount]
        position += chunkByteCount
        let consumed = carry.withUnsafeBytes { decoder.decode($0, delegate: &delegate) }
        carry.removeFirst(consumed)
    }
    carry.withUnsafeBytes { decoder.finish(remaining: $0, delegate: &delegate) }
    return (delegate, decoder)
}

/// An independent frame writer (not `NativeEncoder`) for hand-built and hostile frames: every header field
/// can be set, and the checksums are computed over what is written unless overridden.
func rawFrame(
    version: UInt8 = 1,
    type: UInt8,
    flags: UInt16 = 0,
    payload: [UInt8],
    declaredLength: UInt32? = nil,
    payloadChecksum: UInt32? = nil,
    reserved: UInt32 = 0
) -> [UInt8] {
    var header: [UInt8] = [0x56, 0x47, 0x49, 0x4C, version, type]
    header += littleEndianBytes(flags)
    header += littleEndianBytes(declaredLength ?? UInt32(payload.count))
    header += littleEndianBytes(payloadChecksum ?? CRC32C.checksum(payload))
    header += littleEndianBytes(reserved)
    header += littleEndianBytes(CRC32C.checksum(header))
    return header + payload
}

func littleEndianBytes<Integer: FixedWidthInteger>(_ value: Integer) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}

/// A hand-built schema payload: `count`, then each entry exactly as given (wire id, kind, strings…).
func schemaPayload(count: UInt32, entries: [[UInt8]]) -> [UInt8] {
    littleEndianBytes(count) + entries.flatMap { $0 }
}

/// One hand-built schema entry with no extra labels unless `labels` are given.
func schemaEntryBytes(
    wireID: UInt32,
    kind: UInt8 = 0,
    strings: [[UInt8]] = [Array("r1".utf8), Array("et-0/0/0".utf8), Array("rx_power".utf8), Array("dBm".utf8)],
    labelCount: UInt8? = nil,
    labels: [[UInt8]] = []
) -> [UInt8] {
    var bytes = littleEndianBytes(wireID) + [kind, labelCount ?? UInt8(labels.count / 2)]
    for string in strings + labels {
        bytes += littleEndianBytes(UInt16(string.count)) + string
    }
    return bytes
}

/// A hand-built data payload.
func dataPayload(timestamps: [Int64], values: [Double], wireIDs: [UInt32], count: UInt32? = nil) -> [UInt8] {
    var bytes = littleEndianBytes(count ?? UInt32(timestamps.count)) + littleEndianBytes(UInt32(0))
    for timestamp in timestamps { bytes += littleEndianBytes(timestamp) }
    for value in values { bytes += littleEndianBytes(value.bitPattern) }
    for wireID in wireIDs { bytes += littleEndianBytes(wireID) }
    return bytes
}

/// Seeded random schema entries: distinct wire ids, 0–3 extra labels, strings with multi-byte UTF-8.
func randomSchemaEntries(count: Int, generator: inout SplitMix64) -> [SchemaEntry] {
    let alphabet: [Character] = Array("abcxyz019-/_.é€😀")
    func randomString(maxLength: Int) -> String {
        let length = Int(generator.next() % UInt64(maxLength + 1))
        return String((0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
    }
    var usedWireIDs = Set<UInt32>()
    var entries: [SchemaEntry] = []
    while entries.count < count {
        let wireID = UInt32(truncatingIfNeeded: generator.next()) & NativeFormat.maxWireSeriesID
        guard usedWireIDs.insert(wireID).inserted else { continue }
        let labels = (0..<Int(generator.next() % 4)).map { index in
            Label(name: "l\(index)" + randomString(maxLength: 4), value: randomString(maxLength: 12))
        }
        let key = SeriesKey(
            device: randomString(maxLength: 16),
            interface: randomString(maxLength: 12),
            metric: randomString(maxLength: 20),
            extraLabels: labels
        )
        let kind = MetricKind(rawValue: UInt8(generator.next() % 3))!
        entries.append(
            SchemaEntry(
                wireID: wireID,
                descriptor: SeriesDescriptor(key: key, kind: kind, unit: randomString(maxLength: 6))
            )
        )
    }
    return entries
}

/// Seeded random samples whose wire ids come from `entries`; values include NaN, infinities and -0.
func randomSamples(
    count: Int,
    entries: [SchemaEntry],
    generator: inout SplitMix64
) -> (timestamps: [Int64], wireIDs: [UInt32], values: [Double]) {
    let specials: [Double] = [.nan, .infinity, -.infinity, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
    var timestamps: [Int64] = []
    var wireIDs: [UInt32] = []
    var values: [Double] = []
    for _ in 0..<count {
        timestamps.append(Int64(bitPattern: generator.next()))
        wireIDs.append(entries.isEmpty ? 0 : entries[Int(generator.next() % UInt64(entries.count))].wireID)
        values.append(
            generator.next() % 16 == 0
                ? specials[Int(generator.next() % UInt64(specials.count))]
                : Double(bitPattern: generator.next())
        )
    }
    return (timestamps, wireIDs, values)
}
