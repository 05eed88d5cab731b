import Testing
import VigilAnalytics
import VigilCore

/// One second in nanoseconds, to keep hand-computed timelines readable.
let second: Int64 = 1_000_000_000

func makeTable(
    windowSeconds: Int64 = 10,
    latenessSeconds: Int64 = 0,
    maximumPendingWindows: Int = 64,
    shardIndex: Int = 0,
    shardCount: Int = 1,
    series: [(SeriesID, MetricKind)] = [(0, .gauge)],
    counterGapSeconds: Int64? = nil
) throws -> ShardWindowTable {
    var configuration = try WindowConfiguration(
        windowNanoseconds: windowSeconds * second,
        latenessNanoseconds: latenessSeconds * second,
        maximumPendingWindows: maximumPendingWindows
    )
    if let counterGapSeconds { configuration.counterGapNanoseconds = counterGapSeconds * second }
    var table = ShardWindowTable(
        configuration: configuration,
        shardIndex: shardIndex,
        shardCount: shardCount,
        initialSeriesCapacity: 4
    )
    for (id, kind) in series { table.registerSeries(id, kind: kind) }
    return table
}

extension ShardWindowTable {
    mutating func close(watermark: Int64) -> [WindowAggregate] {
        var closed: [WindowAggregate] = []
        closeWindows(watermark: watermark) { closed.append($0) }
        return closed
    }

    mutating func flush() -> [WindowAggregate] {
        var closed: [WindowAggregate] = []
        closeAll { closed.append($0) }
        return closed
    }
}

@Suite("Window configuration")
struct WindowsConfigurationTests {
    @Test("width must be positive and lateness within 0...width; the errors carry the values")
    func validation() throws {
        #expect(throws: WindowConfigurationError.nonPositiveWindow(windowNanoseconds: 0)) {
            try WindowConfiguration(windowNanoseconds: 0, latenessNanoseconds: 0)
        }
        #expect(throws: WindowConfigurationError.nonPositiveWindow(windowNanoseconds: -5)) {
            try WindowConfiguration(windowNanoseconds: -5, latenessNanoseconds: 0)
        }
        #expect(throws: WindowConfigurationError.latenessOutOfRange(latenessNanoseconds: -1, windowNanoseconds: 10)) {
            try WindowConfiguration(windowNanoseconds: 10, latenessNanoseconds: -1)
        }
        #expect(throws: WindowConfigurationError.latenessOutOfRange(latenessNanoseconds: 11, windowNanoseconds: 10)) {
            try WindowConfiguration(windowNanoseconds: 10, latenessNanoseconds: 11)
        }
        #expect(throws: WindowConfigurationError.pendingWindowsOutOfRange(maximumPendingWindows: 0)) {
            try WindowConfiguration(windowNanoseconds: 10, latenessNanoseconds: 0, maximumPendingWindows: 0)
        }
        let edge = try WindowConfiguration(windowNanoseconds: 10, latenessNanoseconds: 10)
        #expect(edge.latenessNanoseconds == 10)
        let defaults = try WindowConfiguration()
        #expect(defaults.windowNanoseconds == 60 * second)
        #expect(defaults.latenessNanoseconds == 0)
        let message = WindowConfigurationError.latenessOutOfRange(latenessNanoseconds: 11, windowNanoseconds: 10)
            .description
        #expect(message.contains("0...10") && message.contains("11"))
    }

    @Test("window starts floor toward negative infinity, and the ends of the Int64 range are refused")
    func alignment() throws {
        let configuration = try WindowConfiguration(windowNanoseconds: 10, latenessNanoseconds: 0)
        #expect(configuration.windowStart(containing: 0) == 0)
        #expect(configuration.windowStart(containing: 9) == 0)
        #expect(configuration.windowStart(containing: 10) == 10)
        #expect(configuration.windowStart(containing: -1) == -10)
        #expect(configuration.windowStart(containing: -10) == -10)
        #expect(configuration.windowStart(containing: -11) == -20)
        // Int64.max = ...807: its window [...800, ...810) ends past Int64.max.
        #expect(configuration.windowStart(containing: .max) == nil)
        let lastWindowStart: Int64 = 9_223_372_036_854_775_790
        #expect(configuration.windowStart(containing: Int64.max - 8) == lastWindowStart)
        // Int64.min = -...808: its window would start at -...810.
        #expect(configuration.windowStart(containing: .min) == nil)
        #expect(configuration.windowStart(containing: .min + 8) == .min + 8)
        let unit = try WindowConfiguration(windowNanoseconds: 1, latenessNanoseconds: 0)
        #expect(unit.windowStart(containing: .min) == .min)
        #expect(unit.windowStart(containing: .max) == nil)
    }

    @Test("window(containing:) gives floor(t / width) and the start, exactly, without dividing: seeded, at edges")
    func windowIndexWithoutDivision() throws {
        var random = SplitMix64(seed: 71)
        let widths: [Int64] = [
            1, 7, 10, 999_983, 60 * second, 300 * second, 600 * second, 86_400 * second, 1 << 40, 1 << 61, .max / 3,
        ]
        for width in widths {
            let configuration = try WindowConfiguration(windowNanoseconds: width, latenessNanoseconds: 0)
            var timestamps: [Int64] = [0, 1, -1, .max, .min, .max - 1, .min + 1, 1 << 61, -(1 << 61), (1 << 61) - 1]
            // Exact boundaries are where a quotient rounded a hair low would truncate to the window before.
            for multiple: Int64 in Array(1...3_000) + [1_000_000, 29_000_000, 29_833_333] {
                let (boundary, overflow) = width.multipliedReportingOverflow(by: multiple)
                if !overflow { timestamps += [boundary - 1, boundary, boundary + 1, -boundary, -boundary - 1] }
            }
            // More than 2^53 ns before 1970 a timestamp is not exact in a Double: one nanosecond before a
            // boundary can round onto it (with 300 s: t = -306,093,000,000,000,001).
            for multiple: Int64 in 1_020_000..<1_020_400 {
                let (boundary, overflow) = width.multipliedReportingOverflow(by: multiple)
                if !overflow && boundary < 1 << 61 { timestamps += [-boundary - 1, -boundary, -boundary + 1] }
            }
            // Boundaries whose Double quotient by a width of 999,983 ns rounds below the index (found by search).
            for boundary: Int64 in [331_567_479_739_019_806, 798_609_474_123_137_845] {
                timestamps += [boundary - 1, boundary, boundary + 1]
            }
            for _ in 0..<2_000 {
                timestamps.append(Int64(bitPattern: random.next()))
                timestamps.append(Int64(bitPattern: random.next()) >> 8)
                // 2026-ish nanoseconds, where the engine lives.
                timestamps.append(1_790_000_000_000_000_000 + Int64(random.next() % (1 << 50)))
            }
            for timestamp in timestamps {
                let expected = configuration.windowStart(containing: timestamp)
                let window = configuration.window(containing: timestamp)
                #expect(window?.startNanoseconds == expected, "width \(width), timestamp \(timestamp)")
                if let window, let expected {
                    #expect(window.index == expected / width, "width \(width), timestamp \(timestamp)")
                }
            }
        }
    }
}

@Suite("Shard window table")
struct WindowsTableTests {
    @Test("count, sum, min, max, mean, stddev, first and last of a small window")
    func smallWindowAggregate() throws {
        var table = try makeTable()
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population standard deviation 2, M2 = 32.
        for (offset, value) in [2.0, 4, 4, 4, 5, 5, 7, 9].enumerated() {
            let result = table.add(seriesID: 0, timestamp: Int64(offset + 1) * second, value: value, watermark: .min)
            #expect(result == .accepted)
        }
        let closed = table.close(watermark: 10 * second)
        #expect(closed.count == 1)
        let window = try #require(closed.first)
        #expect(window.seriesID == 0)
        #expect(window.windowStartNanoseconds == 0)
        #expect(window.count == 8)
        #expect(window.sum == 40)
        #expect(window.minimum == 2)
        #expect(window.maximum == 9)
        #expect(window.first == 2)
        #expect(window.last == 9)
        #expect(window.mean == 5)
        #expect(window.sumOfSquaredDeviations == 32)
        #expect(window.standardDeviation == 2)
        #expect(window.rate.isNaN)
        #expect(table.statistics.accepted == 8)
        #expect(table.statistics.windowsClosed == 1)
        #expect(table.statistics.openWindows == 0)
    }

    @Test("out-of-order samples inside an open window: first and last follow event time")
    func outOfOrderInsideWindow() throws {
        var table = try makeTable()
        for (seconds, value) in [(5, 50.0), (2, 20), (8, 80), (1, 10), (8, 81)] as [(Int64, Double)] {
            #expect(table.add(seriesID: 0, timestamp: seconds * second, value: value, watermark: .min) == .accepted)
        }
        let window = try #require(table.flush().first)
        #expect(window.count == 5)
        #expect(window.first == 10)
        // Two samples at 8 s: the later arrival is `last`.
        #expect(window.last == 81)
        #expect(window.minimum == 10)
        #expect(window.maximum == 81)
        #expect(window.sum == 241)
        // Mean 48.2; deviations 1.8, -28.2, 31.8, -38.2, 32.8: squares 3.24 + 795.24 + 1011.24 + 1459.24 + 1075.84.
        #expect(abs(window.sumOfSquaredDeviations - 4344.8) < 1e-9)
    }

    @Test("a late sample after the watermark passed its window is counted and not merged")
    func lateSampleNotMerged() throws {
        var table = try makeTable()
        #expect(table.add(seriesID: 0, timestamp: 3 * second, value: 1, watermark: .min) == .accepted)
        let closed = table.close(watermark: 10 * second)
        #expect(closed.map(\.count) == [1])
        #expect(table.add(seriesID: 0, timestamp: 4 * second, value: 100, watermark: 10 * second) == .late)
        // Closable but not yet closed: still late once the watermark (given to add) reached its end.
        #expect(table.add(seriesID: 0, timestamp: 12 * second, value: 2, watermark: 10 * second) == .accepted)
        #expect(table.add(seriesID: 0, timestamp: 13 * second, value: 200, watermark: 20 * second) == .late)
        // An older watermark later on does not reopen anything: the table keeps the highest.
        #expect(table.add(seriesID: 0, timestamp: 5 * second, value: 300, watermark: 0) == .late)
        let rest = table.flush()
        #expect(rest.count == 1)
        #expect(rest.first?.sum == 2)
        #expect(rest.first?.count == 1)
        #expect(table.statistics.late == 3)
        #expect(table.statistics.accepted == 2)
    }

    @Test("lateness keeps the previous window open until the watermark passes its end")
    func latenessKeepsPreviousWindowOpen() throws {
        var table = try makeTable(windowSeconds: 10, latenessSeconds: 5)
        // Engine rule: watermark = newest event time - 5 s.
        #expect(table.add(seriesID: 0, timestamp: 8 * second, value: 1, watermark: 3 * second) == .accepted)
        #expect(table.add(seriesID: 0, timestamp: 12 * second, value: 2, watermark: 7 * second) == .accepted)
        #expect(table.add(seriesID: 0, timestamp: 9 * second, value: 3, watermark: 7 * second) == .accepted)
        #expect(table.close(watermark: 7 * second).isEmpty)
        #expect(table.statistics.openWindows == 2)
        #expect(table.add(seriesID: 0, timestamp: 16 * second, value: 4, watermark: 11 * second) == .accepted)
        let closed = table.close(watermark: 11 * second)
        #expect(closed.count == 1)
        #expect(closed.first?.windowStartNanoseconds == 0)
        #expect(closed.first?.count == 2)
        #expect(closed.first?.sum == 4)
        #expect(table.add(seriesID: 0, timestamp: 9 * second + 500_000_000, value: 5, watermark: 11 * second) == .late)
        let rest = table.flush()
        #expect(rest.map(\.windowStartNanoseconds) == [10 * second])
        #expect(rest.first?.sum == 6)
    }

    @Test("a 32-bit counter wrap yields the true rate")
    func counter32Wrap() throws {
        var table = try makeTable(windowSeconds: 60, series: [(0, .counter32)])
        // 1e6 per second, sampled every 10 s, passing 2^32 between 20 s and 30 s.
        let values: [Double] = [4_269_967_296, 4_279_967_296, 4_289_967_296, 5_000_000, 15_000_000, 25_000_000]
        for (index, value) in values.enumerated() {
            _ = table.add(seriesID: 0, timestamp: Int64(index) * 10 * second, value: value, watermark: .min)
        }
        let window = try #require(table.flush().first)
        #expect(window.rate == 1_000_000)
        #expect(table.statistics.wraps == 1)
        #expect(table.statistics.resets == 0)
    }

    @Test("a 64-bit counter wrap yields the true rate (values exact in Double)")
    func counter64Wrap() throws {
        var table = try makeTable(windowSeconds: 60, series: [(0, .counter64)])
        let modulus = 18_446_744_073_709_551_616.0
        // 2^38 per 10 s; the counter passes 2^64 at 20 s exactly.
        let values: [Double] = [modulus - 0x1p39, modulus - 0x1p38, 0, 0x1p38]
        for (index, value) in values.enumerated() {
            _ = table.add(seriesID: 0, timestamp: Int64(index) * 10 * second, value: value, watermark: .min)
        }
        let window = try #require(table.flush().first)
        #expect(window.rate == 0x1p38 / 10)
        #expect(table.statistics.wraps == 1)
    }

    @Test("a reboot to near zero is a reset, not a wrap, and the rate is no spike")
    func counterReset() throws {
        var table = try makeTable(windowSeconds: 60, series: [(0, .counter32)])
        let values: [Double] = [3_000_000_000, 3_010_000_000, 3_020_000_000, 500_000]
        for (index, value) in values.enumerated() {
            _ = table.add(seriesID: 0, timestamp: Int64(index) * 10 * second, value: value, watermark: .min)
        }
        let window = try #require(table.flush().first)
        // 10e6 + 10e6 + 0.5e6 over 30 s; a wrap would have claimed ~1.3e9 more.
        #expect(window.rate == 20_500_000.0 / 30)
        #expect(table.statistics.resets == 1)
        #expect(table.statistics.wraps == 0)
    }

    @Test("a counter's increase goes to the window of the later sample, across the boundary")
    func rateAcrossBoundary() throws {
        var table = try makeTable(windowSeconds: 60, series: [(0, .counter64)])
        for (seconds, value) in [(0, 0.0), (30, 3000), (50, 5000), (70, 6000), (110, 10_000)] as [(Int64, Double)] {
            _ = table.add(seriesID: 0, timestamp: seconds * second, value: value, watermark: .min)
        }
        let windows = table.flush()
        #expect(windows.map(\.windowStartNanoseconds) == [0, 60 * second])
        #expect(windows[0].rate == 100)  // 5000 over 50 s
        #expect(windows[1].rate == 5000.0 / 60)  // 1000 over 50→70 s, 4000 over 70→110 s
    }

    @Test("a counter window without an interval has rate NaN; an older counter sample adds no increase")
    func counterWithoutInterval() throws {
        var table = try makeTable(windowSeconds: 60, series: [(0, .counter64)])
        _ = table.add(seriesID: 0, timestamp: 10 * second, value: 500, watermark: .min)
        _ = table.add(seriesID: 0, timestamp: 5 * second, value: 400, watermark: .min)
        let windows = table.flush()
        #expect(windows.count == 1)
        #expect(windows[0].count == 2)
        #expect(windows[0].first == 400)
        #expect(windows[0].rate.isNaN)
        #expect(table.statistics.outOfOrderCounterSamples == 1)
    }

    @Test("negative timestamps fall in floor-aligned windows")
    func negativeTimestamps() throws {
        var table = try makeTable()
        for seconds: Int64 in [-1, -10, -11, 0] {
            #expect(table.add(seriesID: 0, timestamp: seconds * second, value: 1, watermark: .min) == .accepted)
        }
        // The slots hold [-10, 0) and [-20, -10) when 0 s arrives; it force-closes the older, [-20, -10).
        let windows = table.flush()
        #expect(windows.map(\.windowStartNanoseconds) == [-20 * second, -10 * second, 0])
        #expect(windows.map(\.count) == [1, 2, 1])
    }

    @Test("timestamps at the ends of the Int64 range are rejected without trapping")
    func extremeTimestamps() throws {
        var table = try makeTable(series: [(0, .counter64)])
        #expect(table.add(seriesID: 0, timestamp: .max, value: 1, watermark: .min) == .late)
        #expect(table.add(seriesID: 0, timestamp: .min, value: 1, watermark: .min) == .late)
        #expect(table.add(seriesID: 0, timestamp: .min + 20 * second, value: 1, watermark: .max) == .late)
        #expect(table.statistics.rejected == 2)
        #expect(table.statistics.late == 1)
        // Counter readings 2^63 ns apart: the interval is computed without overflow.
        var wide = try makeTable(series: [(0, .counter64)])
        _ = wide.add(seriesID: 0, timestamp: .min + 20 * second, value: 0, watermark: .min)
        _ = wide.add(seriesID: 0, timestamp: .max - 20 * second, value: 1e9, watermark: .min)
        let windows = wide.flush()
        #expect(windows.count == 2)
        #expect(windows[1].rate > 0 && windows[1].rate.isFinite)
    }

    @Test("closeAll flushes every open window, by local index, and nothing twice")
    func closeAllFlushes() throws {
        var table = try makeTable(
            shardIndex: 1,
            shardCount: 3,
            series: [(7, .gauge), (1, .gauge), (4, .counter32)]
        )
        _ = table.add(seriesID: 7, timestamp: 1 * second, value: 1, watermark: .min)
        _ = table.add(seriesID: 4, timestamp: 12 * second, value: 2, watermark: .min)
        _ = table.add(seriesID: 4, timestamp: 3 * second, value: 3, watermark: .min)
        _ = table.add(seriesID: 1, timestamp: 5 * second, value: 4, watermark: .min)
        #expect(table.statistics.openWindows == 4)
        let windows = table.flush()
        #expect(windows.map(\.seriesID) == [1, 4, 4, 7])
        #expect(windows.map(\.windowStartNanoseconds) == [0, 0, 10 * second, 0])
        #expect(table.statistics.openWindows == 0)
        #expect(table.statistics.windowsClosed == 4)
        #expect(table.flush().isEmpty)
        // The flush moved the watermark past every emitted window.
        #expect(table.add(seriesID: 7, timestamp: 2 * second, value: 9, watermark: .min) == .late)
    }

    @Test("closeWindows with nothing due emits nothing and changes nothing")
    func closeNothingDue() throws {
        var table = try makeTable(series: [(0, .gauge), (1, .gauge)])
        #expect(table.close(watermark: 100 * second).isEmpty)
        _ = table.add(seriesID: 0, timestamp: 101 * second, value: 1, watermark: 100 * second)
        _ = table.add(seriesID: 1, timestamp: 115 * second, value: 1, watermark: 100 * second)
        let before = table.statistics
        #expect(table.close(watermark: 109 * second).isEmpty)
        #expect(table.statistics == before)
        #expect(table.close(watermark: 110 * second).map(\.seriesID) == [0])
        #expect(table.close(watermark: 119 * second).isEmpty)
        #expect(table.close(watermark: 120 * second).map(\.seriesID) == [1])
    }

    @Test("a batch spanning windows force-closes the older slot; the next close emits it first")
    func forcedClose() throws {
        var table = try makeTable(series: [(0, .gauge), (1, .gauge)])
        _ = table.add(seriesID: 1, timestamp: 1 * second, value: 1, watermark: .min)
        // Engine rule with lateness 0: the watermark is the newest event time.
        for seconds: Int64 in [1, 11, 21, 31] {
            #expect(
                table.add(seriesID: 0, timestamp: seconds * second, value: 1, watermark: seconds * second) == .accepted
            )
        }
        #expect(table.statistics.forcedCloses == 2)
        let closed = table.close(watermark: 31 * second)
        #expect(closed.map(\.seriesID) == [0, 0, 0, 1])
        #expect(closed.map(\.windowStartNanoseconds) == [0, 10 * second, 20 * second, 0])
        #expect(table.flush().map(\.windowStartNanoseconds) == [30 * second])
        #expect(table.statistics.windowsClosed == 5)
    }

    @Test("with a lagging watermark, a forced close never reopens, and leaves other series' windows open")
    func forcedCloseKeepsOtherSeriesOpen() throws {
        var table = try makeTable(maximumPendingWindows: 1, series: [(0, .gauge), (1, .gauge)])
        // Series 1's source is slow: its window [0, 10) opens first and must stay open for it.
        #expect(table.add(seriesID: 1, timestamp: 1 * second, value: 1, watermark: .min) == .accepted)
        for seconds: Int64 in [1, 11, 21, 31] {
            #expect(table.add(seriesID: 0, timestamp: seconds * second, value: 1, watermark: .min) == .accepted)
        }
        // The pending buffer holds one window: [0, 10) waits, [10, 20) was dropped and counted.
        #expect(table.statistics.forcedCloses == 2)
        #expect(table.statistics.droppedWindows == 1)
        // The table's watermark is where the engine left it: series 1 still fills [0, 10).
        #expect(table.watermarkNanoseconds == .min)
        #expect(table.add(seriesID: 1, timestamp: 5 * second, value: 2, watermark: .min) == .accepted)
        // Series 0's force-closed windows never reopen.
        #expect(table.add(seriesID: 0, timestamp: 2 * second, value: 1, watermark: .min) == .late)
        #expect(table.add(seriesID: 0, timestamp: 12 * second, value: 1, watermark: .min) == .late)
        let windows = table.flush()
        // Force-closed first, then by local index and start.
        #expect(windows.map(\.seriesID) == [0, 0, 0, 1])
        #expect(windows.map(\.windowStartNanoseconds) == [0, 20 * second, 30 * second, 0])
        #expect(windows.map(\.count) == [1, 1, 1, 2])
    }

    @Test("counter readings further apart than the gap credit no rate across it; the gap is counted")
    func counterGap() throws {
        var table = try makeTable(series: [(0, .counter64)], counterGapSeconds: 3_600)
        // 100 units/s up to 20 s, then silence for two hours, during which the counter climbed by 9e9 (or
        // wrapped, or reset: nobody can say), then 5 units/s.
        let twoHours: Int64 = 7_200 * second
        for (seconds, value) in [(0, 0.0), (10, 1000.0), (20, 2000.0)] as [(Int64, Double)] {
            _ = table.add(seriesID: 0, timestamp: seconds * second, value: value, watermark: .min)
        }
        for (seconds, value) in [(1, 9e9), (2, 9e9 + 5), (4, 9e9 + 15)] as [(Int64, Double)] {
            _ = table.add(
                seriesID: 0,
                timestamp: 20 * second + twoHours + seconds * second,
                value: value,
                watermark: .min
            )
        }
        let windows = table.flush()
        #expect(windows.map(\.windowStartNanoseconds) == [0, 10 * second, 20 * second, 20 * second + twoHours])
        #expect(windows[1].rate == 100)
        // The window after the gap measures only its own readings: 15 units over 3 s.
        #expect(windows[3].rate == 5)
        #expect(table.statistics.counterGaps == 1)
        #expect(table.statistics.resets == 0 && table.statistics.wraps == 0)
    }

    @Test("series ids map to this shard's local slots for many shard counts")
    func shardArithmetic() throws {
        for shardCount in [1, 2, 3, 5, 7, 64, 1000] {
            let shardIndex = shardCount / 2
            let ids = (0..<5).map { SeriesID($0 * shardCount + shardIndex) }
            var table = try makeTable(
                shardIndex: shardIndex,
                shardCount: shardCount,
                series: ids.reversed().map { ($0, .gauge) }
            )
            for id in ids {
                #expect(table.isRegistered(id))
                _ = table.add(seriesID: id, timestamp: 0, value: Double(id), watermark: .min)
            }
            #expect(!table.isRegistered(ids[4] + SeriesID(shardCount)))
            if shardCount > 1 { #expect(!table.isRegistered(ids[0] + 1)) }
            #expect(!table.isRegistered(.max))
            let windows = table.flush()
            #expect(windows.map(\.seriesID) == ids)
            #expect(windows.map(\.sum) == ids.map { Double($0) })
        }
    }

    @Test("a counter reading at Int64.min is a reading like any other (1 ns windows place it)")
    func counterReadingAtInt64Min() throws {
        let configuration = try WindowConfiguration(windowNanoseconds: 1, latenessNanoseconds: 0)
        var table = ShardWindowTable(
            configuration: configuration,
            shardIndex: 0,
            shardCount: 1,
            initialSeriesCapacity: 1
        )
        table.registerSeries(0, kind: .counter64)
        #expect(table.add(seriesID: 0, timestamp: .min, value: 10, watermark: .min) == .accepted)
        #expect(table.add(seriesID: 0, timestamp: .min, value: 30, watermark: .min) == .accepted)
        #expect(table.add(seriesID: 0, timestamp: .min + 1, value: 20, watermark: .min) == .accepted)
        let windows = table.flush()
        #expect(windows.count == 2)
        // The second reading at .min is not newer than the first: counted, and the first stays the previous
        // reading, so the increase into .min + 1 is 10 in 1 ns.
        #expect(table.statistics.outOfOrderCounterSamples == 1)
        #expect(windows.last?.rate == 10e9)
    }

    @Test("an increase whose rate overflows never becomes the recent rate a wrap is judged against")
    func infiniteRateIsNotRecent() throws {
        var table = try makeTable(windowSeconds: 60, series: [(0, .counter64)])
        let start: Int64 = 1_790_000_040 * second
        let modulus = 18_446_744_073_709_551_616.0
        _ = table.add(seriesID: 0, timestamp: start, value: 100, watermark: .min)
        _ = table.add(seriesID: 0, timestamp: start + second, value: 110, watermark: .min)  // 10/s: the recent rate
        _ = table.add(seriesID: 0, timestamp: start + second + 1, value: 1e300, watermark: .min)  // 1e309/s: not kept
        _ = table.add(seriesID: 0, timestamp: start + 2 * second, value: modulus - 4096, watermark: .min)  // a reset
        // Down by a wrapped 4,596 in 1 s: more than 8 × 10/s + 1,000/s of slack allows, so a reset, not a wrap.
        _ = table.add(seriesID: 0, timestamp: start + 3 * second, value: 500, watermark: .min)
        #expect(table.statistics.resets == 2)
        #expect(table.statistics.wraps == 0)
    }

    @Test("one series costs 258 bytes: four whole cache lines, its flags byte and its slot tags")
    func memoryPerSeries() throws {
        let table = try makeTable()
        #expect(table.memoryBytesPerSeries == 258)
    }

    @Test("a window opened in the slot of the other parity keeps its samples after the parity slot frees")
    func windowInTheOtherParitySlot() throws {
        var table = try makeTable()
        // [0, 10) takes slot 0; [20, 30), also even, finds slot 0 taken and opens in slot 1.
        #expect(table.add(seriesID: 0, timestamp: 1 * second, value: 1, watermark: .min) == .accepted)
        #expect(table.add(seriesID: 0, timestamp: 21 * second, value: 5, watermark: .min) == .accepted)
        #expect(table.close(watermark: 10 * second).map(\.windowStartNanoseconds) == [0])
        // Slot 0 is free now: the next samples of [20, 30) must still find their window in slot 1.
        #expect(table.add(seriesID: 0, timestamp: 22 * second, value: 7, watermark: .min) == .accepted)
        #expect(table.add(seriesID: 0, timestamp: 23 * second, value: 3, watermark: .min) == .accepted)
        let windows = table.flush()
        #expect(windows.map(\.windowStartNanoseconds) == [20 * second])
        #expect(windows.first?.count == 3)
        #expect(windows.first?.sum == 15)
        #expect(windows.first?.first == 5)
        #expect(windows.first?.last == 3)
        #expect(table.statistics.forcedCloses == 0)
    }

    @Test("two open windows eight apart (same slot tag) each keep their own samples")
    func windowsEightApart() throws {
        var table = try makeTable()
        // [0, 10) in slot 0 and [80, 90) in slot 1: window indices 0 and 8 share a tag nibble.
        for (seconds, value) in [(1, 1.0), (81, 10.0), (2, 2.0), (82, 20.0), (83, 30.0), (3, 3.0)] as [(Int64, Double)]
        {
            #expect(table.add(seriesID: 0, timestamp: seconds * second, value: value, watermark: .min) == .accepted)
        }
        let windows = table.flush()
        #expect(windows.map(\.windowStartNanoseconds) == [0, 80 * second])
        #expect(windows.map(\.count) == [3, 3])
        #expect(windows.map(\.sum) == [6, 60])
        #expect(table.statistics.forcedCloses == 0)
    }

    @Test("counter -> gauge -> counter with a window open keeps the increases credited while a counter")
    func counterGaugeCounterKeepsCreditedIncreases() throws {
        var table = try makeTable(windowSeconds: 60, series: [(0, .counter64)])
        #expect(table.add(seriesID: 0, timestamp: 0, value: 0, watermark: .min) == .accepted)
        #expect(table.add(seriesID: 0, timestamp: 10 * second, value: 1_000, watermark: .min) == .accepted)
        table.registerSeries(0, kind: .gauge)
        table.registerSeries(0, kind: .counter64)
        _ = table.add(seriesID: 0, timestamp: 20 * second, value: 50, watermark: .min)  // the counter restarts
        _ = table.add(seriesID: 0, timestamp: 30 * second, value: 70, watermark: .min)  // +20 in 10 s
        let windows = table.flush()
        #expect(windows.map(\.windowStartNanoseconds) == [0])
        #expect(windows.first?.rate == 51)  // 1,020 over 20 s
    }

    @Test("a window opened as a gauge keeps what it was credited as a counter through a later gauge spell")
    func gaugeOpenedWindowKeepsCounterCredits() throws {
        var table = try makeTable(windowSeconds: 60, series: [(0, .gauge)])
        _ = table.add(seriesID: 0, timestamp: 0, value: 7, watermark: .min)  // [0, 60) opens as a gauge
        table.registerSeries(0, kind: .counter64)
        _ = table.add(seriesID: 0, timestamp: 10 * second, value: 0, watermark: .min)  // first counter reading
        _ = table.add(seriesID: 0, timestamp: 20 * second, value: 100, watermark: .min)  // +100 in 10 s
        table.registerSeries(0, kind: .gauge)
        table.registerSeries(0, kind: .counter64)
        _ = table.add(seriesID: 0, timestamp: 30 * second, value: 500, watermark: .min)  // the counter restarts
        _ = table.add(seriesID: 0, timestamp: 40 * second, value: 520, watermark: .min)  // +20 in 10 s
        let windows = table.flush()
        #expect(windows.map(\.windowStartNanoseconds) == [0])
        #expect(windows.first?.rate == 6)  // 120 over 20 s
    }

    @Test("a gauge that becomes a counter with a window open rates only its counter readings")
    func gaugeBecomesCounterWithOpenWindow() throws {
        var table = try makeTable(windowSeconds: 60, series: [(0, .counter64)])
        // As a counter, [0, 60) in slot 0 collects an increase of 1,000 over 10 s.
        _ = table.add(seriesID: 0, timestamp: 0, value: 0, watermark: .min)
        _ = table.add(seriesID: 0, timestamp: 10 * second, value: 1_000, watermark: .min)
        #expect(table.close(watermark: 60 * second).first?.rate == 100)
        // As a gauge, [120, 180) opens in slot 0; then the series is a counter again.
        table.registerSeries(0, kind: .gauge)
        _ = table.add(seriesID: 0, timestamp: 121 * second, value: 5, watermark: .min)
        table.registerSeries(0, kind: .counter64)
        _ = table.add(seriesID: 0, timestamp: 130 * second, value: 50, watermark: .min)  // the counter restarts
        _ = table.add(seriesID: 0, timestamp: 140 * second, value: 70, watermark: .min)  // +20 in 10 s
        let windows = table.flush()
        #expect(windows.map(\.windowStartNanoseconds) == [120 * second])
        #expect(windows.first?.rate == 2)
    }
}
