import Foundation
import Testing

/// `vigil eval incidents` on hand-written alert logs and truth files, with the numbers worked out by hand.
@Suite("vigil eval incidents on hand-written files", .serialized)
struct EvalIncidentsCommandTests {
    /// Two devices for one day (2 device-days); three incidents and one reboot on edge-02.
    static let truth = """
        {
          "fleet": {"devices": 2, "interfaces": 2, "start": "2026-11-02T00:00:00Z", "end": "2026-11-03T00:00:00Z",
                    "interval_seconds": 10, "seed": 1, "command": "hand-written"},
          "incidents": [
            {"id": "inc-001", "kind": "traffic_surge", "device": "edge-01", "interface": "et-0/0/0",
             "metric": "in_octets", "start": "2026-11-02T10:00:00Z", "end": "2026-11-02T10:30:00Z"},
            {"id": "inc-002", "kind": "crc_burst", "device": "edge-02", "interface": "et-0/0/0",
             "metric": "in_crc_errors", "start": "2026-11-02T12:00:00Z", "end": "2026-11-02T12:20:00Z"},
            {"id": "inc-003", "kind": "optic_degradation", "device": "edge-01", "interface": "et-0/0/1",
             "metric": "rx_power_dbm", "start": "2026-11-02T02:00:00Z", "end": "2026-11-02T20:00:00Z"}
          ],
          "reboots": [
            {"device": "edge-02", "at": "2026-11-02T15:00:00Z", "resumes": "2026-11-02T15:05:00Z",
             "cause": "maintenance"}
          ]
        }
        """

    /// One alert line as `vigil run` writes it.
    static func line(
        _ id: String,
        _ status: String,
        device: String,
        interface: String,
        metric: String,
        startsAt: String,
        endsAt: String? = nil
    ) -> String {
        "{\"id\":\"\(id)\",\"status\":\"\(status)\",\"kind\":\"anomaly\",\"severity\":\"critical\","
            + "\"device\":\"\(device)\",\"interface\":\"\(interface)\",\"metric\":\"\(metric)\",\"labels\":{},"
            + "\"score\":12.5,\"startsAt\":\"\(startsAt)\",\"endsAt\":\(endsAt.map { "\"\($0)\"" } ?? "null"),"
            + "\"explanation\":\"hand-written\"}"
    }

    /// - a: inc-001 detected 2 min after it starts (delay 120 s, lead 28 min);
    /// - b: on inc-003's interface, but starts after the optic failed: it matches (not false), yet the
    ///   predictive incident counts as missed;
    /// - c: a false alert on an interface with no incident, never resolved;
    /// - d: a false alert on edge-02 five minutes after its reboot came back (counted as after a reboot);
    /// - inc-002 has no alert: missed.
    static let alerts =
        [
            line(
                "aaaaaaaaaaaaaaaa",
                "firing",
                device: "edge-01",
                interface: "et-0/0/0",
                metric: "in_octets",
                startsAt: "2026-11-02T10:02:00Z"
            ),
            line(
                "bbbbbbbbbbbbbbbb",
                "firing",
                device: "edge-01",
                interface: "et-0/0/1",
                metric: "rx_power_dbm",
                startsAt: "2026-11-02T20:10:00Z"
            ),
            line(
                "aaaaaaaaaaaaaaaa",
                "resolved",
                device: "edge-01",
                interface: "et-0/0/0",
                metric: "in_octets",
                startsAt: "2026-11-02T10:02:00Z",
                endsAt: "2026-11-02T10:31:00Z"
            ),
            "",
            line(
                "cccccccccccccccc",
                "firing",
                device: "edge-02",
                interface: "et-0/0/1",
                metric: "in_discards",
                startsAt: "2026-11-02T05:00:00Z"
            ),
            line(
                "dddddddddddddddd",
                "firing",
                device: "edge-02",
                interface: "et-0/0/0",
                metric: "in_octets",
                startsAt: "2026-11-02T15:10:00Z"
            ),
            line(
                "dddddddddddddddd",
                "resolved",
                device: "edge-02",
                interface: "et-0/0/0",
                metric: "in_octets",
                startsAt: "2026-11-02T15:10:00Z",
                endsAt: "2026-11-02T15:15:00Z"
            ),
        ].joined(separator: "\n") + "\n"

    /// The first line of ``alerts``: one whole, valid event.
    static let firstLine = String(alerts.prefix { $0 != "\n" })

    private func write(_ text: String, _ name: String, in directory: URL) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("a detected surge, a missed burst, a forecast that came too late and two false alerts, in JSON")
    func handComputedReport() throws {
        let directory = try CLI.temporaryDirectory("eval")
        defer { try? FileManager.default.removeItem(at: directory) }
        let truth = try write(Self.truth, "truth.json", in: directory)
        let alerts = try write(Self.alerts, "alerts.jsonl", in: directory)
        let result = try CLI.run(["eval", "incidents", "--alerts", alerts, "--truth", truth, "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        let report = try CLI.json(result.standardOutput)
        #expect(report["incidents"] as? Int == 3)
        #expect(report["detected"] as? Int == 1)
        #expect(report["recall"] as? Double == 0.3333)
        #expect(report["alerts"] as? Int == 4)
        #expect(report["matched_alerts"] as? Int == 2)
        #expect(report["false_alerts"] as? Int == 2)
        #expect(report["false_alerts_after_reboot"] as? Int == 1)
        #expect(report["precision"] as? Double == 0.5)
        #expect(report["device_days"] as? Double == 2)
        #expect(report["false_alerts_per_device_day"] as? Double == 1)
        #expect(report["median_delay_seconds"] as? Double == 120)
        #expect(report["median_lead_seconds"] is NSNull, "no predictive incident was detected in time")

        let perIncident = report["per_incident"] as? [[String: Any]] ?? []
        #expect(perIncident.map { $0["id"] as? String } == ["inc-001", "inc-002", "inc-003"])
        #expect(perIncident.map { $0["detected"] as? Bool } == [true, false, false])
        #expect(perIncident.first?["first_alert_id"] as? String == "aaaaaaaaaaaaaaaa")
        #expect(perIncident.first?["delay_seconds"] as? Double == 120)
        #expect(perIncident.first?["lead_seconds"] as? Double == 1_680)
        for missed in perIncident.dropFirst() {
            #expect(missed["first_alert_id"] is NSNull, "\(missed)")
            #expect(missed["delay_seconds"] is NSNull, "\(missed)")
        }

        // The table says the same.
        let text = try CLI.run(["eval", "incidents", "--alerts", alerts, "--truth", truth])
        #expect(text.status == 0)
        #expect(text.standardOutput.contains("incidents 3, detected 1, recall 33%"), "\(text.standardOutput)")
        #expect(text.standardOutput.contains("false 2 (1 right after a reboot)"), "\(text.standardOutput)")
    }

    @Test("the same forecast raised before the failure counts, with its lead time")
    func forecastInTime() throws {
        let directory = try CLI.temporaryDirectory("eval-lead")
        defer { try? FileManager.default.removeItem(at: directory) }
        let truth = try write(Self.truth, "truth.json", in: directory)
        let early = Self.line(
            "eeeeeeeeeeeeeeee",
            "firing",
            device: "edge-01",
            interface: "et-0/0/1",
            metric: "rx_power_dbm",
            startsAt: "2026-11-02T14:00:00Z"
        )
        let alerts = try write(early + "\n", "alerts.jsonl", in: directory)
        let result = try CLI.run(["eval", "incidents", "--alerts", alerts, "--truth", truth, "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        let report = try CLI.json(result.standardOutput)
        #expect(report["detected"] as? Int == 1)
        #expect(report["false_alerts"] as? Int == 0)
        #expect(report["median_lead_seconds"] as? Double == 21_600)
        #expect(report["median_delay_seconds"] is NSNull)
    }

    @Test("a malformed alert line or truth file fails with the file, the line and what was wrong")
    func malformedInput() throws {
        let directory = try CLI.temporaryDirectory("eval-bad")
        defer { try? FileManager.default.removeItem(at: directory) }
        let truth = try write(Self.truth, "truth.json", in: directory)
        let good = Self.firstLine
        let badLine = try write(good + "\n{\"id\":\"x\",\"status\":\"firing\"}\n", "bad.jsonl", in: directory)
        let result = try CLI.run(["eval", "incidents", "--alerts", badLine, "--truth", truth, "--json"])
        #expect(result.status == 1)
        #expect(result.standardError.contains("bad.jsonl:2"), "\(result.standardError)")
        #expect(result.standardError.contains("missing field"), "\(result.standardError)")

        let badTime = try write(
            good.replacingOccurrences(of: "2026-11-02T10:02:00Z", with: "yesterday"),
            "t.jsonl",
            in: directory
        )
        let time = try CLI.run(["eval", "incidents", "--alerts", badTime, "--truth", truth])
        #expect(time.status == 1)
        #expect(time.standardError.contains("t.jsonl:1"), "\(time.standardError)")
        #expect(time.standardError.contains("RFC 3339"), "\(time.standardError)")

        let notTruth = try write("{\"fleet\": {}}", "not-truth.json", in: directory)
        let alerts = try write(good + "\n", "alerts.jsonl", in: directory)
        let truthResult = try CLI.run(["eval", "incidents", "--alerts", alerts, "--truth", notTruth])
        #expect(truthResult.status == 1)
        #expect(
            truthResult.standardError.contains("not-truth.json: not a ground-truth file"),
            "\(truthResult.standardError)"
        )

        let missing = try CLI.run(["eval", "incidents", "--alerts", directory.path + "/none.jsonl", "--truth", truth])
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("none.jsonl"), "\(missing.standardError)")
    }

    @Test("a last line cut short (a writer killed mid-line) is named as such, with its line and length")
    func tornLastLine() throws {
        let directory = try CLI.temporaryDirectory("eval-torn")
        defer { try? FileManager.default.removeItem(at: directory) }
        let truth = try write(Self.truth, "truth.json", in: directory)
        let good = Self.firstLine
        let torn = try write(good + "\n" + good.prefix(40), "torn.jsonl", in: directory)
        let result = try CLI.run(["eval", "incidents", "--alerts", torn, "--truth", truth])
        #expect(result.status == 1)
        #expect(
            result.standardError.contains("torn.jsonl:2: the last line is cut short (40 bytes, no newline at the end)"),
            "\(result.standardError)"
        )
        // The same bytes with a newline after them are a malformed line, not a torn one.
        let cut = try write(good + "\n" + good.prefix(40) + "\n", "cut.jsonl", in: directory)
        let malformed = try CLI.run(["eval", "incidents", "--alerts", cut, "--truth", truth])
        #expect(malformed.status == 1)
        #expect(malformed.standardError.contains("cut.jsonl:2: not an alert event"), "\(malformed.standardError)")
    }
}
