import Foundation
import Testing

/// Outputs written onto a file system that fills up during the run: a real short write, then `ENOSPC`.
@Suite("outputs on a full disk")
struct FullDiskTests {
    @Test(
        "on a full disk the alert log keeps whole lines: a torn last line is undone, the lost events counted",
        .enabled(if: SmallFilesystem.canMount, "mounting a tmpfs needs root")
    )
    func alertLogKeepsWholeLines() throws {
        let directory = try CLI.temporaryDirectory("full-alerts")
        defer { try? FileManager.default.removeItem(at: directory) }
        let fleet = directory.appendingPathComponent("fleet.vgl").path
        let truth = directory.appendingPathComponent("fleet.truth.json").path
        let generated = try CLI.run(
            ["generate", "--devices", "40", "--interfaces", "8", "--days", "0.01", "--interval", "60s"]
                + ["--out", fleet, "--truth", truth]
        )
        #expect(generated.status == 0, "\(generated.standardError)")
        let disk = try #require(SmallFilesystem(kibibytes: 64))
        defer { disk.unmount() }
        let alerts = disk.path + "/alerts.jsonl"
        // Every rx power gauge is past this threshold: 320 alerts, about 100 KB of lines for 64 KiB of disk.
        let run = try CLI.run(
            ["run", "--input", "file:" + fleet, "--no-anomaly", "--failure-threshold", "rx_power_dbm>-100"]
                + ["--alerts", alerts, "--summary-json", "-"]
        )
        #expect(run.status == 1, "alert events were lost: the run must fail")
        let summary = try CLI.json(run.standardOutput)
        let events = (summary["alerts_fired"] as? Int ?? 0) + (summary["alerts_resolved"] as? Int ?? 0)
        let dropped = (summary["rejects"] as? [String: Int])?["alert_events_dropped"] ?? 0
        let bytes = try Data(contentsOf: URL(fileURLWithPath: alerts))
        #expect(bytes.count > 60_000, "the disk did not fill: \(bytes.count) bytes written")
        #expect(dropped > 0)
        #expect(bytes.last == 10, "the alert log ends inside a line")
        let lines = bytes.split(separator: 10)
        #expect(lines.count + dropped == events, "every event is either a whole line or counted as dropped")
        #expect(run.standardError.contains("No space left on device"), "\(run.standardError)")
        // What is there is a valid log.
        let scored = try CLI.run(["eval", "incidents", "--alerts", alerts, "--truth", truth, "--json"])
        #expect(scored.status == 0, "\(scored.standardError)")
    }
}
