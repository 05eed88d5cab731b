import VigilCore

/// The event-time sources of TCP senders that said who they are (a hello) and disconnected: kept, still
/// holding the engine's watermark, for `--source-idle-timeout` after their last on-time sample, so that a
/// sender that reconnects (from any address and port) and sends again the frames it has no acknowledgement
/// for resumes its own clock, its series and its pending clock jump, instead of joining anew behind the
/// engine's watermark with its retried samples late. A stall on an open connection costs nothing; a cut
/// connection now costs nothing more.
///
/// Owned by one producer's thread. At most ``maximumEntries``: past that, the sender that left longest ago is
/// let go at once (a crowd of short-lived connections, each with its own id, cannot make the list, or the
/// clocks it holds, grow without bound).
final class DisconnectedSenders {
    struct Entry {
        var source: ProducerClock.Source
        var claimedSeries: [SeriesID]
        var clockCandidate: ClockCandidate
        /// Order of leaving, for the bound.
        var left = 0
        /// The sender id it was kept under.
        var sender: UInt64 = 0
    }

    static let maximumEntries = 4096
    private var entries: [UInt64: Entry] = [:]
    private var leaves = 0

    /// Closes the other open streams of a sender (set by a TCP listener): called when a sender says its hello
    /// on a new connection while an older one of it is still open (half-open: the sender saw it fail, Vigil
    /// has not yet), so that the older one's source comes here and the new stream takes it back.
    var closeOtherStreams: ((UInt64) -> Void)?

    var count: Int { entries.count }

    /// Whether a clock is kept for `sender`.
    func isKeeping(_ sender: UInt64) -> Bool { entries[sender] != nil }

    func keep(_ entry: Entry, sender: UInt64) {
        var entry = entry
        leaves += 1
        entry.left = leaves
        entry.sender = sender
        if let replaced = entries.updateValue(entry, forKey: sender) {
            // Two streams of one sender ended: the newer one's clock is the sender's.
            pendingRelease.append(replaced)
        } else if entries.count > Self.maximumEntries,
            let oldest = entries.min(by: { $0.value.left < $1.value.left })
        {
            entries[oldest.key] = nil
            pendingRelease.append(oldest.value)
        }
    }

    /// The source of `sender`, taken back by the stream it reconnected on.
    func take(sender: UInt64) -> Entry? { entries.removeValue(forKey: sender) }

    /// Entries whose source is no longer active (let go as idle) or idle by now: to be released by the caller.
    func expire(producerClock: ProducerClock, nowNanoseconds: Int64) -> [Entry] {
        var expired = pendingRelease
        pendingRelease.removeAll()
        for (sender, entry) in entries
        where !entry.source.isActive || producerClock.isIdle(entry.source, nowNanoseconds: nowNanoseconds) {
            expired.append(entry)
            entries[sender] = nil
        }
        return expired
    }

    /// Every entry, at the end of the run.
    func removeAll() -> [Entry] {
        let all = Array(entries.values) + pendingRelease
        entries.removeAll()
        pendingRelease.removeAll()
        return all
    }

    private var pendingRelease: [Entry] = []
}
