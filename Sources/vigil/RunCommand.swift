import ArgumentParser
import Logging
import VigilCore
import VigilEngine
import VigilSim
import VigilWire

#if canImport(Glibc)
import Glibc
#endif

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the engine: read telemetry, aggregate windows, score them, write alerts and rollups.",
        discussion: """
            Reads native Vigil frames (docs/wire-format.md), zstd-compressed or not, from standard input, \
            files or TCP senders, and NetFlow v5/v9, IPFIX and sFlow v5 from UDP exporters or packet \
            captures (docs/flows.md), until the input ends or SIGINT/SIGTERM; then closes every open window, \
            flushes alerts and rollups, and prints a run summary on standard error.

            Examples:
              vigil run --input file:SampleData/fleet.vgl.zst --alerts alerts.jsonl --rollups rollups/
              zstd -dc fleet.vgl.zst | vigil run --input - --alerts -
              vigil run --input tcp://127.0.0.1:9999 --alerts alerts.jsonl --window 30s
              vigil run --input udp://0.0.0.0:2055 --rollups rollups/ --sampling-rate 192.0.2.1=1000
              tcpdump -i eth0 -w - 'udp port 2055' | vigil run --input pcap:- --alerts -
            """
    )

    @Option(
        name: .shortAndLong,
        help: ArgumentHelp(
            "Where telemetry comes from (repeatable): '-' (standard input), 'file:PATH' (globs allowed), "
                + "'tcp://HOST:PORT' (native senders), 'udp://HOST:PORT' (NetFlow, IPFIX, sFlow exporters; "
                + "udp://[::]:PORT for IPv6), 'pcap:PATH' (globs allowed) or 'pcap:-' (packet captures of them).",
            valueName: "input"
        )
    )
    var input: [String] = []

    @Option(
        help: ArgumentHelp("Write alerts as JSON Lines to this file, or '-' for standard output.", valueName: "path")
    )
    var alerts: String?

    @Flag(
        name: .customLong("alerts-truncate"),
        help: "Empty the --alerts file at start; by default it is appended to, so a restart keeps the alerts before it."
    )
    var alertsTruncate = false

    @Option(help: ArgumentHelp("Write rollup segments (zstd, columnar) into this directory.", valueName: "directory"))
    var rollups: String?

    @Option(
        name: .customLong("rollup-interval"),
        parsing: .unconditional,
        help: ArgumentHelp(
            "Publish buffered rollup rows as a segment at least this often (wall clock), so a crash loses at most "
                + "this much; longer intervals give fewer, better-compressed segments.",
            valueName: "duration"
        )
    )
    var rollupInterval: String = "5m"

    @Option(parsing: .unconditional, help: "Tumbling window width, e.g. 60s, 5m.")
    var window: String = "60s"

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "How late a sample may arrive (event time behind the newest seen) and still count. At most one window. "
                + "(default: 10s, or the window width if that is shorter)"
        )
    )
    var lateness: String?

    @Option(parsing: .unconditional, help: "Shards (worker threads), 1...128; the default is the number of cores.")
    var shards: Int = EngineConfiguration.processorCount

    @Option(
        name: .customLong("max-series"),
        parsing: .unconditional,
        help: "Cardinality limit: new series beyond it are rejected and counted."
    )
    var maxSeries: Int = 1_000_000

    @Option(
        name: .customLong("max-connections"),
        parsing: .unconditional,
        help: ArgumentHelp(
            "Concurrent TCP senders per listener. When all are taken, a new sender takes the slot of one that "
                + "has completed no frame for 5 s (idle or trickling), or is refused."
        )
    )
    var maxConnections: Int = 64

    @Option(
        name: .customLong("max-connections-per-address"),
        parsing: .unconditional,
        help: "Concurrent TCP senders per listener from one remote address."
    )
    var maxConnectionsPerAddress: Int = 16

    @Option(
        name: .customLong("tcp-frame-timeout"),
        parsing: .unconditional,
        help: ArgumentHelp(
            "Disconnect a TCP sender whose bytes complete no valid frame for this long (0: never): a trickling "
                + "or stalled sender cannot hold a slot or a half-sent frame."
        )
    )
    var tcpFrameTimeout: String = "30s"

    @Option(
        name: .customLong("tcp-buffer-limit"),
        parsing: .unconditional,
        help: ArgumentHelp(
            "Bytes the read buffers of all TCP senders may hold at once (e.g. 256MiB). When full, pages of consumed "
                + "bytes are given back, then the sender holding the most bytes of unfinished frames is disconnected.",
            valueName: "size"
        )
    )
    var tcpBufferLimit: String = "256MiB"

    @Option(
        name: .customLong("udp-buffer"),
        parsing: .unconditional,
        help: ArgumentHelp(
            "Receive buffer asked for each UDP input (e.g. 32MiB): what absorbs a burst while Vigil catches up. "
                + "The kernel grants at most net.core.rmem_max unless Vigil runs privileged; the log says so.",
            valueName: "size"
        )
    )
    var udpBuffer: String = "32MiB"

    @Option(
        name: .customLong("sampling-rate"),
        parsing: .unconditionalSingleValue,
        help: ArgumentHelp(
            "1-in-N packet sampling of an exporter whose flow records do not say (repeatable), e.g. 192.0.2.1=1000: "
                + "its bytes and packets are multiplied by N. Records that carry their sampling keep it.",
            valueName: "address=N"
        )
    )
    var samplingRate: [String] = []

    @Option(
        name: .customLong("anonymize-ips"),
        help: ArgumentHelp(
            "Hide the host part of flow records' addresses before anything is counted, stored or alerted: "
                + "truncate:V4[,V6] keeps the first V4 bits of IPv4 and V6 (default 48) of IPv6 addresses, e.g. truncate:24,48.",
            valueName: "scheme"
        )
    )
    var anonymizeIPs: String?

    @Flag(
        name: .customLong("no-flow-analytics"),
        help: ArgumentHelp(
            "Do not keep per-window top talkers and distinct sources of flow inputs in the rollups (vigil flows top); "
                + "they cost about 40 ns of CPU per flow record (a v9 capture: 6.9M records per CPU-second with them, "
                + "9.8M without)."
        )
    )
    var noFlowAnalytics = false

    @Option(
        name: .customLong("tcp-idle-timeout"),
        parsing: .unconditional,
        help:
            "Disconnect a TCP sender that sent nothing for this long (0: never), so quiet connections cannot hold every slot."
    )
    var tcpIdleTimeout: String = "10m"

    @Option(
        name: .customLong("failure-threshold"),
        help: ArgumentHelp(
            "A gauge's failure threshold for forecasts, as METRIC<VALUE or METRIC>VALUE. Repeatable; giving any replaces all the defaults (rx_power_dbm<-20, tx_power_dbm<-20, temperature_celsius>85): repeat those you want to keep. A metric the simulator and docs do not use is warned about, and kept.",
            valueName: "rule"
        )
    )
    var failureThreshold: [String] = []

    @Option(
        name: .customLong("forecast-horizon"),
        parsing: .unconditional,
        help: "Alert when a forecast crossing is at most this far ahead."
    )
    var forecastHorizon: String = "72h"

    @Flag(name: .customLong("no-anomaly"), help: "Do not run the seasonal anomaly detector.")
    var noAnomaly = false

    @Flag(name: .customLong("no-forecast"), help: "Do not run degradation forecasts.")
    var noForecast = false

    @Option(
        name: .customLong("max-future-skew"),
        parsing: .unconditional,
        help: ArgumentHelp(
            "How far one sample may move its stream's clock ahead; keep it above the sampling interval. A sample "
                + "further ahead is a clock jump, believed once --clock-jump-confirmations samples in a row agree "
                + "(a gap in the data) and rejected otherwise (clock_outliers). TCP senders may not be further "
                + "ahead of the wall clock. Counter readings further apart are a gap: no rate across it.",
            valueName: "duration"
        )
    )
    var maxFutureSkew: String = "1h"

    @Option(
        name: .customLong("clock-jump-confirmations"),
        parsing: .unconditional,
        help: "Samples in a row that must agree before a stream's clock starts, or jumps past --max-future-skew."
    )
    var clockJumpConfirmations: Int = 3

    @Option(
        name: .customLong("source-idle-timeout"),
        parsing: .unconditional,
        help: ArgumentHelp(
            "A stream or TCP sender with no on-time sample for this long (wall clock) stops holding back the "
                + "engine's clock (windows close without it) until it sends again.",
            valueName: "duration"
        )
    )
    var sourceIdleTimeout: String = "2m"

    @Option(
        name: .customLong("state"),
        help: ArgumentHelp(
            "Directory of checkpoints of what a restart should not forget (created if missing; one vigil at a time): "
                + "every series' open windows, model state and firing alerts, and flow templates and samplers. Read "
                + "at start (the alert log is then appended to), written every --checkpoint-interval and at the end "
                + "of the run, which keeps open windows there for the next run instead of closing them (see --drain).",
            valueName: "dir"
        )
    )
    var state: String?

    @Option(
        name: .customLong("checkpoint-interval"),
        parsing: .unconditional,
        help: "How often a changed state is checkpointed to --state (at least 1s)."
    )
    var checkpointInterval: String = "1m"

    @Flag(
        name: .customLong("drain"),
        help: ArgumentHelp(
            "With --state: at the end of the run, close every open window and write its rows (as without --state); "
                + "the next run starts with the models and alerts, not the windows."
        )
    )
    var drain = false

    @Option(
        name: .customLong("stop-after-idle"),
        parsing: .unconditional,
        help: "Stop (and drain) when no input arrived for this long, e.g. 5s."
    )
    var stopAfterIdle: String?

    @Flag(help: "Print a progress line on standard error every 5 seconds.")
    var progress = false

    @Option(
        name: .customLong("summary-json"),
        help: ArgumentHelp(
            "Also write the run summary as JSON to this file ('-' for standard output).",
            valueName: "path"
        )
    )
    var summaryJSON: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "notice"

    /// Every check of the command line, here rather than in `run()`, so that a usage error ends with this
    /// command's usage (ArgumentParser prints the top-level one for errors thrown by `run()`).
    func validate() throws {
        if input.isEmpty {
            throw ValidationError(
                "give at least one --input: '-', 'file:PATH', 'tcp://127.0.0.1:PORT', 'udp://0.0.0.0:2055' or 'pcap:PATH'"
            )
        }
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("--log-level '\(logLevel)' is not a level") }
        // The engine's checks of every setting, ranges included, with messages naming the flag and value.
        _ = try makeConfiguration()
    }

    func makeConfiguration() throws -> EngineConfiguration {
        var configuration = EngineConfiguration()
        configuration.inputs = try input.map {
            do { return try InputSpecification(parsing: $0) } catch { throw ValidationError("\(error)") }
        }
        configuration.windowNanoseconds = try parseDuration(window, flag: "--window")
        configuration.latenessNanoseconds =
            try lateness.map { try parseDuration($0, flag: "--lateness") }
            ?? min(10 * EventTime.nanosecondsPerSecond, configuration.windowNanoseconds)
        configuration.shardCount = shards
        configuration.cardinalityLimit = maxSeries
        configuration.maximumConnections = maxConnections
        configuration.maximumConnectionsPerAddress = maxConnectionsPerAddress
        configuration.tcpFrameTimeoutNanoseconds = try parseDuration(tcpFrameTimeout, flag: "--tcp-frame-timeout")
        configuration.tcpBufferLimitBytes = try parseByteSize(tcpBufferLimit, flag: "--tcp-buffer-limit")
        configuration.tcpIdleTimeoutNanoseconds = try parseDuration(tcpIdleTimeout, flag: "--tcp-idle-timeout")
        configuration.udpBufferBytes = try parseByteSize(udpBuffer, flag: "--udp-buffer")
        configuration.flowAnalytics = !noFlowAnalytics
        if let anonymizeIPs {
            guard let anonymizer = IPAnonymizer(parsing: anonymizeIPs) else {
                throw ValidationError(
                    "--anonymize-ips '\(anonymizeIPs)' must look like truncate:24 or truncate:24,48 (prefix bits kept: IPv4 0-32, IPv6 0-128)"
                )
            }
            configuration.anonymizer = anonymizer
        }
        for rule in samplingRate {
            guard let equals = rule.lastIndex(of: "="), let rate = UInt32(rule[rule.index(after: equals)...]) else {
                throw ValidationError(
                    "--sampling-rate '\(rule)' must look like 192.0.2.1=1000 (an address, then 1 in N)"
                )
            }
            configuration.samplingRates[String(rule[..<equals])] = rate
        }
        configuration.alertsPath = alerts
        configuration.alertsTruncate = alertsTruncate
        configuration.rollupDirectory = rollups
        configuration.rollupIntervalNanoseconds = try parseDuration(rollupInterval, flag: "--rollup-interval")
        configuration.models.anomalyDetection = !noAnomaly
        configuration.models.forecasting = !noForecast
        configuration.models.forecastHorizonNanoseconds = try parseDuration(forecastHorizon, flag: "--forecast-horizon")
        if !failureThreshold.isEmpty {
            configuration.models.failureThresholds = try failureThreshold.map {
                guard let rule = FailureThresholdRule(parsing: $0) else {
                    throw ValidationError(
                        "--failure-threshold '\($0)' must look like rx_power_dbm<-20 or temperature_celsius>85"
                    )
                }
                return rule
            }
        }
        configuration.limits.maximumFutureSkewNanoseconds = try parseDuration(maxFutureSkew, flag: "--max-future-skew")
        configuration.limits.clockJumpConfirmations = clockJumpConfirmations
        configuration.sourceIdleTimeoutNanoseconds = try parseDuration(
            sourceIdleTimeout,
            flag: "--source-idle-timeout"
        )
        configuration.stopAfterIdleNanoseconds = try stopAfterIdle.map {
            try parseDuration($0, flag: "--stop-after-idle")
        }
        configuration.stateDirectory = state
        configuration.drainAtEnd = drain || state == nil
        configuration.checkpointIntervalNanoseconds = try parseDuration(
            checkpointInterval,
            flag: "--checkpoint-interval"
        )
        configuration.reportsProgress = progress
        do { try configuration.validate() } catch { throw ValidationError("\(error)") }
        return configuration
    }

    func run() throws {
        var logger = Logger(label: "vigil")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .notice
        let configuration = try makeConfiguration()
        for (text, rule) in zip(failureThreshold, configuration.models.failureThresholds)
        where !Self.knownMetrics.contains(rule.metric) {
            logger.warning(
                "--failure-threshold '\(text)': \(rule.metric) is not a metric the simulator or the docs use (\(Self.knownMetrics.joined(separator: ", "))); it is kept, for a metric of your own data. Giving any --failure-threshold replaces all the defaults (\(FailureThresholdRule.defaults.map(\.description).joined(separator: ", "))): repeat those you want to keep"
            )
        }
        // A reader of standard output that goes away (`--alerts - | head`) must cost alert lines (counted),
        // not the run: without this SIGPIPE would kill it before rollups are flushed.
        signal(SIGPIPE, SIG_IGN)
        // The summary file is opened before any work, like --alerts and --rollups, not after the run: under a
        // temporary name published at the end (a run that cannot start leaves nothing behind), or in place
        // for a device or FIFO.
        let summaryFile: CompressedFileWriter?
        if let summaryJSON, summaryJSON != "-" {
            do {
                summaryFile = try CompressedFileWriter(path: summaryJSON, compression: .none)
            } catch {
                printError("vigil run: cannot write --summary-json \(summaryJSON): \(error)")
                throw ExitCode(2)
            }
        } else {
            summaryFile = nil
        }
        let engine: Engine
        let summary: RunSummary
        do {
            engine = try Engine(configuration: configuration, logger: logger)
            summary = try engine.run()
        } catch let error as ValidationError {
            throw error
        } catch {
            printError("vigil run: \(error)")
            throw ExitCode(2)
        }
        printError(summary.text)
        // Like `cat`: the other inputs were read and everything they gave is out, but a missing or failing
        // file must not look like success to a script. Likewise output the run accepted but could not write
        // (a full disk, a removed directory, a reader of standard output that went away).
        var failures: [String] = []
        if summaryJSON == "-" { print(summary.json) }
        if let summaryFile {
            do {
                try Array((summary.json + "\n").utf8).withUnsafeBytes { try summaryFile.write($0) }
                try summaryFile.close()
            } catch {
                failures.append("cannot write \(summaryFile.path): \(error)")
            }
        }
        if summary.unreadableInputs > 0 { failures.append("\(summary.unreadableInputs) input(s) could not be read") }
        for (reason, what) in [("rollup_rows_dropped", "rollup row(s)"), ("alert_events_dropped", "alert event(s)")] {
            let count = summary.rejects.first { $0.reason == reason }?.count ?? 0
            if count > 0 { failures.append("\(count) \(what) could not be written") }
        }
        if let failure = standardOutputFailure() { failures.append(failure) }
        if !failures.isEmpty {
            printError("Error: " + failures.joined(separator: "; ") + " (logged above)")
            throw ExitCode(1)
        }
    }

    /// The metric names of `vigil generate`'s fleet, which the docs use too.
    static let knownMetrics = FleetMetric.allCases.map(\.name)
}

func parseDuration(_ text: String, flag: String) throws -> Int64 {
    guard let value = EventTime.parseDuration(text) else {
        let why = text.hasPrefix("-") ? "a duration cannot be negative" : "not a duration"
        throw ValidationError("\(flag) '\(text)': \(why); use e.g. 500ms, 10s, 5m, 1h30m, 2d")
    }
    return value
}

/// Parses a size in bytes: a whole number, optionally followed by `K`, `M`, `G` (powers of 1024, with or without
/// `iB` or `B`), e.g. `256MiB`, `64M`, `1G`, `65536`.
func parseByteSize(_ text: String, flag: String) throws -> Int {
    let digits = text.prefix { $0.isNumber }
    var unit = text.dropFirst(digits.count).uppercased()
    for suffix in ["IB", "B"] where unit.hasSuffix(suffix) && unit.count > suffix.count - 1 {
        unit.removeLast(suffix.count)
        break
    }
    let shifts: [String: Int] = ["": 0, "K": 10, "M": 20, "G": 30]
    guard let number = Int(digits), let shift = shifts[unit], number <= Int.max >> shift else {
        throw ValidationError("\(flag) '\(text)' is not a size: use e.g. 256MiB, 64M, 1G or a number of bytes")
    }
    return number << shift
}

/// A usage error naming the flag and the value when `value` is outside `range`.
func requireRange<Value: Comparable>(_ value: Value, _ range: ClosedRange<Value>, _ flag: String) throws {
    if let message = EngineConfiguration.outOfRange(value, range, flag: flag) { throw ValidationError(message) }
}

func printError(_ text: String) {
    var line = text
    if !line.hasSuffix("\n") { line += "\n" }
    fputs(line, stderr)
}

/// Flushes standard output and says what went wrong if anything written to it was lost (a full disk, a
/// closed pipe): a command whose output did not arrive must not exit 0.
func standardOutputFailure() -> String? {
    let flushed = fflush(stdout) == 0
    let code = errno
    guard !flushed || ferror(stdout) != 0 else { return nil }
    return "writing standard output failed: \(String(cString: strerror(flushed ? EIO : code)))"
}

/// Ends a command that writes its results to standard output: exit 1 when they did not all get there.
func finishStandardOutput() throws {
    if let failure = standardOutputFailure() {
        printError("Error: \(failure)")
        throw ExitCode(1)
    }
}
