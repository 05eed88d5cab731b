import Benchmark
import VigilAnalytics
import VigilCore

/// Window update: `ShardWindowTable.add` for 100k series (half gauges, half counters), one shard. One
/// iteration is one minute of the fleet: ten rounds of every series, 6 s apart, so one million samples that
/// open one window per series and then update it nine times. The windows are closed after the measurement.
///
/// Sequential order walks the table in id order; shuffled order lists each round's series in its own random
/// order, which is what a shard sees from many pollers, and costs a cache miss per sample (the table is
/// 100k × its per-series stride, far more than the cache).
///
/// The batch variants call the engine's path, `add(timestamps:seriesIDs:values:count:watermark:)` over
/// 8192-sample batches (it prefetches each series' state ahead); the absolute timestamps and values are
/// prepared before the measurement. Batch in id order against batch shuffled separates the update's own
/// cost from the cost of reaching random per-series state.
func windowBenchmarks() {
    for (shuffled, batch) in [(false, false), (true, false), (false, true), (true, true)] {
        let fixture = FixtureBox<WindowUpdateFixture>()
        Benchmark(
            "window/add\(batch ? " batch" : ""), 100k series, \(shuffled ? "shuffled" : "sequential") order",
            configuration: .init(
                metrics: stageMetrics,
                scalingFactor: .mega,
                setup: { fixture.value = try WindowUpdateFixture(shuffled: shuffled) },
                teardown: { fixture.value = nil }
            )
        ) { benchmark in
            let window = fixture.value!
            let accepted: Int
            if batch {
                window.prepareBatch()
                benchmark.startMeasurement()
                accepted = window.addOneWindowInBatches()
                benchmark.stopMeasurement()
            } else {
                benchmark.startMeasurement()
                accepted = window.addOneWindow()
                benchmark.stopMeasurement()
            }
            precondition(accepted == WindowUpdateFixture.sampleCount, "\(accepted) samples accepted, expected all")
            window.closeWindow()
        }
    }
}

final class WindowUpdateFixture {
    static let seriesCount = 100_000
    static let roundsPerWindow = 10
    static let sampleCount = seriesCount * roundsPerWindow
    /// Added to every value at each iteration, so that counters keep rising from one minute to the next: more
    /// than the fastest counter (1e9 B/s) gains in a minute. Gauges drift by it too, which changes nothing in
    /// how a window aggregates them.
    static let valueStepPerWindow = 1e11

    var table: ShardWindowTable
    /// One minute of samples, time relative to the minute's start (round-major, as the fleet reports them).
    let offsetsNanoseconds: UnsafeMutableBufferPointer<Int64>
    let seriesIDs: UnsafeMutableBufferPointer<SeriesID>
    let values: UnsafeMutableBufferPointer<Double>
    /// Absolute timestamps and shifted values of the next minute, for the batch variant.
    let batchTimestamps: UnsafeMutableBufferPointer<Int64>
    let batchValues: UnsafeMutableBufferPointer<Double>
    static let batchSize = 8_192
    var windowIndex = 0
    var windowsClosed = 0

    init(shuffled: Bool) throws {
        let fleet = SyntheticFleet(seriesCount: Self.seriesCount)
        let samples = fleet.samples(
            roundCount: Self.roundsPerWindow,
            roundNanoseconds: SyntheticFleet.windowNanoseconds / Int64(Self.roundsPerWindow),
            startNanoseconds: 0,
            shuffled: shuffled
        )
        offsetsNanoseconds = .allocate(capacity: Self.sampleCount)
        _ = offsetsNanoseconds.initialize(from: samples.timestamps)
        seriesIDs = .allocate(capacity: Self.sampleCount)
        _ = seriesIDs.initialize(from: samples.seriesIDs)
        values = .allocate(capacity: Self.sampleCount)
        _ = values.initialize(from: samples.values)
        batchTimestamps = .allocate(capacity: Self.sampleCount)
        batchTimestamps.initialize(repeating: 0)
        batchValues = .allocate(capacity: Self.sampleCount)
        batchValues.initialize(repeating: 0)
        table = try fleet.windowTable()
    }

    deinit {
        offsetsNanoseconds.deallocate()
        seriesIDs.deallocate()
        values.deallocate()
        batchTimestamps.deallocate()
        batchValues.deallocate()
    }

    private var windowStartNanoseconds: Int64 {
        SyntheticFleet.epochNanoseconds &+ Int64(windowIndex) &* SyntheticFleet.windowNanoseconds
    }

    /// Fills the next minute's absolute timestamps and values (not measured).
    func prepareBatch() {
        let start = windowStartNanoseconds
        let valueOffset = Double(windowIndex) * Self.valueStepPerWindow
        for index in 0..<Self.sampleCount {
            batchTimestamps[index] = start &+ offsetsNanoseconds[index]
            batchValues[index] = values[index] + valueOffset
        }
    }

    /// Adds the prepared minute through the batch API, 8192 samples at a time; returns how many were accepted.
    func addOneWindowInBatches() -> Int {
        let before = table.statistics.accepted
        var offset = 0
        while offset < Self.sampleCount {
            let count = min(Self.batchSize, Self.sampleCount - offset)
            let handled = table.add(
                timestamps: batchTimestamps.baseAddress! + offset,
                seriesIDs: seriesIDs.baseAddress! + offset,
                values: batchValues.baseAddress! + offset,
                count: count,
                watermark: windowStartNanoseconds
            )
            precondition(handled == count, "every series is registered: the batch must not stop")
            offset += count
        }
        return Int(table.statistics.accepted - before)
    }

    /// Adds the next minute's million samples; returns how many were accepted (all of them).
    func addOneWindow() -> Int {
        let windowStartNanoseconds =
            SyntheticFleet.epochNanoseconds &+ Int64(windowIndex) &* SyntheticFleet.windowNanoseconds
        let valueOffset = Double(windowIndex) * Self.valueStepPerWindow
        // The engine's watermark while this minute arrives: the previous minute is closed, this one open.
        let watermarkNanoseconds = windowStartNanoseconds
        var accepted = 0
        for index in 0..<Self.sampleCount {
            let result = table.add(
                seriesID: seriesIDs[index],
                timestamp: windowStartNanoseconds &+ offsetsNanoseconds[index],
                value: values[index] + valueOffset,
                watermark: watermarkNanoseconds
            )
            if result == .accepted { accepted &+= 1 }
        }
        return accepted
    }

    /// Closes the minute just added (not measured: closing is the shard's per-watermark work, not per sample).
    func closeWindow() {
        windowIndex += 1
        let watermarkNanoseconds =
            SyntheticFleet.epochNanoseconds &+ Int64(windowIndex) &* SyntheticFleet.windowNanoseconds
        var closed = 0
        table.closeWindows(watermark: watermarkNanoseconds) { _ in closed += 1 }
        precondition(closed == Self.seriesCount, "closed \(closed) windows, expected one per series")
        windowsClosed += closed
    }
}
