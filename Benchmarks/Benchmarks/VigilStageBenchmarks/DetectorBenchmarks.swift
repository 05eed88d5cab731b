import Benchmark
import VigilAnalytics
import VigilCore

/// Detector step: `SeasonalAnomalyDetectorTable.observe` of one closed window for each of 100k series (half
/// gauges scored on their mean, half counters on their rate), default configuration (24 seasonal buckets).
/// One iteration is ten consecutive minutes of the fleet, one million scored windows; the starred figures are
/// per window. The tables warm up as iterations pass (1500 windows per series), as they would in the engine.
func detectorBenchmarks() {
    let fixture = FixtureBox<DetectorFixture>()
    Benchmark(
        "detector/seasonal observe, 100k series (per window)",
        configuration: .init(
            metrics: stageMetrics,
            scalingFactor: .mega,
            setup: { fixture.value = try DetectorFixture() },
            teardown: { fixture.value = nil }
        )
    ) { benchmark in
        fixture.value!.observeTenMinutes()
    }
}

final class DetectorFixture {
    static let seriesCount = 100_000
    static let minutesPerIteration = 10

    var table: SeasonalAnomalyDetectorTable
    /// One closed window per series; each minute scales its sum and rate by that minute's noise factor.
    let windows: UnsafeMutableBufferPointer<WindowAggregate>
    /// Per-minute multiplicative noise, ±5%.
    let noiseFactors: [Double]
    var minuteIndex = 0
    var anomalous = 0

    init() throws {
        let detector = try SeasonalAnomalyDetector()
        table = SeasonalAnomalyDetectorTable(capacity: Self.seriesCount, detector: detector)
        let fleet = SyntheticFleet(seriesCount: Self.seriesCount)
        windows = .allocate(capacity: Self.seriesCount)
        for localIndex in 0..<Self.seriesCount {
            let id = SeriesID(localIndex)
            let kind = SyntheticFleet.kind(of: id)
            table.register(localIndex: localIndex, kind: kind)
            let level = fleet.levels[localIndex]
            // Six samples a minute: a gauge's mean is its level; a counter's rate is its bytes per second.
            windows.initializeElement(
                at: localIndex,
                to: WindowAggregate(
                    seriesID: id,
                    windowStartNanoseconds: SyntheticFleet.epochNanoseconds,
                    count: 6,
                    sum: kind == .gauge ? 6 * level : 0,
                    minimum: kind == .gauge ? level - 0.1 : 0,
                    maximum: kind == .gauge ? level + 0.1 : 0,
                    first: kind == .gauge ? level : 0,
                    last: kind == .gauge ? level : 0,
                    sumOfSquaredDeviations: kind == .gauge ? 0.015 : 0,
                    rate: kind == .gauge ? .nan : level
                )
            )
        }
        var generator = SplitMix64(seed: SyntheticFleet.seed)
        noiseFactors = (0..<Self.minutesPerIteration).map { _ in 0.95 + 0.1 * generator.nextUnit() }
    }

    deinit { windows.deallocate() }

    /// Scores the next ten minutes of every series.
    func observeTenMinutes() {
        var anomalousWindows = 0
        for minute in 0..<Self.minutesPerIteration {
            let startNanoseconds =
                SyntheticFleet.epochNanoseconds &+ Int64(minuteIndex) &* SyntheticFleet.windowNanoseconds
            let factor = noiseFactors[minute]
            for localIndex in 0..<Self.seriesCount {
                var window = windows[localIndex]
                window.windowStartNanoseconds = startNanoseconds
                window.sum *= factor
                window.rate *= factor
                let score = table.observe(window, localIndex: localIndex)
                if score.alertScore > 6 { anomalousWindows &+= 1 }
            }
            minuteIndex += 1
        }
        anomalous &+= anomalousWindows
    }
}
