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
    private var translation: [SeriesID] = []
    private var errorsLogged = 0
    static let maximumErrorsLoggedPerStream = 20
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
        // The decoder bounds wire ids (< 2^24), so this table is bounded too.
        if wireIndex >= translation.count {
            translation.append(contentsOf: repeatElement(Self.undeclared, count: wireIndex + 1 - translation.count))
        }
        switch registry.register(entry.descriptor) {
        case .registered(let id):
            translation[wireIndex] = id
        case .rejectedCardinality:
            translation[wireIndex] = Self.rejectedByCardinality
            report(
                "series \(entry.descriptor.key) rejected: the cardinality limit (\(registry.cardinalityLimit)) is reached"
            )
        }
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
        translation.withUnsafeBufferPointer { table in
            for index in 0..<frameCount {
                // Wire ids come in the sender's order, random over a table larger than L1: fetch the
                // entry a few samples ahead so the lookup below hits cache.
                if index &+ Self.translationPrefetchDistance < frameCount {
                    let wireAhead = Int(frame.wireID(at: index &+ Self.translationPrefetchDistance))
                    if wireAhead < table.count { vigil_prefetch_for_write(table.baseAddress! + wireAhead) }
                }
                let wireID = Int(frame.wireID(at: index))
                let seriesID = wireID < table.count ? table[wireID] : Self.undeclared
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
                if newest != .min && timestamp > newest &+ skew {
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
        if late > 0 { counters.lateSamples.wrappingIncrement(by: late, ordering: .relaxed) }
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
