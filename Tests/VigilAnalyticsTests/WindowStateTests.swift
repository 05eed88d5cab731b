import Testing
import VigilAnalytics
import VigilCore

/// A series' window state written to a checkpoint and restored into another table (another shard count,
/// another local index) continues the same windows.
@Suite("window state: checkpoint and restore")
struct WindowStateTests {
    @Test("a counter and a gauge restored into another shard layout close the same windows as the table they left")
    func restoredTableClosesTheSameWindows() throws {
        var original = try makeTable(windowSeconds: 10, latenessSeconds: 5, series: [(0, .counter64), (1, .gauge)])
        // Two windows open per series at the checkpoint: [0, 10) and [10, 20).
        for (timestamp, counter, gauge) in [(1, 100.0, 5.0), (4, 130, 7), (9, 150, 6), (11, 170, 9)]
            as [(Int64, Double, Double)]
        {
            _ = original.add(seriesID: 0, timestamp: timestamp * second, value: counter, watermark: 6 * second)
            _ = original.add(seriesID: 1, timestamp: timestamp * second, value: gauge, watermark: 6 * second)
        }
        var restored = try makeTable(windowSeconds: 10, latenessSeconds: 5, shardIndex: 1, shardCount: 3, series: [])
        for (from, to) in [(SeriesID(0), SeriesID(4)), (1, 7)] {
            var writer = StateWriter()
            original.writeState(of: from, to: &writer)
            var reader = StateReader(writer.bytes)
            try restored.restoreState(of: to, kind: from == 0 ? .counter64 : .gauge, from: &reader)
            #expect(reader.remaining == 0)
        }
        restored.restoreWatermark(original.watermarkNanoseconds)
        #expect(restored.statistics.openWindows == original.statistics.openWindows)
        // The same samples after the checkpoint, then everything closes.
        for table in [0, 1] {
            let (counterID, gaugeID): (SeriesID, SeriesID) = table == 0 ? (0, 1) : (4, 7)
            func feed(_ t: inout ShardWindowTable) {
                _ = t.add(seriesID: counterID, timestamp: 14 * second, value: 200, watermark: 9 * second)
                _ = t.add(seriesID: gaugeID, timestamp: 14 * second, value: 8, watermark: 9 * second)
            }
            if table == 0 { feed(&original) } else { feed(&restored) }
        }
        let before = original.flush()
        let after = restored.flush()
        #expect(before.count == 4)
        #expect(after.map(\.windowStartNanoseconds) == before.map(\.windowStartNanoseconds))
        // Gauges have no rate (NaN, which equals nothing): compared by bit pattern.
        #expect(after.map(\.rate.bitPattern) == before.map(\.rate.bitPattern))
        #expect(after.map(\.mean) == before.map(\.mean))
        #expect(after.map(\.count) == before.map(\.count))
    }

    @Test("a slot whose tag disagrees with it, or a cut record, is refused, never a wrong window")
    func damagedRecordsAreRefused() throws {
        var original = try makeTable(windowSeconds: 10, series: [(0, .gauge)])
        _ = original.add(seriesID: 0, timestamp: 3 * second, value: 1, watermark: 0)
        var writer = StateWriter()
        original.writeState(of: 0, to: &writer)
        var table = try makeTable(windowSeconds: 10, series: [])
        var badTag = writer.bytes
        badTag[0] ^= 0x01
        var reader = StateReader(badTag)
        #expect(throws: StateReader.Malformed.self) { try table.restoreState(of: 0, kind: .gauge, from: &reader) }
        for length in 0..<writer.bytes.count {
            var cut = StateReader(Array(writer.bytes.prefix(length)))
            #expect(throws: StateReader.Malformed.self) { try table.restoreState(of: 0, kind: .gauge, from: &cut) }
        }
        #expect(table.statistics.openWindows == 0)
    }
}
