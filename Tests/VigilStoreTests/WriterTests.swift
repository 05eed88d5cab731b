import Foundation
import Testing
import VigilCore

@testable import VigilStore

@Suite("Rollup segment writer")
struct WriterTests {
    static let window: Int64 = 60_000_000_000

    static func rows(_ count: Int, series: SeriesID = 3, start: Int64 = 1_800_000_000_000_000_000) -> [WindowAggregate]
    {
        (0..<count).map { index in
            WindowAggregate(
                seriesID: series,
                windowStartNanoseconds: start + Int64(index) * window,
                count: 6,
                sum: Double(index),
                minimum: 0,
                maximum: Double(index),
                first: 0,
                last: Double(index),
                sumOfSquaredDeviations: 0,
                rate: .nan
            )
        }
    }

    @Test("a directory that is a regular file gives a typed ENOTDIR error with the path; rows are counted as dropped")
    func unwritableDirectory() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let notADirectory = directory.path + "/plain-file"
        try Data("x".utf8).write(to: URL(fileURLWithPath: notADirectory))
        let writer = RollupSegmentWriter(directory: notADirectory, windowNanoseconds: Self.window, rowsPerSegment: 10)
        // 25 rows: two full segments fail inside append, the last 5 fail at close.
        #expect {
            try writer.append(Self.rows(25), descriptors: descriptor)
        } throws: { error in
            guard case RollupWriterError.io(let io) = error else { return false }
            return io.errorNumber == ENOTDIR && io.operation == .createTemporary
                && io.path.hasPrefix(notADirectory + "/.seg-")
                && io.message == String(cString: strerror(ENOTDIR))
        }
        #expect(writer.droppedRows == 20 && writer.writeErrors == 2 && writer.bufferedRowCount == 5)
        #expect(throws: RollupWriterError.self) { try writer.close() }
        #expect(writer.droppedRows == 25 && writer.writeErrors == 3 && writer.segmentsWritten == 0)
        #expect(writer.bytesWritten == 0 && writer.rowsWritten == 0)
        #expect(writer.lastError.map { "\($0)" }?.contains("Not a directory") == true)
        #expect(throws: RollupWriterError.closed(directory: notADirectory)) {
            try writer.append(Self.rows(1), descriptors: descriptor)
        }
    }

    @Test("a missing directory gives ENOENT; the writer keeps going once it exists")
    func missingThenCreated() throws {
        let parent = TemporaryDirectory()
        defer { parent.remove() }
        let path = parent.path + "/later"
        let writer = RollupSegmentWriter(directory: path, windowNanoseconds: Self.window)
        try writer.append(Self.rows(3), descriptors: descriptor)
        #expect {
            try writer.flush()
        } throws: { error in
            guard case RollupWriterError.io(let io) = error else { return false }
            return io.errorNumber == ENOENT
        }
        #expect(writer.droppedRows == 3 && writer.bufferedRowCount == 0)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        try writer.append(Self.rows(4), descriptors: descriptor)
        try writer.close()
        #expect(writer.segmentsWritten == 1 && writer.rowsWritten == 4 && writer.droppedRows == 3)
        #expect(try RollupDirectory.scan(path).segments.first?.segment.rows == Self.rows(4))
    }

    @Test(
        "publishing leaves only seg-<start>-<seq>.vgr files, names sort by time, and stale temporary files are ignored"
    )
    func atomicPublish() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        // A crashed writer's leftover: hidden, never listed.
        try Data("torn".utf8).write(
            to: URL(fileURLWithPath: directory.path + "/.seg-0000000000000000001-000001.vgr.tmp")
        )
        let writer = RollupSegmentWriter(directory: directory.path, windowNanoseconds: Self.window, rowsPerSegment: 4)
        try writer.append(Self.rows(4, start: 1_800_000_000_000_000_000 + 600 * Self.window), descriptors: descriptor)
        try writer.append(Self.rows(4, start: 1_800_000_000_000_000_000), descriptors: descriptor)
        try writer.close()
        #expect(
            directory.names() == [
                ".seg-0000000000000000001-000001.vgr.tmp",
                "seg-1800000000000000000-000002.vgr",
                "seg-1800036000000000000-000001.vgr",
            ]
        )
        let scan = try RollupDirectory.scan(directory.path)
        #expect(scan.damaged.isEmpty)
        #expect(
            scan.segments.map(\.segment.header.firstWindowStartNanoseconds) == [
                1_800_000_000_000_000_000, 1_800_036_000_000_000_000,
            ]
        )
        // A restarted writer does not overwrite: its sequence 1 is free for this start, 2 is taken, so it
        // uses 1 and then 3.
        let second = RollupSegmentWriter(directory: directory.path, windowNanoseconds: Self.window, rowsPerSegment: 1)
        try second.append(Self.rows(1) + Self.rows(1), descriptors: descriptor)
        try second.close()
        #expect(
            directory.names().filter { $0.hasPrefix("seg-1800000000000000000-") }.map { $0.suffix(10) } == [
                "000001.vgr", "000002.vgr", "000003.vgr",
            ]
        )
        #expect(try RollupDirectory.scan(directory.path).segments.count == 4)
    }

    @Test("rows without a descriptor, or with one beyond the format's limits, are rejected and counted")
    func rejectedRows() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let writer = RollupSegmentWriter(directory: directory.path, windowNanoseconds: Self.window)
        let longName = String(repeating: "x", count: 4097)
        try writer.append(Self.rows(2, series: 1) + Self.rows(3, series: 2) + Self.rows(4, series: 3)) { id in
            switch id {
            case 1: return nil
            case 2:
                return SeriesDescriptor(
                    key: SeriesKey(device: longName, interface: "", metric: "m"),
                    kind: .gauge,
                    unit: ""
                )
            default: return descriptor(id)
            }
        }
        try writer.close()
        #expect(writer.rejectedRows == 5 && writer.rowsWritten == 4)
    }

    @Test("a segment's file size matches the bytes counted and the header (64) + payload + CRC (4)")
    func byteAccounting() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let writer = RollupSegmentWriter(directory: directory.path, windowNanoseconds: Self.window)
        try writer.append(Self.rows(100), descriptors: descriptor)
        try writer.close()
        let segment = try #require(try RollupDirectory.scan(directory.path).segments.first?.segment)
        #expect(segment.fileByteCount == writer.bytesWritten)
        #expect(segment.fileByteCount == 64 + segment.header.payloadCompressedByteCount + 4)
        #expect(segment.header.rowCount == 100 && segment.header.seriesCount == 1)
    }
}
