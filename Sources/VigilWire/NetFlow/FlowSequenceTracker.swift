/// Follows one exporter's header sequence numbers to estimate loss between exporter and Vigil.
///
/// The unit is the format's: v5 flows, v9 datagrams, IPFIX data records. After each datagram the tracker
/// expects `sequence + units`. The next datagram's distance from that expectation, modulo 2^32, is a gap
/// when it is forward and below 2^31; a backward distance (the exporter restarted, or a datagram was
/// reordered) resets the expectation silently, so a restart never counts as billions of lost units. A
/// reordered datagram therefore costs one false gap (the one that follows it): NetFlow over UDP is rarely
/// reordered, and a loss estimate that errs that way is the safer one.
@usableFromInline
struct _FlowSequenceTracker: Sendable {
    /// The sequence number the next datagram should carry; nil before the first, or after a datagram whose
    /// unit count could not be known (IPFIX data held for its template).
    @usableFromInline var expected: UInt32?

    @inlinable
    init() { expected = nil }

    /// Checks a datagram's sequence number against the expectation.
    ///
    /// - Returns: the units missing before it (0 when none, or on a backward jump).
    @inlinable
    func gap(before sequence: UInt32) -> UInt64 {
        guard let expected else { return 0 }
        let distance = sequence &- expected
        return distance < 1 << 31 ? UInt64(distance) : 0
    }

    /// Records that the datagram numbered `sequence` carried `units` units (nil: unknown).
    @inlinable
    mutating func advance(from sequence: UInt32, units: UInt32?) {
        expected = units.map { sequence &+ $0 }
    }
}
