import Foundation
import VigilCore

extension IncidentEvaluation {
    /// One JSON object (sorted keys, one line): the totals, plus `per_incident` with each incident's result.
    /// Values that are undefined (recall without incidents, precision without alerts) are `null`.
    public func jsonReport() throws -> String {
        func number(_ value: Double?, _ places: Double = 1e4) -> Any {
            value.map { ($0 * places).rounded() / places } ?? NSNull()
        }
        let perIncident: [[String: Any]] = results.map { result in
            [
                "id": result.id, "kind": result.kind, "device": result.device, "interface": result.interface,
                "detected": result.detected, "first_alert_id": result.firstAlertID ?? NSNull(),
                "delay_seconds": number(result.delaySeconds, 1), "lead_seconds": number(result.leadSeconds, 1),
            ]
        }
        let object: [String: Any] = [
            "incidents": incidents, "detected": detected, "recall": number(recall), "precision": number(precision),
            "alerts": alerts, "matched_alerts": matchedAlerts, "false_alerts": falseAlerts,
            "false_alerts_after_reboot": falseAlertsAfterReboot,
            "false_alerts_per_device_day": number(falseAlertsPerDeviceDay), "device_days": number(deviceDays),
            "median_lead_seconds": number(medianLeadSeconds, 1), "median_delay_seconds": number(medianDelaySeconds, 1),
            "per_incident": perIncident,
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// A table a person reads: one row per incident, then the totals.
    public func textReport() -> String {
        func duration(_ seconds: Double?) -> String {
            guard let seconds else { return "-" }
            let text = EventTime.describeDuration(nanoseconds: Int64(abs(seconds) * 1e9))
            return seconds < 0 ? "-" + text : text
        }
        func percent(_ value: Double?) -> String {
            value.map { String(Int(($0 * 100).rounded())) + "%" } ?? "n/a"
        }
        func cell(_ text: String, _ width: Int) -> String {
            text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
        }
        var lines: [String] = []
        lines.append(
            cell("incident", 10) + cell("kind", 21) + cell("device/interface", 22) + cell("detected", 10)
                + cell("first alert", 24) + cell("delay", 8) + "lead"
        )
        for result in results {
            let place = result.interface.isEmpty ? result.device : result.device + "/" + result.interface
            lines.append(
                cell(result.id, 10) + cell(result.kind, 21) + cell(place, 22) + cell(result.detected ? "yes" : "NO", 10)
                    + cell(result.firstAlertID ?? "-", 24) + cell(duration(result.delaySeconds), 8)
                    + duration(result.leadSeconds)
            )
        }
        lines.append("")
        lines.append("incidents \(incidents), detected \(detected), recall \(percent(recall))")
        lines.append(
            "alerts \(alerts), matching an incident \(matchedAlerts), precision \(percent(precision)), "
                + "false \(falseAlerts) (\(falseAlertsAfterReboot) right after a reboot)"
        )
        let perDeviceDay = falseAlertsPerDeviceDay.map { String(($0 * 1000).rounded() / 1000) } ?? "n/a"
        lines.append(
            "false alerts per device-day \(perDeviceDay) over \((deviceDays * 10).rounded() / 10) device-days"
        )
        lines.append(
            "median lead (predictive) \(duration(medianLeadSeconds)), median delay (sudden) \(duration(medianDelaySeconds))"
        )
        return lines.joined(separator: "\n") + "\n"
    }
}
