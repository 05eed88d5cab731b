import Atomics
import Logging
import VigilCore

#if canImport(Glibc)
import Glibc
#endif

/// Writes alert events as JSON Lines to a file or standard output, draining every shard's alert ring, in an
/// order that does not depend on the shards' timing: by decision time, then series labels and kind.
///
/// Each shard's ring is bounded; a shard that finds it full waits (alerts are never dropped to keep up),
/// so a slow destination slows the shards and, through the lanes, the input. Events that cannot be
/// written (the destination failed) are counted (`alert_events_dropped`). Each line is written with one `write`
/// call, so a crash leaves whole lines (at most the last one torn); the file is fsynced at shutdown.
final class AlertLogWriter {
    private let fd: Int32
    private let path: String
    private let ownsDescriptor: Bool
    private let logger: Logger
    private let counters: EngineCounters
    private var buffer: [UInt8] = []
    private(set) var linesWritten = 0
    private var failed = false

    /// Opens (creating or truncating) the alert log, or takes standard output for `-`.
    init(path: String, counters: EngineCounters, logger: Logger) throws {
        self.path = path
        self.counters = counters
        self.logger = logger
        if path == "-" {
            fd = STDOUT_FILENO
            ownsDescriptor = false
        } else {
            let opened = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard opened >= 0 else { throw SourceError(source: path, operation: "open alert log", errno: errno) }
            fd = opened
            ownsDescriptor = true
        }
    }

    /// Drains every shard's alert ring and writes the events in release order (`AlertReleaseQueue`): an event
    /// is written once every shard's `decidedThrough` bound has reached its decision time.
    func run(
        inboxes: [SPSCRing<DecidedAlert>],
        decidedThrough: [ManagedAtomic<Int64>],
        shardsFinished: () -> Bool
    ) {
        var queue = AlertReleaseQueue()
        var backoff = Backoff()
        var overflowReported = false
        while true {
            // Bounds before events: an event decided at or before a shard's bound was pushed before the
            // shard published that bound, so the pops below see it.
            var bound = Int64.max
            for shardBound in decidedThrough { bound = min(bound, shardBound.load(ordering: .acquiring)) }
            var didWork = false
            for inbox in inboxes {
                while let alert = inbox.tryPop() {
                    queue.insert(alert)
                    didWork = true
                }
            }
            let released = queue.release(through: bound)
            if queue.overflowed && !overflowReported {
                overflowReported = true
                logger.warning(
                    "\(path): more than \(queue.capacity) alert events waited for a slow shard; the earliest were written before it caught up, so the file's order may not follow decision time there"
                )
            }
            if !released.isEmpty {
                appendLines(released)
                writeBuffered()
            }
            if didWork || !released.isEmpty {
                backoff.reset()
            } else if shardsFinished() && inboxes.allSatisfy({ $0.count == 0 }) {
                break
            } else {
                backoff.wait()
            }
        }
        // Every shard has finished (its bound is Int64.max): what still waits goes out, in order.
        appendLines(queue.release(through: .max))
        writeBuffered()
        if ownsDescriptor {
            fsync(fd)
            close(fd)
        }
    }

    /// One JSON line per event, into the write buffer.
    private func appendLines(_ alerts: [DecidedAlert]) {
        for alert in alerts {
            buffer.append(contentsOf: alert.event.jsonLine.utf8)
            buffer.append(10)
            linesWritten += 1
        }
    }

    private func writeBuffered() {
        guard !buffer.isEmpty else { return }
        defer { buffer.removeAll(keepingCapacity: true) }
        guard !failed else {
            counters.alertEventsDropped.wrappingIncrement(by: buffer.count { $0 == 10 }, ordering: .relaxed)
            return
        }
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                failed = true
                counters.alertEventsDropped.wrappingIncrement(
                    by: buffer[offset...].count { $0 == 10 },
                    ordering: .relaxed
                )
                logger.error(
                    "\(path): writing alerts failed: \(String(cString: strerror(errno))); later alerts are counted, not written"
                )
                return
            }
            offset += written
        }
    }
}
