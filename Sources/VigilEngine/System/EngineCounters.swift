import Atomics

public typealias ManagedAtomicInt = ManagedAtomic<Int>

/// Every count the run summary and (later) `/metrics` show: what came in, what was dropped and why.
///
/// Updated per batch or per event, never per sample: hot loops count in locals and add here once per
/// batch, so the atomics cost nothing measurable.
public final class EngineCounters: Sendable {
    /// Bytes read from the inputs as they are (compressed bytes of a compressed input).
    public let bytesRead = ManagedAtomic<Int>(0)
    public let streamsOpened = ManagedAtomic<Int>(0)
    public let tcpConnections = ManagedAtomic<Int>(0)
    /// TCP senders that disconnected with a partial frame buffered.
    public let tcpDisconnectsMidFrame = ManagedAtomic<Int>(0)
    /// TCP senders closed because they sent nothing for `--tcp-idle-timeout`.
    public let tcpIdleTimeouts = ManagedAtomic<Int>(0)
    /// TCP senders closed because their bytes completed no frame within `--tcp-frame-timeout`.
    public let tcpFrameTimeouts = ManagedAtomic<Int>(0)
    /// TCP connections refused: every slot (or every slot of the sender's address) taken by a busy sender.
    public let tcpRefused = ManagedAtomic<Int>(0)
    /// TCP senders closed to give their slot to a new one: they had completed no frame for a while.
    public let tcpEvictions = ManagedAtomic<Int>(0)
    /// TCP senders closed because the read buffers were full (`--tcp-buffer-limit`) and they held the most
    /// bytes of unfinished frames.
    public let tcpBufferEvictions = ManagedAtomic<Int>(0)
    /// Schema entries that re-declared a known series with another kind (the first kind is kept).
    public let schemaKindConflicts = ManagedAtomic<Int>(0)
    public let sourceErrors = ManagedAtomic<Int>(0)
    /// Files (or standard input) that could not be opened, or failed while being read: source errors that
    /// lose a whole input or its rest, after which `vigil run` exits 1. (A refused or broken TCP sender is
    /// only a source error: a listener serves whoever connects.)
    public let unreadableInputs = ManagedAtomic<Int>(0)
    public let schemaDeclarations = ManagedAtomic<Int>(0)
    public let samplesDecoded = ManagedAtomic<Int>(0)
    /// Samples handed to shards (decoded minus rejected).
    public let samplesRouted = ManagedAtomic<Int>(0)
    public let rejectedUnknownSeries = ManagedAtomic<Int>(0)
    public let rejectedCardinality = ManagedAtomic<Int>(0)
    /// Samples of a series another stream feeds (the first to declare it, while it lasts).
    public let rejectedFedElsewhere = ManagedAtomic<Int>(0)
    public let rejectedNonFinite = ManagedAtomic<Int>(0)
    public let rejectedTimestampOutOfRange = ManagedAtomic<Int>(0)
    /// Samples more than `--max-future-skew` from their source's clock that the samples after them did not
    /// confirm (outliers), or that contradicted a source's first samples.
    public let rejectedClockOutliers = ManagedAtomic<Int>(0)
    /// Samples of live senders (TCP) more than `--max-future-skew` ahead of the wall clock.
    public let rejectedTimestampInFuture = ManagedAtomic<Int>(0)
    /// Source clocks that jumped ahead by more than the skew, confirmed (gaps in the data; not a loss).
    public let clockJumps = ManagedAtomic<Int>(0)
    /// Streams that still had part of a frame when the run stopped (SIGINT/SIGTERM, `--stop-after-idle`):
    /// that frame is lost, but it was cut by the stop, not damaged.
    public let partialFramesAtStop = ManagedAtomic<Int>(0)
    /// Numbered frames a sender sent again (a retry) after they were taken: skipped, not counted twice.
    public let duplicateFrames = ManagedAtomic<Int>(0)
    /// Numbered frames too far below a sender's newest taken one to tell whether they were taken: skipped.
    public let staleFrames = ManagedAtomic<Int>(0)
    /// Acknowledgement frames sent to TCP senders, and ranges of them dropped (a sender that did not read).
    public let acknowledgementsSent = ManagedAtomic<Int>(0)
    public let acknowledgementsDropped = ManagedAtomic<Int>(0)
    /// Sender ids forgotten to stay within the table's bound (the one heard from longest ago).
    public let sendersForgotten = ManagedAtomic<Int>(0)
    /// Hellos ignored: a stream that had said another sender id.
    public let sendersRefused = ManagedAtomic<Int>(0)
    /// Counter readings further apart than `--max-future-skew`: no rate is credited across such a gap.
    public let counterGaps = ManagedAtomic<Int>(0)
    public let decodeErrors = ManagedAtomic<Int>(0)
    public let bytesSkipped = ManagedAtomic<Int>(0)
    /// Set from the shards when they finish (and periodically).
    public let samplesAggregated = ManagedAtomic<Int>(0)
    public let lateSamples = ManagedAtomic<Int>(0)
    public let windowsClosed = ManagedAtomic<Int>(0)
    public let counterWraps = ManagedAtomic<Int>(0)
    public let counterResets = ManagedAtomic<Int>(0)
    /// Windows a shard had to close early and could not buffer (should stay 0; see WindowConfiguration).
    public let windowsDropped = ManagedAtomic<Int>(0)
    /// Samples the window table could not place at all (a timestamp with no representable window).
    public let samplesUnplaceable = ManagedAtomic<Int>(0)
    public let alertsFired = ManagedAtomic<Int>(0)
    public let alertsResolved = ManagedAtomic<Int>(0)
    public let alertEventsDropped = ManagedAtomic<Int>(0)
    public let rollupRowsWritten = ManagedAtomic<Int>(0)
    public let rollupRowsDropped = ManagedAtomic<Int>(0)
    public let rollupSegmentsWritten = ManagedAtomic<Int>(0)
    public let rollupBytesWritten = ManagedAtomic<Int>(0)
    public let rollupWriteErrors = ManagedAtomic<Int>(0)
    /// Native bytes the decoders saw: ``bytesRead`` after decompression (the same for uncompressed input).
    public let bytesDecompressed = ManagedAtomic<Int>(0)

    /// Flow data records decoded (not options or template records), and those the engine could not count
    /// in any series (an exporter or interface past its bound). Datagrams decoded by flow inputs.
    public let flowRecords = ManagedAtomic<Int>(0)
    public let flowRecordsDropped = ManagedAtomic<Int>(0)
    /// Restored from `--state` at start: series, their open windows, and their alerts still firing.
    public let stateSeriesRestored = ManagedAtomic<Int>(0)
    public let stateWindowsRestored = ManagedAtomic<Int>(0)
    public let stateAlertsRestored = ManagedAtomic<Int>(0)
    /// sFlow counter samples not made into series: their interface past an exporter's bound, or their
    /// exporter past the input's.
    public let flowCounterSamplesDropped = ManagedAtomic<Int>(0)
    public let flowOptionsRecords = ManagedAtomic<Int>(0)
    public let flowTemplateRecords = ManagedAtomic<Int>(0)
    public let flowDatagrams = ManagedAtomic<Int>(0)
    /// Exporters heard from (address and observation domain).
    public let flowExporters = ManagedAtomic<Int>(0)
    /// Units the exporters' sequence numbers skipped (datagrams or records, per format): lost before Vigil.
    public let flowSequenceMissing = ManagedAtomic<Int>(0)
    /// Per-(exporter, window) flow summaries written to `flows-*.vgf` files, the files, and summaries lost:
    /// the writer's queue full, or a file that could not be written.
    public let flowSummariesWritten = ManagedAtomic<Int>(0)
    public let flowSummaryFilesWritten = ManagedAtomic<Int>(0)
    public let flowSummariesDropped = ManagedAtomic<Int>(0)
    /// Flow records left out of the flow analytics (every sketch lent out to other exporters).
    public let flowAnalyticsRecordsSkipped = ManagedAtomic<Int>(0)
    /// `--state`: checkpoints published, those that could not be written, and checkpoint files skipped
    /// at start (damaged, cut short, another format version). Flow templates and options templates
    /// restored from the checkpoint.
    public let stateCheckpoints = ManagedAtomic<Int>(0)
    public let stateCheckpointErrors = ManagedAtomic<Int>(0)
    public let stateCheckpointsSkipped = ManagedAtomic<Int>(0)
    public let flowTemplatesRestored = ManagedAtomic<Int>(0)
    /// Datagrams received by UDP inputs, and those the kernel dropped because the socket buffer was full
    /// (`SO_RXQ_OVFL`): Vigil fell behind, or `--udp-buffer` is too small for the bursts.
    public let udpDatagrams = ManagedAtomic<Int>(0)
    public let udpKernelDrops = ManagedAtomic<Int>(0)

    public init() {}

    /// Decode errors by kind (`payload_checksum`, `garbage_skipped`, …); touched only on errors.
    private let decodeErrorKinds = LockedDictionary()

    public func countDecodeError(kind: String) {
        decodeErrors.wrappingIncrement(ordering: .relaxed)
        decodeErrorKinds.add(kind, 1)
    }

    public var decodeErrorsByKind: [String: Int] { decodeErrorKinds.snapshot() }
}

/// A mutex-guarded counter map for rare events (errors), never on a hot path.
final class LockedDictionary: @unchecked Sendable {
    private var values: [String: Int] = [:]
    private var mutex = pthread_mutex_t()

    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }

    func add(_ key: String, _ amount: Int) {
        pthread_mutex_lock(&mutex)
        values[key, default: 0] += amount
        pthread_mutex_unlock(&mutex)
    }

    func snapshot() -> [String: Int] {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return values
    }
}

#if canImport(Glibc)
import Glibc
#endif
