import VigilCore

/// Scores an alert log against a ground truth (`vigil eval incidents`).
///
/// An alert matches an incident when it is on the same device, on the same interface unless the incident is
/// device-level (interface ""), and its `[startsAt, endsAt or +inf)` overlaps
/// `[start - 5 min, end + 30 min]`. A predictive incident (optic degradation, temperature runaway) counts
/// as detected only if a matching alert starts before its `end`; a sudden one if any alert matches.
/// Alerts that match no incident are false, including alerts right after a reboot (the engine must not
/// alert on reboots). O(alerts * incidents).
public struct IncidentEvaluation: Sendable, Equatable {
    public static let matchBeforeNanoseconds: Int64 = 300 * EventTime.nanosecondsPerSecond
    public static let matchAfterNanoseconds: Int64 = 1_800 * EventTime.nanosecondsPerSecond
    public static let rebootGraceNanoseconds: Int64 = 900 * EventTime.nanosecondsPerSecond

    public struct IncidentResult: Sendable, Equatable {
        public var id: String
        public var kind: String
        public var device: String
        public var interface: String
        public var detected: Bool
        /// The earliest matching alert that counts (for predictive kinds: that started before `end`).
        public var firstAlertID: String?
        /// First counted alert's startsAt - incident start.
        public var delaySeconds: Double?
        /// Incident end - first counted alert's startsAt.
        public var leadSeconds: Double?
    }

    public var results: [IncidentResult]
    public var alerts: Int
    /// Alerts that match at least one incident.
    public var matchedAlerts: Int
    public var falseAlerts: Int { alerts - matchedAlerts }
    /// False alerts on a device that started between a reboot and 15 min after it came back.
    public var falseAlertsAfterReboot: Int
    public var deviceDays: Double

    public var incidents: Int { results.count }
    public var detected: Int { results.filter(\.detected).count }
    /// nil when there are no incidents.
    public var recall: Double? { incidents == 0 ? nil : Double(detected) / Double(incidents) }
    /// nil when there are no alerts.
    public var precision: Double? { alerts == 0 ? nil : Double(matchedAlerts) / Double(alerts) }
    public var falseAlertsPerDeviceDay: Double? { deviceDays > 0 ? Double(falseAlerts) / deviceDays : nil }
    /// Median lead of the detected predictive incidents (the forecast's warning time); nil if none.
    public var medianLeadSeconds: Double? {
        Self.median(
            results.filter { $0.detected && IncidentKind(rawValue: $0.kind)?.isPredictive == true }.compactMap(
                \.leadSeconds
            )
        )
    }
    /// Median detection delay of the detected sudden incidents; nil if none.
    public var medianDelaySeconds: Double? {
        Self.median(
            results.filter { $0.detected && IncidentKind(rawValue: $0.kind)?.isPredictive != true }.compactMap(
                \.delaySeconds
            )
        )
    }

    /// - Parameters:
    ///   - alerts: the merged alert log (``AlertLog/parse(_:source:)``).
    ///   - truth: the run's ground truth; `truthSource` names it in errors.
    /// - Throws: ``EvaluationInputError/malformedTruth(file:reason:)`` for a time that does not parse.
    public init(alerts: [LoggedAlert], truth: GroundTruth, truthSource: String = "truth") throws {
        func time(_ text: String, _ field: String) throws -> Int64 {
            guard let value = EventTime.parseRFC3339(text) else {
                throw EvaluationInputError.malformedTruth(
                    file: truthSource,
                    reason: "\(field) \"\(text)\" is not an RFC 3339 time"
                )
            }
            return value
        }
        let fleetStart = try time(truth.fleet.start, "fleet.start")
        let fleetEnd = try time(truth.fleet.end, "fleet.end")
        deviceDays = Double(truth.fleet.devices) * Double(max(0, fleetEnd - fleetStart)) / 86_400e9

        var matched = Array(repeating: false, count: alerts.count)
        var results: [IncidentResult] = []
        for (index, incident) in truth.incidents.enumerated() {
            let start = try time(incident.start, "incidents[\(index)].start")
            let end = try time(incident.end, "incidents[\(index)].end")
            let predictive = IncidentKind(rawValue: incident.kind)?.isPredictive ?? false
            let windowStart = start - Self.matchBeforeNanoseconds
            let windowEnd = end + Self.matchAfterNanoseconds
            var first: LoggedAlert?
            for (alertIndex, alert) in alerts.enumerated() {
                guard alert.device == incident.device,
                    incident.interface.isEmpty || alert.interface == incident.interface,
                    alert.startsAtNanoseconds <= windowEnd, (alert.endsAtNanoseconds ?? .max) >= windowStart
                else { continue }
                matched[alertIndex] = true
                if predictive && alert.startsAtNanoseconds >= end { continue }
                if first == nil || alert.startsAtNanoseconds < first!.startsAtNanoseconds { first = alert }
            }
            results.append(
                IncidentResult(
                    id: incident.id,
                    kind: incident.kind,
                    device: incident.device,
                    interface: incident.interface,
                    detected: first != nil,
                    firstAlertID: first?.id,
                    delaySeconds: first.map { Double($0.startsAtNanoseconds - start) / 1e9 },
                    leadSeconds: first.map { Double(end - $0.startsAtNanoseconds) / 1e9 }
                )
            )
        }
        var afterReboot = 0
        var reboots: [(device: String, from: Int64, to: Int64)] = []
        for (index, reboot) in truth.reboots.enumerated() {
            let at = try time(reboot.at, "reboots[\(index)].at")
            let resumes = try reboot.resumes.map { try time($0, "reboots[\(index)].resumes") } ?? at
            reboots.append((reboot.device, at, resumes + Self.rebootGraceNanoseconds))
        }
        for (alertIndex, alert) in alerts.enumerated() where !matched[alertIndex] {
            if reboots.contains(where: {
                $0.device == alert.device && alert.startsAtNanoseconds >= $0.from && alert.startsAtNanoseconds <= $0.to
            }) {
                afterReboot += 1
            }
        }
        self.results = results
        self.alerts = alerts.count
        self.matchedAlerts = matched.filter { $0 }.count
        self.falseAlertsAfterReboot = afterReboot
    }

    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
