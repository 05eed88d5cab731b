import VigilCore

/// An alert event and the event time it was decided at: the end of the window that fired or resolved it.
struct DecidedAlert: Sendable {
    var decidedAtNanoseconds: Int64
    var event: AlertEvent
}

/// Puts the alert events of every shard into one order that does not depend on how the shards ran: by the
/// time each was decided, then by the series' labels and the alert kind. Events wait here until every shard
/// has closed its windows up to their decision time (`release(through:)` with the lowest of the shards'
/// bounds), since a shard that is behind may still decide an earlier one.
///
/// Bounded: past `capacity` waiting events (only while a shard stalls for long), the earliest are released
/// anyway, and `overflowed` says so (order, not events, is what such a stall costs).
struct AlertReleaseQueue {
    let capacity: Int
    private var waiting: [DecidedAlert] = []
    private(set) var overflowed = false

    init(capacity: Int = 65_536) {
        precondition(capacity > 0, "capacity must be positive")
        self.capacity = capacity
    }

    var count: Int { waiting.count }

    mutating func insert(_ alert: DecidedAlert) { waiting.append(alert) }

    /// The waiting events decided at or before `bound`, in order, and then, if more than `capacity` still
    /// wait, the earliest of those down to `capacity`.
    mutating func release(through bound: Int64) -> [DecidedAlert] {
        guard !waiting.isEmpty else { return [] }
        var ready = waiting.filter { $0.decidedAtNanoseconds <= bound }
        if !ready.isEmpty { waiting.removeAll { $0.decidedAtNanoseconds <= bound } }
        ready.sort(by: Self.precedes)
        if waiting.count > capacity {
            overflowed = true
            waiting.sort(by: Self.precedes)
            ready.append(contentsOf: waiting.prefix(waiting.count - capacity))
            waiting.removeFirst(waiting.count - capacity)
        }
        return ready
    }

    /// The release order: decision time, then device, interface, metric, extra labels, kind, status, id (two
    /// series can share every label once repeated label names collapse; their alert ids differ).
    static func precedes(_ a: DecidedAlert, _ b: DecidedAlert) -> Bool {
        if a.decidedAtNanoseconds != b.decidedAtNanoseconds { return a.decidedAtNanoseconds < b.decidedAtNanoseconds }
        let left = a.event
        let right = b.event
        if left.device != right.device { return left.device < right.device }
        if left.interface != right.interface { return left.interface < right.interface }
        if left.metric != right.metric { return left.metric < right.metric }
        if left.labels != right.labels {
            return left.labels.sorted { $0.key < $1.key }.lexicographicallyPrecedes(
                right.labels.sorted { $0.key < $1.key },
                by: { $0.key != $1.key ? $0.key < $1.key : $0.value < $1.value }
            )
        }
        if left.kind != right.kind { return left.kind.rawValue < right.kind.rawValue }
        if left.status != right.status { return left.status.rawValue < right.status.rawValue }
        return left.id < right.id
    }
}
