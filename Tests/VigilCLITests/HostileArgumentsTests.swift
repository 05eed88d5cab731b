import Foundation
import Testing
import VigilCore
import VigilWire

/// What a user may point the command line at: devices, FIFOs and links as outputs, a reader of standard
/// output that goes away, a full disk, times outside what an Int64 of nanoseconds can hold.
@Suite("the command line against hostile arguments and outputs", .serialized)
struct HostileArgumentsTests {
    /// Runs `vigil arguments…` with standard output going to `output`; returns the status and standard error.
    static func run(_ arguments: [String], standardOutput output: FileHandle) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = arguments
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let standardError = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, standardError)
    }

    @Test("generate writes into a FIFO and through a symbolic link in place: neither is replaced by a file")
    func generateKeepsSpecialFiles() throws {
        let directory = try CLI.temporaryDirectory("special-outputs")
        let fifo = directory.appendingPathComponent("stream.fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let truth = directory.appendingPathComponent("truth.json").path
        let link = directory.appendingPathComponent("truth-link.json").path
        try Data().write(to: URL(fileURLWithPath: truth))
        #expect(symlink(truth, link) == 0)
        final class Received: @unchecked Sendable { var bytes = Data() }
        let received = Received()
        let readerDone = DispatchSemaphore(value: 0)
        Thread {
            if let handle = FileHandle(forReadingAtPath: fifo) { received.bytes = handle.readDataToEndOfFile() }
            readerDone.signal()
        }.start()
        let result = try CLI.run([
            "generate", "--devices", "1", "--interfaces", "1", "--days", "0.01", "--out", fifo, "--truth", link,
        ])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(readerDone.wait(timeout: .now() + 10) == .success)
        var status = stat()
        #expect(stat(fifo, &status) == 0 && (status.st_mode & S_IFMT) == S_IFIFO, "the FIFO was replaced")
        #expect(received.bytes.count > 1000, "the FIFO's reader got \(received.bytes.count) bytes")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == truth, "the link was replaced")
        #expect(try Data(contentsOf: URL(fileURLWithPath: truth)).count > 100, "the link's target was not written")
    }

    @Test("times beyond 1677-2262 (or, to generate, 2000-2100) and bad zstd settings are usage errors, before any work")
    func outOfRangeTimes() throws {
        let rollups = try CLI.temporaryDirectory("out-of-range").path
        for arguments in [
            ["rollups", "cat", rollups, "--from", "2300-01-01T00:00:00Z"],
            ["rollups", "cat", rollups, "--to", "1600-01-01T00:00:00Z"],
            ["generate", "--start", "2300-01-01T00:00:00Z", "--out", rollups + "/x.vgl"],
            ["generate", "--start", "2099-12-30T00:00:00Z", "--days", "3", "--out", rollups + "/x.vgl"],
            ["generate", "--zstd-level", "23", "--out", rollups + "/x.vgl.zst"],
            ["generate", "--zstd-window-log", "9", "--out", rollups + "/x.vgl.zst"],
        ] {
            let result = try CLI.run(arguments)
            #expect(result.status == 64, "\(arguments): \(result.status) \(result.standardError)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: rollups).isEmpty, "a temporary file was left")
    }

    @Test("a reader of the alerts that goes away costs the alerts (counted, exit 1), not the run or its rollups")
    func closedStandardOutput() throws {
        let directory = try CLI.temporaryDirectory("closed-stdout")
        let stream = directory.appendingPathComponent("hot.vgl")
        try Data(Self.hotStream()).write(to: stream)
        let rollups = directory.appendingPathComponent("rollups").path
        let output = Pipe()
        // Nobody reads standard output: its reader is gone before vigil writes the first alert.
        try output.fileHandleForReading.close()
        let (status, standardError) = try Self.run(
            ["run", "--input", "file:\(stream.path)", "--alerts", "-", "--rollups", rollups, "--no-anomaly"],
            standardOutput: output.fileHandleForWriting
        )
        #expect(status == 1, "\(standardError)")
        #expect(standardError.contains("alert event(s) could not be written"), "\(standardError)")
        #expect(standardError.contains("vigil run summary"), "no summary: \(standardError)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: rollups).contains { $0.hasSuffix(".vgr") })
    }

    /// Two temperature series, one above the 85 °C shutdown threshold: a threshold alert fires.
    static func hotStream() throws -> [UInt8] {
        let encoder = NativeEncoder()
        var bytes: [UInt8] = []
        try encoder.appendSchemaFrames(
            (0..<2).map { index in
                SchemaEntry(
                    wireID: UInt32(index),
                    descriptor: SeriesDescriptor(
                        key: SeriesKey(device: "r1", interface: "chassis-\(index)", metric: "temperature_celsius"),
                        kind: .gauge,
                        unit: "celsius"
                    )
                )
            },
            to: &bytes
        )
        let start: Int64 = 1_793_577_600_000_000_000
        let rounds = 60
        encoder.appendDataFrames(
            timestamps: (0..<rounds * 2).map { start + Int64($0 / 2) * 10_000_000_000 },
            wireIDs: (0..<rounds * 2).map { UInt32($0 % 2) },
            values: (0..<rounds * 2).map { $0 % 2 == 0 ? 95 : 40 },
            to: &bytes
        )
        return bytes
    }

    @Test("output lost to a full disk fails the command (exit 1) with the reason")
    func fullDisk() throws {
        let directory = try CLI.temporaryDirectory("full-disk")
        let stream = directory.appendingPathComponent("s.vgl")
        try Data(makeStream(series: 2, rounds: 30)).write(to: stream)
        let rollups = directory.appendingPathComponent("rollups").path
        let run = try CLI.run(["run", "--input", "file:\(stream.path)", "--rollups", rollups])
        #expect(run.status == 0, "\(run.standardError)")
        guard let full = FileHandle(forWritingAtPath: "/dev/full") else { return }
        for arguments in [["rollups", "cat", rollups], ["rollups", "stats", rollups, "--json"]] {
            let (status, standardError) = try Self.run(arguments, standardOutput: full)
            #expect(status == 1, "\(arguments): \(standardError)")
            #expect(standardError.contains("No space left on device"), "\(arguments): \(standardError)")
        }
        let summary = try CLI.run(["run", "--input", "file:\(stream.path)", "--summary-json", "/dev/full"])
        #expect(summary.status == 1, "\(summary.standardError)")
        #expect(summary.standardError.contains("cannot write /dev/full"), "\(summary.standardError)")
    }

    @Test("an unusable --summary-json or --rollups is refused before any work, naming the reason")
    func unusableDestinationsAtStart() throws {
        let directory = try CLI.temporaryDirectory("destinations")
        let stream = directory.appendingPathComponent("s.vgl")
        try Data(makeStream(series: 2, rounds: 30)).write(to: stream)
        let summary = try CLI.run(["run", "--input", "file:\(stream.path)", "--summary-json", directory.path])
        #expect(summary.status == 2, "\(summary.standardError)")
        #expect(summary.standardError.contains("Is a directory"), "\(summary.standardError)")
        #expect(!summary.standardError.contains("vigil run summary"), "the run went ahead")
        let rollups = try CLI.run(["run", "--input", "file:\(stream.path)", "--rollups", stream.path])
        #expect(rollups.status == 2, "\(rollups.standardError)")
        #expect(rollups.standardError.contains("Not a directory"), "\(rollups.standardError)")
    }

    @Test("a huge --max-future-skew does not wrap around (every sample would be 'too far ahead')")
    func hugeFutureSkew() throws {
        let result = try CLI.run(
            ["run", "--input", "-", "--summary-json", "-", "--max-future-skew", "100000d"],
            input: Data(makeStream(series: 2, rounds: 30))
        )
        let summary = try CLI.json(result.standardOutput)
        #expect(summary["samples_aggregated"] as? Int == 60, "\(result.standardError)")
    }

    @Test("eval incidents reads its inputs from a pipe (process substitution, FIFOs)")
    func evalFromPipe() throws {
        let directory = try CLI.temporaryDirectory("eval-pipe")
        let fifo = directory.appendingPathComponent("alerts.fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)
        Thread {
            if let handle = FileHandle(forWritingAtPath: fifo) { try? handle.close() }  // an empty alert log
        }.start()
        let truth = CLI.packageRoot.appendingPathComponent("SampleData/fleet.truth.json").path
        let result = try CLI.run(
            ["eval", "incidents", "--alerts", fifo, "--truth", truth, "--json"],
            timeoutSeconds: 20
        )
        #expect(result.status == 0, "\(result.standardError)")
        #expect(try CLI.json(result.standardOutput)["detected"] as? Int == 0)
    }
}
