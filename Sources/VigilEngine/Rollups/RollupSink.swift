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
final class RollupSink {
    private let writer: RollupSegmentWriter
    private let registry: SeriesRegistry
    private let counters: EngineCounters
    private let logger: Logger
    private var descriptors: [SeriesDescriptor] = []
    private var errorsLogged = 0

    init(writer: RollupSegmentWriter, registry: SeriesRegistry, counters: EngineCounters, logger: Logger) {
        self.writer = writer
        self.registry = registry
        self.counters = counters
        self.logger = logger
    }

    func run(outboxes: [SPSCRing<[WindowAggregate]>], shardsFinished: () -> Bool) {
        var backoff = Backoff()
        while true {
            var didWork = false
            for outbox in outboxes {
                while let rows = outbox.tryPop() {
                    append(rows)
                    didWork = true
                }
            }
            if didWork {
                backoff.reset()
            } else if shardsFinished() && outboxes.allSatisfy({ $0.count == 0 }) {
                break
            } else {
                backoff.wait()
            }
        }
        do {
            try writer.close()
        } catch {
            report(error)
        }
        publish()
    }

    private func append(_ rows: [WindowAggregate]) {
        if let newest = rows.map(\.seriesID).max(), Int(newest) >= descriptors.count {
            descriptors = registry.snapshot()
        }
        let known = descriptors
        do {
            try writer.append(rows) { id in Int(id) < known.count ? known[Int(id)] : nil }
        } catch {
            report(error)
        }
        publish()
    }

    private func report(_ error: Error) {
        counters.rollupWriteErrors.wrappingIncrement(ordering: .relaxed)
        errorsLogged += 1
        if errorsLogged <= 10 { logger.error("rollups: \(error)") }
    }

    private var published = (rows: 0, dropped: 0, segments: 0, bytes: 0)

    private func publish() {
        let now = (
            rows: writer.rowsWritten, dropped: writer.droppedRows + writer.rejectedRows,
            segments: writer.segmentsWritten, bytes: writer.bytesWritten
        )
        counters.rollupRowsWritten.wrappingIncrement(by: now.rows - published.rows, ordering: .relaxed)
        counters.rollupRowsDropped.wrappingIncrement(by: now.dropped - published.dropped, ordering: .relaxed)
        counters.rollupSegmentsWritten.wrappingIncrement(by: now.segments - published.segments, ordering: .relaxed)
        counters.rollupBytesWritten.wrappingIncrement(by: now.bytes - published.bytes, ordering: .relaxed)
        published = now
    }
}
