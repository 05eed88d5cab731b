import Benchmark
import Foundation
import VigilAnalytics
import VigilCore
import VigilStore

/// Segment encode: `RollupSegmentWriter` appends one million closed windows (100k series × 10 minutes, made by
/// a real `ShardWindowTable` from six samples a minute) and flushes them as one segment into a temporary
/// directory: sort, columnar transforms, zstd level 9, CRC, write, fsync, rename. The starred figures are per
/// row (throughput rounds to whole millions of rows per second: read the time per row instead);
/// `segment bytes per value ×1000` is the file's size over its 9 values per row.
///
/// Not a zero-allocation path: a segment is written once per million windows, and it allocates its columns.
func segmentBenchmarks() {
    let fixture = FixtureBox<SegmentFixture>()
    Benchmark(
        "segment/encode 1M window rows, zstd 9, written and fsynced (per row)",
        configuration: .init(
            metrics: stageMetrics + [SegmentFixture.bytesPerValueMetric, .writeBytesPhysical],
            scalingFactor: .mega,
            // An iteration takes about 1.5 s: the default one-second budget would measure it once.
            maxDuration: .seconds(15),
            maxIterations: 10,
            setup: { fixture.value = try SegmentFixture() },
            teardown: { fixture.value = nil }
        )
    ) { benchmark in
        let segment = fixture.value!
        benchmark.startMeasurement()
        let bytes = segment.writeSegment()
        benchmark.stopMeasurement()
        let valueCount = SegmentFixture.rowCount * RollupSegment.valuesPerRow
        benchmark.measurement(SegmentFixture.bytesPerValueMetric, bytes * 1000 / valueCount)
        segment.removeSegments()
    }
}

final class SegmentFixture {
    static let seriesCount = 100_000
    static let minutes = 10
    static let rowCount = seriesCount * minutes
    static let bytesPerValueMetric = BenchmarkMetric.custom(
        "segment bytes per value ×1000",
        polarity: .prefersSmaller,
        useScalingFactor: false
    )

    let directory: String
    let rows: [WindowAggregate]
    let descriptors: [SeriesDescriptor]
    let writer: RollupSegmentWriter

    init() throws {
        let fleet = SyntheticFleet(seriesCount: Self.seriesCount)
        let samplesPerMinute = 6
        let samples = fleet.samples(
            roundCount: Self.minutes * samplesPerMinute,
            roundNanoseconds: SyntheticFleet.windowNanoseconds / Int64(samplesPerMinute),
            startNanoseconds: SyntheticFleet.epochNanoseconds,
            shuffled: true
        )
        var table = try fleet.windowTable()
        var rows: [WindowAggregate] = []
        rows.reserveCapacity(Self.rowCount)
        for index in samples.timestamps.indices {
            // Close each minute as the next one starts, as the engine's watermark does.
            let timestamp = samples.timestamps[index]
            let watermark = timestamp - timestamp % SyntheticFleet.windowNanoseconds
            table.closeWindows(watermark: watermark) { rows.append($0) }
            _ = table.add(
                seriesID: samples.seriesIDs[index],
                timestamp: timestamp,
                value: samples.values[index],
                watermark: watermark
            )
        }
        table.closeAll { rows.append($0) }
        precondition(rows.count == Self.rowCount, "the fleet made \(rows.count) windows, expected \(Self.rowCount)")
        self.rows = rows
        descriptors = (0..<Self.seriesCount).map { SyntheticFleet.descriptor(of: SeriesID($0)) }

        var template = Array("\(NSTemporaryDirectory())/vigil-bench-segment-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: String(cString: template)])
        }
        directory = String(cString: created)
        writer = RollupSegmentWriter(
            directory: directory,
            windowNanoseconds: SyntheticFleet.windowNanoseconds,
            rowsPerSegment: Self.rowCount
        )
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// Appends the million rows, which fills the writer's buffer and writes one segment; returns its bytes.
    func writeSegment() -> Int {
        let bytesBefore = writer.bytesWritten
        let descriptors = self.descriptors
        do {
            try writer.append(rows) { id in Int(id) < descriptors.count ? descriptors[Int(id)] : nil }
        } catch {
            preconditionFailure("segment write failed: \(error)")
        }
        precondition(writer.bufferedRowCount == 0 && writer.rejectedRows == 0, "the rows did not make one segment")
        return writer.bytesWritten - bytesBefore
    }

    /// Deletes the segments written so far (not measured), so a long run does not fill the disk.
    func removeSegments() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasSuffix(".vgr") {
            try? FileManager.default.removeItem(atPath: directory + "/" + name)
        }
    }
}
