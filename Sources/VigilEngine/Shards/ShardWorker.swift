import Atomics
import VigilAnalytics
import VigilCore
import VigilStore

/// Owns every piece of per-series state of one shard: windows, models, alert lifecycle. Runs as one
/// long-lived loop on its own Dispatch queue, so none of that state is shared or locked.
///
/// Loop: pop batches from every producer's lane (round robin), aggregate their samples, hand the batches
/// back, close the windows the watermark has passed, score them, and pass closed windows to the rollup
/// writer and alert events to the alert writer. When every producer is done and the lanes are empty, it
/// closes all open windows (the shutdown flush) and stops. With nothing to do it spins briefly, then parks
/// on ``parker``, which a push into any of its lanes, a raise of the engine's watermark, the end of a
/// producer, and the writers' pops (when it waits on a full alert or rollup ring) wake.
final class ShardWorker {
    let shardIndex: Int
    private let lanes: [ShardLane]
    var windows: ShardWindowTable
    let alerting: ShardAlerting
    let registry: SeriesRegistry
    private let counters: EngineCounters
    /// The engine's clock, for closing windows while no batch comes (`closeOnEngineWatermark`).
    private let clock: EventClock
    /// Closed windows on their way to the rollup writer, in chunks.
    let rollupOutbox: SPSCRing<[WindowAggregate]>
    private var pendingRollups: [WindowAggregate] = []
    private let rollupChunkRows: Int
    private let rollupsEnabled: Bool
    /// Longest a closed window's row waits here before it goes to the rollup writer (wall clock), so that
    /// a slow input's rows reach a segment within `--rollup-interval` (see ``RollupSink``).
    private let rollupHoldNanoseconds: Int64
    /// When the oldest row in `pendingRollups` arrived (monotonic ns); nil when none is pending.
    private var pendingRollupsSince: Int64?
    private var watermark: Int64 = .min
    let finished = ManagedAtomic<Bool>(false)
    /// Every window ending at or before this has closed and its alert events are in the alert ring: the
    /// alert writer releases events decided up to the lowest of the shards' bounds (`AlertReleaseQueue`).
    /// Published after each close pass (releasing, after the events' pushes); `Int64.max` once finished.
    let alertsDecidedThrough = ManagedAtomic<Int64>(.min)
    /// Where this shard sleeps: the consumer parker of its lanes' forward rings.
    let parker: Parker
    /// The alert writer's parker: woken when `alertsDecidedThrough` moves (it may release events) and at
    /// the end.
    private let alertWriterParker: Parker
    /// Longest an idle shard sleeps with no duty due (its feeders wake it; this only bounds the cost of a
    /// wake nobody sent).
    private let idleParkLimitNanoseconds: Int64?
    /// With `--state`: where checkpoints are asked for and this shard's section goes (see
    /// ``ShardCheckpointing``); nil without, and the end of the run then closes every open window.
    private let checkpointing: ShardCheckpointing?
    /// The last checkpoint request this shard answered; ``checkpointsPosted`` publishes it.
    private var answeredCheckpointRequest: UInt64 = 0
    /// The newest checkpoint request whose section this shard has posted (`UInt64.max` once its final
    /// section is posted), for the supervisor to publish once every shard answered.
    let checkpointsPosted = ManagedAtomic<UInt64>(0)

    init(
        shardIndex: Int,
        shardCount: Int,
        lanes: [ShardLane],
        windowConfiguration: WindowConfiguration,
        alerting: ShardAlerting,
        registry: SeriesRegistry,
        counters: EngineCounters,
        clock: EventClock,
        rollupsEnabled: Bool,
        rollupHoldNanoseconds: Int64 = 1_000_000_000,
        rollupChunkRows: Int = 4096,
        parker: Parker = Parker(),
        alertWriterParker: Parker = Parker(),
        rollupWriterParker: Parker = Parker(),
        idleParkLimitNanoseconds: Int64? = 1_000_000_000,
        checkpointing: ShardCheckpointing? = nil
    ) {
        self.checkpointing = checkpointing
        self.parker = parker
        self.alertWriterParker = alertWriterParker
        self.idleParkLimitNanoseconds = idleParkLimitNanoseconds
        self.shardIndex = shardIndex
        self.lanes = lanes
        self.windows = ShardWindowTable(
            configuration: windowConfiguration,
            shardIndex: shardIndex,
            shardCount: shardCount,
            initialSeriesCapacity: 1024
        )
        self.alerting = alerting
        self.registry = registry
        self.counters = counters
        self.clock = clock
        self.rollupsEnabled = rollupsEnabled
        self.rollupChunkRows = rollupChunkRows
        self.rollupHoldNanoseconds = rollupHoldNanoseconds
        self.rollupOutbox = SPSCRing(capacity: 64, consumerParker: rollupWriterParker, producerParker: parker)
        pendingRollups.reserveCapacity(rollupChunkRows)
    }

    /// Runs until `producersFinished()` is true and every lane is drained. Whoever makes
    /// `producersFinished()` true must then wake ``parker``.
    func run(producersFinished: () -> Bool) {
        var backoff = Backoff()
        while true {
            if let checkpointing, checkpointing.requests.load(ordering: .relaxed) != answeredCheckpointRequest {
                answerCheckpointRequest(checkpointing)
            }
            var didWork = false
            for lane in lanes {
                // At most a few batches per lane per turn, so one busy producer cannot starve the others.
                var taken = 0
                while taken < 4, let batch = lane.forward.tryPop() {
                    process(batch)
                    batch.removeAll()
                    _ = lane.recycle.push(batch)
                    // After every batch, so the table's buffer of force-closed windows (sized to one
                    // batch) never overflows; a no-op when no window is due.
                    closeDueWindows()
                    taken += 1
                    didWork = true
                }
            }
            if didWork {
                backoff.reset()
            } else if producersFinished() && lanes.allSatisfy({ $0.forward.isEmpty }) {
                break
            } else {
                // Idle (a slow input, or none of it for this shard): windows the engine's watermark has
                // passed still close, and rows held here still reach the writer in time. The clock is read
                // before that pass, so a raise after it is seen by the second look below, or wakes the park.
                let engineWatermark = clock.currentWatermark
                closeOnEngineWatermark()
                sendRollups(force: false)
                if !backoff.spin() {
                    // Not reset after a wake: a wake with nothing in the lanes (the clock moved) parks again
                    // at once; the spin is for work arriving mid-batch.
                    parker.park(timeoutNanoseconds: idleParkNanoseconds()) {
                        clock.currentWatermark != engineWatermark || lanes.contains { !$0.forward.isEmpty }
                            || producersFinished()
                            || checkpointing.map { $0.requests.load(ordering: .relaxed) != answeredCheckpointRequest }
                                ?? false
                    }
                }
            }
        }
        // With --state (and no --drain) the open windows are not closed: the final checkpoint carries them,
        // and the next run continues them where this one stopped.
        if checkpointing?.drainAtEnd ?? true { windows.closeAll { self.handleClosed($0) } }
        if let checkpointing {
            checkpointing.post(stateSection(shardCount: checkpointing.shardCount))
            checkpointsPosted.store(.max, ordering: .releasing)
        }
        alertsDecidedThrough.store(.max, ordering: .releasing)
        sendRollups(force: true)
        publishStatistics()
        finished.store(true, ordering: .releasing)
        alertWriterParker.unpark()
        rollupOutbox.consumerParker.unpark()
    }

    /// Posts this shard's state for the checkpoint the supervisor asked for. Between batches, so no window
    /// is half-updated, and after the last batch's due windows closed (no force-closed window is pending).
    private func answerCheckpointRequest(_ checkpointing: ShardCheckpointing) {
        let request = checkpointing.requests.load(ordering: .acquiring)
        checkpointing.post(stateSection(shardCount: checkpointing.shardCount))
        answeredCheckpointRequest = request
        checkpointsPosted.store(request, ordering: .releasing)
    }

    /// How long an idle shard may sleep: until its oldest held rollup row is due, else the idle limit.
    private func idleParkNanoseconds() -> Int64? {
        guard let since = pendingRollupsSince else { return idleParkLimitNanoseconds }
        let due = max(0, since + rollupHoldNanoseconds - ResourceUsage.monotonicNanoseconds())
        return min(due, idleParkLimitNanoseconds ?? due)
    }

    /// Aggregates a batch through the table's batch API, which stops at the first series this shard has
    /// not met yet: register the new series of the rest of the batch (cold path) and resume there. Each
    /// stop registers at least one new series, so the loop ends after at most `batch.count + 1` calls.
    private func process(_ batch: SampleBatch) {
        if batch.watermarkNanoseconds > watermark { watermark = batch.watermarkNanoseconds }
        let count = batch.count
        var start = 0
        while start < count {
            // Late and unplaceable samples are counted by the table itself (see publishStatistics).
            start += windows.add(
                timestamps: batch.timestamps + start,
                seriesIDs: batch.seriesIDs + start,
                values: batch.values + start,
                count: count - start,
                watermark: watermark
            )
            if start < count { registerNewSeries(in: batch, from: start) }
        }
    }

    /// First sight of series in this shard: a cold path, once per series. Registers every series of
    /// `batch[start...]` this shard has not met, with one registry lookup for all of them (a fleet's first
    /// round brings a batch of new series at a time, and the registry's lock is shared with the producers).
    private func registerNewSeries(in batch: SampleBatch, from start: Int) {
        var seen = Set<SeriesID>()
        var newSeries: [SeriesID] = []
        for index in start..<batch.count {
            let seriesID = batch.seriesIDs[index]
            if !windows.isRegistered(seriesID) && seen.insert(seriesID).inserted { newSeries.append(seriesID) }
        }
        for (seriesID, descriptor) in zip(newSeries, registry.descriptors(for: newSeries)) {
            guard let descriptor else { preconditionFailure("series \(seriesID) routed before it was registered") }
            // Traps on a series of another shard: the router and the table disagree on the shard arithmetic.
            windows.registerSeries(seriesID, kind: descriptor.kind)
            alerting.register(seriesID, descriptor: descriptor)
        }
    }

    /// Raises this shard's watermark to the engine's while no batch comes for it, and closes what is due.
    ///
    /// A shard's watermark otherwise comes only from its batches' stamps, so after a burst (or while every
    /// series of this shard is quiet) windows the engine's watermark has passed would stay open until the
    /// next batch. It may not pass a stamp still on its way: a batch in a lane (checked last) or one a
    /// producer is filling (its lane's `pendingStamp`), whose samples are judged by the watermark of their
    /// arrival. A producer the check did not see stamping stamps from a clock at least as new as the one
    /// read first, so its samples are judged by a watermark at least as high as the one raised to here.
    private func closeOnEngineWatermark() {
        var bound = clock.currentWatermark
        for lane in lanes { bound = min(bound, lane.pendingStamp.load(ordering: .sequentiallyConsistent)) }
        guard bound > watermark, lanes.allSatisfy({ $0.forward.isEmpty }) else { return }
        watermark = bound
        closeDueWindows()
    }

    private func closeDueWindows() {
        windows.closeWindows(watermark: watermark) { self.handleClosed($0) }
        // Every window still open ends after the table's watermark, so no later event is decided at or
        // before it.
        let decidedThrough = windows.watermarkNanoseconds
        if decidedThrough != alertsDecidedThrough.load(ordering: .relaxed) {
            alertsDecidedThrough.store(decidedThrough, ordering: .releasing)
            // The writer may hold events up to the new bound (no wake while the bound stands still: one
            // would come with every batch).
            alertWriterParker.unpark()
        }
        sendRollups(force: false)
    }

    private func handleClosed(_ aggregate: WindowAggregate) {
        alerting.observe(aggregate)
        guard rollupsEnabled else { return }
        if pendingRollups.isEmpty { pendingRollupsSince = ResourceUsage.monotonicNanoseconds() }
        pendingRollups.append(aggregate)
        if pendingRollups.count >= rollupChunkRows { sendRollups(force: true) }
    }

    /// Sends the pending rows to the rollup writer when forced, when a quarter chunk is pending, or when the
    /// oldest has waited `rollupHoldNanoseconds`.
    private func sendRollups(force: Bool) {
        guard let since = pendingRollupsSince else { return }
        guard
            force || pendingRollups.count >= rollupChunkRows / 4
                || ResourceUsage.monotonicNanoseconds() - since >= rollupHoldNanoseconds
        else { return }
        pendingRollupsSince = nil
        // Blocking here is deliberate: rollups are durable output and are never dropped; a slow disk
        // slows the shard, and through the rings the input.
        _ = rollupOutbox.push(pendingRollups)
        pendingRollups.removeAll(keepingCapacity: true)
        publishStatistics()
    }

    private var published = WindowStatistics()

    private func publishStatistics() {
        let statistics = windows.statistics
        func add(_ counter: ManagedAtomicInt, _ now: UInt64, _ before: UInt64) {
            if now != before { counter.wrappingIncrement(by: Int(now &- before), ordering: .relaxed) }
        }
        add(counters.samplesAggregated, statistics.accepted, published.accepted)
        add(counters.lateSamples, statistics.late, published.late)
        add(counters.windowsClosed, statistics.windowsClosed, published.windowsClosed)
        add(counters.counterWraps, statistics.wraps, published.wraps)
        add(counters.counterResets, statistics.resets, published.resets)
        add(counters.counterGaps, statistics.counterGaps, published.counterGaps)
        add(counters.windowsDropped, statistics.droppedWindows, published.droppedWindows)
        add(counters.samplesUnplaceable, statistics.rejected, published.rejected)
        published = statistics
    }
}

/// What a shard needs for `--state`: the supervisor's request counter (raised for each interval checkpoint),
/// where its section goes, and the shard count its section is written under.
struct ShardCheckpointing {
    let requests: ManagedAtomic<UInt64>
    let shardCount: Int
    /// Whether the end of the run closes the open windows (`--drain`) before the last section is posted.
    let drainAtEnd: Bool
    let post: (StateSection) -> Void
}
