import Testing
import VigilAnalytics
import VigilCore

/// One simulated device of the SampleData fleet: 8 interfaces × 8 series, plus CPU and temperature.
struct NormalDevice {
    static let interfaceCount = 8
    static let seriesCount = interfaceCount * 8 + 2
    static let cpuIndex = interfaceCount * 8
    static let temperatureIndex = interfaceCount * 8 + 1

    var random: SplitMix64
    var octetsPerSecond: [Double] = []
    var rxPowerDBm: [Double] = []
    var txPowerDBm: [Double] = []
    let temperatureCelsius: Double
    let temperatureSwingCelsius: Double
    let cpuBasePercent: Double

    init(seed: UInt64) {
        random = SplitMix64(seed: seed)
        for _ in 0..<Self.interfaceCount {
            // 0.2-4 Gb/s daily mean; the shape averages about 2.2.
            octetsPerSecond.append((0.2e9 + random.nextUnit() * 3.8e9) / 8 / 2.2)
            rxPowerDBm.append(-1 - 5 * random.nextUnit())
            txPowerDBm.append(1 - 3 * random.nextUnit())
        }
        temperatureCelsius = 40 + 15 * random.nextUnit()
        temperatureSwingCelsius = 1 + 2 * random.nextUnit()
        cpuBasePercent = 10 + 10 * random.nextUnit()
    }

    static func kind(of series: Int) -> MetricKind {
        if series >= cpuIndex { return .gauge }
        switch series % 8 {
        case 2, 3: return .counter32
        case 6, 7: return .gauge
        default: return .counter64
        }
    }

    /// The scored value (rate or mean) of every series for one window.
    mutating func values(window: Int, into values: inout [Double]) {
        let shape = FleetSignal.trafficShape(window: window)
        for interface in 0..<Self.interfaceCount {
            let base = interface * 8
            let octets = octetsPerSecond[interface] * shape
            values[base] = FleetSignal.counterRate(meanPerSecond: octets, noise: 0.05, windowNoise: 0.05, &random)
            values[base + 1] = FleetSignal.counterRate(
                meanPerSecond: octets * 0.8,
                noise: 0.05,
                windowNoise: 0.05,
                &random
            )
            values[base + 2] = FleetSignal.counterRate(
                meanPerSecond: octets / 800,
                noise: 0.05,
                windowNoise: 0.05,
                &random
            )
            values[base + 3] = FleetSignal.counterRate(
                meanPerSecond: octets * 0.8 / 820,
                noise: 0.05,
                windowNoise: 0.05,
                &random
            )
            // Rare single CRC errors: about one window in 300 holds one.
            values[base + 4] = random.nextUnit() < 1.0 / 300 ? 1.0 / 60 : 0
            // Discards: small, traffic-correlated counts.
            values[base + 5] = Double(FleetSignal.poisson(octets / 800 * 60 * 2e-6, &random)) / 60
            values[base + 6] = FleetSignal.gaugeMean(
                level: rxPowerDBm[interface],
                noise: 0.05,
                quantum: 0.01,
                &random
            )
            values[base + 7] = FleetSignal.gaugeMean(
                level: txPowerDBm[interface],
                noise: 0.05,
                quantum: 0.01,
                &random
            )
        }
        values[Self.cpuIndex] = FleetSignal.gaugeMean(
            level: cpuBasePercent + 6 * shape,
            noise: 1,
            quantum: 0.1,
            &random
        )
        let hour = Double(window % FleetSignal.windowsPerDay) / 60
        let swing = temperatureSwingCelsius * cosine(2 * Double.pi * (hour - 16) / 24)
        values[Self.temperatureIndex] = FleetSignal.gaugeMean(
            level: temperatureCelsius + swing + 0.5 * shape,
            noise: 0.1,
            quantum: 0.1,
            &random
        )
    }
}

/// A detector and an anomaly tracker for `capacity` series, as a shard worker wires them.
struct AnomalyPipeline {
    var detectors: SeasonalAnomalyDetectorTable
    var trackers: IncidentTrackerTable

    init(kinds: [MetricKind]) {
        detectors = SeasonalAnomalyDetectorTable(capacity: kinds.count, detector: try! SeasonalAnomalyDetector())
        trackers = IncidentTrackerTable(capacity: kinds.count, tracker: try! IncidentTracker(configuration: .anomaly))
        for (index, kind) in kinds.enumerated() { detectors.register(localIndex: index, kind: kind) }
    }

    mutating func observe(series: Int, value: Double, window: Int) -> (AnomalyScore, IncidentTransition) {
        let start = FleetSignal.windowStart(window)
        let score = detectors.observe(value: value, windowStartNanoseconds: start, localIndex: series)
        let transition = trackers.observe(score: score.alertScore, windowStartNanoseconds: start, localIndex: series)
        return (score, transition)
    }
}

/// Runs one series for `windows` windows; `value` returns nil for windows that never arrive.
func runSeries(
    kind: MetricKind,
    windows: Int,
    seed: UInt64,
    value: (Int, inout SplitMix64) -> Double?
) -> [(window: Int, score: AnomalyScore, transition: IncidentTransition)] {
    var pipeline = AnomalyPipeline(kinds: [kind])
    var random = SplitMix64(seed: seed)
    var results: [(window: Int, score: AnomalyScore, transition: IncidentTransition)] = []
    for window in 0..<windows {
        guard let sample = value(window, &random) else { continue }
        let (score, transition) = pipeline.observe(series: 0, value: sample, window: window)
        results.append((window, score, transition))
    }
    return results
}

func firedWindows(_ results: [(window: Int, score: AnomalyScore, transition: IncidentTransition)]) -> [Int] {
    results.compactMap { if case .fired = $0.transition { return $0.window } else { return nil } }
}

func resolvedCount(_ results: [(window: Int, score: AnomalyScore, transition: IncidentTransition)]) -> Int {
    results.filter { if case .resolved = $0.transition { return true } else { return false } }.count
}

@Suite("Seasonal anomaly detector")
struct DetectorTests {
    static let day = FleetSignal.windowsPerDay

    @Test("a copied table is a value: scoring on the copy leaves the original's history untouched")
    func copyOnWrite() throws {
        var original = SeasonalAnomalyDetectorTable(capacity: 2, detector: try SeasonalAnomalyDetector())
        original.register(localIndex: 1, kind: .gauge)
        let minute: Int64 = 60_000_000_000
        for window in 0..<5 {
            _ = original.observe(value: 10, windowStartNanoseconds: Int64(window) * minute, localIndex: 1)
        }
        var copy = original
        for window in 5..<40 {
            _ = copy.observe(value: 50, windowStartNanoseconds: Int64(window) * minute, localIndex: 1)
        }
        #expect(original.windowsSeen(localIndex: 1) == 5)
        #expect(copy.windowsSeen(localIndex: 1) == 40)
        // The original scores its next window as if the copy's 35 windows at 50 never happened.
        var twin = SeasonalAnomalyDetectorTable(capacity: 2, detector: try SeasonalAnomalyDetector())
        twin.register(localIndex: 1, kind: .gauge)
        for window in 0..<5 {
            _ = twin.observe(value: 10, windowStartNanoseconds: Int64(window) * minute, localIndex: 1)
        }
        let next = original.observe(value: 12, windowStartNanoseconds: 5 * minute, localIndex: 1)
        let expected = twin.observe(value: 12, windowStartNanoseconds: 5 * minute, localIndex: 1)
        #expect(next == expected)
    }

    @Test(
        "a week of normal fleet telemetry (2 devices × 66 series, daily shape, weekend ramp, noise, a reboot gap) never alerts"
    )
    func normalWeekIsQuiet() {
        var firings: [String] = []
        var largestScore = 0.0
        var hits = 0
        var scoredWindows = 0
        for seed in [UInt64(11), 12] {
            var device = NormalDevice(seed: seed)
            let kinds = (0..<NormalDevice.seriesCount).map(NormalDevice.kind(of:))
            var pipeline = AnomalyPipeline(kinds: kinds)
            var values = Array(repeating: 0.0, count: NormalDevice.seriesCount)
            // Monday to the next Tuesday, with a 5 minute reboot (no windows) on Thursday 03:00.
            let rebootStart = 3 * Self.day + 180
            for window in 0..<(8 * Self.day) {
                device.values(window: window, into: &values)
                if window >= rebootStart && window < rebootStart + 5 { continue }
                for series in 0..<NormalDevice.seriesCount {
                    let (score, transition) = pipeline.observe(series: series, value: values[series], window: window)
                    largestScore = max(largestScore, score.alertScore)
                    scoredWindows += 1
                    if score.alertScore >= 6 { hits += 1 }
                    if case .fired = transition { firings.append("device \(seed) series \(series) window \(window)") }
                }
            }
        }
        #expect(firings.isEmpty, "false alerts: \(firings)")
        // Single windows at or above the fire score are rare (Gaussian tails over 1.5M windows), and none
        // come in runs that fire.
        #expect(
            Double(hits) <= 1e-5 * Double(scoredWindows),
            "\(hits) hits in \(scoredWindows), largest \(largestScore)"
        )
        #expect(largestScore < 8, "largest score \(largestScore)")
    }

    @Test("a 4x traffic surge for 30 minutes fires within 3 windows, once, and resolves once")
    func surgeIsCaught() {
        let surgeStart = 2 * Self.day + 14 * 60
        let base = 1.5e9 / 8
        let results = runSeries(kind: .counter64, windows: 3 * Self.day, seed: 3) { window, random in
            let surge = window >= surgeStart && window < surgeStart + 30 ? 4.0 : 1.0
            return FleetSignal.counterRate(
                meanPerSecond: base * FleetSignal.trafficShape(window: window) * surge,
                noise: 0.05,
                windowNoise: 0.05,
                &random
            )
        }
        let fired = firedWindows(results)
        #expect(fired.count == 1)
        #expect(fired.first.map { $0 >= surgeStart && $0 <= surgeStart + 2 } == true, "fired at \(fired)")
        #expect(resolvedCount(results) == 1)
        if let firing = results.first(where: { $0.window == surgeStart + 2 }) {
            #expect(firing.score.score > 20)
            #expect(firing.score.expectedHigh < base * FleetSignal.trafficShape(window: surgeStart + 2) * 1.5)
        }
    }

    @Test("a 3x surge at the night trough for 20 minutes is caught")
    func nightSurgeIsCaught() {
        let surgeStart = 2 * Self.day + 4 * 60
        let results = runSeries(kind: .counter32, windows: 3 * Self.day, seed: 5) { window, random in
            let surge = window >= surgeStart && window < surgeStart + 20 ? 3.0 : 1.0
            return FleetSignal.counterRate(
                meanPerSecond: 50_000 * FleetSignal.trafficShape(window: window) * surge,
                noise: 0.05,
                windowNoise: 0.05,
                &random
            )
        }
        let fired = firedWindows(results)
        #expect(fired.count == 1 && fired[0] >= surgeStart && fired[0] <= surgeStart + 4, "fired at \(fired)")
    }

    @Test("a CRC burst of 20 errors/s fires, single errors score about 1 and do not")
    func crcBurstIsCaught() {
        let burstStart = 2 * Self.day + 600
        let results = runSeries(kind: .counter64, windows: 3 * Self.day, seed: 7) { window, random in
            if window >= burstStart && window < burstStart + 15 { return 20 + random.nextGaussian() }
            // A single error in every 100th window.
            return window % 100 == 0 ? 1.0 / 60 : 0
        }
        let fired = firedWindows(results)
        #expect(fired.count == 1 && fired[0] >= burstStart && fired[0] <= burstStart + 2, "fired at \(fired)")
        let singleErrorScores = results.filter {
            $0.window >= Self.day && $0.window % 100 == 0 && $0.window < burstStart
        }
        #expect(!singleErrorScores.isEmpty)
        #expect(singleErrorScores.allSatisfy { $0.score.score > 0.5 && $0.score.score < 2 })
    }

    @Test("a link flap (rx power -40 dBm in 4 down periods over 16 minutes) fires once and resolves once")
    func linkFlapIsCaught() {
        let flapStart = 2 * Self.day + 700
        let results = runSeries(kind: .gauge, windows: 3 * Self.day, seed: 9) { window, random in
            let offset = window - flapStart
            // Down 2 windows, up 2 windows, 4 times.
            if offset >= 0 && offset < 16 && offset % 4 < 2 { return -40 }
            return FleetSignal.gaugeMean(level: -3.4, noise: 0.05, quantum: 0.01, &random)
        }
        let fired = firedWindows(results)
        #expect(fired.count == 1 && fired[0] >= flapStart && fired[0] <= flapStart + 5, "fired at \(fired)")
        #expect(resolvedCount(results) == 1)
        if let down = results.first(where: { $0.window == flapStart }) {
            #expect(down.score.score < -100)
            #expect(down.score.expectedLow > -4 && down.score.expectedHigh < -2.8)
        }
    }

    @Test("scores stay 0 for alerting until a day has been seen")
    func warmUpSuppressesAlerts() {
        let results = runSeries(kind: .counter64, windows: Self.day + 120, seed: 13) { window, random in
            // Wild values on day one: nothing must fire before warm-up.
            window % 7 == 0 ? 1e9 : 1e6 * (1 + 0.05 * random.nextGaussian())
        }
        let early = results.filter { $0.window < Self.day }
        #expect(early.allSatisfy { !$0.score.isWarmedUp && $0.score.alertScore == 0 })
        #expect(firedWindows(results).allSatisfy { $0 >= Self.day })
        #expect(results.last?.score.isWarmedUp == true)
    }

    @Test("the same input gives bit-identical scores")
    func deterministic() {
        func run() -> [UInt64] {
            runSeries(kind: .counter64, windows: 2 * Self.day, seed: 21) { window, random in
                FleetSignal.counterRate(
                    meanPerSecond: 1e8 * FleetSignal.trafficShape(window: window),
                    noise: 0.05,
                    windowNoise: 0.05,
                    &random
                )
            }.map { $0.score.score.bitPattern ^ $0.score.expected.bitPattern }
        }
        #expect(run() == run())
    }

    @Test("NaN, infinite and absurd values are not scored and change nothing")
    func hostileValuesAreIgnored() {
        let clean = runSeries(kind: .gauge, windows: 2 * Self.day, seed: 31) { _, random in
            -3 + 0.02 * random.nextGaussian()
        }
        var pipeline = AnomalyPipeline(kinds: [.gauge])
        var random = SplitMix64(seed: 31)
        var dirty: [AnomalyScore] = []
        for window in 0..<(2 * Self.day) {
            for hostile in [Double.nan, .infinity, -.infinity, 1e300] {
                let (score, _) = pipeline.observe(series: 0, value: hostile, window: window)
                #expect(score == .unscored || (score.score.isNaN == false && !score.isScored))
            }
            let (score, _) = pipeline.observe(series: 0, value: -3 + 0.02 * random.nextGaussian(), window: window)
            dirty.append(score)
        }
        #expect(dirty.map(\.score) == clean.map(\.score.score))
    }

    @Test("window values: rate for counters, mean for gauges")
    func scoredValue() {
        let window = WindowAggregate(
            seriesID: 1,
            windowStartNanoseconds: 0,
            count: 4,
            sum: 10,
            minimum: 1,
            maximum: 4,
            first: 1,
            last: 4,
            sumOfSquaredDeviations: 5,
            rate: 0.5
        )
        #expect(SeasonalAnomalyDetector.scoredValue(of: window, kind: .counter64) == 0.5)
        #expect(SeasonalAnomalyDetector.scoredValue(of: window, kind: .gauge) == 2.5)
    }

    @Test("per-series state is at most 400 B and invalid configurations are refused with the field named")
    func memoryAndValidation() {
        #expect(SeasonalAnomalyDetectorTable.memoryBytesPerSeries(bucketCount: 24) <= 400)
        var configuration = SeasonalAnomalyDetector.Configuration()
        configuration.bucketCount = 1
        #expect(throws: ModelConfigurationError.self) { try SeasonalAnomalyDetector(configuration: configuration) }
        configuration = SeasonalAnomalyDetector.Configuration()
        configuration.windowNanoseconds = 7_000_000_000
        do {
            _ = try SeasonalAnomalyDetector(configuration: configuration)
            Issue.record("a window that does not divide a day was accepted")
        } catch let error as ModelConfigurationError {
            #expect(error.field == "windowNanoseconds")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
