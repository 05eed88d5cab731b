import Foundation
import Testing
import VigilCore

@testable import VigilStore

/// What a rollup directory may hold besides good segments, and what a writer may find in it: special
/// files, a decompression bomb behind a valid CRC, a crashed writer's leftovers, names all taken.
@Suite("rollup directories with hostile contents", .serialized)
struct HostileDirectoryTests {
    static let window: Int64 = 60_000_000_000
    static let start: Int64 = 1_800_000_000_000_000_000

    /// `count` windows of `series`, one a minute from ``start`` (as in ``WriterTests``).
    static func rows(_ count: Int, series: SeriesID = 3) -> [WindowAggregate] {
        WriterTests.rows(count, series: series, start: start)
    }

    static func segmentName(sequence: Int) -> String { String(format: "seg-%019lld-%06d.vgr", start, sequence) }

    @Test("a FIFO named like a segment is reported as damaged (not a regular file); the scan does not wait on it")
    func fifoDoesNotBlockTheScan() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let writer = RollupSegmentWriter(directory: directory.path, windowNanoseconds: Self.window)
        try writer.append(Self.rows(3), descriptors: descriptor)
        try writer.close()
        let fifo = directory.path + "/seg-9999999999999999999-000001.vgr"
        #expect(mkfifo(fifo, 0o644) == 0)
        final class Outcome: @unchecked Sendable { var scan: RollupDirectory.Scan? }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Thread {
            outcome.scan = try? RollupDirectory.scan(directory.path)
            done.signal()
        }.start()
        let finished = done.wait(timeout: .now() + 5) == .success
        if !finished {
            // Give the blocked open() a writer so that the thread ends.
            close(open(fifo, O_RDWR | O_NONBLOCK))
            _ = done.wait(timeout: .now() + 5)
        }
        #expect(finished, "the scan waited in open() for a writer to the FIFO")
        #expect(outcome.scan?.segments.count == 1)
        #expect(outcome.scan?.damaged.map(\.path) == [fifo])
        let reason = outcome.scan?.damaged.first.map { String(describing: $0.reason) } ?? ""
        #expect(reason.contains("not a regular file (a FIFO)"), "\(reason)")
    }

    /// A zstd frame of `size` zero bytes made of RLE blocks: 4 bytes of frame per 128 KiB of output.
    static func zeroFrame(size: Int) -> [UInt8] {
        var frame: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0xE0]  // magic; single segment, 8-byte content size
        for shift in stride(from: 0, to: 64, by: 8) {
            frame.append(UInt8(truncatingIfNeeded: UInt64(size) >> UInt64(shift)))
        }
        var left = size
        while left > 0 {
            let block = min(left, 131_072)
            left -= block
            let header = UInt32(block) << 3 | 1 << 1 | (left == 0 ? 1 : 0)  // an RLE block, last or not
            frame += [UInt8(truncatingIfNeeded: header), UInt8(truncatingIfNeeded: header >> 8)]
            frame += [UInt8(truncatingIfNeeded: header >> 16), 0]
        }
        return frame
    }

    static func peakResidentBytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }

    /// A segment file around `frame`, with a valid CRC.
    static func segmentFile(frame: [UInt8], uncompressed: Int, rows: Int, dictionary: Int) -> [UInt8] {
        let header = RollupSegmentHeader(
            windowNanoseconds: window,
            firstWindowStartNanoseconds: start,
            lastWindowStartNanoseconds: start,
            rowCount: rows,
            seriesCount: rows,
            payloadCompressedByteCount: frame.count,
            payloadUncompressedByteCount: uncompressed,
            dictionaryByteCount: dictionary
        )
        var file = header.encoded() + frame
        let crc = CRC32C.checksum(file)
        for shift in stride(from: 0, to: 32, by: 8) { file.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift))) }
        return file
    }

    @Test("zeros behind a valid CRC fail after the first megabyte: no allocation of what the header claims")
    func decompressionBombIsRefusedEarly() throws {
        // The largest payload the format allows, all zeros: 8 KiB of file.
        let uncompressed = SegmentLayout.maximumPayloadByteCount
        let file = Self.segmentFile(
            frame: Self.zeroFrame(size: uncompressed),
            uncompressed: uncompressed,
            rows: 1 << 20,
            dictionary: uncompressed - 1000
        )
        #expect(file.count < 10_000)
        let before = Self.peakResidentBytes()
        #expect(throws: RollupSegmentError.self) { try RollupSegmentReader.decode(file) }
        let grown = Self.peakResidentBytes() - before
        #expect(grown < 64 << 20, "peak RSS grew by \(grown >> 20) MiB reading a \(file.count)-byte file")
    }

    @Test("a header claiming more than the format's payload limit is refused before any decompression")
    func payloadOverTheLimitIsRefused() throws {
        let uncompressed = SegmentLayout.maximumPayloadByteCount + 1
        let file = Self.segmentFile(
            frame: Self.zeroFrame(size: uncompressed),
            uncompressed: uncompressed,
            rows: 1 << 20,
            dictionary: 1 << 20
        )
        #expect {
            try RollupSegmentReader.decode(file)
        } throws: { error in
            guard case RollupSegmentError.limitExceeded(field: "uncompressed payload length", _, _, _) = error else {
                return false
            }
            return true
        }
    }

    @Test("a crashed writer's temporary file for the same name does not make a later writer drop rows")
    func staleTemporaryFileIsSkipped() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        // What a writer killed between creating its temporary file and publishing it leaves behind.
        try Data("torn".utf8).write(
            to: URL(fileURLWithPath: directory.path + "/." + Self.segmentName(sequence: 1) + ".tmp")
        )
        let writer = RollupSegmentWriter(directory: directory.path, windowNanoseconds: Self.window)
        try writer.append(Self.rows(5), descriptors: descriptor)
        try writer.close()
        #expect(writer.rowsWritten == 5 && writer.droppedRows == 0 && writer.writeErrors == 0)
        #expect(try RollupDirectory.scan(directory.path).segments.map { $0.segment.rows.count } == [5])
    }

    @Test("a writer never replaces a published segment, even when every name it may try is taken")
    func publishedSegmentsAreNeverReplaced() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        for sequence in 1...RollupSegmentWriter.maximumNameAttempts {
            try Data("earlier run \(sequence)".utf8)
                .write(to: URL(fileURLWithPath: directory.path + "/" + Self.segmentName(sequence: sequence)))
        }
        let writer = RollupSegmentWriter(directory: directory.path, windowNanoseconds: Self.window)
        try writer.append(Self.rows(5), descriptors: descriptor)
        #expect(throws: RollupWriterError.self) { try writer.close() }
        let last = try Data(
            contentsOf: URL(fileURLWithPath: directory.path + "/" + Self.segmentName(sequence: 1000))
        )
        #expect(last == Data("earlier run 1000".utf8), "a published segment of an earlier run was replaced")
        #expect(writer.rowsWritten == 0 && writer.droppedRows == 5 && writer.writeErrors == 1)
    }

    @Test("publishing onto a name another writer took meanwhile fails with EEXIST and replaces nothing")
    func publishNeverReplaces() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let final = directory.path + "/" + Self.segmentName(sequence: 1)
        let temporary = directory.path + "/." + Self.segmentName(sequence: 1) + ".tmp"
        try Data("the other writer's".utf8).write(to: URL(fileURLWithPath: final))
        #expect {
            try FileIO.publishAtomically(
                Array("ours".utf8),
                temporaryPath: temporary,
                finalPath: final,
                directory: directory.path
            )
        } throws: { error in
            (error as? RollupIOError)?.errorNumber == EEXIST
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: final)) == Data("the other writer's".utf8))
        #expect(!FileManager.default.fileExists(atPath: temporary), "the temporary file was left behind")
    }

    @Test("rows whose payload would pass the limit are written as several segments, every row readable")
    func oversizedFlushIsSplit() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let writer = RollupSegmentWriter(directory: directory.path, windowNanoseconds: Self.window)
        writer.maximumPayloadByteCount = 2_000  // a few dozen rows of ten series
        let rows = (0..<10).flatMap { Self.rows(40, series: SeriesID($0)) }
        try writer.append(rows, descriptors: descriptor)
        try writer.close()
        #expect(writer.segmentsWritten > 1)
        #expect(writer.rowsWritten == rows.count && writer.droppedRows == 0)
        let scan = try RollupDirectory.scan(directory.path)
        #expect(scan.damaged.isEmpty)
        let read = scan.segments.flatMap(\.segment.rows).map { "\($0.seriesID) \($0.windowStartNanoseconds) \($0.sum)" }
        #expect(read.sorted() == rows.map { "\($0.seriesID) \($0.windowStartNanoseconds) \($0.sum)" }.sorted())
        for (_, segment) in scan.segments {
            #expect(segment.header.payloadUncompressedByteCount <= 2_000)
        }
    }

    @Test("header errors name the field and the file offset; a window ending after Int64.max is refused")
    func headerMessages() throws {
        let writer = { (directory: String) in
            let writer = RollupSegmentWriter(directory: directory, windowNanoseconds: Self.window)
            try writer.append(Self.rows(2), descriptors: descriptor)
            try writer.close()
        }
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try writer(directory.path)
        let good = try RollupDirectory.scan(directory.path).segments[0]
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: good.path)))
        func damaged(_ edit: (inout [UInt8]) -> Void) -> String {
            var file = bytes
            edit(&file)
            file.removeLast(4)
            let crc = CRC32C.checksum(file)
            for shift in stride(from: 0, to: 32, by: 8) { file.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift))) }
            do {
                _ = try RollupSegmentReader.decode(file)
                return "decoded"
            } catch {
                return String(describing: error)
            }
        }
        #expect(damaged { $0[56] = 1 } == "header malformed at byte 56 of the file: reserved word 0x1, expected 0")
        #expect(damaged { $0[52] = 2 } == "header malformed at byte 52 of the file: unknown flags 0x2")
        let lastWindowEnd = damaged { file in
            for index in 24..<32 { file[index] = 0xFF }
            file[31] = 0x7F  // last window start = Int64.max
        }
        #expect(lastWindowEnd.contains("ends after the largest time"), "\(lastWindowEnd)")
    }
}
