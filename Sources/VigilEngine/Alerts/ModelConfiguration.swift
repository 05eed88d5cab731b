/// A gauge's known failure threshold: rx power falling to the receiver's sensitivity, a temperature
/// rising to the shutdown point. Written on the command line as `METRIC<VALUE` or `METRIC>VALUE`
/// (`rx_power_dbm<-20`, `temperature_celsius>85`).
public struct FailureThresholdRule: Sendable, Equatable, CustomStringConvertible {
    public enum Direction: Sendable, Equatable {
        /// Failure when the value falls to or below the threshold.
        case below
        /// Failure when the value rises to or above the threshold.
        case above
    }

    public var metric: String
    public var direction: Direction
    public var threshold: Double

    public init(metric: String, direction: Direction, threshold: Double) {
        self.metric = metric
        self.direction = direction
        self.threshold = threshold
    }

    public init?(parsing text: String) {
        guard let operatorIndex = text.firstIndex(where: { $0 == "<" || $0 == ">" }) else { return nil }
        let metric = String(text[..<operatorIndex]).trimmingWhitespace
        guard !metric.isEmpty, let threshold = Double(text[text.index(after: operatorIndex)...].trimmingWhitespace),
            threshold.isFinite
        else { return nil }
        self.init(metric: metric, direction: text[operatorIndex] == "<" ? .below : .above, threshold: threshold)
    }

    /// As written on the command line: `rx_power_dbm<-20`, `temperature_celsius>85.5`.
    public var description: String {
        let value = threshold == threshold.rounded() && abs(threshold) < 1e15 ? "\(Int64(threshold))" : "\(threshold)"
        return "\(metric)\(direction == .below ? "<" : ">")\(value)"
    }

    /// rx and tx power below -20 dBm (a typical receiver sensitivity), temperature above 85 °C.
    public static let defaults: [FailureThresholdRule] = [
        FailureThresholdRule(metric: "rx_power_dbm", direction: .below, threshold: -20),
        FailureThresholdRule(metric: "tx_power_dbm", direction: .below, threshold: -20),
        FailureThresholdRule(metric: "temperature_celsius", direction: .above, threshold: 85),
    ]
}

/// Which models run and how they alert.
public struct ModelConfiguration: Sendable {
    /// Score every closed window against the series' seasonal baseline (`--no-anomaly` turns it off).
    public var anomalyDetection = true
    /// Forecast degrading gauges that have a failure threshold (`--no-forecast` turns it off).
    public var forecasting = true
    public var failureThresholds: [FailureThresholdRule] = FailureThresholdRule.defaults
    /// Raise a forecast alert when the predicted crossing is at most this far ahead (`--forecast-horizon`).
    public var forecastHorizonNanoseconds: Int64 = 72 * 3_600_000_000_000

    public init() {}
}

extension StringProtocol {
    var trimmingWhitespace: String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
