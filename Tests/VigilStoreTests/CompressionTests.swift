import Testing
import VigilCore

@testable import VigilStore

@Suite("Rollup compression")
struct CompressionTests {
    /// Bytes per value = segment file bytes / (rows × 9), the 9 values `vigil rollups cat` prints.
    static func bytesPerValue(_ rows: [WindowAggregate], _ descriptors: [SeriesID: SeriesDescriptor]) throws -> Double {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let writer = RollupSegmentWriter(directory: directory.path, windowNanoseconds: RealisticFleet.windowNanoseconds)
        try writer.append(rows) { descriptors[$0] }
        try writer.close()
        let scan = try RollupDirectory.scan(directory.path)
        let readBack = scan.segments.flatMap(\.segment.rows)
        #expect(readBack.count == rows.count)
        #expect(zip(readBack, sortedForSegment(rows)).allSatisfy { bitIdentical($0, $1) })
        return Double(writer.bytesWritten) / Double(rows.count * RollupSegment.valuesPerRow)
    }

    @Test("a realistic seeded fleet (16 devices, 4 interfaces, 1 day of 60 s windows) takes <= 1.5 bytes per value")
    func realisticFleet() throws {
        let fleet = RealisticFleet(seed: 2026, devices: 16, interfacesPerDevice: 4, windows: 1_440)
        let bytesPerValue = try Self.bytesPerValue(fleet.rows, fleet.descriptors)
        print("realistic fleet: \(fleet.rows.count) rows, \(bytesPerValue) bytes per value")
        #expect(bytesPerValue <= 1.5)
    }

    @Test("per kind: gauges compress far below counters, whose Welford M2 is full-precision noise")
    func perKind() throws {
        let fleet = RealisticFleet(seed: 7, devices: 4, interfacesPerDevice: 4, windows: 720)
        let gauges = fleet.rows.filter { fleet.descriptors[$0.seriesID]!.kind == .gauge }
        let busyCounters = fleet.rows.filter { fleet.descriptors[$0.seriesID]!.key.metric.hasSuffix("octets") }
        let gaugeBytes = try Self.bytesPerValue(gauges, fleet.descriptors)
        let counterBytes = try Self.bytesPerValue(busyCounters, fleet.descriptors)
        print("gauges: \(gaugeBytes) bytes per value; octet counters: \(counterBytes) bytes per value")
        #expect(gaugeBytes <= 1.0)
        #expect(counterBytes <= 3.0)
    }
}
