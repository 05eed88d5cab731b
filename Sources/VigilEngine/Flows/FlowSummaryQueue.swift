import VigilCore

#if canImport(Glibc)
import Glibc
#endif

/// The bounded queue from flow inputs (producers, any number) to the rollup writer thread: per-(exporter,
/// window) summaries, handed over once per window per exporter, far off the per-record path.
///
/// Bounded by ``capacity`` summaries (each at most about 10 KiB with the default 20 entries a kind: 80
/// entries of 56 bytes and 20 register sets of 256 bytes), so at most about 40 MiB. When full, a summary is dropped and counted
/// (`flow_summaries_dropped`), never waited for: a slow disk must not stall flow decoding.
final class FlowSummaryQueue: @unchecked Sendable {
    let capacity: Int
    private var mutex = pthread_mutex_t()
    private var items: [FlowWindowSummary] = []
    private let dropped: ManagedAtomicInt
    /// The rollup writer's parker, woken by each summary queued.
    private let consumerParker: Parker

    /// - Parameters:
    ///   - capacity: summaries held at most, ≥ 1.
    ///   - dropped: counts summaries refused because the queue was full.
    ///   - consumerParker: where the rollup writer sleeps; woken after each summary queued.
    init(capacity: Int = 4_096, dropped: ManagedAtomicInt, consumerParker: Parker = Parker()) {
        self.consumerParker = consumerParker
        precondition(capacity >= 1, "capacity must be ≥ 1")
        self.capacity = capacity
        self.dropped = dropped
        pthread_mutex_init(&mutex, nil)
    }

    deinit { pthread_mutex_destroy(&mutex) }

    /// Queues `summary`; false (and counted) when the queue is full.
    @discardableResult
    func push(_ summary: FlowWindowSummary) -> Bool {
        pthread_mutex_lock(&mutex)
        let accepted = items.count < capacity
        if accepted { items.append(summary) }
        pthread_mutex_unlock(&mutex)
        if accepted { consumerParker.unpark() } else { dropped.wrappingIncrement(ordering: .relaxed) }
        return accepted
    }

    /// Whether no summary waits (the rollup writer's second look before it sleeps).
    var isEmpty: Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return items.isEmpty
    }

    /// Takes every queued summary, oldest first.
    func drain() -> [FlowWindowSummary] {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        guard !items.isEmpty else { return [] }
        let taken = items
        items.removeAll(keepingCapacity: true)
        return taken
    }
}
