import Atomics
import Dispatch
import Logging
import VigilAnalytics
import VigilCore
import VigilStore
import VigilWire

#if canImport(Glibc)
import Glibc
#endif

/// The running pipeline, assembled from an ``EngineConfiguration``:
///
/// ```
/// producers (one per --input) ──SPSC lanes──▶ shard workers ──▶ alert log writer
///                                                           └──▶ rollup writer
/// ```
/// Each box is one loop on its own Dispatch queue. `run()` blocks until the inputs end or a stop is
/// requested (SIGINT, SIGTERM, `requestStop()`, the idle timer), then drains: producers hand on their
/// partial batches, shards close every open window, alerts and rollups are flushed, and the summary is
/// returned.
public final class Engine: @unchecked Sendable {
    public let configuration: EngineConfiguration
    public let counters = EngineCounters()
    public let registry: SeriesRegistry
    private let logger: Logger
    private let stopRequested = ManagedAtomic<Bool>(false)
    private let lastInputNanoseconds = ManagedAtomic<Int64>(0)
    private let busyProducers = ManagedAtomic<Int>(0)
    /// Set by the supervisor when `--stop-after-idle` stopped the run (a stop, but not a signal's).
    private var stoppedForIdleInput = false

    public init(configuration: EngineConfiguration, logger: Logger) throws {
        try configuration.validate()
        self.configuration = configuration
        self.registry = SeriesRegistry(cardinalityLimit: configuration.cardinalityLimit)
        self.logger = logger
    }

    /// Asks the engine to stop reading and drain; safe from any thread (and the signal handler's queue).
    public func requestStop() { stopRequested.store(true, ordering: .relaxed) }

    /// Runs the pipeline to completion. Throws only for set-up failures (an unwritable alert log or rollup
    /// directory, a port that cannot be bound); everything after start-up is counted and reported instead.
    public func run() throws -> RunSummary {
        let configuration = self.configuration
        let started = ResourceUsage.monotonicNanoseconds()
        let startedCPU = ResourceUsage.cpuNanoseconds()
        lastInputNanoseconds.store(started, ordering: .relaxed)
        var windowConfiguration = try WindowConfiguration(
            windowNanoseconds: configuration.windowNanoseconds,
            latenessNanoseconds: configuration.latenessNanoseconds,
            maximumPendingWindows: configuration.batchCapacity
        )
        // A gap in a counter's readings is what a clock jump is: longer than one sample may move a clock.
        windowConfiguration.counterGapNanoseconds = configuration.limits.maximumFutureSkewNanoseconds
        let shardCount = configuration.shardCount
        let producerCount = configuration.inputs.count
        // One parker per thread that sleeps for want of work, woken by the stages that feed it (the Threads
        // table of docs/architecture.md): a producer waits for emptied batches, a shard for batches or a
        // watermark, the writers for rows and events.
        let producerParkers = (0..<producerCount).map { _ in Parker() }
        let shardParkers = (0..<shardCount).map { _ in Parker() }
        let alertParker = Parker()
        let rollupParker = Parker()
        let clock = EventClock(
            latenessNanoseconds: configuration.latenessNanoseconds,
            producerCount: producerCount,
            wakesOnRaise: shardParkers
        )

        // --state: read before any input, so every flow input starts with the templates it had and every
        // shard with the windows, models and alerts it had.
        let checkpointer = try configuration.stateDirectory.map {
            try StateCheckpointer(path: $0, counters: counters, logger: logger)
        }

        // Sinks first: a destination that cannot be written stops the run before any input is read. The alert
        // log is appended to (unless --alerts-truncate): a restart keeps the alerts before it, and a run
        // resuming from a checkpoint resolves there the alerts it restored as firing.
        let alertLog = try configuration.alertsPath.map {
            try AlertLogWriter(path: $0, append: !configuration.alertsTruncate, counters: counters, logger: logger)
        }
        let rollupWriter = try configuration.rollupDirectory.map { directory in
            try prepareOutputDirectory(directory)
            return RollupSegmentWriter(directory: directory, windowNanoseconds: configuration.windowNanoseconds)
        }

        // One lane per (producer, shard).
        let lanes = (0..<producerCount).map { producer in
            (0..<shardCount).map { shard in
                ShardLane(
                    producerIndex: producer,
                    shardIndex: shard,
                    batchesPerLane: configuration.batchesPerLane,
                    batchCapacity: configuration.batchCapacity,
                    producerParker: producerParkers[producer],
                    shardParker: shardParkers[shard]
                )
            }
        }
        var producerRuns: [() -> Void] = []
        let claims = SeriesClaims()
        var samplingRates: [IPAddress: UInt32] = [:]
        for (exporter, rate) in configuration.samplingRates {
            if let address = IPAddress(parsing: exporter) { samplingRates[address] = rate }
        }
        let readingInterval = FlowIngest.readingInterval(windowNanoseconds: configuration.windowNanoseconds)
        // Per-window flow analytics go where the rollups go: no --rollups (or --no-flow-analytics), no sketches.
        let flowSummaries =
            configuration.flowAnalytics
            ? rollupWriter.map { _ in
                FlowSummaryQueue(dropped: counters.flowSummariesDropped, consumerParker: rollupParker)
            } : nil
        func makeFlowIngest(context: ProducerContext, inputName: String) -> FlowIngest {
            let ingest = FlowIngest(
                context: context,
                inputName: inputName,
                limits: configuration.flowLimits,
                samplingRates: samplingRates,
                readingIntervalNanoseconds: readingInterval,
                analytics: flowSummaries.map {
                    FlowAnalyticsPool(queue: $0, windowNanoseconds: configuration.windowNanoseconds)
                },
                checkpointer: checkpointer
            )
            ingest.anonymizer = configuration.anonymizer
            return ingest
        }
        for (index, input) in configuration.inputs.enumerated() {
            let isLive: Bool
            switch input {
            case .tcp, .udp: isLive = true
            default: isLive = false
            }
            let producerClock = ProducerClock(
                producerIndex: index,
                engineClock: clock,
                idleTimeoutNanoseconds: configuration.sourceIdleTimeoutNanoseconds,
                capsAtWallClock: isLive
            )
            let context = ProducerContext(
                name: input.description,
                registry: registry,
                senderSequences: SenderSequences(counters: counters),
                claims: claims,
                router: ShardRouter(
                    lanes: lanes[index],
                    producerClock: producerClock,
                    counters: counters,
                    windows: windowConfiguration
                ),
                counters: counters,
                limits: configuration.limits,
                logger: logger,
                maximumPayloadBytes: configuration.maximumPayloadBytes,
                readChunkBytes: configuration.readChunkBytes,
                stopRequested: stopRequested,
                lastInputNanoseconds: lastInputNanoseconds,
                busyProducers: busyProducers
            )
            // A descriptor that may block (a pipe, a terminal): polled, so a stop request is seen while waiting.
            func pollingStream(fd: Int32, name: String) -> [() throws -> ByteStream] {
                let stop = stopRequested
                return [
                    {
                        PollingFileDescriptorStream(fd: fd, name: name, stopRequested: stop) {
                            context.expireIdleSources()
                        }
                    }
                ]
            }
            func pollingProducer(fd: Int32, name: String) -> SequentialStreamProducer {
                SequentialStreamProducer(context: context, openStreams: pollingStream(fd: fd, name: name))
            }
            // A glob that matches nothing is an input that cannot be opened, like a missing file: the
            // producer counts and logs it (exit 1 after the other inputs), it does not stop the run.
            func fileStreams(_ pattern: String) -> [() throws -> ByteStream] {
                do {
                    return try expandFilePattern(pattern).map { path in
                        { try FileDescriptorStream.open(path: path) }
                    }
                } catch {
                    return [{ throw error }]
                }
            }
            switch input {
            case .standardInput:
                producerRuns.append(pollingProducer(fd: STDIN_FILENO, name: "stdin").run)
            case .files(let pattern):
                let producer = SequentialStreamProducer(context: context, openStreams: fileStreams(pattern))
                producerRuns.append(producer.run)
            case .fileDescriptor(let fd):
                producerRuns.append(pollingProducer(fd: fd, name: "fd:\(fd)").run)
            case .stream(let factory):
                let producer = SequentialStreamProducer(context: context, openStreams: [factory.make])
                producerRuns.append(producer.run)
            case .udp(let host, let port):
                let producer = UDPProducer(
                    context: context,
                    host: host,
                    port: port,
                    bufferBytes: configuration.udpBufferBytes,
                    ingest: makeFlowIngest(context: context, inputName: input.description)
                )
                try producer.bind()
                producerRuns.append(producer.run)
            case .captures(let pattern):
                let producer = CaptureProducer(
                    context: context,
                    openStreams: fileStreams(pattern),
                    ingest: makeFlowIngest(context: context, inputName: input.description)
                )
                producerRuns.append(producer.run)
            case .captureStandardInput:
                let producer = CaptureProducer(
                    context: context,
                    openStreams: pollingStream(fd: STDIN_FILENO, name: "stdin"),
                    ingest: makeFlowIngest(context: context, inputName: input.description)
                )
                producerRuns.append(producer.run)
            case .tcp(let host, let port):
                var limits = TCPLimits()
                limits.maximumConnections = configuration.maximumConnections
                limits.maximumConnectionsPerAddress = configuration.maximumConnectionsPerAddress
                limits.idleTimeoutNanoseconds = configuration.tcpIdleTimeoutNanoseconds
                limits.frameTimeoutNanoseconds = configuration.tcpFrameTimeoutNanoseconds
                limits.bufferLimitBytes = configuration.tcpBufferLimitBytes
                let producer = TCPProducer(context: context, host: host, port: port, limits: limits)
                try producer.bind()
                producerRuns.append(producer.run)
            }
        }

        let alertInboxes = (0..<shardCount).map {
            SPSCRing<DecidedAlert>(
                capacity: configuration.alertQueueCapacity,
                consumerParker: alertParker,
                producerParker: shardParkers[$0]
            )
        }
        // Raised by the supervisor for each interval checkpoint; each shard answers with its section.
        let checkpointRequests = ManagedAtomic<UInt64>(0)
        let shards = try (0..<shardCount).map { shard in
            ShardWorker(
                shardIndex: shard,
                shardCount: shardCount,
                lanes: lanes.map { $0[shard] },
                windowConfiguration: windowConfiguration,
                alerting: try ShardAlerting(
                    configuration: configuration.models,
                    windowNanoseconds: configuration.windowNanoseconds,
                    shardCount: shardCount,
                    registry: registry,
                    outbox: alertInboxes[shard],
                    counters: counters
                ),
                registry: registry,
                counters: counters,
                clock: clock,
                rollupsEnabled: rollupWriter != nil,
                rollupHoldNanoseconds: configuration.rollupIntervalNanoseconds / 4,
                parker: shardParkers[shard],
                alertWriterParker: alertParker,
                rollupWriterParker: rollupParker,
                idleParkLimitNanoseconds: configuration.idleParkLimitNanoseconds,
                checkpointing: checkpointer.map { checkpointer in
                    ShardCheckpointing(
                        requests: checkpointRequests,
                        shardCount: shardCount,
                        drainAtEnd: configuration.drainAtEnd,
                        post: checkpointer.post
                    )
                }
            )
        }
        if let checkpointer {
            ShardStateRestore.restore(
                checkpointer.takeRestoredSections(kind: ShardWorker.stateSectionKind),
                into: shards,
                registry: registry,
                counters: counters,
                logger: logger
            )
        }

        let signals = installSignalHandlers()
        defer { signals.forEach { $0.cancel() } }

        let producersDone = ManagedAtomic<Int>(0)
        let group = DispatchGroup()
        for (index, run) in producerRuns.enumerated() {
            DispatchQueue(label: "vigil.producer.\(index)", qos: .userInitiated).async(group: group) {
                run()
                producersDone.wrappingIncrement(ordering: .releasing)
                // The shards' stop condition turned (perhaps) true: let them see it.
                for parker in shardParkers { parker.unpark() }
            }
        }
        for shard in shards {
            DispatchQueue(label: "vigil.shard.\(shard.shardIndex)", qos: .userInitiated).async(group: group) {
                shard.run(producersFinished: { producersDone.load(ordering: .acquiring) == producerCount })
            }
        }
        let shardsFinished = { shards.allSatisfy { $0.finished.load(ordering: .acquiring) } }
        if let alertLog {
            DispatchQueue(label: "vigil.alerts", qos: .utility).async(group: group) {
                alertLog.run(
                    inboxes: alertInboxes,
                    decidedThrough: shards.map(\.alertsDecidedThrough),
                    parker: alertParker,
                    shardsFinished: shardsFinished
                )
            }
        } else {
            // No alert log: still drain the rings so shards never see them full.
            DispatchQueue(label: "vigil.alerts", qos: .utility).async(group: group) {
                var backoff = Backoff()
                while !(shardsFinished() && alertInboxes.allSatisfy({ $0.isEmpty })) {
                    var any = false
                    for inbox in alertInboxes { while inbox.tryPop() != nil { any = true } }
                    if any {
                        backoff.reset()
                    } else if !backoff.spin() {
                        alertParker.park(timeoutNanoseconds: nil) {
                            alertInboxes.contains { !$0.isEmpty } || shardsFinished()
                        }
                    }
                }
            }
        }
        if let rollupWriter {
            // A row waits at most a quarter of the interval in its shard, the rest in the writer's buffer.
            let sink = RollupSink(
                writer: rollupWriter,
                registry: registry,
                counters: counters,
                logger: logger,
                segmentAgeNanoseconds: configuration.rollupIntervalNanoseconds
                    - configuration.rollupIntervalNanoseconds / 4,
                flows: flowSummaries.map { ($0, FlowSummaryWriter(directory: rollupWriter.directory)) }
            )
            let outboxes = shards.map(\.rollupOutbox)
            DispatchQueue(label: "vigil.rollups", qos: .utility).async(group: group) {
                sink.run(outboxes: outboxes, parker: rollupParker, shardsFinished: shardsFinished)
            }
        }

        // The idle timer starts now, not at `started`: set-up (binding, allocating shard state) can take a
        // while on a cold start, and must not count as an idle input.
        lastInputNanoseconds.store(ResourceUsage.monotonicNanoseconds(), ordering: .relaxed)
        // The calling thread supervises: progress lines, the idle timer, and waiting for the drain.
        var nextProgress = started + 5_000_000_000
        var lastProgressSamples = 0
        var nextCheckpoint = started + configuration.checkpointIntervalNanoseconds
        // The interval checkpoint asked of the shards and not yet published.
        var awaitedCheckpoint: UInt64?
        while group.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
            let now = ResourceUsage.monotonicNanoseconds()
            if let checkpointer {
                if now >= nextCheckpoint && awaitedCheckpoint == nil {
                    // Each shard posts its section between two batches; published once all have.
                    awaitedCheckpoint = checkpointRequests.wrappingIncrementThenLoad(ordering: .releasing)
                    for parker in shardParkers { parker.unpark() }
                    nextCheckpoint = now + configuration.checkpointIntervalNanoseconds
                }
                if let awaited = awaitedCheckpoint,
                    shards.allSatisfy({ $0.checkpointsPosted.load(ordering: .acquiring) >= awaited })
                {
                    checkpointer.publishIfChanged()
                    awaitedCheckpoint = nil
                }
            }
            // Idle means the inputs had nothing for us, not that we were busy with what they gave. Busy is
            // read first: a producer notes its input before it stops being busy, so once it is seen idle its
            // last note is seen too.
            if let idle = configuration.stopAfterIdleNanoseconds,
                busyProducers.load(ordering: .sequentiallyConsistent) == 0,
                now - lastInputNanoseconds.load(ordering: .relaxed) > idle, !stopRequested.load(ordering: .relaxed)
            {
                logger.info("no input for \(EventTime.describeDuration(nanoseconds: idle)); stopping")
                stoppedForIdleInput = true
                requestStop()
            }
            if configuration.reportsProgress && now >= nextProgress {
                let samples = counters.samplesDecoded.load(ordering: .relaxed)
                let rate = Double(samples - lastProgressSamples) / 5
                logger.notice(
                    "progress: \(samples) samples (\(formatRate(rate))/s), \(registry.count) series, \(counters.windowsClosed.load(ordering: .relaxed)) windows, \(counters.alertsFired.load(ordering: .relaxed)) alerts"
                )
                lastProgressSamples = samples
                nextProgress = now + 5_000_000_000
            }
        }
        // Every input has finished and posted what it keeps: the checkpoint a restart resumes from.
        checkpointer?.publishIfChanged()
        let elapsed = ResourceUsage.monotonicNanoseconds() - started
        return RunSummary(
            counters: counters,
            series: registry.count,
            rejectedSeries: registry.rejectedRegistrations,
            elapsedNanoseconds: elapsed,
            cpuNanoseconds: ResourceUsage.cpuNanoseconds() - startedCPU,
            peakResidentBytes: ResourceUsage.peakResidentBytes(),
            // A stop the idle timer asked for is not a signal's.
            stoppedBySignal: stopRequested.load(ordering: .relaxed) && !stoppedForIdleInput
        )
    }

    /// SIGINT and SIGTERM request a drain instead of killing the process; a second one exits at once.
    private func installSignalHandlers() -> [DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                if self.stopRequested.load(ordering: .relaxed) {
                    self.logger.warning("second signal: exiting without draining")
                    exit(130)
                }
                self.logger.notice("signal \(number): draining (windows, alerts, rollups), then stopping")
                self.requestStop()
            }
            source.resume()
            return source
        }
    }
}

/// Creates `path` (and its parents) if needed and checks that files can be created in it, so an
/// unwritable rollup directory stops the run before any input is read.
func prepareOutputDirectory(_ path: String) throws {
    var prefix = path.hasPrefix("/") ? "/" : ""
    for component in path.split(separator: "/") {
        prefix += component + "/"
        if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
            throw SourceError(source: path, operation: "create rollup directory", errno: errno)
        }
    }
    var status = stat()
    if stat(path, &status) == 0 && (status.st_mode & S_IFMT) != S_IFDIR {
        throw SourceError(source: path, operation: "use as rollup directory", errno: ENOTDIR)
    }
    if access(path, W_OK | X_OK) != 0 {
        throw SourceError(source: path, operation: "write to rollup directory", errno: errno)
    }
}

/// `12.3M`, `845k`, `12`: compact rates for progress and summary lines.
func formatRate(_ value: Double) -> String {
    if value >= 1e9 { return "\((value / 1e8).rounded() / 10)G" }
    if value >= 1e6 { return "\((value / 1e5).rounded() / 10)M" }
    if value >= 1e3 { return "\((value / 1e2).rounded() / 10)k" }
    return "\(Int(value.rounded()))"
}
