import ArgumentParser
import Logging
import VigilEngine

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the whole path on a generated stream, with the pipe and decoder ceilings in the same run.",
        discussion: """
            Generates a deterministic stream (devices × 48 interfaces × 8 metrics, counters and gauges, one \
            sample per series per 10 s), then times, on the same bytes: a raw read through a pipe, decoding \
            only, the engine fed from memory, and the engine fed through a pipe. Figures are ratios within one \
            run, so they hold on a noisy machine.

            Examples:
              vigil bench                              # 100k series, 20M samples
              vigil bench --series 1000000 --samples 20000000 --json
              vigil bench --save-stream /tmp/bench.vgl   # then: vigil run --input file:/tmp/bench.vgl
            """
    )

    @Option(parsing: .unconditional, help: "Series in the generated stream, 1...10000000.")
    var series: Int = 100_000

    @Option(parsing: .unconditional, help: "Samples in the generated stream, at least --series, at most 1000000000.")
    var samples: Int = 20_000_000

    @Option(parsing: .unconditional, help: "Shards (worker threads), 1...128.")
    var shards: Int = EngineConfiguration.processorCount

    @Option(parsing: .unconditional, help: "Window width.")
    var window: String = "60s"

    @Option(help: "Also write rollups into this directory (measures compression and I/O too).")
    var rollups: String?

    @Flag(name: .customLong("no-models"), help: "Windows only: no detectors or forecasts.")
    var noModels = false

    @Option(parsing: .unconditional, help: "Run the measurements this many times (1...20) and keep the best.")
    var repeats: Int = 1

    @Option(name: .customLong("save-stream"), help: "Also write the generated stream (native frames) to this file.")
    var saveStream: String?

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    func validate() throws {
        try requireRange(series, 1...10_000_000, "--series")
        guard samples >= series, samples <= 1_000_000_000 else {
            throw ValidationError("--samples \(samples): expected at least --series (\(series)) and at most 1000000000")
        }
        try requireRange(shards, 1...128, "--shards")
        _ = try parseDuration(window, flag: "--window")
        try requireRange(repeats, 1...20, "--repeats")
        // The file writer takes `-` for standard output, where the table goes: keep the two apart.
        guard saveStream != "-" else {
            throw ValidationError("--save-stream needs a file path (standard output carries the results)")
        }
    }

    func run() throws {
        SignalCleanup.install()
        var logger = Logger(label: "vigil.bench")
        logger.logLevel = .warning
        var options = BenchmarkRunner.Options()
        options.series = series
        options.samples = samples
        options.shards = shards
        options.windowNanoseconds = try parseDuration(window, flag: "--window")
        options.modelsEnabled = !noModels
        options.rollupDirectory = rollups
        options.repeats = repeats
        options.streamPath = saveStream
        let result = try BenchmarkRunner(options: options, logger: logger).run { printError("bench: \($0)") }
        print(json ? result.json : result.text)
    }
}
