import ArgumentParser
import Foundation
import VigilEngine
import VigilSim

/// `vigil eval`: scoring of an engine run against ground truth.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score an engine run against ground truth, or cross-validate the remaining-life model.",
        subcommands: [EvalIncidentsCommand.self, EvalRulCommand.self]
    )
}

/// `vigil eval incidents`: recall, precision, false alerts and forecast lead of an alert log.
struct EvalIncidentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incidents",
        abstract: "Match an alert log (JSON Lines) against a ground-truth file from `vigil generate`.",
        discussion: """
            An alert matches an incident on the same device (and interface, unless the incident is device-level) \
            when it overlaps [start - 5m, end + 30m]. Optic degradations and temperature runaways count as \
            detected only when alerted before they fail. Alerts matching no incident are false.

            Examples:
              vigil eval incidents --alerts alerts.jsonl --truth SampleData/fleet.truth.json
              vigil eval incidents --alerts alerts.jsonl --truth fleet.truth.json --json | jq .recall
            """
    )

    @Option(help: "Alert log: JSON Lines of alert events (firing and resolved lines).")
    var alerts: String
    @Option(help: "Ground truth JSON written by `vigil generate --truth`.")
    var truth: String
    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    func run() throws {
        func read(_ path: String, _ what: String) throws -> Data {
            // The engine's own input stream: files, pipes and FIFOs (`--alerts <(zstdcat alerts.jsonl.zst)`),
            // read to their end, with the system's reason when they cannot be.
            do {
                let stream = try FileDescriptorStream.open(path: path)
                defer { stream.close() }
                var data = Data()
                var chunk = [UInt8](repeating: 0, count: 1 << 16)
                while true {
                    let count = try chunk.withUnsafeMutableBytes { try stream.read(into: $0) }
                    if count == 0 { return data }
                    data.append(contentsOf: chunk[0..<count])
                }
            } catch let error as SourceError {
                throw CommandFailure(description: "cannot read the \(what) file \(path): \(error.reason)")
            }
        }
        // EvaluationInputError describes itself with the file and line; ArgumentParser prints it and exits 1.
        let truthValue = try GroundTruth.decode(read(truth, "ground-truth"), source: truth)
        let alertList = try AlertLog.parse(read(alerts, "alert"), source: alerts)
        let evaluation = try IncidentEvaluation(alerts: alertList, truth: truthValue, truthSource: truth)
        print(json ? try evaluation.jsonReport() : evaluation.textReport(), terminator: json ? "\n" : "")
        try finishStandardOutput()
    }

}

/// A failure that is not about the command line itself (so no usage text): a file that cannot be read or written.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
}
