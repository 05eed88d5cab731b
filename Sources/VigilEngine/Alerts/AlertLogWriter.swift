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
/// so a slow destination slows the shards and, through the lanes, the input.
///
/// The file holds whole lines only. A write to a regular file is not atomic: on a full disk it can stop
/// part-way through a line (a short write, then `ENOSPC`). When a write fails, the lines it wrote whole
/// stay, the fragment of the line it cut is truncated away (`ftruncate` back to the last newline), and
/// that event and every later one are counted in `alert_events_dropped`, not written. What no code can
/// undo is a crash or power loss in the middle of a write: then the last line may be torn, and
/// `vigil eval incidents` names it. Standard output, a pipe or a device cannot be truncated: there a failed
/// write may leave a partial line for its reader. The file is fsynced at shutdown.
final class AlertLogWriter {
    private let fd: Int32
    private let path: String
    private let ownsDescriptor: Bool
    /// Whether `fd` is a regular file, whose torn tail `ftruncate` can remove.
    private let isRegularFile: Bool
    private let logger: Logger
    private let counters: EngineCounters
    private var buffer: [UInt8] = []
    private var failed = false

    /// Opens (creating, or truncating without `append`) the alert log, or takes standard output for `-`.
    /// With `append` (the default; a run resuming from `--state` writes the `resolved` lines of alerts the
    /// run before it fired) an existing log is kept and written after; a line a killed run left
    /// half-written at its end is cut back to the last whole line first.
    init(path: String, append: Bool = false, counters: EngineCounters, logger: Logger) throws {
        self.path = path
        self.counters = counters
        self.logger = logger
        if path == "-" {
            fd = STDOUT_FILENO
            ownsDescriptor = false
        } else {
            let opened = open(path, O_WRONLY | O_CREAT | (append ? 0 : O_TRUNC) | O_CLOEXEC, 0o644)
            guard opened >= 0 else { throw SourceError(source: path, operation: "open alert log", errno: errno) }
            fd = opened
            ownsDescriptor = true
        }
        var status = stat()
        isRegularFile = fstat(fd, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
        if append && isRegularFile && status.st_size > 0 {
            // Read through a descriptor of its own: this one is write-only (a FIFO opened for reading too
            // would never see its reader go away).
            let reader = open(path, O_RDONLY | O_CLOEXEC)
            let whole = reader >= 0 ? Self.wholeLinesLength(fd: reader, size: status.st_size) : status.st_size
            if reader >= 0 { close(reader) }
            if whole < status.st_size {
                logger.warning(
                    "\(path): cut \(status.st_size - whole) bytes of a half-written last line (a run that did not stop cleanly)"
                )
                _ = ftruncate(fd, whole)
            }
            _ = lseek(fd, whole, SEEK_SET)
        }
    }

    /// The length of `fd`'s whole lines: up to and including its last newline (0 when it has none).
    private static func wholeLinesLength(fd: Int32, size: off_t) -> off_t {
        var end = size
        var chunk = [UInt8](repeating: 0, count: 4096)
        while end > 0 {
            let start = max(0, end - off_t(chunk.count))
            let count = Int(end - start)
            guard pread(fd, &chunk, count, start) == count else { return size }
            if let newline = chunk[..<count].lastIndex(of: UInt8(ascii: "\n")) { return start + off_t(newline) + 1 }
            end = start
        }
        return 0
    }

    /// Drains every shard's alert ring and writes the events in release order (`AlertReleaseQueue`): an event
    /// is written once every shard's `decidedThrough` bound has reached its decision time. With nothing to do
    /// it parks on `parker` (the inboxes' consumer parker), which a shard wakes when it pushes an event, moves
    /// its bound, or finishes.
    func run(
        inboxes: [SPSCRing<DecidedAlert>],
        decidedThrough: [ManagedAtomic<Int64>],
        parker: Parker,
        shardsFinished: () -> Bool
    ) {
        func lowestBound() -> Int64 {
            var bound = Int64.max
            for shardBound in decidedThrough { bound = min(bound, shardBound.load(ordering: .acquiring)) }
            return bound
        }
        var queue = AlertReleaseQueue()
        var backoff = Backoff()
        var overflowReported = false
        while true {
            // Bounds before events: an event decided at or before a shard's bound was pushed before the
            // shard published that bound, so the pops below see it.
            let bound = lowestBound()
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
            } else if shardsFinished() && inboxes.allSatisfy({ $0.isEmpty }) {
                break
            } else if !backoff.spin() {
                // Only wakes end this sleep: nothing here is due by the clock.
                parker.park(timeoutNanoseconds: nil) {
                    inboxes.contains { !$0.isEmpty } || (queue.count > 0 && lowestBound() != bound) || shardsFinished()
                }
            }
        }
        // Every shard has finished (its bound is Int64.max): what still waits goes out, in order.
        appendLines(queue.release(through: .max))
        writeBuffered()
        if ownsDescriptor {
            // Only a regular file has anything to sync (a FIFO or /dev/null answers EINVAL).
            if isRegularFile && fsync(fd) != 0 && !failed {
                logger.error(
                    "\(path): fsync of the alert log failed: \(String(cString: strerror(errno))); it may not survive a crash"
                )
            }
            close(fd)
        }
    }

    /// One JSON line per event, into the write buffer.
    private func appendLines(_ alerts: [DecidedAlert]) {
        for alert in alerts {
            buffer.append(contentsOf: alert.event.jsonLine.utf8)
            buffer.append(10)
        }
    }

    /// Writes the buffered lines (a short write is continued); on failure keeps the whole lines written,
    /// removes a torn one, and counts the rest as dropped. O(buffered bytes).
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
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else {
                fail(errorNumber: written < 0 ? errno : EIO, writtenByteCount: offset)
                return
            }
            offset += written
        }
    }

    /// After a failed write of ``buffer`` that had written its first `writtenByteCount` bytes: undoes the
    /// part of a line those bytes end with, counts the events not written whole, and stops writing.
    private func fail(errorNumber: Int32, writtenByteCount: Int) {
        failed = true
        let wholeByteCount = buffer[..<writtenByteCount].lastIndex(of: 10).map { $0 + 1 } ?? 0
        let tornByteCount = writtenByteCount - wholeByteCount
        var undone = tornByteCount == 0
        if tornByteCount > 0 && isRegularFile {
            // The file offset is just past the torn bytes: cut them off and write nothing after them.
            let end = lseek(fd, 0, SEEK_CUR)
            undone = end >= tornByteCount && ftruncate(fd, end - off_t(tornByteCount)) == 0
        }
        let dropped = buffer[wholeByteCount...].count { $0 == 10 }
        counters.alertEventsDropped.wrappingIncrement(by: dropped, ordering: .relaxed)
        let torn = undone ? "" : "; the last line is torn (\(tornByteCount) bytes) and could not be removed"
        logger.error(
            "\(path): writing alerts failed: \(String(cString: strerror(errorNumber))); this write's \(dropped) event(s) and all later ones are counted, not written\(torn)"
        )
    }
}
