import VigilCore

/// Predicts when a degrading gauge crosses its failure threshold (rx power falling toward -20 dBm receiver
/// sensitivity, temperature rising toward an 85 degC shutdown), early enough to act.
///
/// Window values are averaged into points at two time scales: *fine* (10 min points over the last 6 h,
/// for a fan failure heating a device over hours) and *coarse* (1 h points over the last 48 h, for an
/// optic fading over days). Each scale is fitted by Theil-Sen (the median of all pairwise slopes, robust to
/// a third of the points being outliers) whenever a point completes; its Kendall tau (the share of point
/// pairs that agree with the trend) is the confidence.
///
/// A forecast is raised when, on either scale, the trend heads for the threshold with confidence >=
/// `minimumConfidence`, the extrapolated crossing is within `horizonNanoseconds`, and the level has already
/// departed from the series' long-term baseline by at least `minimumDepartureFraction` of the baseline's
/// distance to the threshold. The last condition is what keeps an ordinary daily swing (a smooth, confident,
/// threshold-bound trend for a few hours every afternoon) from forecasting a shutdown.
///
/// The per-series state lives in ``DegradationForecasterTable``; this type holds the configuration.
public struct DegradationForecaster: Sendable, Equatable {
    /// Tuning of the forecaster. Defaults are set for 60 s windows of the SampleData fleet (`incidents.md`).
    public struct Configuration: Sendable, Equatable {
        /// Width of the windows fed in. Default 60 s.
        public var windowNanoseconds: Int64 = 60 * EventTime.nanosecondsPerSecond
        /// Duration of one fine point. Default 10 min.
        public var fineSlotNanoseconds: Int64 = 600 * EventTime.nanosecondsPerSecond
        /// Fine points kept and fitted (6 h at the default). Default 36; at most 64.
        public var fineSlotCount: Int = 36
        /// Duration of one coarse point. Default 1 h.
        public var coarseSlotNanoseconds: Int64 = 3_600 * EventTime.nanosecondsPerSecond
        /// Coarse points kept and fitted (48 h at the default). Default 48; at most 64.
        public var coarseSlotCount: Int = 48
        /// Fine points needed before the fine scale is fitted. Default 12 (2 h).
        public var minimumFinePoints: Int = 12
        /// Coarse points needed before the coarse scale is fitted. Default 12 (12 h).
        public var minimumCoarsePoints: Int = 12
        /// A forecast is raised only when the crossing is due within this. Default 72 h.
        public var horizonNanoseconds: Int64 = 72 * 3_600 * EventTime.nanosecondsPerSecond
        /// Kendall tau toward the threshold a trend needs. Default 0.6 (flat noise: |tau| ~ 0.1).
        public var minimumConfidence: Double = 0.6
        /// Departure from the baseline needed, as a fraction of the baseline's distance to the threshold,
        /// once the baseline has seen `baselineSettledPoints` coarse points. Default 0.15 (5 degC of the
        /// 35 degC from 50 to 85 degC; 2.5 dB of the 17 dB from -3 to -20 dBm).
        public var minimumDepartureFraction: Double = 0.15
        /// Departure needed, in mean absolute deviations of the coarse points from the baseline: an ordinary
        /// daily swing peaks at 1.57 of them. Default 2.5.
        public var departureDeviations: Double = 2.5
        /// The same before the baseline has settled (it may still be off by part of a daily swing).
        /// Default 0.3.
        public var earlyDepartureFraction: Double = 0.3
        /// Coarse points after which the baseline counts as settled: a whole day. Default 24.
        public var baselineSettledPoints: Int = 24
        /// Coarse points before the forecaster may raise anything (the baseline is still a guess). Default 6.
        public var minimumBaselinePoints: Int = 6
        /// Time constant of the baseline (an average of coarse points), in coarse points. Default 168 (a week).
        public var baselineTimeConstantPoints: Double = 168
        /// How much slower the baseline learns while the level has departed from it. Default 8.
        public var departedBaselineGainDivisor: Double = 8

        public init() {}

        /// Refuses configurations the table cannot run with.
        public func validate() throws {
            let model = "DegradationForecaster"
            for (field, nanoseconds) in [
                ("windowNanoseconds", windowNanoseconds), ("fineSlotNanoseconds", fineSlotNanoseconds),
                ("coarseSlotNanoseconds", coarseSlotNanoseconds), ("horizonNanoseconds", horizonNanoseconds),
            ] {
                try ModelConfigurationError.require(
                    nanoseconds > 0,
                    model: model,
                    field: field,
                    value: nanoseconds,
                    "> 0"
                )
            }
            try ModelConfigurationError.require(
                (3...64).contains(fineSlotCount),
                model: model,
                field: "fineSlotCount",
                value: fineSlotCount,
                "in 3...64"
            )
            try ModelConfigurationError.require(
                (3...64).contains(coarseSlotCount),
                model: model,
                field: "coarseSlotCount",
                value: coarseSlotCount,
                "in 3...64"
            )
            try ModelConfigurationError.require(
                (3...fineSlotCount).contains(minimumFinePoints),
                model: model,
                field: "minimumFinePoints",
                value: minimumFinePoints,
                "in 3...fineSlotCount (\(fineSlotCount))"
            )
            try ModelConfigurationError.require(
                (3...coarseSlotCount).contains(minimumCoarsePoints),
                model: model,
                field: "minimumCoarsePoints",
                value: minimumCoarsePoints,
                "in 3...coarseSlotCount (\(coarseSlotCount))"
            )
            try ModelConfigurationError.require(
                minimumConfidence > 0 && minimumConfidence <= 1,
                model: model,
                field: "minimumConfidence",
                value: minimumConfidence,
                "in (0, 1]"
            )
            for (field, fraction) in [
                ("minimumDepartureFraction", minimumDepartureFraction),
                ("earlyDepartureFraction", earlyDepartureFraction),
            ] {
                try ModelConfigurationError.require(
                    fraction >= 0 && fraction < 1,
                    model: model,
                    field: field,
                    value: fraction,
                    "in [0, 1)"
                )
            }
            try ModelConfigurationError.require(
                (1...60_000).contains(baselineSettledPoints) && (1...60_000).contains(minimumBaselinePoints),
                model: model,
                field: "baselineSettledPoints/minimumBaselinePoints",
                value: "\(baselineSettledPoints)/\(minimumBaselinePoints)",
                "in 1...60000"
            )
            try ModelConfigurationError.require(
                departureDeviations >= 0 && departureDeviations.isFinite,
                model: model,
                field: "departureDeviations",
                value: departureDeviations,
                ">= 0"
            )
            try ModelConfigurationError.require(
                baselineTimeConstantPoints >= 1 && departedBaselineGainDivisor >= 1,
                model: model,
                field: "baselineTimeConstantPoints/departedBaselineGainDivisor",
                value: "\(baselineTimeConstantPoints)/\(departedBaselineGainDivisor)",
                ">= 1"
            )
        }
    }

    public var configuration: Configuration

    /// - Throws: ``ModelConfigurationError`` naming the first invalid field.
    public init(configuration: Configuration = Configuration()) throws {
        try configuration.validate()
        self.configuration = configuration
    }
}

/// Which side of its threshold a gauge fails on.
public enum FailureDirection: UInt8, Sendable, Hashable {
    /// Fails at or below the threshold (rx power below receiver sensitivity).
    case falling = 0
    /// Fails at or above the threshold (temperature above shutdown).
    case rising = 1
}

/// The time scale a forecast came from.
public enum ForecastScale: UInt8, Sendable, Hashable {
    case none = 0
    /// 10 min points over 6 h (default).
    case fine = 1
    /// 1 h points over 48 h (default).
    case coarse = 2
}

/// The forecaster's view of one series after a window.
public struct DegradationForecast: Sendable, Equatable {
    /// The fitted level now (window end), in the gauge's unit; the window's value before any fit.
    public var level: Double
    /// Fitted trend, unit per second (negative: falling). 0 before any fit.
    public var slopePerSecond: Double
    /// Time until the trend reaches the threshold, from the window's end; nil when it is not heading there.
    public var etaNanoseconds: Int64?
    /// Kendall tau of the trend toward the threshold, 0...1 (0 when heading away).
    public var confidence: Double
    /// The trend will cross within the horizon, confidently, from a level already off its baseline: alert.
    public var isForecasting: Bool
    /// The window's value is already at or past the threshold: the engine raises a `threshold` alert.
    public var isCrossed: Bool
    /// The baseline has enough history for forecasts to be trusted.
    public var isWarmedUp: Bool
    public var scale: ForecastScale
    /// What to feed an ``IncidentTracker`` configured as ``IncidentTracker/Configuration/forecast``:
    /// `max(1, horizon / eta)` while forecasting (higher is sooner), else 0.
    public var alertScore: Double
    /// How far the window's value is past the threshold (in the gauge's unit) when crossed, else 0: the
    /// score of a `threshold` alert.
    public var exceedance: Double

    public init(
        level: Double,
        slopePerSecond: Double,
        etaNanoseconds: Int64?,
        confidence: Double,
        isForecasting: Bool,
        isCrossed: Bool,
        isWarmedUp: Bool,
        scale: ForecastScale,
        alertScore: Double,
        exceedance: Double
    ) {
        self.level = level
        self.slopePerSecond = slopePerSecond
        self.etaNanoseconds = etaNanoseconds
        self.confidence = confidence
        self.isForecasting = isForecasting
        self.isCrossed = isCrossed
        self.isWarmedUp = isWarmedUp
        self.scale = scale
        self.alertScore = alertScore
        self.exceedance = exceedance
    }

    /// Nothing known (a non-finite window value).
    public static let unknown = DegradationForecast(
        level: .nan,
        slopePerSecond: 0,
        etaNanoseconds: nil,
        confidence: 0,
        isForecasting: false,
        isCrossed: false,
        isWarmedUp: false,
        scale: .none,
        alertScore: 0,
        exceedance: 0
    )
}
