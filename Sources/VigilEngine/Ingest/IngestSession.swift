import CVigilNative
import Logging
import VigilAnalytics
import VigilCore
import VigilWire

/// Limits on what a sample may say, checked before it enters the pipeline.
public struct IngestLimits: Sendable {
    /// Samples before this time are rejected outright (default 2000-01-01): a zero or garbage timestamp.
    public var minimumTimestampNanoseconds: Int64 = 946_684_800_000_000_000
    /// Samples after this time are rejected outright (default 2100-01-01).
    public var maximumTimestampNanoseconds: Int64 = 4_102_444_800_000_000_000
    /// How far one sample may move its source's clock ahead (`--max-future-skew`, default 1 h). A sample
    /// further ahead is a clock jump: believed once ``clockJumpConfirmations`` samples in a row agree (a gap
    /// in the data), or at once when it lands near the engine's clock; otherwise rejected as an outlier.
    /// Live sources (TCP senders) may also be at most this far ahead of the wall clock. Two readings of a
    /// counter further apart than this are a gap, across which no rate is credited.
    public var maximumFutureSkewNanoseconds: Int64 = 3_600_000_000_000
    /// Consecutive samples of a source that must agree (lie within the skew of the first of them) before its
    /// clock starts or jumps to them (`--clock-jump-confirmations`, default 3).
    public var clockJumpConfirmations = 3

    public init() {}
}

/// One stream's view of the pipeline (a file, standard input, one TCP connection): the native decoder's
/// delegate. Maps the stream's wire ids to engine series ids, validates each sample, judges it against its
/// source's clock and routes it.
///
/// Wire ids are per stream (each sender numbers its own series), so every stream has its own table;
/// the registry is consulted only when a schema frame declares a series. Each stream is one event-time
/// source (``ProducerClock/Source``): its samples are late only against its own clock.
struct IngestSession: NativeDecoderDelegate {
    /// Table entries for wire ids that have no engine id.
    static let undeclared: SeriesID = .max
    static let rejectedByCardinality: SeriesID = .max - 1
    /// A series another stream feeds (``SeriesClaims``); the series id is in `contested`.
    static let fedElsewhere: SeriesID = .max - 2

    let streamName: String
    let registry: SeriesRegistry
    let router: ShardRouter
    let counters: EngineCounters
    let limits: IngestLimits
    let logger: Logger
    /// This stream's clock, as its producer keeps it.
    /// This stream's clock, as its producer keeps it (a reconnected sender's old one, taken back at its hello).
    var source: ProducerClock.Source
    /// Samples the source's clock could not place yet (no clock, or a jump), waiting for confirmation.
    var clockCandidate: ClockCandidate
    /// Late and on-time samples judged outside the frame loop (a confirmed candidate's), added per frame.
    var offClockLate = 0
    var offClockOnTime = 0
    var clockLines = LogLineBudget(limit: 5)
    /// The sender's hello, once it said it: its id, and whether it wants acknowledgements.
    var hello: NativeHello?
    /// The producer's record of which numbered frames each sender has had taken.
    let senderSequences: SenderSequences
    /// Whether the stream has a way back to its sender (a TCP connection) for acknowledgements.
    let acknowledgesFrames: Bool
    var pendingAcknowledgements: [NativeAcknowledgement.Range] = []
    /// Wire id -> engine id for wire ids below the dense limit (``minimumDenseTranslationCount``, or 4 per
    /// distinct wire id declared when more): one array read per sample.
    private var translation: [SeriesID] = []
    /// Wire ids at or past the dense table's limit (a sender numbering its series sparsely), looked up
    /// only when the dense table has no entry, so a hostile schema cannot make a 63-byte frame cost the
    /// 64 MiB a dense table up to wire id 2^24 - 1 would.
    private var sparseTranslation: [UInt32: SeriesID] = [:]
    /// Distinct wire ids this stream declared: what the tables' size follows.
    private var declaredWireIDs = 0
    /// Which stream feeds each series, engine-wide.
    let claims: SeriesClaims
    /// The clocks of this producer's senders that disconnected, to be taken back when they reconnect.
    let disconnectedSenders: DisconnectedSenders
    /// The series this stream claimed, released when it ends.
    var claimedSeries: [SeriesID] = []
    /// Wire ids whose series another stream feeds, with the series: claimed when that stream has ended.
    var contested: [UInt32: SeriesID] = [:]
    var lastContestRetryNanoseconds: Int64 = 0
    /// Wire ids past the tables' bound whose series the registry refused: a bit each over the 2^24 wire ids
    /// (2 MiB, allocated only when a stream passes the bound), so their samples count as over the limit.
    private var overLimitWireIDs: [UInt64] = []
    private var errorLines = LogLineBudget(limit: Self.maximumErrorsLoggedPerStream)
    static let maximumErrorsLoggedPerStream = 20
    private var lateLines = LogLineBudget(limit: 3)
    /// When set, this stream's error lines come from a budget shared with other streams (a flow input's
    /// exporters) instead of `errorLines`.
    let sharedErrorLines: SharedLogLineBudget?
    /// Samples ahead whose translation entry the decode loop prefetches.
    static let translationPrefetchDistance = 16

    init(
        streamName: String,
        registry: SeriesRegistry,
        router: ShardRouter,
        counters: EngineCounters,
        limits: IngestLimits,
        logger: Logger,
        source: ProducerClock.Source,
        senderSequences: SenderSequences,
        disconnectedSenders: DisconnectedSenders,
        claims: SeriesClaims,
        acknowledgesFrames: Bool,
        sharedErrorLines: SharedLogLineBudget? = nil
    ) {
        self.sharedErrorLines = sharedErrorLines
        self.disconnectedSenders = disconnectedSenders
        self.claims = claims
        self.senderSequences = senderSequences
        self.acknowledgesFrames = acknowledgesFrames
        self.streamName = streamName
        self.registry = registry
        self.router = router
        self.counters = counters
        self.limits = limits
        self.logger = logger
        self.source = source
        self.clockCandidate = ClockCandidate(capacity: limits.clockJumpConfirmations)
    }

    mutating func nativeDecoder(didDeclare entry: SchemaEntry) {
        counters.schemaDeclarations.wrappingIncrement(ordering: .relaxed)
        let wireIndex = Int(entry.wireID)
        let isNew =
            (wireIndex >= translation.count || translation[wireIndex] == Self.undeclared)
            && sparseTranslation[entry.wireID] == nil
        if isNew {
            // More distinct wire ids than the engine may hold series is not a sender numbering its series:
            // ignored (their samples count as unknown series), so a stream's tables stay bounded.
            guard declaredWireIDs < max(Self.minimumDenseTranslationCount, registry.cardinalityLimit) else {
                if registry.refusesForCardinality(entry.descriptor) {
                    if overLimitWireIDs.isEmpty { overLimitWireIDs = [UInt64](repeating: 0, count: 1 << 18) }
                    overLimitWireIDs[Int(entry.wireID) >> 6] |= 1 << (UInt64(entry.wireID) & 63)
                    report(
                        "series \(entry.descriptor.key) rejected: the cardinality limit (\(registry.cardinalityLimit)) is reached"
                    )
                } else {
                    report("wire id \(entry.wireID) ignored: this stream already declared \(declaredWireIDs) wire ids")
                }
                return
            }
            declaredWireIDs += 1
        }
        var translated: SeriesID
        switch registry.register(entry.descriptor) {
        case .registered(let id):
            translated = claim(id, wireID: entry.wireID, key: entry.descriptor.key)
        case .registeredWithOtherKind(let id, let kept):
            translated = claim(id, wireID: entry.wireID, key: entry.descriptor.key)
            counters.schemaKindConflicts.wrappingIncrement(ordering: .relaxed)
            report(
                "series \(entry.descriptor.key) declared as \(entry.descriptor.kind), known as \(kept): "
                    + "its samples are treated as \(kept)"
            )
        case .rejectedCardinality:
            translated = Self.rejectedByCardinality
            // The wire id means another series now: a retry must not map it back to one it contested before.
            contested[entry.wireID] = nil
            report(
                "series \(entry.descriptor.key) rejected: the cardinality limit (\(registry.cardinalityLimit)) is reached"
            )
        }
        setTranslation(entry.wireID, translated)
    }

    /// Claims `series` for this stream: its engine id, or ``fedElsewhere`` (remembered in `contested`) when
    /// another stream feeds it.
    private mutating func claim(_ series: SeriesID, wireID: UInt32, key: SeriesKey) -> SeriesID {
        switch claims.claim(series, by: source.id) {
        case .claimed:
            claimedSeries.append(series)
            contested[wireID] = nil
            return series
        case .alreadyOwned:
            contested[wireID] = nil
            return series
        case .fedElsewhere:
            if contested.updateValue(series, forKey: wireID) == nil {
                report(
                    "series \(key) is fed by another stream: this stream's samples of it are dropped while that "
                        + "stream lasts (series_fed_elsewhere)"
                )
            }
            return Self.fedElsewhere
        }
    }

    /// Tries again, at most once a second, to claim the series of `contested` wire ids (their streams may
    /// have ended), and maps those it gets.
    mutating func retryContestedClaims(nowNanoseconds: Int64) {
        guard !contested.isEmpty, nowNanoseconds - lastContestRetryNanoseconds >= 1_000_000_000 else { return }
        lastContestRetryNanoseconds = nowNanoseconds
        for (wireID, series) in contested {
            let outcome = claims.claim(series, by: source.id)
            guard outcome != .fedElsewhere else { continue }
            // Already owned: this stream's source holds it (a sender that took its source back after declaring
            // its series), and it is in `claimedSeries` already; appending it again would grow the list by
            // every series at each such reconnect.
            if outcome == .claimed { claimedSeries.append(series) }
            contested[wireID] = nil
            setTranslation(wireID, series)
        }
    }

    /// Releases the series this stream claimed: at its end.
    mutating func releaseClaims() {
        claims.release(claimedSeries, by: source.id)
        claimedSeries.removeAll()
    }

    /// Whether `wireID` is marked in `bits` (a stream's wire ids refused past its tables' bound).
    static func isMarked(_ wireID: Int, in bits: [UInt64]) -> Bool {
        !bits.isEmpty && wireID >> 6 < bits.count && bits[wireID >> 6] & (1 << (UInt64(wireID) & 63)) != 0
    }

    /// Wire ids the dense table always covers, whatever was declared: 256 KiB per stream at most.
    static let minimumDenseTranslationCount = 65_536

    /// The engine id (or a reject marker) of `wireID`: the dense table's entry, else the sparse table's.
    @inline(__always)
    static func translate(_ wireID: Int, table: UnsafeBufferPointer<SeriesID>, sparse: [UInt32: SeriesID]) -> SeriesID {
        let seriesID = wireID < table.count ? table[wireID] : undeclared
        return seriesID == undeclared ? sparseLookup(wireID, in: sparse) : seriesID
    }

    /// The engine id of a wire id the dense table does not map (cold: sparse numbering, or undeclared).
    static func sparseLookup(_ wireID: Int, in sparse: [UInt32: SeriesID]) -> SeriesID {
        guard !sparse.isEmpty, let key = UInt32(exactly: wireID) else { return undeclared }
        return sparse[key] ?? undeclared
    }

    /// Maps `wireID` to `translated` in the table that holds it: the dense one for wire ids it covers or may
    /// grow to (it grows only in proportion to what was declared: memory follows the input's size), the
    /// sparse one past that.
    private mutating func setTranslation(_ wireID: UInt32, _ translated: SeriesID) {
        let wireIndex = Int(wireID)
        let denseLimit = max(Self.minimumDenseTranslationCount, 4 * declaredWireIDs)
        if wireIndex < translation.count || wireIndex < denseLimit {
            if wireIndex >= translation.count {
                translation.append(contentsOf: repeatElement(Self.undeclared, count: wireIndex + 1 - translation.count))
            }
            translation[wireIndex] = translated
            sparseTranslation[wireID] = nil
        } else {
            sparseTranslation[wireID] = translated
        }
    }

    mutating func nativeDecoder(didDecode frame: DataFrameView) { admit(frame) }

    /// Judges and routes a batch of samples of this stream (a native data frame, or a flow translator's
    /// samples): maps each wire id to its series, validates the sample, judges it against the stream's
    /// clock and hands it to the router; counts what was rejected or late. Cost per sample: one table read,
    /// a few compares and the router's three stores.
    mutating func admit<Columns: WireSampleColumns>(_ frame: Columns) {
        let nowNanoseconds = ResourceUsage.monotonicNanoseconds()
        let producerClock = router.producerClock
        // Back from idleness: it holds the engine's watermark again before any of its samples is judged, with
        // its floor raised to the engine's watermark (windows closed meanwhile stay closed).
        if source.hasClock && !source.isActive { producerClock.join(source, nowNanoseconds: nowNanoseconds) }
        // Series another stream fed may be free now (that stream ended): asked again at most once a second.
        if !contested.isEmpty { retryContestedClaims(nowNanoseconds: nowNanoseconds) }
        router.beginFrame(source: source)
        let skew = limits.maximumFutureSkewNanoseconds
        let hardMaximum = limits.maximumTimestampNanoseconds
        // A live sender's clock may not run more than the skew ahead of the wall clock (checked per frame).
        var maximum = hardMaximum
        if producerClock.capsAtWallClock {
            let (wallLimit, overflow) = ProducerClock.realtimeNanoseconds().addingReportingOverflow(skew)
            if !overflow { maximum = min(hardMaximum, wallLimit) }
        }
        let frameCount = frame.count
        // Late verdict, per sample, by its source's watermark at its arrival (the source's newest event time so
        // far minus the lateness, and at least the engine's watermark when the source joined). Judged here, it
        // depends only on the order of this stream, not on batching, shards, or other streams.
        var judge = LateJudge(source: source, windows: router.windows)
        var counts = FrameCounts()
        var candidatePending = !clockCandidate.isEmpty
        let sparse = sparseTranslation
        let overLimit = overLimitWireIDs
        let table = translation
        let bounds = Self.Bounds(
            minimumTimestamp: limits.minimumTimestampNanoseconds,
            maximumTimestamp: maximum,
            hardMaximumTimestamp: hardMaximum,
            skew: skew
        )
        var index = 0
        // The hot loop stops at each sample it cannot route on the stream's clock; that one is handled here,
        // out of it, so that nothing in it calls back into the session and its state stays in registers.
        while index < frameCount {
            index = table.withUnsafeBufferPointer { table in
                Self.routeOnClock(
                    frame,
                    from: index,
                    table: table,
                    sparse: sparse,
                    overLimit: overLimit,
                    bounds: bounds,
                    stopOnClock: candidatePending,
                    judge: &judge,
                    counts: &counts,
                    appender: router.appender
                )
            }
            guard index < frameCount else { break }
            if judge.newestNanoseconds != .min && frame.timestamp(at: index) &- judge.newestNanoseconds <= skew {
                // On the clock: a pending jump was not confirmed by the samples right after it. The sample itself
                // is routed by the loop.
                rejectClockCandidate()
                candidatePending = false
                continue
            }
            // No clock yet, or more than the skew ahead of it: a clock start or jump to confirm.
            let seriesID = table.withUnsafeBufferPointer {
                Self.translate(Int(frame.wireID(at: index)), table: $0, sparse: sparse)
            }
            offClock(
                ClockCandidate.Sample(
                    timestamp: frame.timestamp(at: index),
                    seriesID: seriesID,
                    value: frame.value(at: index)
                ),
                judge: &judge,
                nowNanoseconds: nowNanoseconds
            )
            candidatePending = !clockCandidate.isEmpty
            index += 1
        }
        let late = counts.late &+ offClockLate
        let onTime = counts.onTime &+ offClockOnTime
        if counts.fedElsewhere > 0 {
            counters.rejectedFedElsewhere.wrappingIncrement(by: counts.fedElsewhere, ordering: .relaxed)
        }
        offClockLate = 0
        offClockOnTime = 0
        if onTime > 0 {
            producerClock.noteOnTime(source, nowNanoseconds: nowNanoseconds)
        } else if source.isActive && producerClock.isIdle(source, nowNanoseconds: nowNanoseconds) {
            // Only late or rejected samples for the idle timeout: it no longer holds the others back.
            producerClock.leave(source)
        }
        router.endFrame(newest: judge.newestNanoseconds)
        counters.samplesDecoded.wrappingIncrement(by: frame.count, ordering: .relaxed)
        // Late samples are counted, and logged like the rejects: a stream whose every sample is late (a
        // sender whose clock is behind the others') must show up.
        if late > 0 {
            counters.lateSamples.wrappingIncrement(by: late, ordering: .relaxed)
            reportLate(late)
        }
        if counts.unknown | counts.cardinality | counts.nonFinite | counts.outOfRange | counts.inFuture != 0 {
            record(counts.unknown, counters.rejectedUnknownSeries, "samples for undeclared wire series ids")
            record(counts.cardinality, counters.rejectedCardinality, "samples for series over the cardinality limit")
            record(counts.nonFinite, counters.rejectedNonFinite, "NaN or infinite values")
            record(counts.outOfRange, counters.rejectedTimestampOutOfRange, "timestamps before 2000 or after 2100")
            record(
                counts.inFuture,
                counters.rejectedTimestampInFuture,
                "timestamps more than --max-future-skew ahead of the wall clock"
            )
        }
    }

    mutating func nativeDecoder(didFail error: NativeDecodeError) {
        counters.countDecodeError(kind: error.counterName)
        // The message is built only while lines are still logged: forged headers report one error each.
        if sharedErrorLines?.budget.isOpen ?? errorLines.isOpen {
            report(error.description)
        } else if let sharedErrorLines {
            _ = sharedErrorLines.budget.spend()
        } else {
            _ = errorLines.spend()
        }
    }

    mutating func record(_ count: Int, _ counter: ManagedAtomicInt, _ what: String) {
        guard count > 0 else { return }
        counter.wrappingIncrement(by: count, ordering: .relaxed)
        report("rejected \(count) \(what)")
    }

    /// Logs late samples with a budget of their own, so ordinary out-of-order data early in a stream does not
    /// use up the lines that later errors need.
    mutating func reportLate(_ count: Int) {
        lateLines.log(
            logger,
            .warning,
            "\(streamName): \(count) late samples (their windows had closed: before this stream's newest event time minus the lateness, or the engine's watermark when it joined)",
            closing: "\(streamName): more late samples; no longer logging them (counted in the run summary)"
        )
    }

    /// Logs the first errors of a stream, then stays quiet (they are all counted in the summary).
    mutating func report(_ message: String) {
        if let sharedErrorLines {
            sharedErrorLines.budget.log(
                logger,
                .warning,
                "\(streamName): \(message)",
                closing: "\(sharedErrorLines.scope): more errors; no longer logging them (see the run summary)"
            )
            return
        }
        errorLines.log(
            logger,
            .warning,
            "\(streamName): \(message)",
            closing: "\(streamName): more errors; no longer logging them for this stream (see the run summary)"
        )
    }
}
