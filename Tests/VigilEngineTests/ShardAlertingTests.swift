import Testing
import VigilCore

@testable import VigilEngine

/// Drives one shard's models and alert lifecycle with closed windows, as the shard worker does, and reads the
/// alert events it pushes.
@Suite("Shard alerting")
struct ShardAlertingTests {
    static let minute: Int64 = 60 * EventTime.nanosecondsPerSecond
    static let start: Int64 = 1_793_577_600_000_000_000  // 2026-11-02T00:00:00Z, a Monday

    /// One window of a gauge holding `value` (or a counter rising at `rate`).
    static func window(_ seriesID: SeriesID, minute index: Int, mean: Double, rate: Double = .nan) -> WindowAggregate {
        WindowAggregate(
            seriesID: seriesID,
            windowStartNanoseconds: start + Int64(index) * minute,
            count: 6,
            sum: mean * 6,
            minimum: mean,
            maximum: mean,
            first: mean,
            last: mean,
            sumOfSquaredDeviations: 0,
            rate: rate
        )
    }

    struct Harness {
        let registry = SeriesRegistry(cardinalityLimit: 100_000)
        let outbox = SPSCRing<DecidedAlert>(capacity: 1024)
        let counters = EngineCounters()
        let alerting: ShardAlerting

        init(configuration: ModelConfiguration = ModelConfiguration()) throws {
            alerting = try ShardAlerting(
                configuration: configuration,
                windowNanoseconds: ShardAlertingTests.minute,
                shardCount: 1,
                registry: registry,
                outbox: outbox,
                counters: counters
            )
        }

        func register(device: String, interface: String, metric: String, kind: MetricKind, unit: String) -> SeriesID {
            let descriptor = SeriesDescriptor(
                key: SeriesKey(device: device, interface: interface, metric: metric),
                kind: kind,
                unit: unit
            )
            guard case .registered(let id) = registry.register(descriptor) else {
                Issue.record("registration refused")
                return 0
            }
            alerting.register(id, descriptor: descriptor)
            return id
        }

        func drain() -> [AlertEvent] {
            var events: [AlertEvent] = []
            while let alert = outbox.tryPop() { events.append(alert.event) }
            return events
        }
    }

    @Test("a temperature past its shutdown threshold raises one critical threshold alert, resolved once it cools")
    func thresholdLifecycle() throws {
        var configuration = ModelConfiguration()
        configuration.anomalyDetection = false
        let harness = try Harness(configuration: configuration)
        let id = harness.register(
            device: "r1",
            interface: "",
            metric: "temperature_celsius",
            kind: .gauge,
            unit: "celsius"
        )
        // 60 minutes at 50 degC, 10 past 85, then 30 back at 50.
        for minute in 0..<100 {
            let mean = (60..<70).contains(minute) ? 90.5 : 50
            harness.alerting.observe(Self.window(id, minute: minute, mean: mean))
        }
        let events = harness.drain()
        let threshold = events.filter { $0.kind == .threshold }
        #expect(threshold.map(\.status) == [.firing, .resolved])
        guard threshold.count == 2 else { return }
        let firing = threshold[0]
        #expect(firing.id == threshold[1].id && firing.id.count == 16)
        #expect(firing.severity == .critical && firing.device == "r1" && firing.interface == "")
        #expect(firing.startsAt == EventTime.rfc3339(nanoseconds: Self.start + 60 * Self.minute))
        #expect(firing.explanation == "temperature 90.5 degC above the 85 degC shutdown threshold")
        #expect(firing.score == 5.5)
        #expect(threshold[1].endsAt == EventTime.rfc3339(nanoseconds: Self.start + 70 * Self.minute))
        #expect(harness.counters.alertsFired.load(ordering: .relaxed) == 1)
        #expect(harness.counters.alertsResolved.load(ordering: .relaxed) == 1)
    }

    @Test("a traffic surge after a day of learning raises one anomaly alert with the observed and expected rates")
    func anomalyLifecycle() throws {
        let harness = try Harness()
        let id = harness.register(
            device: "r1",
            interface: "et-0/0/0",
            metric: "in_octets",
            kind: .counter64,
            unit: "octets"
        )
        let day = 1_440
        let surge = (day + 120)..<(day + 150)
        var random = SplitMix64(seed: 7)
        for minute in 0..<(day + 240) {
            // 1 Gb/s (125 MB/s) with 1 % noise; 5x during the surge.
            let noise = 1 + 0.01 * (Double(random.next() % 2_001) / 1_000 - 1)
            let rate = 125e6 * noise * (surge.contains(minute) ? 5 : 1)
            harness.alerting.observe(Self.window(id, minute: minute, mean: 0, rate: rate))
        }
        let events = harness.drain()
        #expect(events.map(\.status) == [.firing, .resolved])
        guard events.count == 2 else { return }
        #expect(events[0].kind == .anomaly && events[0].metric == "in_octets" && events[0].id == events[1].id)
        #expect(
            events[0].startsAt == EventTime.rfc3339(nanoseconds: Self.start + Int64(surge.lowerBound) * Self.minute)
        )
        #expect(events[0].explanation.hasPrefix("in traffic observed 5.0 Gb/s, expected "))
        #expect(events[0].score > 6)
        let endsAt = try #require(events[1].endsAt.flatMap(EventTime.parseRFC3339))
        #expect(endsAt == Self.start + Int64(surge.upperBound) * Self.minute)
    }

    @Test("thousands of series registered in random order over many pages keep their own forecaster state")
    func forecasterPlacement() throws {
        var configuration = ModelConfiguration()
        configuration.anomalyDetection = false
        let harness = try Harness(configuration: configuration)
        // 9,000 series: a third thresholded (temperature), spread over three pages of local indices and more
        // than one forecaster block per page, registered in a shuffled order.
        var random = SplitMix64(seed: 11)
        var order = Array(0..<9_000)
        for index in stride(from: order.count - 1, to: 0, by: -1) {
            order.swapAt(index, Int(random.next() % UInt64(index + 1)))
        }
        var ids: [Int: SeriesID] = [:]
        for number in order {
            let metric = number % 3 == 0 ? "temperature_celsius" : "cpu_percent"
            ids[number] = harness.register(
                device: "d\(number)",
                interface: "",
                metric: metric,
                kind: .gauge,
                unit: number % 3 == 0 ? "celsius" : "percent"
            )
        }
        // Every series at 50 for 20 minutes, except three hot temperature series at 90 from minute 10.
        let hot: Set<Int> = [0, 4_503, 8_997]
        for minute in 0..<20 {
            for number in 0..<9_000 {
                let mean = hot.contains(number) && minute >= 10 ? 90.0 : 50.0
                harness.alerting.observe(Self.window(ids[number]!, minute: minute, mean: mean))
            }
        }
        let fired = harness.drain().filter { $0.status == .firing }
        #expect(fired.count == 3)
        #expect(Set(fired.map(\.device)) == Set(hot.map { "d\($0)" }))
        #expect(fired.allSatisfy { $0.kind == .threshold && $0.explanation.hasPrefix("temperature 90.0 degC above") })
    }

    @Test("alert ids are stable across runs and differ by series, kind and start")
    func alertIDs() {
        let key = SeriesKey(device: "r1", interface: "et-0/0/0", metric: "in_octets")
        let other = SeriesKey(device: "r2", interface: "et-0/0/0", metric: "in_octets")
        let id = ShardAlerting.alertID(key: key, kind: .anomaly, startsAtNanoseconds: 5)
        #expect(id == ShardAlerting.alertID(key: key, kind: .anomaly, startsAtNanoseconds: 5))
        #expect(id != ShardAlerting.alertID(key: other, kind: .anomaly, startsAtNanoseconds: 5))
        #expect(id != ShardAlerting.alertID(key: key, kind: .forecast, startsAtNanoseconds: 5))
        #expect(id != ShardAlerting.alertID(key: key, kind: .anomaly, startsAtNanoseconds: 6))
        #expect(id.count == 16 && id.allSatisfy(\.isHexDigit))
    }

    @Test("a window width that does not divide a day is refused with the flag to change")
    func windowMustDivideDay() throws {
        var configuration = EngineConfiguration()
        configuration.inputs = [.standardInput]
        configuration.windowNanoseconds = 7 * EventTime.nanosecondsPerSecond
        configuration.latenessNanoseconds = 0
        #expect(throws: (any Error).self) { try configuration.validate() }
        do {
            try configuration.validate()
        } catch {
            #expect("\(error)".contains("--window 7s does not divide a day"))
        }
        configuration.models.anomalyDetection = false
        try configuration.validate()
    }
}
