import Logging
import VigilCore
import VigilStore

#if canImport(Glibc)
import Glibc
#endif

/// The engine's side of `--state DIR`: the checkpoint read at start, the sections components post as the
/// run goes, and the publishing of a new checkpoint every `--checkpoint-interval` and at the end of the
/// run (``StateDirectory`` writes it whole or not at all).
///
/// Components post on their own threads (a flow input's templates from its producer); only the supervisor
/// publishes, so no producer ever waits for the disk. Sections this run does not post (another input's
/// templates, given to an earlier run) are carried over from the restored checkpoint unchanged.
final class StateCheckpointer: @unchecked Sendable {
    let directory: StateDirectory
    /// The checkpoint this run started from, if there was one that checked out.
    let restored: StateCheckpoint?
    private let counters: EngineCounters
    private let logger: Logger
    private var mutex = pthread_mutex_t()
    /// By (kind, key), in the order first posted (restored ones first).
    private var sections: [StateSection] = []
    private var changed = false

    /// Opens the directory and reads its newest checkpoint, logging the ones skipped and why.
    ///
    /// - Throws: ``StateDirectoryError`` (in use by another process, cannot be created): the run does not
    ///   start.
    init(path: String, counters: EngineCounters, logger: Logger) throws {
        directory = try StateDirectory(path: path)
        let (checkpoint, skipped) = directory.loadNewest()
        for (name, reason) in skipped {
            logger.warning("state: \(path)/\(name) not used: \(reason)")
            counters.stateCheckpointsSkipped.wrappingIncrement(ordering: .relaxed)
        }
        if let checkpoint {
            logger.notice(
                "state: resuming from \(path)/\(StateDirectory.name(ofSequence: checkpoint.sequence)) (\(checkpoint.sections.count) section(s))"
            )
        } else {
            logger.notice("state: no checkpoint in \(path) yet; starting afresh")
        }
        restored = checkpoint
        sections = checkpoint?.sections ?? []
        self.counters = counters
        self.logger = logger
        pthread_mutex_init(&mutex, nil)
    }

    deinit { pthread_mutex_destroy(&mutex) }

    /// The restored section of `kind` for `key`, if any.
    func restoredSection(kind: String, key: String) -> StateSection? {
        restored?.section(kind: kind, key: key)
    }

    /// The restored sections of `kind`, which the caller now owns: they are no longer carried into this
    /// run's checkpoints (the caller posts its own, or the state they held is given up).
    func takeRestoredSections(kind: String) -> [StateSection] {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        let taken = sections.filter { $0.kind == kind }
        if !taken.isEmpty {
            sections.removeAll { $0.kind == kind }
            changed = true
        }
        return taken
    }

    /// Replaces (or adds) the section of its kind and key for the next checkpoint. Any thread; O(sections)
    /// under a mutex no hot path takes.
    func post(_ section: StateSection) {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        if let index = sections.firstIndex(where: { $0.kind == section.kind && $0.key == section.key }) {
            guard sections[index] != section else { return }
            sections[index] = section
        } else {
            sections.append(section)
        }
        changed = true
    }

    /// Publishes a checkpoint if anything was posted since the last one. Failures are logged and counted
    /// (the previous checkpoint stays the newest); the run goes on.
    func publishIfChanged() {
        pthread_mutex_lock(&mutex)
        let pending = changed ? sections : nil
        changed = false
        pthread_mutex_unlock(&mutex)
        guard let pending else { return }
        do {
            let started = ResourceUsage.monotonicNanoseconds()
            let name = try directory.publish(pending, createdNanoseconds: ProducerClock.realtimeNanoseconds())
            counters.stateCheckpoints.wrappingIncrement(ordering: .relaxed)
            let bytes = pending.reduce(0) { $0 + $1.payload.count }
            logger.info(
                "state: published \(directory.path)/\(name) (\(pending.count) section(s), \(bytes) bytes) in \((ResourceUsage.monotonicNanoseconds() - started) / 1_000_000) ms"
            )
        } catch {
            counters.stateCheckpointErrors.wrappingIncrement(ordering: .relaxed)
            logger.error("state: checkpoint not written: \(error); the previous one stays the newest")
            // Try again at the next interval.
            pthread_mutex_lock(&mutex)
            changed = true
            pthread_mutex_unlock(&mutex)
        }
    }
}
