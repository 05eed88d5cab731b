import Foundation
import Testing
import VigilCore

@testable import VigilStore

@Suite("Damaged and hostile segments")
struct DamageTests {
    /// Writes `segments` segments of 200 realistic rows each and returns their paths in order.
    static func writeSegments(_ directory: TemporaryDirectory, segments: Int) throws -> [String] {
        let fleet = RealisticFleet(seed: 99, devices: 1, interfacesPerDevice: 1, windows: 200 * segments / 7 + 1)
        let writer = RollupSegmentWriter(
            directory: directory.path,
            windowNanoseconds: RealisticFleet.windowNanoseconds,
            rowsPerSegment: 200
        )
        try writer.append(Array(fleet.rows.prefix(200 * segments))) { fleet.descriptors[$0] }
        try writer.close()
        #expect(writer.segmentsWritten == segments)
        return try RollupDirectory.segmentPaths(directory.path)
    }

    static func rewrite(_ path: String, _ change: (inout [UInt8]) -> Void) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        change(&bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// A segment with `change` applied to its header, CRC recomputed: damage a checksum cannot catch.
    static func withValidCRC(_ bytes: [UInt8], _ change: (inout [UInt8]) -> Void) -> [UInt8] {
        var changed = Array(bytes.dropLast(4))
        change(&changed)
        let crc = CRC32C.checksum(changed)
        return changed + (0..<4).map { UInt8(truncatingIfNeeded: crc >> UInt32(8 * $0)) }
    }

    @Test("a flipped byte, a truncated file and a garbage file are named with their reason; good segments still read")
    func damagedSegmentsSkipped() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let paths = try Self.writeSegments(directory, segments: 4)
        try Self.rewrite(paths[0]) { $0[$0.count / 2] ^= 0x40 }
        try Self.rewrite(paths[2]) { $0.removeLast(17) }
        let garbage = directory.path + "/seg-9999999999999999999-000001.vgr"
        try Data(
            "not a segment: a text file long enough to pass the size check, so the magic number is what fails".utf8
        ).write(to: URL(fileURLWithPath: garbage))
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: directory.path + "/seg-9999999999999999999-000002.vgr"))

        let scan = try RollupDirectory.scan(directory.path)
        #expect(scan.segments.map(\.path) == [paths[1], paths[3]])
        #expect(scan.segments.allSatisfy { $0.segment.rows.count == 200 })
        let reasons = Dictionary(uniqueKeysWithValues: scan.damaged.map { ($0.path, $0.reason) })
        #expect(reasons.count == 4)
        guard case .checksumMismatch = reasons[paths[0]] else {
            Issue.record("flipped byte: \(String(describing: reasons[paths[0]]))")
            return
        }
        let truncatedSize = try Data(contentsOf: URL(fileURLWithPath: paths[2])).count
        #expect(
            reasons[paths[2]]
                == .lengthMismatch(
                    field: "file size (header + payload + CRC)",
                    declared: truncatedSize + 17,
                    actual: truncatedSize
                )
        )
        #expect(reasons[garbage] == .badMagic(found: 0x2074_6F6E))  // "not " little-endian
        #expect(reasons[directory.path + "/seg-9999999999999999999-000002.vgr"] == .tooShort(byteCount: 3, minimum: 68))
    }

    @Test("every truncation of a segment is rejected with a typed error, never a crash")
    func everyTruncation() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let bytes = [UInt8](
            try Data(contentsOf: URL(fileURLWithPath: try Self.writeSegments(directory, segments: 1)[0]))
        )
        for length in 0..<bytes.count {
            #expect(throws: RollupSegmentError.self) { try RollupSegmentReader.decode(Array(bytes.prefix(length))) }
        }
        #expect(try RollupSegmentReader.decode(bytes).rows.count == 200)
    }

    @Test("hostile header lengths behind a valid CRC are refused by the limits before any allocation")
    func hostileHeaders() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let bytes = [UInt8](
            try Data(contentsOf: URL(fileURLWithPath: try Self.writeSegments(directory, segments: 1)[0]))
        )
        func put(_ value: UInt32, at offset: Int, in bytes: inout [UInt8]) {
            for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> UInt32(8 * index)) }
        }
        // Row count 2^32 - 1: beyond the 4 Mi row limit.
        #expect(
            throws: RollupSegmentError.limitExceeded(
                field: "row count",
                value: Int(UInt32.max),
                minimum: 1,
                maximum: 1 << 22
            )
        ) {
            try RollupSegmentReader.decode(Self.withValidCRC(bytes) { put(.max, at: 32, in: &$0) })
        }
        // Uncompressed length 4 GiB - 1 from a frame of a few hundred bytes: beyond what the rows can need.
        #expect {
            try RollupSegmentReader.decode(Self.withValidCRC(bytes) { put(.max, at: 44, in: &$0) })
        } throws: { error in
            guard case RollupSegmentError.limitExceeded(field: "uncompressed payload length", _, _, _) = error else {
                return false
            }
            return true
        }
        // Uncompressed length one byte short of the truth: the zstd frame disagrees.
        #expect {
            try RollupSegmentReader.decode(
                Self.withValidCRC(bytes) { bytes in
                    let declared = UInt32(bytes[44]) | UInt32(bytes[45]) << 8 | UInt32(bytes[46]) << 16
                    put(declared - 1, at: 44, in: &bytes)
                }
            )
        } throws: { error in
            guard case RollupSegmentError.lengthMismatch(field: "uncompressed payload", _, _) = error else {
                return false
            }
            return true
        }
        // A window width of zero and a version from the future.
        #expect(throws: RollupSegmentError.self) {
            try RollupSegmentReader.decode(Self.withValidCRC(bytes) { for index in 8..<16 { $0[index] = 0 } })
        }
        #expect(throws: RollupSegmentError.unsupportedVersion(2)) {
            try RollupSegmentReader.decode(Self.withValidCRC(bytes) { $0[4] = 2 })
        }
    }

    @Test("seeded random corruption of the decompressed payload (CRC and zstd intact) never crashes the decoder")
    func payloadFuzz() throws {
        let fleet = RealisticFleet(seed: 5, devices: 1, interfacesPerDevice: 1, windows: 30)
        let rows = sortedForSegment(fleet.rows)
        let series = Set(rows.map(\.seriesID)).sorted().map { id in
            RollupSeriesEntry(
                seriesID: id,
                descriptor: fleet.descriptors[id]!,
                rowCount: rows.filter { $0.seriesID == id }.count
            )
        }
        let file = try SegmentEncoder.encode(
            rows: rows[...],
            series: series,
            windowNanoseconds: RealisticFleet.windowNanoseconds,
            compressionLevel: 1
        )
        let header = try file.withUnsafeBytes {
            try RollupSegmentHeader.decode(UnsafeRawBufferPointer(rebasing: $0[0..<64]), fileByteCount: file.count)
        }
        let payload = try file.withUnsafeBytes {
            try Zstd.decompress(
                UnsafeRawBufferPointer(rebasing: $0[64..<file.count - 4]),
                declaredByteCount: header.payloadUncompressedByteCount
            )
        }
        var random = SplitMix64(seed: 0xF0_22)
        var rejected = 0
        for _ in 0..<2_000 {
            var mutated = payload
            for _ in 0..<(1 + Int(random.next() % 4)) {
                let index = Int(random.next() % UInt64(mutated.count))
                switch random.next() % 3 {
                case 0: mutated[index] ^= UInt8(1 << (random.next() % 8))
                case 1: mutated[index] = 0xFF
                default: mutated[index] = UInt8(truncatingIfNeeded: random.next())
                }
            }
            do {
                _ = try mutated.withUnsafeBytes {
                    try SegmentDecoder.decodePayload($0, header: header, fileByteCount: file.count)
                }
            } catch is RollupSegmentError {
                rejected += 1
            }
        }
        // Most mutations break a length, a varint or the time range; some only change a value.
        #expect(rejected > 500)
    }

    @Test("a missing directory is a typed error naming the path")
    func missingDirectory() {
        #expect(throws: RollupIOError.self) { try RollupDirectory.scan("/nonexistent/vigil-rollups") }
        do {
            _ = try RollupDirectory.scan("/nonexistent/vigil-rollups")
        } catch let error as RollupIOError {
            #expect(error.path == "/nonexistent/vigil-rollups")
            #expect(error.errorNumber == ENOENT)
            #expect(error.description.contains("No such file or directory"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
