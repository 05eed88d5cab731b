import VigilCore

/// The flow summary file (`flows-<first window start>-<seq>.vgf`, docs/rollup-format.md, "Flow summary
/// files"): per-(exporter, window) heavy-hitter lists written next to the rollup segments.
///
/// ```
/// [header: 64 bytes][payload: one zstd frame][CRC32C of everything before: 4 bytes]
/// ```
/// Its own magic (`VGFS`) and version, so segment readers (which list only `*.vgr`) never see it, and a
/// reader of either kind names the other as foreign rather than misreading it.
public enum FlowSummaryFile {
    static let magic: UInt32 = 0x5346_4756  // "VGFS" little-endian
    static let version: UInt16 = 1
    static let headerByteCount = 64
    static let minimumFileByteCount = headerByteCount + 4
    /// Summaries per file, 1...65,536.
    public static let maximumSummaryCount = 1 << 16
    /// Entries per list.
    static let maximumEntryCount = 4_096
    /// Uncompressed payload, bytes.
    static let maximumPayloadByteCount = 256 << 20
    /// Largest file read.
    public static let maximumFileByteCount = 1 << 30

    /// The header's fields.
    public struct Header: Sendable, Equatable {
        public var windowNanoseconds: Int64
        public var firstWindowStartNanoseconds: Int64
        public var lastWindowStartNanoseconds: Int64
        public var summaryCount: Int
        var compressedByteCount: Int
        var uncompressedByteCount: Int
    }

    // MARK: - Encoding

    /// Encodes summaries (all of one window width, at least one) as a file.
    ///
    /// - Returns: nil when zstd fails or the payload passes the format's limit (the writer splits first).
    public static func encode(_ summaries: [FlowWindowSummary], compressionLevel: Int32 = 9) -> [UInt8]? {
        precondition(
            (1...maximumSummaryCount).contains(summaries.count),
            "1...\(maximumSummaryCount) summaries per file"
        )
        let width = summaries[0].windowNanoseconds
        precondition(summaries.allSatisfy { $0.windowNanoseconds == width }, "one window width per file")
        var payload = ByteWriter(capacity: summaries.count * 2_048)
        for summary in summaries { encode(summary, into: &payload) }
        guard payload.bytes.count <= maximumPayloadByteCount,
            let compressed = Zstd.compress(payload.bytes, level: compressionLevel)
        else { return nil }
        var file = ByteWriter(capacity: headerByteCount + compressed.count + 4)
        file.appendLittleEndian(magic)
        file.appendLittleEndian(version)
        file.appendLittleEndian(UInt16(headerByteCount))
        file.appendLittleEndian(UInt64(bitPattern: width))
        file.appendLittleEndian(UInt64(bitPattern: summaries.map(\.windowStartNanoseconds).min()!))
        file.appendLittleEndian(UInt64(bitPattern: summaries.map(\.windowStartNanoseconds).max()!))
        file.appendLittleEndian(UInt32(summaries.count))
        file.appendLittleEndian(UInt32(compressed.count))
        file.appendLittleEndian(UInt32(payload.bytes.count))
        file.appendLittleEndian(UInt32(0))  // flags
        file.appendLittleEndian(UInt64(0))  // reserved
        file.appendLittleEndian(UInt64(0))
        file.append(contentsOf: compressed)
        file.appendLittleEndian(file.bytes.withUnsafeBytes { CRC32C.checksum($0) })
        return file.bytes
    }

    private static func encode(_ summary: FlowWindowSummary, into payload: inout ByteWriter) {
        payload.appendString(String(summary.exporter.utf8.prefix(SegmentLayout.maximumStringByteCount))!)
        payload.appendSignedVarint(summary.windowStartNanoseconds)
        payload.appendVarint(summary.records)
        payload.appendVarint(summary.totalBytes)
        for (kind, list) in summary.lists.enumerated() {
            payload.appendVarint(list.absentBoundBytes)
            payload.appendVarint(UInt64(list.entries.count))
            for (index, entry) in list.entries.enumerated() {
                for word in [entry.key.addressHigh, entry.key.addressLow, entry.key.secondHigh, entry.key.secondLow] {
                    payload.appendVarint(word)
                }
                payload.appendVarint(entry.key.port)
                payload.appendVarint(entry.bytes)
                payload.appendVarint(entry.errorBytes)
                if kind == Int(FlowKeyKind.destination.rawValue) {
                    let registers = index < summary.destinationDistinct.count ? summary.destinationDistinct[index] : nil
                    encode(registers, into: &payload)
                }
            }
        }
    }

    /// `0` none; `1` sparse: precision, count, then (index delta varint, value) pairs; `2` dense: precision,
    /// then 2^precision bytes. Sparse is chosen when it is smaller.
    private static func encode(_ registers: FlowDistinctRegisters?, into payload: inout ByteWriter) {
        guard let registers else {
            payload.bytes.append(0)
            return
        }
        let nonZero = registers.registers.indices.filter { registers.registers[$0] != 0 }
        if nonZero.count * 3 < registers.registers.count {
            payload.bytes.append(1)
            payload.bytes.append(UInt8(registers.precision))
            payload.appendVarint(UInt64(nonZero.count))
            var previous = 0
            for index in nonZero {
                payload.appendVarint(UInt64(index - previous))
                payload.bytes.append(registers.registers[index])
                previous = index
            }
        } else {
            payload.bytes.append(2)
            payload.bytes.append(UInt8(registers.precision))
            payload.append(contentsOf: registers.registers)
        }
    }

    // MARK: - Decoding

    /// Checks the 64-byte header against the file's size.
    static func decodeHeader(_ bytes: UnsafeRawBufferPointer, fileByteCount: Int) throws -> Header {
        guard fileByteCount >= minimumFileByteCount else {
            throw RollupSegmentError.tooShort(byteCount: fileByteCount, minimum: minimumFileByteCount)
        }
        var reader = ByteReader(bytes, section: "header")
        let found: UInt32 = try reader.readLittleEndian()
        guard found == magic else { throw RollupSegmentError.notFlowSummary(found: found) }
        let version: UInt16 = try reader.readLittleEndian()
        guard version == Self.version else { throw RollupSegmentError.unsupportedVersion(version) }
        let headerLength: UInt16 = try reader.readLittleEndian()
        guard headerLength == headerByteCount else {
            throw RollupSegmentError.malformed(section: "header", offset: 6, reason: "header length \(headerLength)")
        }
        let width = Int64(bitPattern: try reader.readLittleEndian())
        let first = Int64(bitPattern: try reader.readLittleEndian())
        let last = Int64(bitPattern: try reader.readLittleEndian())
        let count = Int(try reader.readLittleEndian() as UInt32)
        let compressed = Int(try reader.readLittleEndian() as UInt32)
        let uncompressed = Int(try reader.readLittleEndian() as UInt32)
        let flags: UInt32 = try reader.readLittleEndian()
        let reserved0: UInt64 = try reader.readLittleEndian()
        let reserved1: UInt64 = try reader.readLittleEndian()
        guard flags == 0 && reserved0 == 0 && reserved1 == 0 else {
            throw RollupSegmentError.malformed(section: "header", offset: 44, reason: "flags or reserved words not 0")
        }
        guard width > 0 else {
            throw RollupSegmentError.malformed(section: "header", offset: 8, reason: "window width \(width) ≤ 0")
        }
        guard first <= last else {
            throw RollupSegmentError.malformed(section: "header", offset: 16, reason: "first window after last")
        }
        guard (1...maximumSummaryCount).contains(count) else {
            throw RollupSegmentError.limitExceeded(
                field: "summary count",
                value: count,
                minimum: 1,
                maximum: maximumSummaryCount
            )
        }
        guard uncompressed <= maximumPayloadByteCount, uncompressed <= compressed * SegmentLayout.maximumZstdExpansion
        else {
            throw RollupSegmentError.limitExceeded(
                field: "uncompressed payload",
                value: uncompressed,
                minimum: 0,
                maximum: min(maximumPayloadByteCount, compressed * SegmentLayout.maximumZstdExpansion)
            )
        }
        guard headerByteCount + compressed + 4 == fileByteCount else {
            throw RollupSegmentError.lengthMismatch(
                field: "file size (header + payload + CRC)",
                declared: headerByteCount + compressed + 4,
                actual: fileByteCount
            )
        }
        return Header(
            windowNanoseconds: width,
            firstWindowStartNanoseconds: first,
            lastWindowStartNanoseconds: last,
            summaryCount: count,
            compressedByteCount: compressed,
            uncompressedByteCount: uncompressed
        )
    }

    /// Reads just the header of `path` (to skip a file outside a time range without decompressing it).
    public static func readHeader(_ path: String) throws -> Header {
        var header: Header?
        do {
            _ = try FileIO.readFile(path, maximumByteCount: maximumFileByteCount, prefixByteCount: headerByteCount) {
                prefix,
                size in
                header = try decodeHeader(prefix, fileByteCount: size)
                throw HeaderOnly()
            }
        } catch is HeaderOnly {
        } catch let error as RollupIOError {
            throw RollupSegmentError.io(error)
        }
        guard let header else { throw RollupSegmentError.tooShort(byteCount: 0, minimum: minimumFileByteCount) }
        return header
    }

    private struct HeaderOnly: Error {}

    /// Reads and fully verifies a flow summary file: header, size, CRC32C, zstd frame, every field.
    ///
    /// - Throws: ``RollupSegmentError`` naming what is wrong; memory is bounded by the file's size and the
    ///   format's limits whatever the file says.
    public static func read(_ path: String) throws -> (header: Header, summaries: [FlowWindowSummary]) {
        let bytes: [UInt8]
        do {
            bytes = try FileIO.readFile(path, maximumByteCount: maximumFileByteCount, prefixByteCount: headerByteCount)
            { prefix, size in
                _ = try decodeHeader(prefix, fileByteCount: size)
            }
        } catch let error as RollupIOError {
            throw RollupSegmentError.io(error)
        }
        return try bytes.withUnsafeBytes { try decode($0) }
    }

    /// Decodes a file's bytes.
    public static func decode(_ file: UnsafeRawBufferPointer) throws -> (header: Header, summaries: [FlowWindowSummary])
    {
        guard file.count >= minimumFileByteCount else {
            throw RollupSegmentError.tooShort(byteCount: file.count, minimum: minimumFileByteCount)
        }
        let header = try decodeHeader(
            UnsafeRawBufferPointer(rebasing: file[0..<headerByteCount]),
            fileByteCount: file.count
        )
        let checkedEnd = file.count - 4
        var trailer = ByteReader(UnsafeRawBufferPointer(rebasing: file[checkedEnd...]), section: "trailer")
        let stored: UInt32 = try trailer.readLittleEndian()
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: file[0..<checkedEnd]))
        guard stored == computed else { throw RollupSegmentError.checksumMismatch(stored: stored, computed: computed) }
        let payload = try Zstd.decompress(
            UnsafeRawBufferPointer(rebasing: file[headerByteCount..<checkedEnd]),
            declaredByteCount: header.uncompressedByteCount
        )
        let summaries = try payload.withUnsafeBytes { bytes in
            var reader = ByteReader(bytes, section: "flow summaries")
            var summaries: [FlowWindowSummary] = []
            for _ in 0..<header.summaryCount {
                summaries.append(try decodeSummary(&reader, header: header))
            }
            guard reader.isAtEnd else {
                throw RollupSegmentError.malformed(
                    section: "flow summaries",
                    offset: reader.offset,
                    reason: "\(reader.remaining) bytes after the last summary"
                )
            }
            return summaries
        }
        return (header, summaries)
    }

    private static func decodeSummary(_ reader: inout ByteReader, header: Header) throws -> FlowWindowSummary {
        let exporter = try reader.readString(what: "exporter")
        let start = try reader.readSignedVarint()
        guard (header.firstWindowStartNanoseconds...header.lastWindowStartNanoseconds).contains(start) else {
            throw RollupSegmentError.malformed(
                section: "flow summaries",
                offset: reader.offset,
                reason: "window start \(start) outside the header's range"
            )
        }
        let records = try reader.readVarint()
        let total = try reader.readVarint()
        var lists: [FlowTopList] = []
        var distinct: [FlowDistinctRegisters?] = []
        for kind in FlowKeyKind.allCases {
            let absent = try reader.readVarint()
            let countOffset = reader.offset
            let count = try reader.readVarint()
            guard count <= UInt64(maximumEntryCount) else {
                throw RollupSegmentError.malformed(
                    section: "flow summaries",
                    offset: countOffset,
                    reason: "\(count) entries in a list, at most \(maximumEntryCount)"
                )
            }
            var entries: [FlowTopEntry] = []
            for _ in 0..<Int(count) {
                let key = FlowKey(
                    addressHigh: try reader.readVarint(),
                    addressLow: try reader.readVarint(),
                    secondHigh: try reader.readVarint(),
                    secondLow: try reader.readVarint(),
                    port: try reader.readVarint()
                )
                let bytes = try reader.readVarint()
                let error = try reader.readVarint()
                entries.append(FlowTopEntry(key: key, bytes: bytes, errorBytes: error))
                if kind == .destination { distinct.append(try decodeRegisters(&reader)) }
            }
            lists.append(FlowTopList(entries: entries, absentBoundBytes: absent))
        }
        return FlowWindowSummary(
            exporter: exporter,
            windowStartNanoseconds: start,
            windowNanoseconds: header.windowNanoseconds,
            records: records,
            totalBytes: total,
            lists: lists,
            destinationDistinct: distinct
        )
    }

    private static func decodeRegisters(_ reader: inout ByteReader) throws -> FlowDistinctRegisters? {
        let modeOffset = reader.offset
        let mode = try reader.readByte()
        if mode == 0 { return nil }
        let precision = Int(try reader.readByte())
        guard mode <= 2, (4...16).contains(precision) else {
            throw RollupSegmentError.malformed(
                section: "flow summaries",
                offset: modeOffset,
                reason: "distinct-source registers: mode \(mode), precision \(precision)"
            )
        }
        let size = 1 << precision
        var registers = [UInt8](repeating: 0, count: size)
        if mode == 2 {
            for index in 0..<size { registers[index] = try reader.readByte() }
        } else {
            let countOffset = reader.offset
            let count = try reader.readVarint()
            guard count <= UInt64(size) else {
                throw RollupSegmentError.malformed(
                    section: "flow summaries",
                    offset: countOffset,
                    reason: "\(count) sparse registers, at most \(size)"
                )
            }
            var index = 0
            for position in 0..<Int(count) {
                let delta = try reader.readVarint()
                guard delta < UInt64(size), index + Int(delta) < size, position == 0 || delta > 0 else {
                    throw RollupSegmentError.malformed(
                        section: "flow summaries",
                        offset: reader.offset,
                        reason: "sparse register index out of order or past \(size)"
                    )
                }
                index += Int(delta)
                registers[index] = try reader.readByte()
            }
        }
        return FlowDistinctRegisters(precision: precision, registers: registers)
    }

    // MARK: - Directory

    /// Paths of the flow summary files in `directory` (`flows-*.vgf`, not hidden), sorted by name (time).
    ///
    /// - Throws: ``RollupIOError`` when the directory is missing or unreadable.
    public static func paths(_ directory: String) throws -> [String] {
        try FileIO.listDirectory(directory)
            .filter { $0.hasPrefix("flows-") && $0.hasSuffix(".vgf") }
            .sorted()
            .map { directory + "/" + $0 }
    }
}
