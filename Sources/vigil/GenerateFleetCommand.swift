import ArgumentParser
import Foundation
import VigilCore
import VigilEngine
import VigilSim

/// `vigil generate fleet` (the default of `vigil generate`): a simulated fleet's telemetry in the native wire
/// format, plus its ground truth.
struct GenerateFleetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Simulate a fleet's telemetry (native wire format) with injected incidents and their ground truth.",
        discussion: """
            The default of `vigil generate`: `vigil generate --out x` is `vigil generate fleet --out x`. \
            Deterministic: the same options give the same bytes. Incidents (traffic surges, link flaps, CRC bursts, \
            optic degradations, a temperature runaway) and a maintenance reboot start on day 2 or later.

            Examples:
              vigil generate --out fleet.vgl.zst --truth fleet.truth.json
              vigil generate --devices 20 --interfaces 8 --days 2 --seed 7 --out - | vigil run --input -
              vigil generate --days 1 --interval 60s --out small.vgl
            """
    )

    @Option(parsing: .unconditional, help: "Number of devices (edge-01 …).")
    var devices = FleetConfiguration.defaultDeviceCount
    @Option(parsing: .unconditional, help: "Interfaces per device (et-0/0/0 …).")
    var interfaces = FleetConfiguration.defaultInterfacesPerDevice
    @Option(parsing: .unconditional, help: "Days to simulate.")
    var days: Double = Double(FleetConfiguration.defaultDays)
    @Option(parsing: .unconditional, help: "Sampling interval (10s, 1m).")
    var interval = "10s"
    @Option(help: "Start time, RFC 3339 UTC (default 2026-11-02T00:00:00Z, a Monday).")
    var start = EventTime.rfc3339(nanoseconds: FleetConfiguration.defaultStartNanoseconds)
    @Option(parsing: .unconditional, help: "Random seed.")
    var seed = FleetConfiguration.defaultSeed
    @Option(help: "Output file, or - for standard output; zstd-compressed when it ends in .zst.")
    var out = "-"
    @Option(help: "Write the ground truth (JSON) to this file.")
    var truth: String?
    @Option(name: .customLong("zstd-level"), parsing: .unconditional, help: "zstd level for .zst output (1-22).")
    var zstdLevel: Int32 = 19
    @Option(
        name: .customLong("zstd-window-log"),
        parsing: .unconditional,
        help: """
            zstd long-distance window log (10-27); 0 turns it off. A .zst recording is written as independent \
            zstd frames of at most 1 MiB each (so damage loses one frame), which caps the window at 20.
            """
    )
    var zstdWindowLog: Int32 = 27

    /// Every check of the command line, here rather than in `run()`, so that a usage error ends with this
    /// command's usage (ArgumentParser prints the top-level one for errors thrown by `run()`).
    func validate() throws {
        _ = try makeConfiguration()
        if out == "-" && isatty(1) != 0 {
            throw ValidationError("refusing to write binary telemetry to a terminal: pass --out FILE or pipe it")
        }
    }

    /// The simulator's configuration from the flags, or a usage error naming the flag and its value.
    func makeConfiguration() throws -> FleetConfiguration {
        let intervalNanoseconds = try parseDuration(interval, flag: "--interval")
        guard let startNanoseconds = EventTime.parseRFC3339(start) else {
            throw ValidationError(
                "--start \(start): expected an RFC 3339 time such as 2026-11-02T00:00:00Z, between 2000 and 2100"
            )
        }
        guard days > 0, days <= 3_650 else { throw ValidationError("--days \(days): expected 0 < days <= 3650") }
        guard (1...22).contains(zstdLevel) else { throw ValidationError("--zstd-level \(zstdLevel): expected 1...22") }
        guard zstdWindowLog == 0 || (10...27).contains(zstdWindowLog) else {
            throw ValidationError("--zstd-window-log \(zstdWindowLog): expected 10...27, or 0 for off")
        }
        // What `vigil run` accepts (2000-01-01 to 2100-01-01); also keeps every generated time inside Int64.
        let limits = IngestLimits()
        let endNanoseconds = startNanoseconds.addingReportingOverflow(
            Int64(days * Double(FleetConfiguration.nanosecondsPerDay))
        )
        guard startNanoseconds >= limits.minimumTimestampNanoseconds, !endNanoseconds.overflow,
            endNanoseconds.partialValue <= limits.maximumTimestampNanoseconds
        else {
            throw ValidationError(
                "--start \(start) with --days \(days): the recording must lie between 2000-01-01 and 2100-01-01 "
                    + "(what vigil run accepts)"
            )
        }
        let configuration = FleetConfiguration(
            deviceCount: devices,
            interfacesPerDevice: interfaces,
            startNanoseconds: startNanoseconds,
            durationNanoseconds: Int64(days * Double(FleetConfiguration.nanosecondsPerDay)),
            intervalNanoseconds: intervalNanoseconds,
            seed: seed
        )
        do {
            try configuration.validate()
        } catch let error as FleetConfigurationError {
            switch error {
            case .deviceCountOutOfRange(_, let limit): try requireRange(devices, 1...limit, "--devices")
            case .interfaceCountOutOfRange(_, let limit): try requireRange(interfaces, 1...limit, "--interfaces")
            case .intervalOutOfRange:
                throw ValidationError("--interval \(interval): expected whole seconds from 1s to 1h")
            case .durationOutOfRange(_, let maxTicks):
                throw ValidationError(
                    "--days \(days) with --interval \(interval): expected at least one interval and at most "
                        + "\(maxTicks) sampling rounds"
                )
            case .incidentOutOfRange: break
            }
            throw ValidationError(error.description)
        }
        return configuration
    }

    func run() throws {
        SignalCleanup.install()
        let simulator = try FleetSimulator(configuration: makeConfiguration())
        let writer = try CompressedFileWriter(
            path: out,
            compression: CompressedFileWriter.compression(
                forPath: out,
                level: zstdLevel,
                windowLog: zstdWindowLog == 0 ? nil : zstdWindowLog
            )
        )
        var sink = WritingSink(writer: writer)
        let started = Date()
        var lastReport = started
        var reportedProgress = false
        let summary = try simulator.run(into: &sink) { done, total in
            let now = Date()
            guard now.timeIntervalSince(lastReport) >= 2 else { return }
            lastReport = now
            reportedProgress = true
            let percent = Int(Double(done) / Double(total) * 100)
            FileHandle.standardError.write(Data("generate: \(percent)% (\(done)/\(total) rounds)\r".utf8))
        }
        try sink.flush()
        try writer.close()
        if let truth {
            let command = (["vigil"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
            let data = try GroundTruth(simulator: simulator, command: command).jsonData()
            // Published like the recording: atomically for a file, in place for a device or FIFO.
            do {
                let truthWriter = try CompressedFileWriter(path: truth, compression: .none)
                try data.withUnsafeBytes { try truthWriter.write($0) }
                try truthWriter.close()
            } catch {
                throw CommandFailure(description: "cannot write the ground truth to \(truth): \(error)")
            }
        }
        let seconds = Date().timeIntervalSince(started)
        let line =
            (reportedProgress ? "\n" : "")
            + "generate: \(summary.series) series, \(summary.samples) samples, \(simulator.plan.incidents.count) incidents, "
            + "\(writer.bytesIn) bytes encoded, \(writer.bytesOut) bytes written to \(out) in "
            + "\(String(format: "%.1f", seconds)) s\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}

/// Encodes the simulator's batches and hands them to the writer about every MiB, one native frame per write, so
/// that the zstd frames of a `.zst` recording end between native frames.
private struct WritingSink: FleetSampleSink {
    let writer: CompressedFileWriter
    var encoder = RecordingEncoder()

    init(writer: CompressedFileWriter) { self.writer = writer }

    mutating func declare(series: [SeriesDescriptor]) throws {
        try encoder.declare(series: series)
        try flush()
    }

    mutating func consume(
        timestamps: UnsafeBufferPointer<Int64>,
        wireIDs: UnsafeBufferPointer<UInt32>,
        values: UnsafeBufferPointer<Double>
    ) throws {
        try encoder.consume(timestamps: timestamps, wireIDs: wireIDs, values: values)
        if encoder.bytes.count >= 1 << 20 { try flush() }
    }

    mutating func flush() throws {
        try encoder.drainFrames { try writer.write($0) }
    }
}
