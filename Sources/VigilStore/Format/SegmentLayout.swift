/// The fixed parts of a rollup segment file (docs/rollup-format.md), version 1.
///
/// ```
/// [header: 64 bytes][payload: zstd frame, payloadCompressedLength bytes][CRC32C: 4 bytes]
/// ```
/// All integers are little-endian. The CRC32C covers the header and the payload.
enum SegmentLayout {
    /// "VGRS" read as a little-endian UInt32.
    static let magic: UInt32 = 0x5352_4756
    static let version: UInt16 = 1
    static let headerByteCount = 64
    static let trailerByteCount = 4
    static let minimumFileByteCount = headerByteCount + trailerByteCount

    // Limits: every length read from a file is checked against these before anything is allocated.
    /// Most rows a segment may hold; the writer never buffers more.
    static let maximumRowCount = 1 << 22
    /// Longest device, interface, metric, unit, label name or label value, in UTF-8 bytes.
    static let maximumStringByteCount = 4096
    /// Most extra labels on one series.
    static let maximumExtraLabelCount = 64
    /// Most bytes one row can take in the uncompressed columns: a 10-byte varint for the window start and
    /// the count, and two 10-byte varints (integer and residual) for each of the 7 double columns.
    static let maximumColumnBytesPerRow = 10 + 10 + 7 * 20
    /// Most bytes of per-series metadata in the columns: one choice byte per double column.
    static let maximumColumnBytesPerSeries = 7
    /// Most bytes of column framing: per column a kind byte and up to three 10-byte length varints.
    static let maximumColumnFramingBytes = 9 * 31
    /// Longest dictionary entry: id, kind, row count, 4 strings, label count, label strings.
    static let maximumDictionaryEntryByteCount =
        5 + 1 + 5 + 4 * (2 + maximumStringByteCount) + 1 + maximumExtraLabelCount * 2 * (2 + maximumStringByteCount)
    /// A zstd block expands at most 131072 bytes from 4 bytes (an RLE block), so no honest frame
    /// decompresses to more than this many times its own size.
    static let maximumZstdExpansion = 32_768
    /// Largest uncompressed payload (dictionary and columns) of a segment, and so the most a reader holds
    /// for one segment; the writer splits a segment that would be larger.
    static let maximumPayloadByteCount = 256 << 20
    /// How much of the series dictionary a reader decodes and checks before it decompresses the rest.
    static let dictionaryProbeByteCount = 1 << 20
}

/// The 64-byte header of a segment, as written and as read back.
public struct RollupSegmentHeader: Sendable, Equatable {
    /// Width of every window in the segment.
    public var windowNanoseconds: Int64
    /// Earliest and latest window start among the rows (inclusive).
    public var firstWindowStartNanoseconds: Int64
    public var lastWindowStartNanoseconds: Int64
    public var rowCount: Int
    public var seriesCount: Int
    /// Bytes of the zstd frame in the file, and of the dictionary + columns it holds.
    public var payloadCompressedByteCount: Int
    public var payloadUncompressedByteCount: Int
    /// Bytes of the uncompressed payload taken by the series dictionary (the columns follow it).
    public var dictionaryByteCount: Int

    /// Serialises the header (64 bytes).
    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: SegmentLayout.headerByteCount)
        writer.appendLittleEndian(SegmentLayout.magic)
        writer.appendLittleEndian(SegmentLayout.version)
        writer.appendLittleEndian(UInt16(SegmentLayout.headerByteCount))
        writer.appendLittleEndian(UInt64(bitPattern: windowNanoseconds))
        writer.appendLittleEndian(UInt64(bitPattern: firstWindowStartNanoseconds))
        writer.appendLittleEndian(UInt64(bitPattern: lastWindowStartNanoseconds))
        writer.appendLittleEndian(UInt32(rowCount))
        writer.appendLittleEndian(UInt32(seriesCount))
        writer.appendLittleEndian(UInt32(payloadCompressedByteCount))
        writer.appendLittleEndian(UInt32(payloadUncompressedByteCount))
        writer.appendLittleEndian(UInt32(dictionaryByteCount))
        // Flags and two reserved words: zero in version 1, checked on read so a future writer's
        // segments are refused rather than misread.
        writer.appendLittleEndian(UInt32(0))
        writer.appendLittleEndian(UInt64(0))
        assert(writer.bytes.count == SegmentLayout.headerByteCount)
        return writer.bytes
    }

    /// Parses and checks a header against the size of the file it came from.
    ///
    /// - Throws: ``RollupSegmentError`` for a bad magic, an unknown version, or lengths that do not fit
    ///   the file or the format's limits.
    static func decode(_ bytes: UnsafeRawBufferPointer, fileByteCount: Int) throws -> RollupSegmentHeader {
        var reader = ByteReader(bytes, section: "header")
        let magic: UInt32 = try reader.readLittleEndian()
        guard magic == SegmentLayout.magic else { throw RollupSegmentError.badMagic(found: magic) }
        let version: UInt16 = try reader.readLittleEndian()
        guard version == SegmentLayout.version else { throw RollupSegmentError.unsupportedVersion(version) }
        let headerByteCount: UInt16 = try reader.readLittleEndian()
        guard Int(headerByteCount) == SegmentLayout.headerByteCount else {
            throw RollupSegmentError.malformed(
                section: "header",
                offset: 6,
                reason: "header length \(headerByteCount), expected \(SegmentLayout.headerByteCount)"
            )
        }
        let window = Int64(bitPattern: try reader.readLittleEndian() as UInt64)
        let first = Int64(bitPattern: try reader.readLittleEndian() as UInt64)
        let last = Int64(bitPattern: try reader.readLittleEndian() as UInt64)
        let rows = Int(try reader.readLittleEndian() as UInt32)
        let series = Int(try reader.readLittleEndian() as UInt32)
        let compressed = Int(try reader.readLittleEndian() as UInt32)
        let uncompressed = Int(try reader.readLittleEndian() as UInt32)
        let dictionary = Int(try reader.readLittleEndian() as UInt32)
        let flags: UInt32 = try reader.readLittleEndian()
        let reserved: UInt64 = try reader.readLittleEndian()
        guard flags == 0 else {
            throw RollupSegmentError.malformed(
                section: "header",
                offset: 52,
                reason: "unknown flags 0x\(String(flags, radix: 16))"
            )
        }
        guard reserved == 0 else {
            throw RollupSegmentError.malformed(
                section: "header",
                offset: 56,
                reason: "reserved word 0x\(String(reserved, radix: 16)), expected 0"
            )
        }
        guard window > 0 else {
            throw RollupSegmentError.malformed(section: "header", offset: 8, reason: "window width \(window) ns")
        }
        guard last <= Int64.max - window else {
            throw RollupSegmentError.malformed(
                section: "header",
                offset: 24,
                reason: "last window (start \(last), width \(window) ns) ends after the largest time"
            )
        }
        guard first <= last else {
            throw RollupSegmentError.malformed(
                section: "header",
                offset: 16,
                reason: "time range \(first) > \(last)"
            )
        }
        let expectedFileByteCount = SegmentLayout.headerByteCount + compressed + SegmentLayout.trailerByteCount
        guard expectedFileByteCount == fileByteCount else {
            throw RollupSegmentError.lengthMismatch(
                field: "file size (header + payload + CRC)",
                declared: expectedFileByteCount,
                actual: fileByteCount
            )
        }
        try checkLimit("row count", rows, 1, SegmentLayout.maximumRowCount)
        try checkLimit("series count", series, 1, rows)
        let dictionaryLimit = series * SegmentLayout.maximumDictionaryEntryByteCount
        try checkLimit("dictionary length", dictionary, series, dictionaryLimit)
        let columnsLimit =
            rows * SegmentLayout.maximumColumnBytesPerRow + series * SegmentLayout.maximumColumnBytesPerSeries
            + SegmentLayout.maximumColumnFramingBytes
        let expansionLimit = compressed * SegmentLayout.maximumZstdExpansion
        try checkLimit(
            "uncompressed payload length",
            uncompressed,
            dictionary,
            min(dictionary + columnsLimit, expansionLimit, SegmentLayout.maximumPayloadByteCount)
        )
        return RollupSegmentHeader(
            windowNanoseconds: window,
            firstWindowStartNanoseconds: first,
            lastWindowStartNanoseconds: last,
            rowCount: rows,
            seriesCount: series,
            payloadCompressedByteCount: compressed,
            payloadUncompressedByteCount: uncompressed,
            dictionaryByteCount: dictionary
        )
    }

    private static func checkLimit(_ field: String, _ value: Int, _ minimum: Int, _ maximum: Int) throws {
        guard value >= minimum, value <= maximum else {
            throw RollupSegmentError.limitExceeded(field: field, value: value, minimum: minimum, maximum: maximum)
        }
    }
}
