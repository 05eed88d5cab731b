import VigilCore
import VigilWire

/// Everything `vigil run` can set, with the defaults a user gets without flags.
public struct EngineConfiguration: Sendable {
    public var inputs: [InputSpecification] = []
    /// Tumbling window width (`--window`, default 60 s).
    public var windowNanoseconds: Int64 = 60_000_000_000
    /// Allowed lateness (`--lateness`, default 10 s, at most one window).
    public var latenessNanoseconds: Int64 = 10_000_000_000
    /// Shards, each with one worker (`--shards`, default: the core count).
    public var shardCount: Int = Self.processorCount
    /// Series the registry accepts before rejecting new ones (`--max-series`).
    public var cardinalityLimit: Int = 1_000_000
    /// Alert log: a path or `-` for standard output; nil for none (`--alerts`).
    public var alertsPath: String?
    /// Whether the alert log is emptied at start (`--alerts-truncate`); by default it is appended to.
    public var alertsTruncate = false
    /// Rollup segment directory; nil for none (`--rollups`).
    public var rollupDirectory: String?
    /// Longest a closed window waits (wall clock) before its rollup row is in a published segment
    /// (`--rollup-interval`, default 5 min): what a crash can lose of a slow, long-running input. Segments
    /// are also written every 1,048,576 rows and at the end of the run.
    public var rollupIntervalNanoseconds: Int64 = 300_000_000_000
    /// Samples per batch crossing a stage boundary.
    public var batchCapacity: Int = 8192
    /// Batches in flight per (producer, shard) lane: with `batchCapacity`, the bound on queued samples.
    public var batchesPerLane: Int = 8
    /// Bytes per `read(2)` on files and pipes.
    public var readChunkBytes: Int = 4 << 20
    /// Largest native frame payload accepted.
    public var maximumPayloadBytes: Int = 4 << 20
    /// Concurrent TCP senders per listener (`--max-connections`).
    public var maximumConnections: Int = 64
    /// Concurrent TCP senders per listener from one remote address (`--max-connections-per-address`).
    public var maximumConnectionsPerAddress: Int = 16
    /// A TCP sender that sends nothing for this long is disconnected, so that quiet or abandoned
    /// connections cannot hold every slot (`--tcp-idle-timeout`); 0 never disconnects.
    public var tcpIdleTimeoutNanoseconds: Int64 = 600 * EventTime.nanosecondsPerSecond
    /// A TCP sender whose bytes complete no valid frame for this long is disconnected: a trickling or
    /// stalled sender cannot hold a slot or a half-sent frame (`--tcp-frame-timeout`); 0 never.
    public var tcpFrameTimeoutNanoseconds: Int64 = 30 * EventTime.nanosecondsPerSecond
    /// Bytes the read buffers of all TCP connections of a listener may hold at once (`--tcp-buffer-limit`).
    public var tcpBufferLimitBytes: Int = 256 << 20
    /// A source (a stream, a TCP sender) with no on-time sample for this long (wall clock) stops holding the
    /// engine's watermark back, so a quiet or stalled sender does not stop windows closing for everyone
    /// (`--source-idle-timeout`, default 2 min). It holds it again from its next frame.
    public var sourceIdleTimeoutNanoseconds: Int64 = 120 * EventTime.nanosecondsPerSecond
    /// Receive buffer asked for each UDP input's socket (`--udp-buffer`, default 32 MiB): what absorbs a burst
    /// while Vigil catches up. The kernel may grant less (`net.core.rmem_max`); the log says so.
    public var udpBufferBytes: Int = 32 << 20
    /// 1 in N sampling by exporter address, for flow records that do not say (`--sampling-rate ADDRESS=N`).
    public var samplingRates: [String: UInt32] = [:]
    /// Per-window top talkers and distinct sources of flow inputs, written with the rollups
    /// (`--no-flow-analytics` turns them off: they cost about 40 ns of CPU per record, 30 % of the decoding
    /// rate of a v9 capture; see docs/flows.md).
    public var flowAnalytics = true
    /// Hides the host part of flow records' addresses before they are counted or kept (`--anonymize-ips`).
    public var anonymizer: IPAnonymizer?
    /// `--state DIR`: versioned, checksummed checkpoints of what a restart should not forget (series state
    /// by key, flow templates and samplers; docs/state-format.md), read at start and written every
    /// ``checkpointIntervalNanoseconds`` and at the end of the run.
    public var stateDirectory: String?
    /// Whether the end of the run closes every open window. Without ``stateDirectory`` it always does;
    /// with it only with `--drain` (otherwise the last checkpoint carries the open windows to the next run).
    public var drainAtEnd = true
    /// `--checkpoint-interval` (default 1 min): how often a changed state is checkpointed.
    public var checkpointIntervalNanoseconds: Int64 = 60 * EventTime.nanosecondsPerSecond
    /// Bounds of the flow decoders (exporters, templates, held data).
    public var flowLimits = FlowDecoderLimits()
    /// Alert events queued per shard before new ones are dropped and counted.
    public var alertQueueCapacity: Int = 4096
    public var limits = IngestLimits()
    public var models = ModelConfiguration()
    /// Stop when no input byte arrived for this long (wall clock), e.g. for a TCP run fed by a batch job.
    public var stopAfterIdleNanoseconds: Int64?
    /// Print a progress line on standard error every few seconds.
    public var reportsProgress = false
    /// Longest an idle shard sleeps when no duty is due; its feeders wake it, so this bounds only what a
    /// wake nobody sent would cost (nil: no bound, for tests that must see such a wake lost, as a hang).
    public var idleParkLimitNanoseconds: Int64? = EventTime.nanosecondsPerSecond

    public init() {}

    public static var processorCount: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    public struct InvalidConfiguration: Error, CustomStringConvertible {
        public var description: String
    }

    /// `--flag value: expected low...high` when `value` is outside `range`, nil inside: the one wording of a
    /// range error, for the engine's settings and the command line's.
    public static func outOfRange<Value: Comparable>(
        _ value: Value,
        _ range: ClosedRange<Value>,
        flag: String
    ) -> String? {
        range.contains(value) ? nil : "\(flag) \(value): expected \(range.lowerBound)...\(range.upperBound)"
    }

    /// Checks the combination of settings, with a message that says which flag to change.
    public func validate() throws {
        func fail(_ message: String) throws { throw InvalidConfiguration(description: message) }
        if inputs.isEmpty { try fail("no input: give --input - (standard input), file:PATH or tcp://127.0.0.1:PORT") }
        if windowNanoseconds < 1_000_000_000 { try fail("--window must be at least 1s") }
        if latenessNanoseconds < 0 || latenessNanoseconds > windowNanoseconds {
            try fail("--lateness must be between 0 and the window width")
        }
        let dayNanoseconds: Int64 = 86_400 * 1_000_000_000
        if models.anomalyDetection && dayNanoseconds % windowNanoseconds != 0 {
            try fail(
                "--window \(EventTime.describeDuration(nanoseconds: windowNanoseconds)) does not divide a day, which the "
                    + "seasonal anomaly detector needs (e.g. 10s, 30s, 1m, 5m, 15m, 1h); or run with --no-anomaly"
            )
        }
        if models.forecasting && models.forecastHorizonNanoseconds <= 0 {
            try fail("--forecast-horizon must be positive")
        }
        // Every shard, producer and writer loop is a long-running Dispatch work item, and Linux libdispatch
        // runs at most 255 worker threads: with --shards 255 a shard never started and the run hung. These
        // caps keep shards + inputs + the two writers well inside that pool.
        func requireRange(_ value: Int, _ range: ClosedRange<Int>, _ flag: String) throws {
            if let message = Self.outOfRange(value, range, flag: flag) { try fail(message) }
        }
        try requireRange(shardCount, 1...128, "--shards")
        if inputs.count > 64 { try fail("at most 64 --input sources (a glob in one file: source counts once)") }
        if rollupIntervalNanoseconds < 1_000_000_000 { try fail("--rollup-interval must be at least 1s") }
        try requireRange(cardinalityLimit, 1...100_000_000, "--max-series")
        if limits.maximumFutureSkewNanoseconds < 1_000_000_000 { try fail("--max-future-skew must be at least 1s") }
        try requireRange(limits.clockJumpConfirmations, 1...1000, "--clock-jump-confirmations")
        if sourceIdleTimeoutNanoseconds < 1_000_000_000 {
            try fail("--source-idle-timeout must be at least 1s")
        }
        if tcpIdleTimeoutNanoseconds < 0 {
            try fail("--tcp-idle-timeout must not be negative")
        }
        try requireRange(maximumConnections, 1...10_000, "--max-connections")
        try requireRange(maximumConnectionsPerAddress, 1...10_000, "--max-connections-per-address")
        if tcpFrameTimeoutNanoseconds < 0 { try fail("--tcp-frame-timeout must not be negative") }
        // A largest frame and a read must fit, or a frame of the largest size could never complete.
        let smallestBufferLimit = maximumPayloadBytes + 24 + (64 << 10)
        if tcpBufferLimitBytes < smallestBufferLimit {
            try fail(
                "--tcp-buffer-limit must be at least \((smallestBufferLimit + (1 << 20) - 1) >> 20)MiB (a largest frame and a read)"
            )
        }
        let standardInputs = inputs.filter {
            switch $0 {
            case .standardInput, .captureStandardInput: return true
            default: return false
            }
        }
        if standardInputs.count > 1 { try fail("standard input can be given only once") }
        try requireRange(udpBufferBytes, 4096...(1 << 30), "--udp-buffer")
        if checkpointIntervalNanoseconds < EventTime.nanosecondsPerSecond {
            try fail("--checkpoint-interval must be at least 1s")
        }
        for (exporter, rate) in samplingRates {
            guard IPAddress(parsing: exporter) != nil else {
                try fail("--sampling-rate \(exporter)=\(rate): '\(exporter)' is not an IPv4 or IPv6 address")
                return
            }
            if rate == 0 { try fail("--sampling-rate \(exporter)=0: the rate is 1 in N, N at least 1") }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
