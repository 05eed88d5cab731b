import Foundation
import Testing

/// A small simulated fleet taken through the path a user takes: `vigil generate`, then `vigil run` with
/// alerts, rollups and a JSON summary, all in a temporary directory that ``remove()`` deletes.
///
/// 2 devices × 1 interface × 3 days at 10 s: 20 series, 517,500 samples, 7 incidents (all on day 2 or 3),
/// about 2 s for both commands in a debug build. Three days because an optic degradation needs more than
/// two (day 1 is for learning; a degradation lasts at least a day and ends 6 h before the run does).
struct FleetFixture {
    static let devices = 2
    static let interfaces = 1
    static let days = 3
    /// `vigil generate`'s default start (a Monday) and the run's end.
    static let start = "2026-11-02T00:00:00Z"
    static let end = "2026-11-05T00:00:00Z"

    let directory: URL
    var recording: String { directory.appendingPathComponent("fleet.vgl").path }
    var truth: String { directory.appendingPathComponent("fleet.truth.json").path }
    var alerts: String { directory.appendingPathComponent("alerts.jsonl").path }
    var rollups: String { directory.appendingPathComponent("rollups").path }
    var summaryPath: String { directory.appendingPathComponent("summary.json").path }
    /// The run summary (`--summary-json`).
    let summary: [String: Any]
    /// What `vigil run` printed on standard error (the text summary).
    let runStandardError: String

    /// Generates the fleet and runs the engine over it; `#expect`s that both commands succeed.
    static func make(_ name: String) throws -> FleetFixture {
        let directory = try CLI.temporaryDirectory(name)
        let recording = directory.appendingPathComponent("fleet.vgl").path
        let truth = directory.appendingPathComponent("fleet.truth.json").path
        let generated = try CLI.run([
            "generate", "--devices", "\(devices)", "--interfaces", "\(interfaces)", "--days", "\(days)",
            "--out", recording, "--truth", truth,
        ])
        #expect(generated.status == 0, "\(generated.standardError)")
        #expect(generated.standardError.contains("20 series"), "\(generated.standardError)")
        let summaryPath = directory.appendingPathComponent("summary.json").path
        let run = try CLI.run([
            "run", "--input", "file:" + recording,
            "--alerts", directory.appendingPathComponent("alerts.jsonl").path,
            "--rollups", directory.appendingPathComponent("rollups").path,
            "--summary-json", summaryPath,
        ])
        #expect(run.status == 0, "\(run.standardError)")
        let summaryText = (try? String(contentsOfFile: summaryPath, encoding: .utf8)) ?? ""
        return FleetFixture(
            directory: directory,
            summary: try CLI.json(summaryText),
            runStandardError: run.standardError
        )
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// The alert log, one parsed JSON object per line (a line that is not a JSON object fails the test).
    func alertLines(_ path: String? = nil) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: path ?? alerts, encoding: .utf8)
        return try text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap {
            index,
            line in
            if line.isEmpty { return nil }
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object != nil, "alert line \(index + 1) is not a JSON object: \(line)")
            return object
        }
    }

    /// The ground truth's incidents, as JSON objects.
    func truthIncidents() throws -> [[String: Any]] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: truth)))
        return (object as? [String: Any])?["incidents"] as? [[String: Any]] ?? []
    }
}

extension CLI {
    /// Makes a write into a pipe whose reader has gone fail with EPIPE instead of killing the test process
    /// with SIGPIPE: `CLI.run(…, input:)` writes standard input from a background thread, and a `vigil` that
    /// exits early (a usage error, an unwritable destination) leaves that pipe without a reader.
    /// Process-wide and idempotent; call it before passing `input:`.
    static func ignoreBrokenPipes() {
        _ = signal(SIGPIPE, SIG_IGN)
    }
}
