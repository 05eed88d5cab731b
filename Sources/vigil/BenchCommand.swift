import ArgumentParser
import Logging
import VigilEngine

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the whole path on a generated stream, with the pipe and decoder ceilings in the same run.",
        discussion: """
            Generates a deterministic stream (W1's shape: counters and gauges, one sample per series per 10 s), \
            then times, on the same bytes: a raw read through a pipe, decoding only, the engine fed from \
            memory, and the engine fed through a pipe. Figures are ratios within one run, so they hold on a \
            noisy machine.

            Examples:
              vigil bench                              # 100k series, 20M samples
              vigil bench --series 1000000 --samples 20000000 --json
              vigil bench --save-stream /tmp/w1.vgl   # then: vigil run --input file:/tmp/w1.vgl
            """
    )

    @Option(help: "Series in the generated stream.")
    var series: Int = 100_000

    @Option(help: "Samples in the generated stream.")
    var samples: Int = 20_000_000

    @Option(help: "Shards (worker threads).")
    var shards: Int = EngineConfiguration.processorCount

    @Option(help: "Window width.")
    var window: String = "60s"

    @Option(help: "Also write rollups into this directory (measures compression and I/O too).")
    var rollups: String?

    @Flag(name: .customLong("no-models"), help: "Windows only: no detectors or forecasts.")
    var noModels = false

    @Option(help: "Run the measurements this many times and keep the best.")
    var repeats: Int = 1

    @Option(name: .customLong("save-stream"), help: "Also write the generated stream (native frames) to this file.")
    var saveStream: String?

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    func validate() throws {
        guard series > 0, series <= 10_000_000 else { throw ValidationError("--series must be in 1...10000000") }
        guard samples >= series, samples <= 1_000_000_000 else {
            throw ValidationError("--samples must be at least --series and at most 1000000000")
        }
        guard repeats >= 1, repeats <= 20 else { throw ValidationError("--repeats must be in 1...20") }
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
