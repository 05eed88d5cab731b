import Foundation
import Testing
import VigilCore
import VigilStore

/// Flow summary files: what is written is what is read, and damage is named, never misread.
@Suite("flow summary files: round trip, damage named")
struct FlowSummaryFileTests {
    static func summary(exporter: String, start: Int64, distinctValues: Int) -> FlowWindowSummary {
        func entry(_ n: UInt64, _ bytes: UInt64, _ error: UInt64) -> FlowTopEntry {
            FlowTopEntry(key: FlowKey(addressLow: 0x0000_FFFF_0A00_0000 | n), bytes: bytes, errorBytes: error)
        }
        var registers = [UInt8](repeating: 0, count: 1024)
        for index in 0..<distinctValues { registers[(index * 37) % 1024] = UInt8(1 + index % 20) }
        return FlowWindowSummary(
            exporter: exporter,
            windowStartNanoseconds: start,
            windowNanoseconds: 60_000_000_000,
            records: 1234,
            totalBytes: 9_999_999,
            lists: [
                FlowTopList(entries: [entry(1, 500, 0), entry(2, 400, 7)], absentBoundBytes: 10),
                FlowTopList(entries: [entry(3, 900, 0), entry(4, 100, 0)], absentBoundBytes: 0),
                FlowTopList(
                    entries: [
                        FlowTopEntry(key: FlowKey(addressLow: 1, secondHigh: 2, secondLow: 3), bytes: 9, errorBytes: 1)
                    ],
                    absentBoundBytes: 1
                ),
                FlowTopList(
                    entries: [
                        FlowTopEntry(key: FlowKey(destinationPort: 443, protocolNumber: 6), bytes: 1, errorBytes: 0)
                    ]
                ),
            ],
            destinationDistinct: [
                FlowDistinctRegisters(precision: 10, registers: registers),
                distinctValues > 0 ? nil : FlowDistinctRegisters(precision: 10, registers: registers),
            ]
        )
    }

    @Test("summaries round-trip bit for bit, sparse and dense registers alike, through a published file")
    func roundTrip() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "vgf-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let summaries = [
            Self.summary(exporter: "192.0.2.1/0", start: 1_793_577_600_000_000_000, distinctValues: 5),
            Self.summary(exporter: "2001:db8::1/7", start: 1_793_577_660_000_000_000, distinctValues: 1024),
        ]
        let writer = FlowSummaryWriter(directory: directory.path)
        for summary in summaries { try writer.append(summary) }
        try writer.close()
        #expect(writer.filesWritten == 1 && writer.summariesWritten == 2)
        let paths = try FlowSummaryFile.paths(directory.path)
        #expect(paths.map { ($0 as NSString).lastPathComponent } == ["flows-1793577600000000000-000001.vgf"])
        let read = try FlowSummaryFile.read(paths[0])
        #expect(read.summaries == summaries)
        #expect(read.header.firstWindowStartNanoseconds == 1_793_577_600_000_000_000)
        #expect(read.header.lastWindowStartNanoseconds == 1_793_577_660_000_000_000)
        #expect(try FlowSummaryFile.readHeader(paths[0]) == read.header)
    }

    @Test("a flipped bit is a CRC mismatch, a segment's bytes are foreign, a cut file a size mismatch")
    func damageIsNamed() throws {
        let bytes = FlowSummaryFile.encode([Self.summary(exporter: "e/1", start: 0, distinctValues: 3)])!
        var flipped = bytes
        flipped[80] ^= 0x10
        #expect {
            try flipped.withUnsafeBytes { _ = try FlowSummaryFile.decode($0) }
        } throws: { ($0 as? RollupSegmentError).map { "\($0)".hasPrefix("CRC32C mismatch") } ?? false }
        var foreign = bytes
        foreign.replaceSubrange(0..<4, with: Array("VGRS".utf8))
        #expect {
            try foreign.withUnsafeBytes { _ = try FlowSummaryFile.decode($0) }
        } throws: { "\($0)".contains("expected 0x53464756") }
        let cut = Array(bytes.dropLast(5))
        #expect {
            try cut.withUnsafeBytes { _ = try FlowSummaryFile.decode($0) }
        } throws: { "\($0)".contains("file size") }
    }
}
