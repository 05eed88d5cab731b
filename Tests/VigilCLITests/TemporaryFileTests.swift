import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Temporary files (`NAME.tmp.PID`, `.seg-….vgr.tmp.PID`) of runs stopped by a signal or killed: none left.
@Suite("temporary files of stopped and killed commands", .serialized)
struct TemporaryFileTests {
    /// A `vigil` started with its outputs discarded, reading `input` (or at end of file on standard input).
    static func start(_ arguments: [String], input: Pipe? = nil) throws -> Process {
        CLI.ignoreBrokenPipes()
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = arguments
        process.standardInput = input ?? FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Waits (at most `seconds`) for `condition`; returns whether it came true.
    static func wait(seconds: Double, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            guard Date() < deadline else { return false }
            usleep(10_000)
        }
        return true
    }

    /// Names of temporary files in `directories` (and their subdirectories).
    static func temporaryFiles(in directories: [URL]) -> [String] {
        directories.flatMap { directory in
            (FileManager.default.subpaths(atPath: directory.path) ?? []).filter { $0.contains(".tmp.") }
        }
    }

    @Test("vigil run killed with SIGKILL at a random moment leaves no temporary file once the next run is done")
    func killedRunLeavesNothingAfterTheNextRun() throws {
        let directory = try CLI.temporaryDirectory("killed-run")
        defer { try? FileManager.default.removeItem(at: directory) }
        let outputs = [
            "--summary-json", directory.appendingPathComponent("summary.json").path,
            "--rollups", directory.appendingPathComponent("rollups").path, "--rollup-interval", "1s",
            "--alerts", directory.appendingPathComponent("alerts.jsonl").path,
        ]
        let sample = CLI.packageRoot.appendingPathComponent("SampleData/fleet.vgl.zst").path
        let killed = try Self.start(["run", "--input", "file:" + sample] + outputs)
        // The summary's temporary file exists from the start of the run; kill at a random moment after that.
        let started = Self.wait(seconds: 10) { !Self.temporaryFiles(in: [directory]).isEmpty }
        let delayMicroseconds = UInt32.random(in: 0...1_500_000)
        usleep(delayMicroseconds)
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        #expect(started, "the run never created its summary's temporary file")
        let left = Self.temporaryFiles(in: [directory])

        let stream = directory.appendingPathComponent("small.vgl")
        try Data(makeStream(series: 3, rounds: 12)).write(to: stream)
        let next = try CLI.run(["run", "--input", "file:" + stream.path] + outputs)
        #expect(next.status == 0, "\(next.standardError)")
        #expect(
            Self.temporaryFiles(in: [directory]).isEmpty,
            "killed after \(delayMicroseconds) µs, it left \(left); the next run left \(Self.temporaryFiles(in: [directory]))"
        )
    }

    @Test("vigil run stopped by SIGTERM, or by a second SIGTERM while it drains, leaves no temporary file")
    func stoppedRunLeavesNothing() throws {
        let directory = try CLI.temporaryDirectory("stopped-run")
        defer { try? FileManager.default.removeItem(at: directory) }
        let fleet = directory.appendingPathComponent("fleet.vgl").path
        let generated = try CLI.run(
            ["generate", "--devices", "40", "--interfaces", "8", "--days", "0.01", "--interval", "60s", "--out", fleet]
        )
        #expect(generated.status == 0, "\(generated.standardError)")
        // Alerts go to a FIFO whose reader never reads: once its buffer is full the alert writer blocks, and
        // with it the drain, so that the second signal finds the run still draining.
        let fifo = directory.appendingPathComponent("alerts.fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        defer { close(reader) }
        let summary = directory.appendingPathComponent("summary.json").path
        let run = try Self.start(
            ["run", "--input", "file:" + fleet, "--no-anomaly", "--failure-threshold", "rx_power_dbm>-100"]
                + ["--alerts", fifo, "--summary-json", summary]
        )
        var queued: Int32 = 0
        let blocked = Self.wait(seconds: 30) {
            _ = ioctl(reader, UInt(FIONREAD), &queued)
            return queued >= 60_000
        }
        #expect(blocked, "the alert writer did not fill the FIFO (\(queued) bytes queued)")
        kill(run.processIdentifier, SIGTERM)
        usleep(300_000)
        #expect(run.isRunning, "the drain did not wait for the alert writer")
        kill(run.processIdentifier, SIGTERM)
        #expect(Self.wait(seconds: 10) { !run.isRunning }, "the second signal did not end the run")
        if run.isRunning { kill(run.processIdentifier, SIGKILL) }
        run.waitUntilExit()
        #expect(run.terminationStatus == 130)
        #expect(Self.temporaryFiles(in: [directory]).isEmpty, "\(Self.temporaryFiles(in: [directory]))")

        // One signal: the run drains and publishes the summary.
        let input = Pipe()
        defer { try? input.fileHandleForWriting.close() }
        let drained = try Self.start(["run", "--input", "-", "--summary-json", summary], input: input)
        try input.fileHandleForWriting.write(contentsOf: Data(makeStream(series: 3, rounds: 12)))
        usleep(500_000)
        kill(drained.processIdentifier, SIGTERM)
        #expect(Self.wait(seconds: 20) { !drained.isRunning })
        drained.waitUntilExit()
        #expect(drained.terminationStatus == 0)
        #expect(FileManager.default.fileExists(atPath: summary))
        #expect(Self.temporaryFiles(in: [directory]).isEmpty, "\(Self.temporaryFiles(in: [directory]))")
    }

    @Test("vigil generate stopped by SIGTERM mid-write removes its temporary file and dies of the signal")
    func stoppedGenerateLeavesNothing() throws {
        let directory = try CLI.temporaryDirectory("stopped-generate")
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("fleet.vgl").path
        // Far more than the test waits for: minutes of output.
        let generate = try Self.start([
            "generate", "--devices", "50", "--interfaces", "8", "--days", "60", "--out", out,
        ])
        let writing = Self.wait(seconds: 20) { !Self.temporaryFiles(in: [directory]).isEmpty }
        #expect(writing, "generate never created its temporary file")
        kill(generate.processIdentifier, SIGTERM)
        #expect(Self.wait(seconds: 10) { !generate.isRunning })
        if generate.isRunning { kill(generate.processIdentifier, SIGKILL) }
        generate.waitUntilExit()
        #expect(generate.terminationReason == .uncaughtSignal && generate.terminationStatus == SIGTERM)
        #expect(Self.temporaryFiles(in: [directory]).isEmpty, "\(Self.temporaryFiles(in: [directory]))")
        #expect(!FileManager.default.fileExists(atPath: out), "an unfinished recording was published")
    }
}
