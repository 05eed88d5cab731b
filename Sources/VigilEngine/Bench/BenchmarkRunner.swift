import CVigilNative
import Dispatch
import Logging
import VigilCore
import VigilWire

#if canImport(Glibc)
import Glibc
#endif

/// `vigil bench`: the whole path on a generated stream, with its ceilings measured in the same run on
/// the same bytes, so the figures are comparable on a noisy shared machine:
/// - raw read: the bytes through a pipe into a reader that discards them (what the pipe can carry);
/// - decode only: native frames decoded into batches, nothing else;
/// - engine from memory and engine through a pipe: decode, route, windows, models, alerts (and rollups
///   when a directory is given).
public struct BenchmarkRunner {
    public struct Options: Sendable {
        public var series = 100_000
        public var samples = 20_000_000
        public var shards = EngineConfiguration.processorCount
        public var windowNanoseconds: Int64 = 60_000_000_000
        public var modelsEnabled = true
        public var rollupDirectory: String?
        public var repeats = 1
        /// Also write the generated stream to this file, so that `vigil run`, a peer tool or a profiler can
        /// replay exactly the bytes measured.
        public var streamPath: String?
        public init() {}
    }

    public struct Result: Sendable {
        public var series: Int
        public var samples: Int
        public var bytes: Int
        public var rawReadSeconds: Double
        public var decodeOnlySeconds: Double
        public var memorySeconds: Double
        public var pipeSeconds: Double
        /// CPU time (user + system, all threads of this process, the pipe writer's included) of the two engine
        /// phases: with `seconds` it says how many cores the phase kept busy, so a run on a crowded machine shows.
        public var memoryCPUSeconds: Double
        public var pipeCPUSeconds: Double
        public var memoryPeakResidentBytes: Int
        public var pipePeakResidentBytes: Int
        public var baselineResidentBytes: Int
        public var lateSamples: Int
        public var windows: Int

        public var rawReadSamplesPerSecond: Double { Double(samples) / rawReadSeconds }
        public var decodeOnlySamplesPerSecond: Double { Double(samples) / decodeOnlySeconds }
        public var memorySamplesPerSecond: Double { Double(samples) / memorySeconds }
        public var pipeSamplesPerSecond: Double { Double(samples) / pipeSeconds }
        /// The headline: end to end through a pipe.
        public var samplesPerSecond: Double { pipeSamplesPerSecond }
        public var pipeRatioToRawRead: Double { pipeSamplesPerSecond / rawReadSamplesPerSecond }
        /// Engine memory per series: peak RSS of the engine phase above the RSS before it.
        public var bytesPerSeries: Double {
            Double(max(0, pipePeakResidentBytes - baselineResidentBytes)) / Double(series)
        }

        public var text: String {
            func line(_ name: String, _ seconds: Double, _ note: String = "") -> String {
                let rate = Double(samples) / seconds
                let bytesRate = Double(bytes) / seconds
                return
                    "  \(name.padding(22)) \(formatRate(rate).padding(8)) samples/s  \(formatRate(bytesRate).padding(8))B/s  \(String(format1: seconds)) s\(note)"
            }
            func cpu(_ cpuSeconds: Double, _ seconds: Double) -> String {
                let nanosecondsPerSample = cpuSeconds * 1e9 / Double(samples)
                return
                    "   CPU \(String(format1: cpuSeconds / seconds)) cores, \(Int(nanosecondsPerSample.rounded())) ns per sample"
            }
            return [
                "vigil bench: \(series) series, \(samples) samples, \(bytes >> 20) MiB of native frames",
                line("raw read (pipe)", rawReadSeconds, "   ceiling"),
                line("decode only", decodeOnlySeconds, "   ceiling"),
                line("engine, from memory", memorySeconds, cpu(memoryCPUSeconds, memorySeconds)),
                line(
                    "engine, through pipe",
                    pipeSeconds,
                    "   = \(Int((pipeRatioToRawRead * 100).rounded())) % of raw read" + cpu(pipeCPUSeconds, pipeSeconds)
                ),
                "  peak RSS \(pipePeakResidentBytes >> 20) MiB (engine phase; \(Int(bytesPerSeries.rounded())) B per series above the \(baselineResidentBytes >> 20) MiB before it)",
                "  windows closed \(windows), late samples \(lateSamples)",
            ].joined(separator: "\n")
        }

        public var json: String {
            let fields: [(String, String)] = [
                ("series", "\(series)"), ("samples", "\(samples)"), ("bytes", "\(bytes)"),
                ("samples_per_second", jsonNumber(samplesPerSecond.rounded())),
                ("bytes_per_second", jsonNumber((Double(bytes) / pipeSeconds).rounded())),
                ("memory_samples_per_second", jsonNumber(memorySamplesPerSecond.rounded())),
                ("raw_read_samples_per_second", jsonNumber(rawReadSamplesPerSecond.rounded())),
                ("decode_only_samples_per_second", jsonNumber(decodeOnlySamplesPerSecond.rounded())),
                ("ratio_to_raw_read", jsonNumber((pipeRatioToRawRead * 1000).rounded() / 1000)),
                ("pipe_cpu_seconds", jsonNumber((pipeCPUSeconds * 1000).rounded() / 1000)),
                ("memory_cpu_seconds", jsonNumber((memoryCPUSeconds * 1000).rounded() / 1000)),
                ("peak_rss_bytes", "\(pipePeakResidentBytes)"),
                ("memory_phase_peak_rss_bytes", "\(memoryPeakResidentBytes)"),
                ("bytes_per_series", jsonNumber(bytesPerSeries.rounded())),
                ("windows", "\(windows)"), ("late_samples", "\(lateSamples)"),
            ]
            return "{" + fields.map { "\(jsonString($0.0)):\($0.1)" }.joined(separator: ",") + "}"
        }
    }

    public let options: Options
    public let logger: Logger

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    public func run(progress: (String) -> Void) throws -> Result {
        progress("generating \(options.samples) samples over \(options.series) series…")
        let workload = BenchmarkWorkload(series: options.series, samples: options.samples)
        let bytes = UnsafeRawBufferPointer(workload.bytes)
        if let streamPath = options.streamPath {
            progress("writing the stream to \(streamPath)…")
            try Self.writeStream(bytes, to: streamPath)
        }
        var best: Result?
        for _ in 0..<max(1, options.repeats) {
            progress("raw read through a pipe…")
            let raw = try timePipe(bytes) { fd in
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 64)
                defer { buffer.deallocate() }
                while read(fd, buffer.baseAddress, buffer.count) > 0 {}
            }
            progress("decode only…")
            let decode = timeDecodeOnly(bytes)
            progress("engine from memory…")
            resetPeakResident()
            let memoryCPUStarted = ResourceUsage.cpuNanoseconds()
            let memoryRun = try timeEngine(
                input: .stream(
                    StreamFactory(name: "memory") { MemoryByteStream(name: "memory", bytes: bytes, owner: workload) }
                )
            )
            let memoryCPUSeconds = Double(ResourceUsage.cpuNanoseconds() - memoryCPUStarted) / 1e9
            let memoryPeak = ResourceUsage.peakResidentBytes()
            progress("engine through a pipe…")
            // The engine before this one freed its memory, but malloc keeps freed small blocks in its
            // arenas: hand them back first, or the baseline would include them and the engine's own
            // memory would seem smaller than it is.
            vigil_release_free_memory()
            resetPeakResident()
            let baseline = ResourceUsage.residentBytes()
            var pipeRun: (seconds: Double, summary: RunSummary)?
            let pipeCPUStarted = ResourceUsage.cpuNanoseconds()
            let pipeSeconds = try timePipe(bytes) { fd in
                pipeRun = try? timeEngine(input: .fileDescriptor(fd))
            }
            let pipeCPUSeconds = Double(ResourceUsage.cpuNanoseconds() - pipeCPUStarted) / 1e9
            guard let pipeRun else { throw EngineConfiguration.InvalidConfiguration(description: "engine run failed") }
            let result = Result(
                series: options.series,
                samples: options.samples,
                bytes: bytes.count,
                rawReadSeconds: raw,
                decodeOnlySeconds: decode,
                memorySeconds: memoryRun.seconds,
                pipeSeconds: max(pipeSeconds, pipeRun.seconds),
                memoryCPUSeconds: memoryCPUSeconds,
                pipeCPUSeconds: pipeCPUSeconds,
                memoryPeakResidentBytes: memoryPeak,
                pipePeakResidentBytes: ResourceUsage.peakResidentBytes(),
                baselineResidentBytes: baseline,
                lateSamples: pipeRun.summary.lateSamples,
                windows: pipeRun.summary.windowsClosed
            )
            if best == nil || result.pipeSeconds < best!.pipeSeconds { best = result }
        }
        return best!
    }

    private func timeEngine(input: InputSpecification) throws -> (seconds: Double, summary: RunSummary) {
        var configuration = EngineConfiguration()
        configuration.inputs = [input]
        configuration.shardCount = options.shards
        configuration.windowNanoseconds = options.windowNanoseconds
        configuration.latenessNanoseconds = 0
        configuration.models.anomalyDetection = options.modelsEnabled
        configuration.models.forecasting = options.modelsEnabled
        configuration.rollupDirectory = options.rollupDirectory
        configuration.cardinalityLimit = max(options.series, 1)
        let engine = try Engine(configuration: configuration, logger: logger)
        let started = ResourceUsage.monotonicNanoseconds()
        let summary = try engine.run()
        let seconds = Double(ResourceUsage.monotonicNanoseconds() - started) / 1e9
        guard summary.samplesDecoded == options.samples else {
            throw EngineConfiguration.InvalidConfiguration(
                description: "bench: the engine decoded \(summary.samplesDecoded) of \(options.samples) samples"
            )
        }
        return (seconds, summary)
    }

    /// Writes `bytes`, uncompressed, to `path` through the project's file writer (temporary file, fsync,
    /// rename; errors name the file).
    static func writeStream(_ bytes: UnsafeRawBufferPointer, to path: String) throws {
        let writer = try CompressedFileWriter(path: path, compression: .none)
        try writer.write(bytes)
        try writer.close()
    }

    /// Writes `bytes` into a 1 MiB pipe from a second thread while `consume` reads the other end.
    private func timePipe(_ bytes: UnsafeRawBufferPointer, consume: (Int32) throws -> Void) throws -> Double {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            throw SourceError(source: "bench", operation: "pipe", errno: errno)
        }
        _ = fcntl(fds[1], 1031 /* F_SETPIPE_SZ */, 1 << 20)
        let writeEnd = fds[1]
        let started = ResourceUsage.monotonicNanoseconds()
        // The buffer outlives the writer (we wait for it below); its address crosses threads as an integer.
        let address = UInt(bitPattern: bytes.baseAddress)
        let byteCount = bytes.count
        let writerDone = DispatchSemaphore(value: 0)
        DispatchQueue(label: "vigil.bench.pipe-writer").async {
            let base = UnsafeRawPointer(bitPattern: address)!
            var offset = 0
            while offset < byteCount {
                let written = write(writeEnd, base + offset, min(1 << 20, byteCount - offset))
                if written <= 0 { if errno == EINTR { continue } else { break } }
                offset += written
            }
            close(writeEnd)
            writerDone.signal()
        }
        try consume(fds[0])
        writerDone.wait()
        close(fds[0])
        return Double(ResourceUsage.monotonicNanoseconds() - started) / 1e9
    }

    private struct CountingDelegate: NativeDecoderDelegate {
        let scratch: SampleBatch
        var samples = 0
        mutating func nativeDecoder(didDeclare entry: SchemaEntry) {}
        mutating func nativeDecoder(didDecode frame: DataFrameView) {
            var start = 0
            while start < frame.count {
                let count = min(scratch.capacity, frame.count - start)
                frame.copy(
                    range: start..<start + count,
                    timestamps: scratch.timestamps,
                    wireIDs: scratch.seriesIDs,
                    values: scratch.values
                )
                start += count
            }
            samples += frame.count
        }
        mutating func nativeDecoder(didFail error: NativeDecodeError) {}
    }

    private func timeDecodeOnly(_ bytes: UnsafeRawBufferPointer) -> Double {
        var decoder = NativeStreamDecoder()
        var delegate = CountingDelegate(scratch: SampleBatch(capacity: 8192))
        let started = ResourceUsage.monotonicNanoseconds()
        var offset = 0
        let chunk = 4 << 20
        var carry = 0
        // Present the stream in read-sized pieces, as the engine sees it.
        while offset < bytes.count || carry > 0 {
            let end = min(bytes.count, offset + chunk)
            let start = offset - carry
            let consumed = decoder.decode(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), delegate: &delegate)
            carry = end - start - consumed
            offset = end
            if offset == bytes.count && consumed == 0 { break }
        }
        precondition(delegate.samples == options.samples, "decode-only saw \(delegate.samples) samples")
        return Double(ResourceUsage.monotonicNanoseconds() - started) / 1e9
    }

    /// Resets the kernel's peak-RSS mark (VmHWM) to the current RSS, so each phase reports its own peak.
    private func resetPeakResident() {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return }
        _ = write(fd, "5", 1)
        close(fd)
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
