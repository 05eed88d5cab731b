import Testing
import VigilCore

@testable import VigilAnalytics

/// Feeds one gauge into a forecaster, window by window; returns every forecast with its window index.
func runForecaster(
    windows: Int,
    threshold: Double,
    direction: FailureDirection,
    seed: UInt64,
    configuration: DegradationForecaster.Configuration = DegradationForecaster.Configuration(),
    value: (Int, inout SplitMix64) -> Double?
) -> [(window: Int, forecast: DegradationForecast)] {
    var table = DegradationForecasterTable(
        capacity: 2,
        forecaster: try! DegradationForecaster(configuration: configuration)
    )
    // Series 0 is a decoy sharing the table, to prove series do not leak into each other.
    table.register(localIndex: 0, threshold: 0, direction: .rising)
    table.register(localIndex: 1, threshold: threshold, direction: direction)
    var random = SplitMix64(seed: seed)
    var results: [(window: Int, forecast: DegradationForecast)] = []
    for window in 0..<windows {
        guard let sample = value(window, &random) else { continue }
        let start = FleetSignal.windowStart(window)
        _ = table.observe(value: 100, windowStartNanoseconds: start, localIndex: 0)
        results.append((window, table.observe(value: sample, windowStartNanoseconds: start, localIndex: 1)))
    }
    return results
}

@Suite("Degradation forecaster")
struct ForecasterTests {
    static let day = FleetSignal.windowsPerDay
    static let hourNanoseconds: Int64 = 3_600_000_000_000

    /// rx power: steady at -3.2 dBm, then from `startDay` falling "slowly then faster" (exponential with
    /// `curvature`) to -20 dBm over `days`; after the crossing the link is down at -40 dBm.
    static func optic(startDay: Int, days: Double, curvature: Double) -> (Int, inout SplitMix64) -> Double? {
        let start = startDay * day
        let end = start + Int(days * Double(day))
        return { window, random in
            if window >= end { return -40 }
            var level = -3.2
            if window >= start {
                let progress = Double(window - start) / Double(end - start)
                level -= 16.8 * (exponential(curvature * progress) - 1) / (exponential(curvature) - 1)
            }
            return FleetSignal.gaugeMean(level: level, noise: 0.05, quantum: 0.01, &random)
        }
    }

    @Test(
        "an optic fading over 2, 3 or 4 days is forecast at least 24 h before it crosses -20 dBm, with a sensible ETA",
        arguments: [(2.0, 2.0), (3.0, 2.5), (4.0, 3.0), (3.0, 0.5)]
    )
    func opticDegradation(days: Double, curvature: Double) {
        let startDay = 2
        let end = startDay * Self.day + Int(days * Double(Self.day))
        let results = runForecaster(
            windows: end + 120,
            threshold: -20,
            direction: .falling,
            seed: 41,
            value: Self.optic(startDay: startDay, days: days, curvature: curvature)
        )
        let beforeDegradation = results.filter { $0.window < startDay * Self.day }
        #expect(beforeDegradation.allSatisfy { !$0.forecast.isForecasting })
        guard let first = results.first(where: { $0.forecast.isForecasting }) else {
            Issue.record("never forecast")
            return
        }
        let leadHours = Double(end - first.window) / 60
        #expect(leadHours >= 24, "forecast only \(leadHours) h before the crossing")
        // From 24 h before the crossing the forecast stands and its ETA is within a factor of 3 of the truth.
        for (window, forecast) in results where window >= end - Self.day && window < end - 60 {
            let remainingNanoseconds = Int64(end - window) * FleetSignal.windowNanoseconds
            #expect(forecast.isForecasting)
            #expect(forecast.slopePerSecond < 0)
            if let eta = forecast.etaNanoseconds {
                #expect(
                    eta >= remainingNanoseconds / 3 && eta <= remainingNanoseconds * 3,
                    "eta \(eta) vs \(remainingNanoseconds)"
                )
            } else {
                Issue.record("no ETA at window \(window)")
            }
        }
        // Past the threshold the link is down: crossed, not forecast.
        let after = results.filter { $0.window >= end }
        #expect(
            after.allSatisfy { $0.forecast.isCrossed && !$0.forecast.isForecasting && $0.forecast.exceedance == 20 }
        )
    }

    /// Temperature: `base` with a ±`swing` daily cycle (peak 16:00), then from `start` climbing to 85 degC over
    /// `hours` (faster toward the end), then shut down (no windows).
    static func runaway(base: Double, swing: Double, start: Int, hours: Double) -> (Int, inout SplitMix64) -> Double? {
        let end = start + Int(hours * 60)
        return { window, random in
            if window >= end { return nil }
            let hour = Double(window % day) / 60
            var level = base + swing * cosine(2 * Double.pi * (hour - 16) / 24)
            if window >= start {
                let progress = Double(window - start) / Double(end - start)
                level += (85 - level) * (0.6 * progress + 0.4 * progress * progress)
            }
            return FleetSignal.gaugeMean(level: level, noise: 0.1, quantum: 0.1, &random)
        }
    }

    @Test("a temperature climbing to 85 degC over 6, 9 or 12 h is forecast hours before", arguments: [6.0, 9.0, 12.0])
    func temperatureRunaway(hours: Double) {
        let start = 2 * Self.day + 8 * 60
        let end = start + Int(hours * 60)
        let results = runForecaster(
            windows: end,
            threshold: 85,
            direction: .rising,
            seed: 43,
            value: Self.runaway(base: 50, swing: 3, start: start, hours: hours)
        )
        #expect(results.filter { $0.window < start }.allSatisfy { !$0.forecast.isForecasting })
        guard let first = results.first(where: { $0.forecast.isForecasting }) else {
            Issue.record("never forecast")
            return
        }
        let leadHours = Double(end - first.window) / 60
        #expect(leadHours >= 2.5, "forecast only \(leadHours) h before shutdown")
        #expect(first.forecast.slopePerSecond > 0 && first.forecast.etaNanoseconds != nil)
        #expect(first.forecast.alertScore >= 1)
    }

    @Test("flat noisy rx power and temperature with a ±3 or ±4 degC daily swing never forecast over a week")
    func ordinarySignalsNeverForecast() {
        let flat = runForecaster(windows: 7 * Self.day, threshold: -20, direction: .falling, seed: 45) { _, random in
            FleetSignal.gaugeMean(level: -5.9, noise: 0.05, quantum: 0.01, &random)
        }
        #expect(flat.allSatisfy { !$0.forecast.isForecasting && !$0.forecast.isCrossed })
        for (base, swing) in [(55.0, 3.0), (40.0, 3.0), (55.0, 4.0)] {
            let swinging = runForecaster(windows: 7 * Self.day, threshold: 85, direction: .rising, seed: 47) {
                window,
                random in
                let hour = Double(window % Self.day) / 60
                return FleetSignal.gaugeMean(
                    level: base + swing * cosine(2 * Double.pi * (hour - 16) / 24),
                    noise: 0.1,
                    quantum: 0.1,
                    &random
                )
            }
            let forecasting = swinging.filter { $0.forecast.isForecasting }
            #expect(forecasting.isEmpty, "base \(base) swing \(swing): forecast at \(forecasting.first?.window ?? -1)")
        }
    }

    @Test("a temperature swing starting with the data (baseline not settled) does not forecast on day one")
    func unsettledBaselineIsCautious() {
        let results = runForecaster(windows: 2 * Self.day, threshold: 85, direction: .rising, seed: 49) {
            window,
            random in
            // The data starts at the daily trough: the first points sit 3 degC below the day's mean.
            let hour = Double(window % Self.day) / 60
            return FleetSignal.gaugeMean(
                level: 55 + 3 * cosine(2 * Double.pi * (hour - 12) / 24),
                noise: 0.1,
                quantum: 0.1,
                &random
            )
        }
        #expect(results.allSatisfy { !$0.forecast.isForecasting })
    }

    @Test("the same input gives identical forecasts")
    func deterministic() {
        func run() -> [DegradationForecast] {
            runForecaster(
                windows: 4 * Self.day,
                threshold: -20,
                direction: .falling,
                seed: 51,
                value: Self.optic(startDay: 1, days: 2, curvature: 2)
            ).map(\.forecast)
        }
        let first = run()
        let second = run()
        #expect(first.count == second.count)
        #expect(
            zip(first, second).allSatisfy { a, b in
                a.isForecasting == b.isForecasting && a.etaNanoseconds == b.etaNanoseconds
                    && a.slopePerSecond.bitPattern == b.slopePerSecond.bitPattern
            }
        )
    }

    @Test("NaN and absurd values, out-of-order and duplicate windows change nothing")
    func hostileInput() {
        let signal = Self.optic(startDay: 1, days: 2, curvature: 2)
        let clean = runForecaster(windows: 3 * Self.day, threshold: -20, direction: .falling, seed: 53, value: signal)
        var table = DegradationForecasterTable(capacity: 1, forecaster: try! DegradationForecaster())
        table.register(localIndex: 0, threshold: -20, direction: .falling)
        var random = SplitMix64(seed: 53)
        var dirty: [DegradationForecast] = []
        for window in 0..<(3 * Self.day) {
            let start = FleetSignal.windowStart(window)
            // `.unknown` has a NaN level, and NaN is never equal to itself: compare the other fields.
            for hostile in [Double.nan, -1e300, .infinity] {
                let forecast = table.observe(value: hostile, windowStartNanoseconds: start, localIndex: 0)
                #expect(
                    forecast.level.isNaN && !forecast.isForecasting && !forecast.isCrossed && forecast.scale == .none
                )
            }
            let forecast = table.observe(value: signal(window, &random)!, windowStartNanoseconds: start, localIndex: 0)
            dirty.append(forecast)
            // A window from an hour ago arrives late: it belongs to a point already stored and is dropped.
            if window > 120 {
                _ = table.observe(value: -40, windowStartNanoseconds: start - Self.hourNanoseconds, localIndex: 0)
            }
        }
        #expect(dirty.map(\.isForecasting) == clean.map(\.forecast.isForecasting))
        #expect(dirty.map(\.etaNanoseconds) == clean.map(\.forecast.etaNanoseconds))
    }

    @Test("Theil-Sen ignores one wild point: y = 2x + 1 with y(4) = 100 fits slope 2, intercept 1, tau 1")
    func theilSenByHand() {
        var xs: [Float] = [0, 1, 2, 3, 4]
        var ys: [Float] = [1, 3, 5, 7, 100]
        var slopes = [Float](repeating: 0, count: 10)
        let fit = xs.withUnsafeMutableBufferPointer { x in
            ys.withUnsafeMutableBufferPointer { y in
                slopes.withUnsafeMutableBufferPointer { s in TheilSen.fit(xs: x, ys: y, count: 5, slopes: s) }
            }
        }
        #expect(fit.slope == 2)
        #expect(fit.intercept == 1)
        #expect(fit.tau == 1)
    }

    @Test("the median by selection agrees with sorting on seeded random arrays, odd and even, with ties")
    func medianProperty() {
        var random = SplitMix64(seed: 55)
        for trial in 0..<500 {
            let count = 1 + Int(random.next() % 80)
            var values = (0..<count).map { _ in Float(Int(random.next() % 20)) - 10 }
            let sorted = values.sorted()
            let expected =
                count % 2 == 1
                ? Double(sorted[count / 2]) : (Double(sorted[count / 2 - 1]) + Double(sorted[count / 2])) / 2
            let median = values.withUnsafeMutableBufferPointer { TheilSen.median($0, count: count) }
            #expect(median == expected, "trial \(trial)")
        }
    }

    @Test("per-series state fits the budget; invalid configurations are refused with the field named")
    func memoryAndValidation() {
        let bytes = DegradationForecasterTable.memoryBytesPerSeries(configuration: .init())
        #expect(bytes <= 512, "\(bytes) B")
        var configuration = DegradationForecaster.Configuration()
        configuration.minimumFinePoints = 100
        do {
            _ = try DegradationForecaster(configuration: configuration)
            Issue.record("accepted more required points than the ring holds")
        } catch let error as ModelConfigurationError {
            #expect(error.field == "minimumFinePoints")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
