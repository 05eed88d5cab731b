/// What raised an alert.
public enum AlertKind: String, Codable, Sendable, CaseIterable {
    /// A window's value far outside the series' learned (seasonal) baseline.
    case anomaly
    /// A degrading gauge predicted to cross its failure threshold.
    case forecast
    /// A gauge already past its failure threshold.
    case threshold
}

public enum AlertSeverity: String, Codable, Sendable, Comparable {
    case warning
    case critical

    public static func < (lhs: AlertSeverity, rhs: AlertSeverity) -> Bool {
        lhs == .warning && rhs == .critical
    }
}

public enum AlertStatus: String, Codable, Sendable {
    case firing
    case resolved
}

/// One line of the alert log (JSON Lines): an alert fires once per incident and resolves once, both
/// lines carrying the same `id`. Times are RFC 3339 UTC, in event time (the telemetry's clock).
public struct AlertEvent: Codable, Sendable, Equatable {
    public var id: String
    public var status: AlertStatus
    public var kind: AlertKind
    public var severity: AlertSeverity
    public var device: String
    public var interface: String
    public var metric: String
    /// Extra series labels beyond device, interface and metric.
    public var labels: [String: String]
    /// The detector's score when the alert fired (anomaly: robust z-score; forecast: hours to threshold
    /// inverted so that higher is worse; threshold: how far past the threshold, in the metric's unit).
    public var score: Double
    public var startsAt: String
    /// Set on the `resolved` line; null while firing.
    public var endsAt: String?
    /// One line a person can act on: "observed 9.1 Gb/s, expected 2.0–3.1 Gb/s".
    public var explanation: String

    public init(
        id: String,
        status: AlertStatus,
        kind: AlertKind,
        severity: AlertSeverity,
        device: String,
        interface: String,
        metric: String,
        labels: [String: String] = [:],
        score: Double,
        startsAt: String,
        endsAt: String?,
        explanation: String
    ) {
        self.id = id
        self.status = status
        self.kind = kind
        self.severity = severity
        self.device = device
        self.interface = interface
        self.metric = metric
        self.labels = labels
        self.score = score
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.explanation = explanation
    }
}
