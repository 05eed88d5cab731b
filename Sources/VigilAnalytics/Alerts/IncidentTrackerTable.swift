import VigilCore

/// Per-series ``IncidentTracker`` state for one shard, struct-of-arrays by local index: 32 B per series.
///
/// Single-threaded like its shard; every call is O(1) and allocates nothing.
public struct IncidentTrackerTable: Sendable {
    public let tracker: IncidentTracker
    public let capacity: Int

    @usableFromInline var _states: [IncidentState]
    /// Bit 0 = the latest window was a hit, bit k = the window k windows earlier; only `fireSpanWindows` bits.
    @usableFromInline var _hitMasks: [UInt8]
    @usableFromInline var _quietRuns: [UInt16]
    @usableFromInline var _lastWindowStarts: [Int64]
    @usableFromInline var _startsAt: [Int64]
    @usableFromInline var _quietSince: [Int64]
    /// Signed score of largest magnitude since the incident's first hit.
    @usableFromInline var _peaks: [Float]

    /// Bytes of state per series.
    public static let memoryBytesPerSeries =
        MemoryLayout<IncidentState>.size + MemoryLayout<UInt8>.size + MemoryLayout<UInt16>.size
        + 3 * MemoryLayout<Int64>.size + MemoryLayout<Float>.size

    /// - Parameters:
    ///   - capacity: number of series (local indices `0..<capacity`); at least 1.
    ///   - tracker: the configured tracker.
    public init(capacity: Int, tracker: IncidentTracker) {
        precondition(capacity > 0, "an incident table needs room for at least one series")
        self.tracker = tracker
        self.capacity = capacity
        _states = Array(repeating: .idle, count: capacity)
        _hitMasks = Array(repeating: 0, count: capacity)
        _quietRuns = Array(repeating: 0, count: capacity)
        _lastWindowStarts = Array(repeating: .min, count: capacity)
        _startsAt = Array(repeating: 0, count: capacity)
        _quietSince = Array(repeating: 0, count: capacity)
        _peaks = Array(repeating: 0, count: capacity)
    }

    /// Forgets a series' lifecycle (when its local index is reassigned). A firing incident is dropped
    /// without a transition: the caller resolves it first if it must.
    public mutating func reset(localIndex: Int) {
        precondition(localIndex >= 0 && localIndex < capacity, "local index \(localIndex) outside 0..<\(capacity)")
        _states[localIndex] = .idle
        _hitMasks[localIndex] = 0
        _quietRuns[localIndex] = 0
        _lastWindowStarts[localIndex] = .min
        _peaks[localIndex] = 0
    }

    /// The series' current lifecycle state.
    @inlinable
    public func state(localIndex: Int) -> IncidentState { _states[localIndex] }

    /// Feeds one window's score, skipping the work when it cannot matter: a quiet window (|score| below
    /// `fireScore`, or NaN) for a series that is idle with no recent hit changes nothing but the time of the
    /// last window seen, and a window that never arrived counts as quiet anyway. Most windows are such; this
    /// is what a caller feeding every window of every series should use.
    /// - Complexity: O(1); no allocation, and no write for a skipped window.
    @inlinable
    public mutating func observeSkippingQuiet(
        score: Double,
        windowStartNanoseconds: Int64,
        localIndex: Int
    ) -> IncidentTransition {
        let isQuiet = !(abs(score) >= tracker.configuration.fireScore)
        if isQuiet && _hitMasks[localIndex] == 0 && _states[localIndex] == .idle { return .none }
        return observe(score: score, windowStartNanoseconds: windowStartNanoseconds, localIndex: localIndex)
    }

    /// Feeds one window's score.
    ///
    /// - Parameters:
    ///   - score: higher magnitude is worse (a robust z, or a forecast/threshold score); NaN counts as 0.
    ///   - windowStartNanoseconds: the window's start; windows must come in event-time order per series
    ///     (a window not after the previous one is taken as the next one).
    ///   - localIndex: the series' index in this shard.
    /// - Returns: `.fired` once when an incident starts, `.resolved` once when it ends, `.none` otherwise.
    /// - Complexity: O(1); no allocation.
    @inlinable
    public mutating func observe(score: Double, windowStartNanoseconds: Int64, localIndex: Int) -> IncidentTransition {
        precondition(localIndex >= 0 && localIndex < capacity, "local index \(localIndex) outside 0..<\(capacity)")
        let configuration = tracker.configuration
        let windowNanoseconds = configuration.windowNanoseconds
        let magnitude = score.isNaN ? 0 : abs(score)

        // Windows that never arrived between the previous window and this one count as quiet.
        let last = _lastWindowStarts[localIndex]
        var missedWindows: Int64 = 0
        if last != .min && windowStartNanoseconds > last {
            missedWindows = min((windowStartNanoseconds - last) / windowNanoseconds - 1, 10_000)
        }
        _lastWindowStarts[localIndex] = windowStartNanoseconds

        let spanMask = UInt8(truncatingIfNeeded: (1 << configuration.fireSpanWindows) - 1)
        var mask = _hitMasks[localIndex]
        mask = missedWindows >= 8 ? 0 : mask << UInt8(missedWindows)
        let isHit = magnitude >= configuration.fireScore
        mask = ((mask << 1) | (isHit ? 1 : 0)) & spanMask
        _hitMasks[localIndex] = mask

        switch _states[localIndex] {
        case .idle, .pending:
            if mask == 0 {
                _states[localIndex] = .idle
                _peaks[localIndex] = 0
                return .none
            }
            if isHit && abs(score) > abs(Double(_peaks[localIndex])) { _peaks[localIndex] = Float(score) }
            if mask.nonzeroBitCount >= configuration.fireWindows {
                // The oldest hit still in the span is where the incident started.
                let oldestHitAge = Int64(7 - mask.leadingZeroBitCount)
                let startsAt = windowStartNanoseconds - oldestHitAge * windowNanoseconds
                _states[localIndex] = .firing
                _startsAt[localIndex] = startsAt
                _quietRuns[localIndex] = 0
                return .fired(startsAtNanoseconds: startsAt, peakScore: Double(_peaks[localIndex]))
            }
            _states[localIndex] = .pending
            return .none
        case .firing:
            if abs(score) > abs(Double(_peaks[localIndex])) { _peaks[localIndex] = Float(score) }
            var quietRun = Int(_quietRuns[localIndex])
            if missedWindows > 0 {
                if quietRun == 0 { _quietSince[localIndex] = last + windowNanoseconds }
                quietRun += Int(missedWindows)
            }
            if magnitude < configuration.clearScore {
                if quietRun == 0 { _quietSince[localIndex] = windowStartNanoseconds }
                quietRun += 1
            } else {
                quietRun = 0
            }
            if quietRun >= configuration.clearWindows {
                let peak = Double(_peaks[localIndex])
                _states[localIndex] = .idle
                _hitMasks[localIndex] = 0
                _quietRuns[localIndex] = 0
                _peaks[localIndex] = 0
                return .resolved(
                    startsAtNanoseconds: _startsAt[localIndex],
                    endsAtNanoseconds: _quietSince[localIndex],
                    peakScore: peak
                )
            }
            _quietRuns[localIndex] = UInt16(quietRun)
            return .none
        }
    }
}
