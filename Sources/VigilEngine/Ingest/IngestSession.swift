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
    /// A sample newer than the producer's newest event time by more than this is rejected: one bad clock
    /// must not drag the watermark forward and make every honest sample late. Default 1 h.
    public var maximumFutureSkewNanoseconds: Int64 = 3_600_000_000_000

    public init() {}
}

/// One stream's view of the pipeline (a file, standard input, one TCP connection): the native decoder's
/// delegate. Maps the stream's wire ids to engine series ids, validates each sample and routes it.
///
/// Wire ids are per stream (each sender numbers its own series), so every stream has its own table;
/// the registry is consulted only when a schema frame declares a series.
struct IngestSession: NativeDecoderDelegate {
    /// Table entries for wire ids that have no engine id.
    static let undeclared: SeriesID = .max
    static let rejectedByCardinality: SeriesID = .max - 1

    let streamName: String
    let registry: SeriesRegistry
    let router: ShardRouter
    let counters: EngineCounters
    let limits: IngestLimits
    let logger: Logger
    /// Wire id -> engine id for wire ids below the dense limit (``minimumDenseTranslationCount``, or 4 per
    /// distinct wire id declared when more): one array read per sample.
    private var translation: [SeriesID] = []
    /// Wire ids at or past the dense table's limit (a sender numbering its series sparsely), looked up
    /// only when the dense table has no entry, so a hostile schema cannot make a 63-byte frame cost the
    /// 64 MiB a dense table up to wire id 2^24 - 1 would.
    private var sparseTranslation: [UInt32: SeriesID] = [:]
    /// Distinct wire ids this stream declared: what the tables' size follows.
    private var declaredWireIDs = 0
    private var errorsLogged = 0
    static let maximumErrorsLoggedPerStream = 20
    private var lateLinesLogged = 0
    static let maximumLateLinesLoggedPerStream = 3
    /// Samples ahead whose translation entry the decode loop prefetches.
    static let translationPrefetchDistance = 16

    init(
        streamName: String,
        registry: SeriesRegistry,
        router: ShardRouter,
        counters: EngineCounters,
        limits: IngestLimits,
        logger: Logger
    ) {
        self.streamName = streamName
        self.registry = registry
        self.router = router
        self.counters = counters
        self.limits = limits
        self.logger = logger
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
                report("wire id \(entry.wireID) ignored: this stream already declared \(declaredWireIDs) wire ids")
                return
            }
            declaredWireIDs += 1
        }
        let translated: SeriesID
        switch registry.register(entry.descriptor) {
        case .registered(let id):
            translated = id
        case .registeredWithOtherKind(let id, let kept):
            translated = id
            counters.schemaKindConflicts.wrappingIncrement(ordering: .relaxed)
            report(
                "series \(entry.descriptor.key) declared as \(entry.descriptor.kind), known as \(kept): "
                    + "its samples are treated as \(kept)"
            )
        case .rejectedCardinality:
            translated = Self.rejectedByCardinality
            report(
                "series \(entry.descriptor.key) rejected: the cardinality limit (\(registry.cardinalityLimit)) is reached"
            )
        }
        // The dense table grows only in proportion to what was declared: memory follows the input's size.
        let denseLimit = max(Self.minimumDenseTranslationCount, 4 * declaredWireIDs)
        if wireIndex < translation.count || wireIndex < denseLimit {
            if wireIndex >= translation.count {
                translation.append(contentsOf: repeatElement(Self.undeclared, count: wireIndex + 1 - translation.count))
            }
            translation[wireIndex] = translated
            sparseTranslation[entry.wireID] = nil
        } else {
            sparseTranslation[entry.wireID] = translated
        }
    }

    /// Wire ids the dense table always covers, whatever was declared: 256 KiB per stream at most.
    static let minimumDenseTranslationCount = 65_536

    /// The engine id of a wire id the dense table does not map (cold: sparse numbering, or undeclared).
    private static func sparseLookup(_ wireID: Int, in sparse: [UInt32: SeriesID]) -> SeriesID {
        guard !sparse.isEmpty, let key = UInt32(exactly: wireID) else { return undeclared }
        return sparse[key] ?? undeclared
    }

    mutating func nativeDecoder(didDecode frame: DataFrameView) {
        var unknown = 0
        var cardinality = 0
        var nonFinite = 0
        var outOfRange = 0
        var future = 0
        let minimum = limits.minimumTimestampNanoseconds
        let maximum = limits.maximumTimestampNanoseconds
        let skew = limits.maximumFutureSkewNanoseconds
        var newest = router.knownNewest
        let appender = router.appender
        let frameCount = frame.count
        // Late verdict, per sample, by the watermark at its arrival (this producer's newest event time so far
        // minus the lateness): a sample before `lateBefore` has a window that ends at or before it. Judged
        // here, it depends only on the order of the input, not on how samples are batched for the shards.
        let windows = router.windows
        let width = windows.windowNanoseconds
        let lateness = windows.latenessNanoseconds
        var late = 0
        var lateBefore = Self.lateBoundary(newest: newest, windows: windows)
        var lateBoundaryMoves = lateBefore == .min ? Int64.min : lateBefore &+ width &+ lateness
        let sparse = sparseTranslation
        translation.withUnsafeBufferPointer { table in
            for index in 0..<frameCount {
                // Wire ids come in the sender's order, random over a table larger than L1: fetch the
                // entry a few samples ahead so the lookup below hits cache.
                if index &+ Self.translationPrefetchDistance < frameCount {
                    let wireAhead = Int(frame.wireID(at: index &+ Self.translationPrefetchDistance))
                    if wireAhead < table.count { vigil_prefetch_for_write(table.baseAddress! + wireAhead) }
                }
                let wireID = Int(frame.wireID(at: index))
                var seriesID = wireID < table.count ? table[wireID] : Self.undeclared
                if seriesID == Self.undeclared { seriesID = Self.sparseLookup(wireID, in: sparse) }
                if seriesID >= Self.rejectedByCardinality {
                    if seriesID == Self.undeclared { unknown &+= 1 } else { cardinality &+= 1 }
                    continue
                }
                let value = frame.value(at: index)
                if !value.isFinite {
                    nonFinite &+= 1
                    continue
                }
                let timestamp = frame.timestamp(at: index)
                if timestamp < minimum || timestamp > maximum {
                    outOfRange &+= 1
                    continue
                }
                // The first sample sets the clock; after that nothing may run more than `skew` ahead of it.
                // (Both times passed the range check, so the difference cannot overflow; `newest + skew` could.)
                if newest != .min && timestamp &- newest > skew {
                    future &+= 1
                    continue
                }
                if timestamp > newest {
                    newest = timestamp
                    // The boundary moves a window at a time: recomputed (a division) only when it does.
                    if newest >= lateBoundaryMoves {
                        lateBefore = Self.lateBoundary(newest: newest, windows: windows)
                        lateBoundaryMoves = lateBefore &+ width &+ lateness
                    }
                }
                if timestamp < lateBefore {
                    late &+= 1
                    continue
                }
                appender.append(timestamp: timestamp, seriesID: seriesID, value: value, newest: newest)
            }
        }
        router.endFrame(newest: newest)
        counters.samplesDecoded.wrappingIncrement(by: frame.count, ordering: .relaxed)
        // Late samples are counted, and logged like the rejects: a stream whose every sample is late (a
        // sender whose clock is behind, or one sample far ahead that moved the clock) must show up.
        if late > 0 {
            counters.lateSamples.wrappingIncrement(by: late, ordering: .relaxed)
            reportLate(late)
        }
        if unknown | cardinality | nonFinite | outOfRange | future != 0 {
            record(unknown, counters.rejectedUnknownSeries, "samples for undeclared wire series ids")
            record(cardinality, counters.rejectedCardinality, "samples for series over the cardinality limit")
            record(nonFinite, counters.rejectedNonFinite, "NaN or infinite values")
            record(outOfRange, counters.rejectedTimestampOutOfRange, "timestamps before 2000 or after 2100")
            record(future, counters.rejectedFutureTimestamp, "timestamps more than the allowed skew ahead")
        }
    }

    /// The start of the window holding the watermark `newest - lateness`: a sample before it is late (its
    /// window ends at or before the watermark), one at or after it is not. `Int64.min` before any sample.
    static func lateBoundary(newest: Int64, windows: WindowConfiguration) -> Int64 {
        guard newest != .min else { return .min }
        return windows.windowStart(containing: newest &- windows.latenessNanoseconds) ?? .min
    }

    mutating func nativeDecoder(didFail error: NativeDecodeError) {
        counters.countDecodeError(kind: error.counterName)
        report(error.description)
    }

    private mutating func record(_ count: Int, _ counter: ManagedAtomicInt, _ what: String) {
        guard count > 0 else { return }
        counter.wrappingIncrement(by: count, ordering: .relaxed)
        report("rejected \(count) \(what)")
    }

    /// Logs late samples with a budget of their own, so ordinary out-of-order data early in a stream does not
    /// use up the lines that later errors need.
    private mutating func reportLate(_ count: Int) {
        lateLinesLogged += 1
        if lateLinesLogged <= Self.maximumLateLinesLoggedPerStream {
            logger.warning(
                "\(streamName): \(count) late samples (before the newest event time seen minus the lateness)"
            )
        } else if lateLinesLogged == Self.maximumLateLinesLoggedPerStream + 1 {
            logger.warning("\(streamName): more late samples; no longer logging them (counted in the run summary)")
        }
    }

    /// Logs the first errors of a stream, then stays quiet (they are all counted in the summary).
    private mutating func report(_ message: String) {
        errorsLogged += 1
        if errorsLogged <= Self.maximumErrorsLoggedPerStream {
            logger.warning("\(streamName): \(message)")
        } else if errorsLogged == Self.maximumErrorsLoggedPerStream + 1 {
            logger.warning("\(streamName): more errors; no longer logging them for this stream (see the run summary)")
        }
    }
}
