import ArgumentParser
import Foundation
import VigilAnalytics
import VigilEngine
import VigilStore

/// `vigil pdm`: predictive maintenance learned from run-to-failure history.
struct PdmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pdm",
        abstract: "Learn remaining useful life from run-to-failure history, and predict it.",
        discussion: """
            History files hold one row per unit and cycle: `unit cycle reading…`, separated by spaces, tabs or \
            commas. The C-MAPSS text layout (26 columns: unit, cycle, 3 settings, 21 sensors, no header) is read \
            as is; other data needs a header line `unit,cycle,NAME,…`. The model is documented in docs/models.md.
            """,
        subcommands: [PdmFitCommand.self, PdmPredictCommand.self]
    )
}

/// `vigil pdm fit`: trains a remaining-life model.
struct PdmFitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Train a remaining-useful-life model from units run to failure.",
        discussion: """
            Each unit's last row is taken as its failure. Sensors that vary are chosen from the data (columns \
            named setting… are operating settings and not used); targets are the cycles left, capped at 125.

            Examples:
              vigil pdm fit --history train_FD001.txt --out fd001.vrul
              vigil pdm fit --history fleet-history.csv --out fleet.vrul
            """
    )

    @Option(
        help: ArgumentHelp(
            "Run-to-failure history (C-MAPSS text layout or a `unit,cycle,…` header).",
            valueName: "file"
        )
    )
    var history: String
    @Option(help: ArgumentHelp("Where to write the model (replaced atomically).", valueName: "model"))
    var out: String

    func run() throws {
        let data = try readHistory(history)
        let started = DispatchTime.now()
        let model: RemainingLifeModel
        do { model = try RemainingLifeModel.fit(history: data) } catch {
            throw CommandFailure(description: "cannot fit a model to \(history): \(error)")
        }
        let bytes = model.fileBytes()
        try writeFileAtomically(bytes, to: out, what: "model")
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        printError(
            "vigil pdm fit: \(data.units.count) units, \(data.rowCount) cycles, "
                + "\(model.sensors.count) sensors (\(model.sensors.map(\.name).joined(separator: " "))), "
                + "\(model.forest.roots.count) trees; \(bytes.count) bytes to \(out) in "
                + String(format: "%.1f s", seconds)
        )
    }
}

/// `vigil pdm predict`: remaining life of each unit at its last cycle.
struct PdmPredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Print each unit's remaining useful life at its last cycle, as CSV `unit,rul`.",
        discussion: """
            The data has the layout of the history the model was fitted on and every sensor the model reads. \
            RUL is in cycles, between 0 and the model's cap (125).

            Examples:
              vigil pdm predict --model fd001.vrul --data test_FD001.txt
              vigil pdm predict --model fd001.vrul --data test_FD001.txt | sort -t, -k2 -n | head
            """
    )

    @Option(help: ArgumentHelp("A model written by `vigil pdm fit`.", valueName: "model"))
    var model: String
    @Option(help: ArgumentHelp("Units to predict, up to their last cycle.", valueName: "file"))
    var data: String

    func run() throws {
        let loaded = try loadModel(model)
        let units = try readHistory(data)
        let missing = loaded.missingSensors(in: units)
        guard missing.isEmpty else {
            throw CommandFailure(
                description: "\(data) has no column \(missing.joined(separator: ", ")), which the model reads"
            )
        }
        var text = "unit,rul\n"
        for prediction in loaded.predictLastCycles(units) {
            text += "\(prediction.unit),\(String(format: "%.1f", prediction.remainingCycles))\n"
        }
        print(text, terminator: "")
        try finishStandardOutput()
    }
}

/// Reads a whole file (or pipe) of at most `limit` bytes.
func readWholeFile(_ path: String, what: String, limit: Int) throws -> [UInt8] {
    do {
        let stream = try FileDescriptorStream.open(path: path)
        defer { stream.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = try chunk.withUnsafeMutableBytes { try stream.read(into: $0) }
            if count == 0 { return bytes }
            guard bytes.count + count <= limit else {
                throw CommandFailure(description: "the \(what) file \(path) is larger than \(limit) bytes")
            }
            bytes.append(contentsOf: chunk[0..<count])
        }
    } catch let error as SourceError {
        throw CommandFailure(description: "cannot read the \(what) file \(path): \(error.reason)")
    }
}

/// Bytes a history file may have: 512 MiB.
let maximumHistoryFileBytes = 512 << 20

/// Reads and parses a run history, the file and line in any error.
func readHistory(_ path: String) throws -> RunHistory {
    let bytes = try readWholeFile(path, what: "history", limit: maximumHistoryFileBytes)
    do { return try RunHistory.parse(bytes) } catch {
        throw CommandFailure(description: "\(path): \(error)")
    }
}

/// Reads a model file, refusing a damaged or foreign one with the reason.
func loadModel(_ path: String) throws -> RemainingLifeModel {
    let bytes = try readWholeFile(path, what: "model", limit: RemainingLifeModel.maximumFileBytes)
    do { return try RemainingLifeModel(fileBytes: bytes) } catch {
        throw CommandFailure(description: "cannot use the model \(path): \(error)")
    }
}

/// Writes `bytes` to `path` through a temporary file beside it, renamed over `path` once complete.
func writeFileAtomically(_ bytes: [UInt8], to path: String, what: String) throws {
    let temporary = TemporaryFiles.path(publishing: path)
    let descriptor: Int32
    do { descriptor = try TemporaryFiles.create(temporary) } catch {
        throw CommandFailure(
            description: "cannot write the \(what) \(path): \(String(cString: strerror(error.errorNumber)))"
        )
    }
    var written = 0
    var failure: Int32 = 0
    while written < bytes.count {
        let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, bytes.count - written) }
        if count < 0 {
            if errno == EINTR { continue }
            failure = errno
            break
        }
        written += count
    }
    if failure == 0 && fsync(descriptor) != 0 { failure = errno }
    close(descriptor)
    if failure == 0 && rename(temporary, path) != 0 { failure = errno }
    guard failure == 0 else {
        TemporaryFiles.remove(temporary)
        throw CommandFailure(description: "cannot write the \(what) \(path): \(String(cString: strerror(failure)))")
    }
    TemporaryFiles.published(temporary)
}
