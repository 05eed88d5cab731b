import VigilAnalytics
import VigilCore

/// The models and alert lifecycles of one shard: every closed window goes through the seasonal anomaly
/// detector, and, for gauges with a failure threshold, through the degradation forecaster; each score
/// stream drives an ``IncidentTrackerTable`` so that an incident raises one alert, not one per window.
///
/// Per-series state lives in the analytics tables, struct-of-arrays by local index (`seriesID / shardCount`),
/// in pages of ``pageSize`` series allocated as the shard meets new series: memory follows the series
/// actually seen, and growing never copies the state already there. Single-threaded, like its shard.
/// Scoring a window allocates nothing; raising or resolving an alert (rare) builds its JSON-able event
/// and pushes it to the alert writer, blocking when that ring is full so that no alert is lost.
final class ShardAlerting {
    /// Series per page of model state.
    static let pageSize = 4_096

    let shards: ShardArithmetic
    private let outbox: SPSCRing<DecidedAlert>
    /// Window width: an event is decided at the end of the window that fired or resolved it.
    private let windowNanoseconds: Int64
    private let counters: EngineCounters
    private let registry: SeriesRegistry
    let anomalyEnabled: Bool
    let forecastEnabled: Bool
    private let thresholdRules: [FailureThresholdRule]
    let detector: SeasonalAnomalyDetector
    let forecaster: DegradationForecaster
    private let anomalyTracker: IncidentTracker
    private let forecastTracker: IncidentTracker
    private let thresholdTracker: IncidentTracker

    var detectorPages: [SeasonalAnomalyDetectorTable] = []
    var anomalyPages: [IncidentTrackerTable] = []
    /// Local index → forecast index (`block × forecastBlockSize + slot`), or -1 for series without a
    /// failure threshold.
    var forecastIndexOfLocal: [Int32] = []
    /// Forecaster and its two trackers' state, in blocks of ``forecastBlockSize`` series. Each block belongs
    /// to one page of local indices: windows close in local-index order, so while a page's windows close, its
    /// forecasts stay within its few blocks (cache-sized) instead of scattering over every thresholded series
    /// of the shard in the order they were first seen.
    var forecasterBlocks: [DegradationForecasterTable] = []
    var forecastTrackerBlocks: [IncidentTrackerTable] = []
    var thresholdTrackerBlocks: [IncidentTrackerTable] = []
    /// Per page of local indices: its newest forecaster block and the slots used in it (-1: none yet).
    private var newestBlockOfPage: [Int32] = []
    private var slotsUsedInNewestBlock: [Int32] = []
    /// Series per forecaster block: a page whose series are all thresholded fills 8 of them; one with a
    /// single thresholded series wastes at most a block (~230 KB), bounding the overhead per page.
    static let forecastBlockSize = 512
    /// The event of every alert now firing, for its `resolved` line. Bounded by series × 3.
    var firing: [FiringKey: AlertEvent] = [:]

    struct FiringKey: Hashable {
        var seriesID: SeriesID
        var kind: AlertKind
    }

    /// - Throws: ``ModelConfigurationError`` when the window width does not suit the models (the seasonal
    ///   detector needs a width that divides a day).
    init(
        configuration: ModelConfiguration,
        windowNanoseconds: Int64,
        shardCount: Int,
        registry: SeriesRegistry,
        outbox: SPSCRing<DecidedAlert>,
        counters: EngineCounters
    ) throws {
        self.shards = ShardArithmetic(shardCount: shardCount)
        self.registry = registry
        self.outbox = outbox
        self.windowNanoseconds = windowNanoseconds
        self.counters = counters
        self.anomalyEnabled = configuration.anomalyDetection
        self.forecastEnabled = configuration.forecasting
        self.thresholdRules = configuration.failureThresholds
        (detector, forecaster, anomalyTracker, forecastTracker, thresholdTracker) = try Self.models(
            configuration,
            windowNanoseconds: windowNanoseconds
        )
    }

    /// The configured models for a window width. Day-long settings are given in windows at 60 s; they are
    /// rescaled so that they still mean a day at other widths.
    static func models(
        _ configuration: ModelConfiguration,
        windowNanoseconds: Int64
    ) throws -> (
        SeasonalAnomalyDetector, DegradationForecaster, IncidentTracker, IncidentTracker, IncidentTracker
    ) {
        let perMinute = Double(60 * EventTime.nanosecondsPerSecond) / Double(windowNanoseconds)
        var detectorConfiguration = SeasonalAnomalyDetector.Configuration()
        if configuration.anomalyDetection {
            detectorConfiguration.windowNanoseconds = windowNanoseconds
            detectorConfiguration.levelStartWindows = max(
                1,
                Int((Double(detectorConfiguration.levelStartWindows) * perMinute).rounded())
            )
            detectorConfiguration.levelShiftWindows = max(
                1,
                Int((Double(detectorConfiguration.levelShiftWindows) * perMinute).rounded())
            )
            detectorConfiguration.warmupWindows = max(
                detectorConfiguration.levelStartWindows,
                Int((Double(detectorConfiguration.warmupWindows) * perMinute).rounded())
            )
        }
        var forecasterConfiguration = DegradationForecaster.Configuration()
        forecasterConfiguration.windowNanoseconds = windowNanoseconds
        forecasterConfiguration.horizonNanoseconds = configuration.forecastHorizonNanoseconds
        func tracker(_ base: IncidentTracker.Configuration) throws -> IncidentTracker {
            var trackerConfiguration = base
            trackerConfiguration.windowNanoseconds = windowNanoseconds
            return try IncidentTracker(configuration: trackerConfiguration)
        }
        return (
            try SeasonalAnomalyDetector(configuration: detectorConfiguration),
            try DegradationForecaster(configuration: forecasterConfiguration),
            try tracker(.anomaly),
            try tracker(.forecast),
            try tracker(.threshold)
        )
    }

    /// First sight of a series in this shard (cold path): makes room for its state and forgets any history
    /// at its index.
    func register(_ seriesID: SeriesID, descriptor: SeriesDescriptor) {
        let local = shards.localIndex(of: seriesID)
        let page = local / Self.pageSize
        let offset = local % Self.pageSize
        if anomalyEnabled {
            while detectorPages.count <= page {
                detectorPages.append(SeasonalAnomalyDetectorTable(capacity: Self.pageSize, detector: detector))
                anomalyPages.append(IncidentTrackerTable(capacity: Self.pageSize, tracker: anomalyTracker))
            }
            detectorPages[page].register(localIndex: offset, kind: descriptor.kind)
            anomalyPages[page].reset(localIndex: offset)
        }
        if local >= forecastIndexOfLocal.count {
            forecastIndexOfLocal.append(contentsOf: repeatElement(-1, count: local + 1 - forecastIndexOfLocal.count))
        }
        guard forecastEnabled, descriptor.kind == .gauge,
            let rule = thresholdRules.last(where: { $0.metric == descriptor.key.metric })
        else { return }
        var forecastIndex = Int(forecastIndexOfLocal[local])
        if forecastIndex < 0 {
            forecastIndex = newForecastIndex(localPage: page)
            forecastIndexOfLocal[local] = Int32(forecastIndex)
        }
        let block = forecastIndex / Self.forecastBlockSize
        let slot = forecastIndex % Self.forecastBlockSize
        forecasterBlocks[block].register(
            localIndex: slot,
            threshold: rule.threshold,
            direction: rule.direction == .below ? .falling : .rising
        )
        forecastTrackerBlocks[block].reset(localIndex: slot)
        thresholdTrackerBlocks[block].reset(localIndex: slot)
    }

    /// The next free forecast slot in the newest block of a page of local indices, opening a block if needed.
    private func newForecastIndex(localPage: Int) -> Int {
        if localPage >= newestBlockOfPage.count {
            let missing = localPage + 1 - newestBlockOfPage.count
            newestBlockOfPage.append(contentsOf: repeatElement(-1, count: missing))
            slotsUsedInNewestBlock.append(contentsOf: repeatElement(0, count: missing))
        }
        if newestBlockOfPage[localPage] < 0 || Int(slotsUsedInNewestBlock[localPage]) == Self.forecastBlockSize {
            newestBlockOfPage[localPage] = Int32(forecasterBlocks.count)
            slotsUsedInNewestBlock[localPage] = 0
            forecasterBlocks.append(
                DegradationForecasterTable(capacity: Self.forecastBlockSize, forecaster: forecaster)
            )
            forecastTrackerBlocks.append(
                IncidentTrackerTable(capacity: Self.forecastBlockSize, tracker: forecastTracker)
            )
            thresholdTrackerBlocks.append(
                IncidentTrackerTable(capacity: Self.forecastBlockSize, tracker: thresholdTracker)
            )
        }
        let slot = Int(slotsUsedInNewestBlock[localPage])
        slotsUsedInNewestBlock[localPage] += 1
        return Int(newestBlockOfPage[localPage]) * Self.forecastBlockSize + slot
    }

    /// Scores one closed window and raises or resolves alerts. Windows of a series come in event-time order.
    func observe(_ window: WindowAggregate) {
        let local = shards.localIndex(of: window.seriesID)
        let start = window.windowStartNanoseconds
        if anomalyEnabled {
            let page = local / Self.pageSize
            let offset = local % Self.pageSize
            let score = detectorPages[page].observe(window, localIndex: offset)
            let transition = anomalyPages[page].observeSkippingQuiet(
                score: score.alertScore,
                windowStartNanoseconds: start,
                localIndex: offset
            )
            if !transition.isNone {
                handle(transition, kind: .anomaly, window: window) { descriptor in
                    let observed = descriptor.kind.isCounter ? window.rate : window.mean
                    let severity: AlertSeverity =
                        abs(score.score) >= 2 * self.anomalyTracker.configuration.fireScore
                        ? .critical : .warning
                    let explanation = Explanation.anomaly(
                        metric: descriptor.key.metric,
                        unit: descriptor.unit,
                        kind: descriptor.kind,
                        observed: observed,
                        expectedLow: score.expectedLow,
                        expectedHigh: score.expectedHigh
                    )
                    return (severity, score.score, explanation)
                }
            }
        }
        guard local < forecastIndexOfLocal.count else { return }
        let forecastIndex = Int(forecastIndexOfLocal[local])
        guard forecastIndex >= 0 else { return }
        let block = forecastIndex / Self.forecastBlockSize
        let offset = forecastIndex % Self.forecastBlockSize
        let forecast = forecasterBlocks[block].observe(window, localIndex: offset)
        let forecastTransition = forecastTrackerBlocks[block].observeSkippingQuiet(
            score: forecast.alertScore,
            windowStartNanoseconds: start,
            localIndex: offset
        )
        if !forecastTransition.isNone {
            let threshold = forecasterBlocks[block].threshold(localIndex: offset)
            handle(forecastTransition, kind: .forecast, window: window) { descriptor in
                let eta = forecast.etaNanoseconds ?? .max
                let severity: AlertSeverity = eta <= 24 * 3_600 * EventTime.nanosecondsPerSecond ? .critical : .warning
                let explanation = Explanation.forecast(
                    metric: descriptor.key.metric,
                    unit: descriptor.unit,
                    level: forecast.level,
                    slopePerSecond: forecast.slopePerSecond,
                    threshold: threshold,
                    etaNanoseconds: forecast.etaNanoseconds
                )
                return (severity, forecast.alertScore, explanation)
            }
        }
        let thresholdTransition = thresholdTrackerBlocks[block].observeSkippingQuiet(
            score: forecast.exceedance,
            windowStartNanoseconds: start,
            localIndex: offset
        )
        if !thresholdTransition.isNone {
            let threshold = forecasterBlocks[block].threshold(localIndex: offset)
            let direction = forecasterBlocks[block].direction(localIndex: offset)
            handle(thresholdTransition, kind: .threshold, window: window) { descriptor in
                let explanation = Explanation.threshold(
                    metric: descriptor.key.metric,
                    unit: descriptor.unit,
                    value: window.mean,
                    threshold: threshold,
                    direction: direction
                )
                return (.critical, forecast.exceedance, explanation)
            }
        }
    }

    /// Turns a tracker transition into an alert event. `describe` runs only when an alert fires.
    private func handle(
        _ transition: IncidentTransition,
        kind: AlertKind,
        window: WindowAggregate,
        describe: (SeriesDescriptor) -> (AlertSeverity, Double, String)
    ) {
        let key = FiringKey(seriesID: window.seriesID, kind: kind)
        switch transition {
        case .none:
            return
        case .fired(let startsAt, _):
            guard let descriptor = registry.descriptor(for: window.seriesID) else { return }
            let (severity, score, explanation) = describe(descriptor)
            var labels: [String: String] = [:]
            for label in descriptor.key.extraLabels { labels[label.name] = label.value }
            let event = AlertEvent(
                id: Self.alertID(key: descriptor.key, kind: kind, startsAtNanoseconds: startsAt),
                status: .firing,
                kind: kind,
                severity: severity,
                device: descriptor.key.device,
                interface: descriptor.key.interface,
                metric: descriptor.key.metric,
                labels: labels,
                score: score,
                startsAt: EventTime.rfc3339(nanoseconds: startsAt),
                endsAt: nil,
                explanation: explanation
            )
            firing[key] = event
            counters.alertsFired.wrappingIncrement(ordering: .relaxed)
            send(event, decidedBy: window)
        case .resolved(_, let endsAt, _):
            guard var event = firing.removeValue(forKey: key) else { return }
            event.status = .resolved
            event.endsAt = EventTime.rfc3339(nanoseconds: endsAt)
            counters.alertsResolved.wrappingIncrement(ordering: .relaxed)
            send(event, decidedBy: window)
        }
    }

    private func send(_ event: AlertEvent, decidedBy window: WindowAggregate) {
        // Blocking is deliberate (as for rollups): the alert writer always drains, and an alert is never
        // worth dropping to keep up.
        _ = outbox.push(
            DecidedAlert(decidedAtNanoseconds: window.windowStartNanoseconds &+ windowNanoseconds, event: event)
        )
    }

    /// A stable id: FNV-1a of the series key, the kind and the start, as 16 hex digits. The same incident
    /// gets the same id on its firing and resolved lines, and in a rerun over the same input.
    static func alertID(key: SeriesKey, kind: AlertKind, startsAtNanoseconds: Int64) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ text: String) {
            for byte in text.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01B3
            }
            hash ^= 0xFF
            hash = hash &* 0x0000_0100_0000_01B3
        }
        mix(key.description)
        mix(kind.rawValue)
        mix(String(startsAtNanoseconds))
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
