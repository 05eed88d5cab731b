import VigilCore

/// Seasonal anomaly detection for one window per series per minute: what the model is and how it is tuned.
///
/// The model of a series is `expected(t) = level × centre(time of day)` (multiplicative, for traffic-like
/// series whose noise and weekly change scale with the value) or `expected(t) = level + centre(time of day)`
/// (additive, for gauges such as dBm and degC). `centre` and its robust `spread` live in `bucketCount` buckets
/// per day, linearly interpolated between bucket centres so a 3-4x daily shape is followed without steps.
/// `level` adapts within hours, so a weekend at 0.7x, ramping over the night, is learnt rather than flagged.
///
/// Every update is clipped at `learningClipSpreads` robust spreads (a Huber update) and slowed
/// `anomalousGainDivisor` times while the window scores above `anomalousScore`, so an incident is not learnt
/// as normal. The score is a robust z: `(value - expected) / spread`, with the spread floored (see
/// ``Configuration``) so that quiet series do not alarm on one event.
///
/// The per-series state lives in ``SeasonalAnomalyDetectorTable``; this type holds the configuration.
public struct SeasonalAnomalyDetector: Sendable, Equatable {
    /// How level and seasonal centre combine.
    public enum Scaling: UInt8, Sendable, Hashable {
        /// `expected = level × centre`: traffic, packets, errors; the spread scales with the level too.
        case multiplicative = 0
        /// `expected = level + centre`: power in dBm, temperature, CPU %.
        case additive = 1

        /// Counters scale multiplicatively, gauges additively.
        @inlinable
        public static func `default`(for kind: MetricKind) -> Scaling {
            kind.isCounter ? .multiplicative : .additive
        }
    }

    /// Tuning of the detector. The defaults are set for 60 s windows of the SampleData fleet
    /// (`incidents.md`): 3-5x surges, CRC bursts and -40 dBm link flaps score far above 6, while
    /// seeded week-long normal signals (daily 3.5x shape, weekends 0.7x, 5 % noise) stay well below.
    public struct Configuration: Sendable, Equatable {
        /// Width of the windows scored; fixes the time of day of a window's midpoint and the
        /// counter spread floor. Default 60 s.
        public var windowNanoseconds: Int64 = 60 * EventTime.nanosecondsPerSecond
        /// Time-of-day buckets per day (the baseline's resolution, linearly interpolated). Default 24
        /// (one per hour): 8 B of state each per series. At most 96.
        public var bucketCount: Int = 24
        /// Windows a series must have been scored before the level starts to adapt: one day (1,440), so every
        /// bucket has been learnt once.
        public var levelStartWindows: Int = 1_440
        /// Windows a series must have been scored before its scores may alert: one day and one hour (1,500), so
        /// the level has settled (a fleet starting on Monday 00:00 is still ramping up from the weekend).
        public var warmupWindows: Int = 1_500
        /// Updates both neighbouring buckets must have had before scores may alert. Default 8.
        public var minimumBucketUpdates: Int = 8
        /// Slowest learning rate of a bucket's centre and spread per (weighted) update; a bucket starts
        /// as a running average (gain `1/n`) and settles at this gain. Default 0.02 (about a day).
        public var bucketGainFloor: Double = 0.02
        /// Learning rate of the level per window. Default 1/20: a time constant of 20 windows, fast
        /// enough to follow a weekend ramp (0.7x over 8 h) within about 3 %.
        public var levelGain: Double = 1.0 / 20.0
        /// Residuals are clipped to this many spreads before they update centre, spread and level.
        /// Default 3.
        public var learningClipSpreads: Double = 3
        /// Consecutive anomalous windows on the same side after which the level follows at full speed (a
        /// level shift, not an incident). Default 60 (an hour of 60 s windows). At most 30,000.
        public var levelShiftWindows: Int = 60
        /// Above this |score| a window counts as anomalous and learning slows. Default 4.
        public var anomalousScore: Double = 4
        /// How much slower learning is during anomalous windows. Default 16.
        public var anomalousGainDivisor: Double = 16
        /// Spread floor of counter rates, in counts per window: a rate of one event per window
        /// (1/60 per second for 60 s windows) scores at most 1/this. Default 1.
        public var counterSpreadFloorCountsPerWindow: Double = 1
        /// Counter spread floor from counting noise: this many times the Poisson standard deviation of the
        /// expected count per window (√count). Default 1.5: event counts are overdispersed, and a Poisson
        /// tail is longer than a Gaussian one.
        public var counterPoissonSpreadFactor: Double = 1.5
        /// Spread floor of counter rates relative to the expected rate. Default 0.03 (3 %).
        public var counterRelativeSpreadFloor: Double = 0.03
        /// Spread floor of gauges in the gauge's unit (dB, degC, %). Default 0.05.
        public var gaugeSpreadFloor: Double = 0.05
        /// Spread floor of gauges relative to |expected|. Default 0.01 (1 %).
        public var gaugeRelativeSpreadFloor: Double = 0.01
        /// Half-width of the reported expected band, in spreads. Default 6, the default fire score of
        /// ``IncidentTracker/Configuration/anomaly``: outside the band is what alerts.
        public var bandSpreads: Double = 6

        public init() {}

        /// Refuses configurations the table cannot run with.
        public func validate() throws {
            let model = "SeasonalAnomalyDetector"
            try ModelConfigurationError.require(
                windowNanoseconds > 0 && 86_400 * EventTime.nanosecondsPerSecond % windowNanoseconds == 0,
                model: model,
                field: "windowNanoseconds",
                value: windowNanoseconds,
                "positive and a divisor of one day"
            )
            try ModelConfigurationError.require(
                (2...96).contains(bucketCount),
                model: model,
                field: "bucketCount",
                value: bucketCount,
                "in 2...96"
            )
            try ModelConfigurationError.require(
                levelStartWindows >= 0,
                model: model,
                field: "levelStartWindows",
                value: levelStartWindows,
                ">= 0"
            )
            try ModelConfigurationError.require(
                (1...30_000).contains(levelShiftWindows),
                model: model,
                field: "levelShiftWindows",
                value: levelShiftWindows,
                "in 1...30000"
            )
            try ModelConfigurationError.require(
                warmupWindows >= levelStartWindows,
                model: model,
                field: "warmupWindows",
                value: warmupWindows,
                ">= levelStartWindows (\(levelStartWindows))"
            )
            try ModelConfigurationError.require(
                (0...255).contains(minimumBucketUpdates),
                model: model,
                field: "minimumBucketUpdates",
                value: minimumBucketUpdates,
                "in 0...255"
            )
            try ModelConfigurationError.require(
                bucketGainFloor > 0 && bucketGainFloor <= 1,
                model: model,
                field: "bucketGainFloor",
                value: bucketGainFloor,
                "in (0, 1]"
            )
            try ModelConfigurationError.require(
                levelGain > 0 && levelGain <= 1,
                model: model,
                field: "levelGain",
                value: levelGain,
                "in (0, 1]"
            )
            for (field, number) in [
                ("learningClipSpreads", learningClipSpreads), ("anomalousScore", anomalousScore),
                ("counterSpreadFloorCountsPerWindow", counterSpreadFloorCountsPerWindow),
                ("gaugeSpreadFloor", gaugeSpreadFloor), ("bandSpreads", bandSpreads),
                ("counterPoissonSpreadFactor", counterPoissonSpreadFactor),
            ] {
                try ModelConfigurationError.require(
                    number.isFinite && number > 0,
                    model: model,
                    field: field,
                    value: number,
                    "finite and > 0"
                )
            }
            try ModelConfigurationError.require(
                anomalousGainDivisor >= 1,
                model: model,
                field: "anomalousGainDivisor",
                value: anomalousGainDivisor,
                ">= 1"
            )
            for (field, number) in [
                ("counterRelativeSpreadFloor", counterRelativeSpreadFloor),
                ("gaugeRelativeSpreadFloor", gaugeRelativeSpreadFloor),
            ] {
                try ModelConfigurationError.require(
                    number >= 0 && number < 1,
                    model: model,
                    field: field,
                    value: number,
                    "in [0, 1)"
                )
            }
        }
    }

    public var configuration: Configuration

    /// - Throws: ``ModelConfigurationError`` naming the first invalid field.
    public init(configuration: Configuration = Configuration()) throws {
        try configuration.validate()
        self.configuration = configuration
    }

    /// The value the detector scores for a window: the per-second rate of a counter, the mean of a gauge.
    @inlinable
    public static func scoredValue(of window: WindowAggregate, kind: MetricKind) -> Double {
        kind.isCounter ? window.rate : window.mean
    }
}

/// The detector's verdict on one window.
public struct AnomalyScore: Sendable, Equatable {
    /// Robust z-score, signed: positive above the baseline, negative below. 0 when not scored.
    public var score: Double
    /// The baseline's expectation for this window, in the series' unit (per second for counters).
    public var expected: Double
    /// Lower and upper edge of the normal band (`expected ∓ bandSpreads × spread`; counters floored at 0).
    public var expectedLow: Double
    public var expectedHigh: Double
    /// False until the series has been seen for about a day; its scores must not alert before.
    public var isWarmedUp: Bool
    /// False when the window's value was not a finite number (a counter window without a rate).
    public var isScored: Bool

    @inlinable
    public init(
        score: Double,
        expected: Double,
        expectedLow: Double,
        expectedHigh: Double,
        isWarmedUp: Bool,
        isScored: Bool
    ) {
        self.score = score
        self.expected = expected
        self.expectedLow = expectedLow
        self.expectedHigh = expectedHigh
        self.isWarmedUp = isWarmedUp
        self.isScored = isScored
    }

    /// A window that held no finite value: nothing learnt, nothing to alert on.
    public static let unscored = AnomalyScore(
        score: 0,
        expected: .nan,
        expectedLow: .nan,
        expectedHigh: .nan,
        isWarmedUp: false,
        isScored: false
    )

    /// What to feed an ``IncidentTracker``: |score| once warmed up, 0 before and for unscored windows.
    @inlinable
    public var alertScore: Double { isWarmedUp && isScored ? abs(score) : 0 }
}
