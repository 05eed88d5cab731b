import Foundation
import VigilCore
import VigilWire

/// Runs the real `vigil` binary, as a user would, and captures what it prints.
struct CLIResult {
    var status: Int32
    var standardOutput: String
    var standardError: String
}

enum CLI {
    /// The `vigil` built next to the test bundle (`swift build --build-tests` builds both).
    static var executable: URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("vigil"),
            packageRoot.appendingPathComponent(".build/debug/vigil"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[1]
    }

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// Runs `vigil arguments…`, feeding `input` on standard input, and waits (at most `timeoutSeconds`).
    @discardableResult
    static func run(_ arguments: [String], input: Data? = nil, timeoutSeconds: Double = 120) throws -> CLIResult {
        // A vigil that exits before reading all of its input must not kill the test process with SIGPIPE.
        ignoreBrokenPipes()
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let outPipe = Pipe()
        let errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        let inPipe = Pipe()
        process.standardInput = inPipe
        // Readers and the writer run on threads of their own: tests running in parallel can hold every
        // thread of the global queue, and a child whose output nobody reads blocks.
        let outData = DataBox()
        let errData = DataBox()
        let readersDone = DispatchSemaphore(value: 0)
        Thread {
            outData.set(outPipe.fileHandleForReading.readDataToEndOfFile())
            readersDone.signal()
        }.start()
        Thread {
            errData.set(errPipe.fileHandleForReading.readDataToEndOfFile())
            readersDone.signal()
        }.start()
        try process.run()
        Thread {
            if let input { try? inPipe.fileHandleForWriting.write(contentsOf: input) }
            try? inPipe.fileHandleForWriting.close()
        }.start()
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        readersDone.wait()
        readersDone.wait()
        return CLIResult(
            status: process.terminationStatus,
            standardOutput: String(decoding: outData.get(), as: UTF8.self),
            standardError: String(decoding: errData.get(), as: UTF8.self)
        )
    }

    /// Runs `vigil arguments…` (standard input empty, standard output discarded) and returns the bytes it had
    /// read through `read(2)` (`rchar` of `/proc/PID/io`) once its standard error, which nobody drains
    /// until then, filled its pipe: a count that does not depend on the machine's speed or on the memory
    /// of the test process (which a spawned child's peak RSS includes). The command must write more than
    /// a pipe's capacity (64 KiB) to standard error after the reads to be counted.
    static func bytesReadBeforeStandardErrorFills(_ arguments: [String]) throws -> (CLIResult, bytesRead: Int) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let reader = errors.fileHandleForReading.fileDescriptor
        var queued: Int32 = 0
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline {
            _ = ioctl(reader, UInt(FIONREAD), &queued)
            if queued >= 60_000 { break }
            usleep(5_000)
        }
        let io = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/io", encoding: .utf8)) ?? ""
        let rchar = io.split(separator: "\n").first { $0.hasPrefix("rchar:") }
            .flatMap { Int($0.dropFirst(6).trimmingCharacters(in: .whitespaces)) }
        let standardError = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let result = CLIResult(status: process.terminationStatus, standardOutput: "", standardError: standardError)
        return (result, rchar ?? -1)
    }

    static func temporaryDirectory(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "vigil-cli-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        )
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func json(_ text: String) throws -> [String: Any] {
        let line = text.split(separator: "\n").last { $0.hasPrefix("{") } ?? ""
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw CocoaError(.coderReadCorrupt)
        }
        return object
    }
}

/// A schema entry for `device/interface/metric`, a gauge unless `kind` says otherwise.
func schemaEntry(
    wireID: UInt32,
    device: String,
    interface: String,
    metric: String,
    kind: MetricKind = .gauge,
    unit: String
) -> SchemaEntry {
    SchemaEntry(
        wireID: wireID,
        descriptor: SeriesDescriptor(
            key: SeriesKey(device: device, interface: interface, metric: metric),
            kind: kind,
            unit: unit
        )
    )
}

/// A small native stream made in the test: `series` gauges, `rounds` samples each at 10 s spacing.
func makeStream(series: Int, rounds: Int, device: String = "t1", start: Int64 = 1_793_577_600_000_000_000) -> [UInt8] {
    let encoder = NativeEncoder(samplesPerDataFrame: 64)
    var out: [UInt8] = []
    let schema = (0..<series).map { index in
        SchemaEntry(
            wireID: UInt32(index),
            descriptor: SeriesDescriptor(
                key: SeriesKey(device: device, interface: "et-0/0/\(index)", metric: "rx_power_dbm"),
                kind: .gauge,
                unit: "dBm"
            )
        )
    }
    try! encoder.appendSchemaFrames(schema, to: &out)
    var timestamps: [Int64] = []
    var ids: [UInt32] = []
    var values: [Double] = []
    for round in 0..<rounds {
        for index in 0..<series {
            timestamps.append(start + Int64(round) * 10_000_000_000)
            ids.append(UInt32(index))
            values.append(-3.0 - Double(index) * 0.01)
        }
    }
    timestamps.withUnsafeBufferPointer { t in
        ids.withUnsafeBufferPointer { i in
            values.withUnsafeBufferPointer { v in
                encoder.appendDataFrames(timestamps: t, wireIDs: i, values: v, to: &out)
            }
        }
    }
    return out
}

/// Bytes handed from a reader thread to the test thread, behind a lock.
final class DataBox: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func set(_ value: Data) {
        lock.lock()
        data = value
        lock.unlock()
    }

    func get() -> Data {
        lock.lock()
        defer { lock.unlock() }
        return data
    }
}
