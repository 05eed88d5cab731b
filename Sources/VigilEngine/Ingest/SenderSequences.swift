/// Which numbered frames each sender (by the id in its hello) has had taken, so that a frame it sends again,
/// after a reconnect from any address and port, is recognised and not counted twice.
///
/// Per sender: the highest sequence number taken and a ring of ``windowFrames`` bits, one per sequence
/// number below it (serial arithmetic: numbers may wrap past 2^32). A number more than the window below the
/// highest is *stale*: it cannot be told apart any more, and is not taken. At most ``maximumSenders`` are
/// remembered; past that, the one heard from longest ago is forgotten (counted). 512 bytes per sender.
/// Owned by one producer's thread: not thread-safe.
final class SenderSequences {
    static let windowFrames = 4096
    static let maximumSenders = 4096

    enum Verdict: Equatable {
        /// Not taken yet: decode it.
        case new
        /// Taken already: skip it.
        case duplicate
        /// Too far below the highest number taken to tell: skip it.
        case stale
    }

    private struct Sender {
        var highest: UInt32
        var taken: [UInt64]
        var lastHeard: Int
    }

    private var senders: [UInt64: Sender] = [:]
    /// Streams open per sender id: a connected sender's record is never forgotten.
    private var connected: [UInt64: Int] = [:]
    /// Senders cut off whose clock is kept for their return (``DisconnectedSenders``): not forgotten either, or a
    /// crowd of short-lived connections with new ids could make Vigil forget one seconds after its cut and count
    /// what it resends twice.
    private var awaited: Set<UInt64> = []
    private var clock = 0
    let counters: EngineCounters

    init(counters: EngineCounters) { self.counters = counters }

    var count: Int { senders.count }

    /// What to do with frame `sequence` of `sender`. O(1).
    func verdict(sender: UInt64, sequence: UInt32) -> Verdict {
        guard let state = senders[sender] else { return .new }
        let ahead = Int32(bitPattern: sequence &- state.highest)
        if ahead > 0 { return .new }
        if -Int(ahead) >= Self.windowFrames { return .stale }
        return Self.isSet(state.taken, sequence) ? .duplicate : .new
    }

    /// Records frame `sequence` of `sender` as taken. O(1) amortised (a jump ahead clears the bits it passes,
    /// at most the window).
    func markTaken(sender: UInt64, sequence: UInt32) {
        clock += 1
        guard var state = senders[sender] else {
            // Full of connected senders: this one's frames are taken, but not remembered for retries.
            if senders.count >= Self.maximumSenders && !forgetOldest() { return }
            var taken = [UInt64](repeating: 0, count: Self.windowFrames / 64)
            Self.set(&taken, sequence)
            senders[sender] = Sender(highest: sequence, taken: taken, lastHeard: clock)
            return
        }
        senders[sender] = nil  // unique, so the bit array is written in place
        let ahead = Int32(bitPattern: sequence &- state.highest)
        if ahead > 0 {
            // The numbers passed over are not taken (yet): clear their bits, which held numbers a window older.
            if Int(ahead) >= Self.windowFrames {
                for index in state.taken.indices { state.taken[index] = 0 }
            } else {
                var cleared = state.highest
                for _ in 0..<Int(ahead) {
                    cleared &+= 1
                    Self.clear(&state.taken, cleared)
                }
            }
            state.highest = sequence
        }
        Self.set(&state.taken, sequence)
        state.lastHeard = clock
        senders[sender] = state
    }

    /// Notes that `sender` was heard from (a hello), so it is not the first forgotten.
    func noteHeard(sender: UInt64) {
        clock += 1
        senders[sender]?.lastHeard = clock
    }

    func noteConnected(sender: UInt64) { connected[sender, default: 0] += 1 }

    /// The sender's clock is kept for its return (true) or no longer (false).
    func noteAwaited(sender: UInt64, _ awaited: Bool) {
        if awaited { self.awaited.insert(sender) } else { self.awaited.remove(sender) }
    }

    /// Whether a stream of `sender` is open.
    func isConnected(sender: UInt64) -> Bool { connected[sender] != nil }

    func noteDisconnected(sender: UInt64) {
        guard let count = connected[sender] else { return }
        connected[sender] = count > 1 ? count - 1 : nil
    }

    /// Forgets the sender heard from longest ago that is not connected; false when every one is. O(senders):
    /// at most once per new sender id, and a stream may say only one.
    private func forgetOldest() -> Bool {
        let oldest = senders.lazy.filter { self.connected[$0.key] == nil && !self.awaited.contains($0.key) }
            .min(by: { $0.value.lastHeard < $1.value.lastHeard })?.key
        guard let oldest else { return false }
        senders[oldest] = nil
        counters.sendersForgotten.wrappingIncrement(ordering: .relaxed)
        return true
    }

    private static func isSet(_ bits: [UInt64], _ sequence: UInt32) -> Bool {
        let index = Int(sequence) % windowFrames
        return bits[index / 64] & (1 << UInt64(index % 64)) != 0
    }

    private static func set(_ bits: inout [UInt64], _ sequence: UInt32) {
        let index = Int(sequence) % windowFrames
        bits[index / 64] |= 1 << UInt64(index % 64)
    }

    private static func clear(_ bits: inout [UInt64], _ sequence: UInt32) {
        let index = Int(sequence) % windowFrames
        bits[index / 64] &= ~(1 << UInt64(index % 64))
    }
}
