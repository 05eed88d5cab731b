import Testing
import VigilAnalytics
import VigilCore

/// Columns of one batch, owned by the test, handed to the table as raw pointers.
struct BatchColumns {
    var timestamps: [Int64] = []
    var seriesIDs: [SeriesID] = []
    var values: [Double] = []

    var count: Int { timestamps.count }

    mutating func append(_ seriesID: SeriesID, _ timestamp: Int64, _ value: Double) {
        seriesIDs.append(seriesID)
        timestamps.append(timestamp)
        values.append(value)
    }
}

extension ShardWindowTable {
    /// The batch add from `start`, over the test's arrays.
    mutating func add(_ batch: BatchColumns, from start: Int = 0, watermark: Int64) -> Int {
        batch.timestamps.withUnsafeBufferPointer { timestamps in
            batch.seriesIDs.withUnsafeBufferPointer { seriesIDs in
                batch.values.withUnsafeBufferPointer { values in
                    add(
                        timestamps: timestamps.baseAddress! + start,
                        seriesIDs: seriesIDs.baseAddress! + start,
                        values: values.baseAddress! + start,
                        count: batch.count - start,
                        watermark: watermark
                    )
                }
            }
        }
    }
}

@Suite("Shard window table: batch add")
struct WindowsBatchTests {
    @Test("a batch stops at an unregistered series, counts nothing for it, and resumes after registration")
    func stopsAtUnregistered() throws {
        var table = try makeTable(series: [(0, .gauge)])
        var batch = BatchColumns()
        batch.append(0, 1 * second, 2)
        batch.append(5, 2 * second, 7)
        batch.append(0, 3 * second, 4)
        #expect(table.add(batch, watermark: .min) == 1)
        #expect(table.statistics.accepted == 1)
        #expect(!table.isRegistered(5))
        table.registerSeries(5, kind: .gauge)
        #expect(table.add(batch, from: 1, watermark: .min) == 2)
        #expect(table.statistics.accepted == 3)
        let windows = table.flush()
        #expect(windows.map(\.seriesID) == [0, 5])
        #expect(windows.map(\.count) == [2, 1])
        #expect(windows.map(\.sum) == [6, 7])
        #expect(windows.map(\.first) == [2, 7])
        #expect(windows.map(\.last) == [4, 7])
    }

    @Test("a sample of another shard stops the batch; the table never places it")
    func stopsAtOtherShard() throws {
        var table = try makeTable(shardIndex: 0, shardCount: 2, series: [(0, .gauge), (2, .gauge)])
        var batch = BatchColumns()
        batch.append(0, 1 * second, 1)
        batch.append(3, 1 * second, 1)  // local index 1, like series 2, but shard 1's
        batch.append(2, 1 * second, 1)
        #expect(table.add(batch, watermark: .min) == 1)
        #expect(!table.isRegistered(3))
        #expect(table.add(batch, from: 2, watermark: .min) == 1)
        let windows = table.flush()
        #expect(windows.map(\.seriesID) == [0, 2])
        #expect(windows.map(\.count) == [1, 1])
    }

    @Test("late samples in a batch are counted late and not merged, as with per-sample add")
    func lateInBatch() throws {
        var table = try makeTable(windowSeconds: 10, series: [(0, .counter64)])
        var batch = BatchColumns()
        batch.append(0, 12 * second, 100)
        batch.append(0, 5 * second, 50)  // window [0, 10) ended at the watermark: late
        batch.append(0, 15 * second, 160)
        #expect(table.add(batch, watermark: 10 * second) == 3)
        #expect(table.statistics.accepted == 2)
        #expect(table.statistics.late == 1)
        let windows = table.flush()
        #expect(windows.count == 1)
        #expect(windows[0].windowStartNanoseconds == 10 * second)
        #expect(windows[0].count == 2)
        // The late reading left the counter alone: 60 over 3 s.
        #expect(windows[0].rate == 20)
    }

    @Test("an empty batch handles nothing and only raises the watermark")
    func emptyBatch() throws {
        var table = try makeTable()
        let handled = table.add(BatchColumns(timestamps: [0], seriesIDs: [0], values: [0]), from: 1, watermark: 7)
        #expect(handled == 0)
        #expect(table.watermarkNanoseconds == 7)
        #expect(table.statistics == WindowStatistics())
    }

    @Test("batch add equals per-sample add on seeded random batches, with lazy registration", arguments: 0..<30)
    func matchesPerSample(seed: UInt64) throws {
        var stream = RandomStream(seed: 0xBA7C_0000 + seed)
        let configuration = try WindowConfiguration(
            windowNanoseconds: stream.windowNanoseconds,
            latenessNanoseconds: stream.latenessNanoseconds,
            maximumPendingWindows: 256
        )
        var single = ShardWindowTable(
            configuration: configuration,
            shardIndex: 1,
            shardCount: 3,
            initialSeriesCapacity: 0
        )
        var batched = single
        let kinds = Dictionary(stream.series, uniquingKeysWith: { first, _ in first })
        // A series the stream never declared, registered on first sight like the others.
        let stranger: SeriesID = 3 * 40 + 1
        var newestNanoseconds = Int64.min
        var stops = 0
        var samples = 0
        while samples < 1500 {
            var batch = BatchColumns()
            let size = 1 + Int(stream.random.next() % 64)
            for _ in 0..<size {
                let sample = stream.next()
                let seriesID = stream.random.next() % 50 == 0 ? stranger : sample.seriesID
                batch.append(seriesID, sample.timestamp, sample.value)
            }
            samples += size
            // The engine's rule as of the batch's first sample, sometimes lagging or absent.
            let watermark: Int64
            switch stream.random.next() % 6 {
            case 0: watermark = .min
            case 1: watermark = stream.nowNanoseconds - 3 * stream.windowNanoseconds
            default:
                watermark = newestNanoseconds == .min ? .min : newestNanoseconds - stream.latenessNanoseconds
            }
            newestNanoseconds = max(newestNanoseconds, batch.timestamps.max()!)

            for index in 0..<batch.count {
                let seriesID = batch.seriesIDs[index]
                if !single.isRegistered(seriesID) { single.registerSeries(seriesID, kind: kinds[seriesID] ?? .gauge) }
                _ = single.add(
                    seriesID: seriesID,
                    timestamp: batch.timestamps[index],
                    value: batch.values[index],
                    watermark: watermark
                )
            }
            var start = 0
            while start < batch.count {
                start += batched.add(batch, from: start, watermark: watermark)
                if start < batch.count {
                    let seriesID = batch.seriesIDs[start]
                    #expect(!batched.isRegistered(seriesID), "seed \(seed): stopped at a registered series")
                    batched.registerSeries(seriesID, kind: kinds[seriesID] ?? .gauge)
                    stops += 1
                }
            }
            #expect(start == batch.count)
            if stream.random.next() % 3 == 0 {
                #expect(single.close(watermark: watermark) == batched.close(watermark: watermark), "seed \(seed)")
            }
        }
        #expect(single.flush() == batched.flush(), "seed \(seed)")
        #expect(single.statistics == batched.statistics, "seed \(seed)")
        #expect(single.watermarkNanoseconds == batched.watermarkNanoseconds)
        // One stop per series met: each was registered by the batch loop exactly once.
        #expect(stops == (0..<single.localSeriesCapacity).filter { single.isRegistered(SeriesID($0 * 3 + 1)) }.count)
    }

    @Test("a copied table keeps its own windows when either copy changes (copy on write)")
    func copyOnWrite() throws {
        var original = try makeTable(series: [(0, .gauge)])
        _ = original.add(seriesID: 0, timestamp: 1 * second, value: 1, watermark: .min)
        var copy = original
        _ = copy.add(seriesID: 0, timestamp: 2 * second, value: 10, watermark: .min)
        var batch = BatchColumns()
        batch.append(0, 3 * second, 100)
        #expect(original.add(batch, watermark: .min) == 1)
        copy.registerSeries(3, kind: .gauge)
        #expect(!original.isRegistered(3))
        #expect(original.flush().map(\.sum) == [101])
        #expect(copy.flush().map(\.sum) == [11])
    }

    @Test("storage growth past the huge-page threshold keeps every open window")
    func growthKeepsState() throws {
        var table = try makeTable(series: [])
        let seriesCount = 20_000  // 20k × 256 B = 5 MiB: several doublings, the last ones 2 MiB aligned
        var batch = BatchColumns()
        for id in 0..<seriesCount { batch.append(SeriesID(id), 1 * second, Double(id)) }
        var start = 0
        var stops = 0
        while start < batch.count {
            start += table.add(batch, from: start, watermark: .min)
            if start < batch.count {
                table.registerSeries(batch.seriesIDs[start], kind: .gauge)
                stops += 1
            }
        }
        #expect(stops == seriesCount)
        #expect(table.add(batch, watermark: .min) == seriesCount)
        let windows = table.flush()
        #expect(windows.count == seriesCount)
        #expect(windows.allSatisfy { $0.count == 2 && $0.sum == 2 * Double($0.seriesID) })
    }
}
