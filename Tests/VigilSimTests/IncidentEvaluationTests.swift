import Foundation
import Testing
import VigilCore
import VigilSim

@Suite("Incident scoring")
struct IncidentEvaluationTests {
    /// 2 devices over 2 days = 4 device-days.
    static let truth = GroundTruth(
        fleet: .init(
            devices: 2,
            interfaces: 2,
            start: "2026-11-02T00:00:00Z",
            end: "2026-11-04T00:00:00Z",
            intervalSeconds: 10,
            seed: 1,
            command: "test"
        ),
        incidents: [
            .init(
                id: "surge",
                device: "edge-01",
                interface: "et-0/0/0",
                metric: "in_octets",
                kind: "traffic_surge",
                start: "2026-11-03T10:00:00Z",
                end: "2026-11-03T10:40:00Z"
            ),
            .init(
                id: "optic",
                device: "edge-02",
                interface: "et-0/0/1",
                metric: "rx_power_dbm",
                kind: "optic_degradation",
                start: "2026-11-02T12:00:00Z",
                end: "2026-11-03T12:00:00Z"
            ),
            .init(
                id: "heat",
                device: "edge-02",
                interface: "",
                metric: "temperature_celsius",
                kind: "temperature_runaway",
                start: "2026-11-03T14:00:00Z",
                end: "2026-11-03T20:00:00Z"
            ),
        ],
        reboots: [
            .init(device: "edge-01", at: "2026-11-03T02:00:00Z", resumes: "2026-11-03T02:05:00Z", cause: "maintenance")
        ]
    )

    static func line(
        _ id: String,
        _ status: String,
        _ device: String,
        _ interface: String,
        _ starts: String,
        _ ends: String?
    )
        -> String
    {
        let endsAt = ends.map { "\"\($0)\"" } ?? "null"
        return """
            {"id":"\(id)","status":"\(status)","kind":"anomaly","severity":"warning","device":"\(device)",\
            "interface":"\(interface)","metric":"m","labels":{},"score":5,"startsAt":"\(starts)","endsAt":\(endsAt),\
            "explanation":"x"}
            """
    }

    @Test("matching, detection delay and lead, late forecasts not counted, open alerts, false alerts per device-day")
    func scoresHandMadeFixture() throws {
        let log = [
            // Surge: first alert 2 min in, resolved; a second one later also matches.
            Self.line("a1", "firing", "edge-01", "et-0/0/0", "2026-11-03T10:02:00Z", nil),
            Self.line("a1", "resolved", "edge-01", "et-0/0/0", "2026-11-03T10:02:00Z", "2026-11-03T10:30:00Z"),
            Self.line("a2", "firing", "edge-01", "et-0/0/0", "2026-11-03T10:05:00Z", nil),
            // Optic: only alerted after the failure (a threshold alert): matches, but no detection.
            Self.line("a3", "firing", "edge-02", "et-0/0/1", "2026-11-03T12:00:10Z", nil),
            Self.line("a3", "resolved", "edge-02", "et-0/0/1", "2026-11-03T12:00:10Z", "2026-11-03T12:30:00Z"),
            // Heat: device-level incident, an alert on any interface of the device counts; 4 h lead. Open.
            Self.line("a4", "firing", "edge-02", "", "2026-11-03T16:00:00Z", nil),
            // False: wrong interface for the surge; and one 10 min after the reboot came back.
            Self.line("a5", "firing", "edge-01", "et-0/0/1", "2026-11-03T10:02:00Z", nil),
            Self.line("a5", "resolved", "edge-01", "et-0/0/1", "2026-11-03T10:02:00Z", "2026-11-03T10:04:00Z"),
            "",
            Self.line("a6", "firing", "edge-01", "et-0/0/0", "2026-11-03T02:15:00Z", nil),
            Self.line("a6", "resolved", "edge-01", "et-0/0/0", "2026-11-03T02:15:00Z", "2026-11-03T02:20:00Z"),
            // An alert resolved long before the surge window (ends 09:50 < 09:55) does not match it.
            Self.line("a7", "resolved", "edge-01", "et-0/0/0", "2026-11-03T09:00:00Z", "2026-11-03T09:50:00Z"),
        ].joined(separator: "\n")
        let alerts = try AlertLog.parse(Data(log.utf8), source: "alerts.jsonl")
        #expect(alerts.map(\.id) == ["a1", "a2", "a3", "a4", "a5", "a6", "a7"])
        #expect(alerts[0].endsAtNanoseconds == EventTime.parseRFC3339("2026-11-03T10:30:00Z"))
        #expect(alerts[1].endsAtNanoseconds == nil)
        #expect(alerts[5].line == 10)

        let evaluation = try IncidentEvaluation(alerts: alerts, truth: Self.truth)
        let byID = Dictionary(uniqueKeysWithValues: evaluation.results.map { ($0.id, $0) })
        #expect(byID["surge"]?.detected == true)
        #expect(byID["surge"]?.firstAlertID == "a1")
        #expect(byID["surge"]?.delaySeconds == 120)
        #expect(byID["surge"]?.leadSeconds == 2_280.0)
        #expect(byID["optic"]?.detected == false)
        #expect(byID["optic"]?.firstAlertID == nil)
        #expect(byID["heat"]?.detected == true)
        #expect(byID["heat"]?.leadSeconds == 14_400.0)
        #expect(evaluation.incidents == 3 && evaluation.detected == 2)
        #expect(evaluation.recall == 2.0 / 3.0)
        // a1, a2, a3 (late but inside end + 30 min), a4 match; a5, a6, a7 are false.
        #expect(evaluation.alerts == 7 && evaluation.matchedAlerts == 4 && evaluation.falseAlerts == 3)
        #expect(evaluation.precision == 4.0 / 7.0)
        #expect(evaluation.deviceDays == 4)
        #expect(evaluation.falseAlertsPerDeviceDay == 0.75)
        #expect(evaluation.falseAlertsAfterReboot == 1)
        #expect(evaluation.medianLeadSeconds == 14_400.0)
        #expect(evaluation.medianDelaySeconds == 120)

        let json = try JSONSerialization.jsonObject(with: Data(evaluation.jsonReport().utf8)) as! [String: Any]
        #expect(json["incidents"] as? Int == 3)
        #expect(json["detected"] as? Int == 2)
        #expect(json["false_alerts_per_device_day"] as? Double == 0.75)
        #expect(json["median_lead_seconds"] as? Double == 14_400)
        #expect(evaluation.textReport().contains("recall 67%"))
    }

    @Test("no alerts: recall 0, precision undefined (null), no false alerts")
    func noAlerts() throws {
        let evaluation = try IncidentEvaluation(alerts: [], truth: Self.truth)
        #expect(evaluation.recall == 0)
        #expect(evaluation.precision == nil)
        #expect(evaluation.falseAlertsPerDeviceDay == 0)
        #expect(evaluation.medianLeadSeconds == nil)
        #expect(try evaluation.jsonReport().contains("\"precision\":null"))
    }

    @Test("garbled alert logs fail with the file name and the line number")
    func garbledAlerts() {
        let good = Self.line("a1", "firing", "edge-01", "et-0/0/0", "2026-11-03T10:02:00Z", nil)
        let cases: [(String, Int)] = [
            (good + "\n{\"id\": \"a2\", \"status\": \"firing\"\n", 2),  // truncated JSON
            (good + "\n\n" + good.replacingOccurrences(of: "\"device\":\"edge-01\",", with: ""), 3),  // missing field
            (good.replacingOccurrences(of: "2026-11-03T10:02:00Z", with: "tuesday"), 1),  // bad time
            (good.replacingOccurrences(of: "\"firing\"", with: "\"burning\""), 1),  // bad status
            ("not json at all", 1),
        ]
        for (text, line) in cases {
            #expect {
                _ = try AlertLog.parse(Data(text.utf8), source: "alerts.jsonl")
            } throws: { error in
                guard case .malformedAlertLine(let file, let errorLine, _) = error as? EvaluationInputError else {
                    return false
                }
                return file == "alerts.jsonl" && errorLine == line
            }
        }
        #expect(throws: EvaluationInputError.self) {
            try GroundTruth.decode(Data("{\"fleet\": 3}".utf8), source: "t.json")
        }
    }

    @Test("a last line without a newline that is the start of an object is reported as torn, not as bad JSON")
    func tornLastLine() throws {
        let good = Self.line("a1", "firing", "edge-01", "et-0/0/0", "2026-11-03T10:02:00Z", nil)
        #expect {
            _ = try AlertLog.parse(Data((good + "\n" + good.prefix(25)).utf8), source: "alerts.jsonl")
        } throws: { error in
            error as? EvaluationInputError == .tornLastLine(file: "alerts.jsonl", line: 2, byteCount: 25)
        }
        // A whole last line without a newline is an event like any other.
        #expect(try AlertLog.parse(Data((good + "\n" + good).utf8), source: "alerts.jsonl").count == 1)
    }

    @Test("the ground truth round-trips through its snake_case JSON")
    func truthRoundTrip() throws {
        let data = try Self.truth.jsonData()
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"interval_seconds\" : 10"))
        #expect(try GroundTruth.decode(data, source: "t") == Self.truth)
    }
}
