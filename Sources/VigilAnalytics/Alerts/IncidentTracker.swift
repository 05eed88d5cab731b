import VigilCore

/// Alert lifecycle of one score stream per series: one alert per incident, not one per window.
///
/// A series is *idle*, *pending* (some of its recent windows scored at or above `fireScore`) or *firing*.
/// It fires when at least `fireWindows` of the last `fireSpanWindows` windows scored at or above
/// `fireScore` (so an incident that flickers, such as a link flapping every other minute, still fires, while
/// one odd window never does). It resolves when `clearWindows` consecutive windows score below
/// `clearScore` (hysteresis: `clearScore` < `fireScore`). Windows that never arrived (a device rebooting)
/// count as below both thresholds.
///
/// The per-series state lives in ``IncidentTrackerTable``; this type holds the configuration.
public struct IncidentTracker: Sendable, Equatable {
    /// Thresholds and window counts. Scores are compared by magnitude (|score|), so signed anomaly scores
    /// can be passed as they are.
    public struct Configuration: Sendable, Equatable {
        /// Width of the windows scored; used to count windows that never arrived. Default 60 s.
        public var windowNanoseconds: Int64 = 60 * EventTime.nanosecondsPerSecond
        /// A window is a hit when |score| >= this. Default 6 (robust z).
        public var fireScore: Double = 6
        /// Hits needed within the last `fireSpanWindows` windows to fire. Default 3.
        public var fireWindows: Int = 3
        /// Windows over which hits are counted, at most 8. Default 5.
        public var fireSpanWindows: Int = 5
        /// A firing series is quiet in a window when |score| < this. Default 3.
        public var clearScore: Double = 3
        /// Consecutive quiet windows that resolve an incident. Default 10 (ten minutes of 60 s windows).
        public var clearWindows: Int = 10

        public init() {}

        /// For anomaly scores (robust z): fire at 6 in 3 of 5 windows, resolve after 10 windows below 3.
        public static let anomaly = Configuration()

        /// For ``DegradationForecast/alertScore`` (>= 1 while a forecast stands): fire at once, resolve
        /// after an hour without a forecast, so the forecast's refits do not split one incident in two.
        public static let forecast: Configuration = {
            var configuration = Configuration()
            configuration.fireScore = 1
            configuration.fireWindows = 1
            configuration.fireSpanWindows = 1
            configuration.clearScore = 1
            configuration.clearWindows = 60
            return configuration
        }()

        /// For threshold breaches (score = how far past the threshold, > 0 while past): fire after 2 of 3
        /// windows past, resolve after 5 windows back on the right side.
        public static let threshold: Configuration = {
            var configuration = Configuration()
            configuration.fireScore = .ulpOfOne
            configuration.fireWindows = 2
            configuration.fireSpanWindows = 3
            configuration.clearScore = .ulpOfOne
            configuration.clearWindows = 5
            return configuration
        }()

        /// Refuses configurations the tracker cannot run with.
        public func validate() throws {
            let model = "IncidentTracker"
            try ModelConfigurationError.require(
                windowNanoseconds > 0,
                model: model,
                field: "windowNanoseconds",
                value: windowNanoseconds,
                "> 0"
            )
            try ModelConfigurationError.require(
                fireScore.isFinite && fireScore > 0,
                model: model,
                field: "fireScore",
                value: fireScore,
                "finite and > 0"
            )
            try ModelConfigurationError.require(
                clearScore.isFinite && clearScore > 0 && clearScore <= fireScore,
                model: model,
                field: "clearScore",
                value: clearScore,
                "finite, > 0 and <= fireScore (\(fireScore))"
            )
            try ModelConfigurationError.require(
                (1...8).contains(fireSpanWindows),
                model: model,
                field: "fireSpanWindows",
                value: fireSpanWindows,
                "in 1...8"
            )
            try ModelConfigurationError.require(
                (1...fireSpanWindows).contains(fireWindows),
                model: model,
                field: "fireWindows",
                value: fireWindows,
                "in 1...fireSpanWindows (\(fireSpanWindows))"
            )
            try ModelConfigurationError.require(
                (1...10_000).contains(clearWindows),
                model: model,
                field: "clearWindows",
                value: clearWindows,
                "in 1...10000"
            )
        }
    }

    public var configuration: Configuration

    /// - Throws: ``ModelConfigurationError`` naming the first invalid field.
    public init(configuration: Configuration = .anomaly) throws {
        try configuration.validate()
        self.configuration = configuration
    }
}

/// Where a series stands in its alert lifecycle.
public enum IncidentState: UInt8, Sendable, Hashable {
    case idle = 0
    case pending = 1
    case firing = 2
}

/// What one window changed. Times are window starts in ns since the epoch (event time).
public enum IncidentTransition: Sendable, Equatable {
    case none
    /// The incident fires; it started with the earliest hit that counted toward firing.
    case fired(startsAtNanoseconds: Int64, peakScore: Double)
    /// The incident resolved; it ended where the run of quiet windows that resolved it began.
    case resolved(startsAtNanoseconds: Int64, endsAtNanoseconds: Int64, peakScore: Double)

    /// Whether nothing happened: what a caller asks once per window, so it is inlinable (the derived `==`
    /// is a call across modules, made for every window).
    @inlinable public var isNone: Bool {
        if case .none = self { return true }
        return false
    }
}
