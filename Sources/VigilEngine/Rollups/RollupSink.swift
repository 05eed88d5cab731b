import Atomics
import Logging
import VigilCore
import VigilStore

/// The single consumer of every shard's closed windows: appends them to the segment writer, which
/// compresses and publishes segments atomically. Runs on its own Dispatch queue so compression never
/// sits on a shard's hot path.
///
/// Rows that cannot be written (unwritable directory, full disk) are counted as dropped and reported once
/// per error kind; rows written before the error stay published.
///
/// A segment is written when the writer's buffer fills (1,048,576 rows), at the end of the run, and when
/// the oldest buffered row has waited `segmentAgeNanoseconds` (wall clock): a slow, long-running input
/// (a small fleet over TCP) would otherwise keep hours of rollups only in memory.
final class RollupSink {
    private let writer: RollupSegmentWriter
    private let registry: SeriesRegistry
    private let counters: EngineCounters
    private let logger: Logger
    private let segmentAgeNanoseconds: Int64
    /// When the oldest row in the writer's buffer arrived (monotonic ns); nil when the buffer is empty.
    private var bufferedSince: Int64?
    private var descriptors: [SeriesDescriptor] = []
    /// The cause of the last error logged; nil when none was logged or writing has worked since.
    private var lastCauseLogged: String?
    /// Flow window summaries from the flow inputs, and their file writer (nil: no flow analytics).
    private let flows: (queue: FlowSummaryQueue, writer: FlowSummaryWriter)?
    /// When the oldest summary in the flows writer's buffer arrived (monotonic ns).
    private var flowsBufferedSince: Int64?

    init(
        writer: RollupSegmentWriter,
        registry: SeriesRegistry,
        counters: EngineCounters,
        logger: Logger,
        segmentAgeNanoseconds: Int64,
        flows: (queue: FlowSummaryQueue, writer: FlowSummaryWriter)? = nil
    ) {
        self.flows = flows
        self.writer = writer
        self.registry = registry
        self.counters = counters
        self.logger = logger
        self.segmentAgeNanoseconds = segmentAgeNanoseconds
    }

    /// Writes the shards' rows and the flow summaries until every shard has finished and its outbox is empty.
    /// With nothing to do it parks on `parker` (the outboxes' and the flow summary queue's consumer parker),
    /// woken by a shard's push or its end, or a flow input's summary, and at the latest when a buffer is due
    /// to be flushed (`segmentAgeNanoseconds` after its oldest row).
    func run(outboxes: [SPSCRing<[WindowAggregate]>], parker: Parker, shardsFinished: () -> Bool) {
        var backoff = Backoff()
        while true {
            var didWork = false
            for outbox in outboxes {
                while let rows = outbox.tryPop() {
                    append(rows)
                    didWork = true
                }
            }
            if drainFlowSummaries() { didWork = true }
            if let since = flowsBufferedSince, ResourceUsage.monotonicNanoseconds() - since >= segmentAgeNanoseconds {
                flushFlowSummaries(closing: false)
            }
            if let since = bufferedSince, ResourceUsage.monotonicNanoseconds() - since >= segmentAgeNanoseconds {
                do {
                    try writer.flush()
                } catch {
                    report(error)
                }
                bufferedSince = nil
                publish()
            }
            if didWork {
                backoff.reset()
            } else if shardsFinished() && outboxes.allSatisfy({ $0.isEmpty }) {
                break
            } else if !backoff.spin() {
                parker.park(timeoutNanoseconds: nanosecondsUntilFlush()) {
                    outboxes.contains { !$0.isEmpty } || flows?.queue.isEmpty == false || shardsFinished()
                }
            }
        }
        do {
            try writer.close()
        } catch {
            report(error)
        }
        // Producers (and so every flow input's last summaries) finished before the shards did.
        _ = drainFlowSummaries()
        flushFlowSummaries(closing: true)
        publish()
    }

    /// Until the older of the two buffers is due for writing; nil when both are empty (nothing is due).
    private func nanosecondsUntilFlush() -> Int64? {
        let oldest = [bufferedSince, flowsBufferedSince].compactMap { $0 }.min()
        return oldest.map { max(0, $0 + segmentAgeNanoseconds - ResourceUsage.monotonicNanoseconds()) }
    }

    /// Moves queued flow summaries into the flows writer (which writes a file when its buffer fills).
    /// Returns whether there were any.
    private func drainFlowSummaries() -> Bool {
        guard let flows else { return false }
        let summaries = flows.queue.drain()
        guard !summaries.isEmpty else { return false }
        for summary in summaries {
            do { try flows.writer.append(summary) } catch { report(error) }
        }
        if flows.writer.bufferedCount == 0 {
            flowsBufferedSince = nil
        } else if flowsBufferedSince == nil {
            flowsBufferedSince = ResourceUsage.monotonicNanoseconds()
        }
        publishFlows()
        return true
    }

    private func flushFlowSummaries(closing: Bool) {
        guard let flows else { return }
        do {
            if closing { try flows.writer.close() } else { try flows.writer.flush() }
        } catch {
            report(error)
        }
        flowsBufferedSince = nil
        publishFlows()
    }

    private var publishedFlows = (summaries: 0, files: 0, dropped: 0)

    private func publishFlows() {
        guard let flows else { return }
        let now = (
            summaries: flows.writer.summariesWritten, files: flows.writer.filesWritten,
            dropped: flows.writer.droppedSummaries
        )
        counters.flowSummariesWritten.wrappingIncrement(
            by: now.summaries - publishedFlows.summaries,
            ordering: .relaxed
        )
        counters.flowSummaryFilesWritten.wrappingIncrement(by: now.files - publishedFlows.files, ordering: .relaxed)
        counters.flowSummariesDropped.wrappingIncrement(by: now.dropped - publishedFlows.dropped, ordering: .relaxed)
        publishedFlows = now
    }

    private func append(_ rows: [WindowAggregate]) {
        if let newest = rows.map(\.seriesID).max(), Int(newest) >= descriptors.count {
            descriptors = registry.snapshot()
        }
        let known = descriptors
        let wasEmpty = writer.bufferedRowCount == 0
        do {
            try writer.append(rows) { id in Int(id) < known.count ? known[Int(id)] : nil }
        } catch {
            report(error)
        }
        // A full buffer was written as a segment inside `append`: what is left arrived just now.
        if writer.bufferedRowCount == 0 {
            bufferedSince = nil
        } else if wasEmpty || writer.bufferedRowCount < rows.count {
            bufferedSince = ResourceUsage.monotonicNanoseconds()
        }
        publish()
    }

    /// Counts every error; logs one when its cause differs from the last one logged (a full disk does
    /// not log a line per segment, but a new cause after it, such as the directory removed, is seen).
    private func report(_ error: Error) {
        let cause: String
        if case .io(let ioError) = error as? RollupWriterError {
            cause = "\(ioError.operation.rawValue) errno \(ioError.errorNumber)"
        } else {
            cause = String(describing: error)
        }
        if cause != lastCauseLogged {
            logger.error("rollups: \(error)")
            lastCauseLogged = cause
        }
    }

    /// After failures, says once that a segment was written again (without an error: a segment published
    /// into a directory that cannot be synced is not a recovery).
    private func noteRecoveryIfAny() {
        guard lastCauseLogged != nil, writer.segmentsWritten > published.segments,
            writer.writeErrors == published.errors
        else { return }
        logger.notice("rollups: segments are written again (\(writer.droppedRows) rows dropped so far)")
        lastCauseLogged = nil
    }

    private var published = (rows: 0, dropped: 0, segments: 0, bytes: 0, errors: 0)

    private func publish() {
        noteRecoveryIfAny()
        let now = (
            rows: writer.rowsWritten, dropped: writer.droppedRows + writer.rejectedRows,
            segments: writer.segmentsWritten, bytes: writer.bytesWritten, errors: writer.writeErrors
        )
        counters.rollupRowsWritten.wrappingIncrement(by: now.rows - published.rows, ordering: .relaxed)
        counters.rollupRowsDropped.wrappingIncrement(by: now.dropped - published.dropped, ordering: .relaxed)
        counters.rollupSegmentsWritten.wrappingIncrement(by: now.segments - published.segments, ordering: .relaxed)
        counters.rollupBytesWritten.wrappingIncrement(by: now.bytes - published.bytes, ordering: .relaxed)
        // Every failed write the writer counted, including both halves of a split flush (which throws one).
        counters.rollupWriteErrors.wrappingIncrement(by: now.errors - published.errors, ordering: .relaxed)
        published = now
    }
}
