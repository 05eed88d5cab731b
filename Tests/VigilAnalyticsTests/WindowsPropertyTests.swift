import Testing
import VigilAnalytics
import VigilCore

/// The obvious implementation: a dictionary of windows holding every sample, aggregates computed at close
/// (two-pass variance). Counter increases follow the same rule as the table, through `CounterIncrease`.
struct ReferenceWindows {
    struct Sample {
        var timestamp: Int64
        var value: Double
    }

    struct Window {
        var samples: [Sample] = []
        var increase = 0.0
        var intervalNanoseconds = 0.0
    }

    let windowNanoseconds: Int64
    let kinds: [SeriesID: MetricKind]
    var watermark = Int64.min
    var windows: [SeriesID: [Int64: Window]] = [:]
    var previousCounter: [SeriesID: Sample] = [:]
    var recentRate: [SeriesID: Double] = [:]
    var accepted: UInt64 = 0
    var late: UInt64 = 0
    var wraps: UInt64 = 0
    var resets: UInt64 = 0
    var outOfOrder: UInt64 = 0

    func windowStart(_ timestamp: Int64) -> Int64 {
        var quotient = timestamp / windowNanoseconds
        if timestamp % windowNanoseconds != 0 && timestamp < 0 { quotient -= 1 }
        return quotient * windowNanoseconds
    }

    mutating func add(seriesID: SeriesID, timestamp: Int64, value: Double, watermark: Int64) -> WindowAddResult {
        self.watermark = max(self.watermark, watermark)
        let start = windowStart(timestamp)
        if start + windowNanoseconds <= self.watermark {
            late += 1
            return .late
        }
        accepted += 1
        var window = windows[seriesID, default: [:]][start, default: Window()]
        window.samples.append(Sample(timestamp: timestamp, value: value))
        let kind = kinds[seriesID]!
        if kind.isCounter {
            if let previous = previousCounter[seriesID] {
                if timestamp > previous.timestamp {
                    let intervalNanoseconds = Double(timestamp - previous.timestamp)
                    let intervalSeconds = intervalNanoseconds * 1e-9
                    let (increase, event) = CounterIncrease.classify(
                        previous: previous.value,
                        current: value,
                        kind: kind,
                        intervalSeconds: intervalSeconds,
                        recentRatePerSecond: recentRate[seriesID]
                    )
                    if event == .wrap { wraps += 1 }
                    if event == .reset { resets += 1 } else { recentRate[seriesID] = increase / intervalSeconds }
                    window.increase += increase
                    window.intervalNanoseconds += intervalNanoseconds
                    previousCounter[seriesID] = Sample(timestamp: timestamp, value: value)
                } else {
                    outOfOrder += 1
                }
            } else {
                previousCounter[seriesID] = Sample(timestamp: timestamp, value: value)
            }
        }
        windows[seriesID, default: [:]][start] = window
        return .accepted
    }

    func aggregate(seriesID: SeriesID, start: Int64, window: Window) -> WindowAggregate {
        let values = window.samples.map(\.value)
        let sum = values.reduce(0, +)
        let mean = sum / Double(values.count)
        // First: smallest time, earliest arrival on ties; last: largest time, latest arrival on ties.
        let first = window.samples.min { $0.timestamp < $1.timestamp }!.value
        let last = window.samples.reversed().max { $0.timestamp < $1.timestamp }!.value
        let isCounter = kinds[seriesID]!.isCounter
        return WindowAggregate(
            seriesID: seriesID,
            windowStartNanoseconds: start,
            count: UInt32(values.count),
            sum: sum,
            minimum: values.min()!,
            maximum: values.max()!,
            first: first,
            last: last,
            sumOfSquaredDeviations: values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) },
            rate: isCounter && window.intervalNanoseconds > 0
                ? window.increase / (window.intervalNanoseconds / 1e9) : .nan
        )
    }

    mutating func close(watermark: Int64, all: Bool = false) -> [WindowAggregate] {
        self.watermark = max(self.watermark, watermark)
        var closed: [WindowAggregate] = []
        for (seriesID, seriesWindows) in windows {
            for (start, window) in seriesWindows where all || start + windowNanoseconds <= self.watermark {
                closed.append(aggregate(seriesID: seriesID, start: start, window: window))
                windows[seriesID]![start] = nil
            }
        }
        return closed.sorted { ($0.seriesID, $0.windowStartNanoseconds) < ($1.seriesID, $1.windowStartNanoseconds) }
    }
}

func closeEnough(_ a: Double, _ b: Double, relative: Double = 1e-9) -> Bool {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
    return abs(a - b) <= relative * max(1, abs(a), abs(b))
}

/// Compares what the table emitted in one close with the reference, and that the table's own order keeps
/// each series' windows in start order.
func expectSameWindows(_ emitted: [WindowAggregate], _ expected: [WindowAggregate], seed: UInt64, step: Int) {
    var lastStartBySeries: [SeriesID: Int64] = [:]
    for window in emitted {
        if let previous = lastStartBySeries[window.seriesID] {
            #expect(previous < window.windowStartNanoseconds, "seed \(seed) step \(step): series order")
        }
        lastStartBySeries[window.seriesID] = window.windowStartNanoseconds
    }
    let sorted = emitted.sorted { ($0.seriesID, $0.windowStartNanoseconds) < ($1.seriesID, $1.windowStartNanoseconds) }
    #expect(sorted.count == expected.count, "seed \(seed) step \(step): window count")
    for (got, want) in zip(sorted, expected) {
        let same =
            got.seriesID == want.seriesID && got.windowStartNanoseconds == want.windowStartNanoseconds
            && got.count == want.count && got.sum == want.sum && got.minimum == want.minimum
            && got.maximum == want.maximum && got.first == want.first && got.last == want.last
            && closeEnough(got.sumOfSquaredDeviations, want.sumOfSquaredDeviations, relative: 1e-7)
            && closeEnough(got.rate, want.rate)
        #expect(same, "seed \(seed) step \(step): got \(got), want \(want)")
        if !same { return }
    }
}

/// A random stream of gauge and counter samples over a few series of shard 1 of 3.
struct RandomStream {
    var random: SplitMix64
    let windowNanoseconds: Int64
    let latenessNanoseconds: Int64
    let series: [(SeriesID, MetricKind)]
    var nowNanoseconds: Int64
    var counterValues: [Double]

    init(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let windowNanoseconds: Int64 = [1000, 7919, 10_000][Int(random.next() % 3)]
        var series: [(SeriesID, MetricKind)] = []
        var counterValues: [Double] = []
        for index in 0..<6 {
            let kind = MetricKind.allCases[Int(random.next() % 3)]
            series.append((SeriesID(index * 3 + 1), kind))
            counterValues.append(kind == .counter64 ? 0x1p64 - 0x1p40 : Double(random.next() % (1 << 32)))
        }
        self.latenessNanoseconds = Int64(random.next() % UInt64(windowNanoseconds + 1))
        self.nowNanoseconds = Int64(random.next() % 100) * windowNanoseconds - 50 * windowNanoseconds
        self.windowNanoseconds = windowNanoseconds
        self.series = series
        self.counterValues = counterValues
        self.random = random
    }

    /// The next sample: time moves forward by up to a twelfth of a window; the sample lags by up to the
    /// lateness plus half a window, so some are late and some out of order.
    mutating func next() -> (seriesID: SeriesID, timestamp: Int64, value: Double) {
        nowNanoseconds += Int64(random.next() % UInt64(windowNanoseconds / 12 + 1))
        let index = Int(random.next() % UInt64(series.count))
        let lagNanoseconds = Int64(random.next() % UInt64(latenessNanoseconds + windowNanoseconds / 2 + 1))
        let timestamp = random.next() % 2 == 0 ? nowNanoseconds : nowNanoseconds - lagNanoseconds
        let value: Double
        switch series[index].1 {
        case .gauge:
            value = Double(random.next() % 1000) / 8
        case .counter32:
            if random.next() % 100 == 0 {
                counterValues[index] = Double(random.next() % 1000)  // reboot
            } else {
                let increase = Double(random.next() % (1 << 28))
                counterValues[index] = (counterValues[index] + increase).truncatingRemainder(dividingBy: 0x1p32)
            }
            value = counterValues[index]
        case .counter64:
            let increase = Double(random.next() % (1 << 10)) * 0x1p30
            counterValues[index] = (counterValues[index] + increase).truncatingRemainder(dividingBy: 0x1p64)
            value = counterValues[index]
        }
        return (series[index].0, timestamp, value)
    }
}

@Suite("Shard window table against a reference")
struct WindowsPropertyTests {
    @Test("random streams with out-of-order and late samples match the dictionary reference", arguments: 0..<40)
    func matchesReference(seed: UInt64) throws {
        var stream = RandomStream(seed: 0x5EED_0000 + seed)
        let configuration = try WindowConfiguration(
            windowNanoseconds: stream.windowNanoseconds,
            latenessNanoseconds: stream.latenessNanoseconds
        )
        var table = ShardWindowTable(
            configuration: configuration,
            shardIndex: 1,
            shardCount: 3,
            initialSeriesCapacity: 2
        )
        for (id, kind) in stream.series { table.registerSeries(id, kind: kind) }
        var reference = ReferenceWindows(
            windowNanoseconds: stream.windowNanoseconds,
            kinds: Dictionary(stream.series, uniquingKeysWith: { first, _ in first })
        )
        var newestNanoseconds = Int64.min
        var nextCloseStep = 0
        for step in 0..<1500 {
            let sample = stream.next()
            // The engine's rule: watermark = newest event time seen - lateness.
            newestNanoseconds = max(newestNanoseconds, sample.timestamp)
            let watermark = newestNanoseconds - stream.latenessNanoseconds
            let got = table.add(
                seriesID: sample.seriesID,
                timestamp: sample.timestamp,
                value: sample.value,
                watermark: watermark
            )
            let want = reference.add(
                seriesID: sample.seriesID,
                timestamp: sample.timestamp,
                value: sample.value,
                watermark: watermark
            )
            #expect(got == want, "seed \(seed) step \(step)")
            if step == nextCloseStep {
                nextCloseStep += 1 + Int(stream.random.next() % 20)
                expectSameWindows(
                    table.close(watermark: watermark),
                    reference.close(watermark: watermark),
                    seed: seed,
                    step: step
                )
            }
        }
        expectSameWindows(table.flush(), reference.close(watermark: .min, all: true), seed: seed, step: -1)
        let statistics = table.statistics
        #expect(statistics.accepted == reference.accepted)
        #expect(statistics.late == reference.late)
        #expect(statistics.wraps == reference.wraps)
        #expect(statistics.resets == reference.resets)
        #expect(statistics.outOfOrderCounterSamples == reference.outOfOrder)
        #expect(statistics.rejected == 0)
        #expect(statistics.droppedWindows == 0)
        #expect(statistics.openWindows == 0)
    }

    @Test(
        "streams seen through a random (lagging, stale) watermark lose nothing and emit no window twice",
        arguments: 0..<20
    )
    func laggingWatermark(seed: UInt64) throws {
        var stream = RandomStream(seed: 0xBAD_0000 + seed)
        let configuration = try WindowConfiguration(
            windowNanoseconds: stream.windowNanoseconds,
            latenessNanoseconds: stream.latenessNanoseconds
        )
        var table = ShardWindowTable(
            configuration: configuration,
            shardIndex: 1,
            shardCount: 3,
            initialSeriesCapacity: 0
        )
        for (id, kind) in stream.series { table.registerSeries(id, kind: kind) }
        var emitted: [WindowAggregate] = []
        let total = 1500
        for _ in 0..<total {
            let sample = stream.next()
            let watermark: Int64
            switch stream.random.next() % 4 {
            case 0: watermark = .min
            case 1: watermark = stream.nowNanoseconds - 3 * stream.windowNanoseconds
            default: watermark = stream.nowNanoseconds - stream.latenessNanoseconds
            }
            _ = table.add(
                seriesID: sample.seriesID,
                timestamp: sample.timestamp,
                value: sample.value,
                watermark: watermark
            )
            if stream.random.next() % 10 == 0 {
                table.closeWindows(watermark: watermark) { emitted.append($0) }
            }
        }
        table.closeAll { emitted.append($0) }
        let statistics = table.statistics
        #expect(statistics.accepted + statistics.late + statistics.rejected == UInt64(total))
        #expect(statistics.droppedWindows == 0)
        #expect(statistics.openWindows == 0)
        #expect(statistics.windowsClosed == UInt64(emitted.count))
        #expect(emitted.reduce(0) { $0 + UInt64($1.count) } == statistics.accepted)
        var seen = Set<[Int64]>()
        for window in emitted {
            #expect(
                seen.insert([Int64(window.seriesID), window.windowStartNanoseconds]).inserted,
                "emitted twice: \(window)"
            )
            #expect(window.count > 0 && window.minimum <= window.mean && window.mean <= window.maximum)
        }
    }
}
