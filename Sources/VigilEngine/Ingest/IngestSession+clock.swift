import VigilAnalytics
import VigilCore

/// A source's late verdict, per sample, in the frame loop's registers: a sample is late when its window ends
/// at or before the source's watermark at its arrival, `max(newest - lateness, floor)`, where `newest`
/// includes the sample itself.
struct LateJudge {
    private(set) var newestNanoseconds: Int64
    private let floorNanoseconds: Int64
    private let windows: WindowConfiguration
    /// The start of the window holding the watermark: a sample before it is late, one at or after it is not.
    private var lateBefore: Int64 = .min
    /// The newest event time at which `lateBefore` moves on (a window at a time): it is recomputed, a
    /// division, only then.
    private var lateBoundaryMoves: Int64 = .min

    init(source: ProducerClock.Source, windows: WindowConfiguration) {
        self.newestNanoseconds = source.newestNanoseconds
        self.floorNanoseconds = source.floorNanoseconds
        self.windows = windows
        recompute()
    }

    /// Whether a sample at `timestamp` is late; moves the newest event time to it when it is newer.
    @inline(__always)
    mutating func isLate(_ timestamp: Int64) -> Bool {
        if timestamp > newestNanoseconds {
            newestNanoseconds = timestamp
            if timestamp >= lateBoundaryMoves { recompute() }
        }
        return timestamp < lateBefore
    }

    private mutating func recompute() {
        let watermark = ProducerClock.watermark(
            newest: newestNanoseconds,
            floor: floorNanoseconds,
            latenessNanoseconds: windows.latenessNanoseconds
        )
        guard watermark != .min, let start = windows.windowStart(containing: watermark) else {
            (lateBefore, lateBoundaryMoves) = (.min, .max)
            return
        }
        lateBefore = start
        lateBoundaryMoves = start &+ windows.windowNanoseconds &+ windows.latenessNanoseconds
    }
}

/// Samples a source's clock cannot place yet: the source has no clock, or they lie more than the skew ahead
/// of it. They wait here until enough in a row agree (the clock starts or jumps to them) or one disagrees
/// (they were outliers). Bounded by the confirmation count, allocated once per stream.
struct ClockCandidate {
    struct Sample {
        var timestamp: Int64
        var seriesID: SeriesID
        var value: Double
    }

    private(set) var samples: [Sample] = []
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        samples.reserveCapacity(self.capacity)
    }

    var isEmpty: Bool { samples.isEmpty }
    var count: Int { samples.count }
    var isConfirmed: Bool { samples.count >= capacity }

    /// Whether `sample` agrees with the waiting ones: within `skew` of the first.
    func agrees(_ sample: Sample, skew: Int64) -> Bool {
        guard let first = samples.first else { return false }
        // Both passed the range check (2000-2100): the difference cannot overflow.
        return abs(sample.timestamp - first.timestamp) <= skew
    }

    mutating func append(_ sample: Sample) { samples.append(sample) }

    mutating func removeAll() -> [Sample] {
        let taken = samples
        samples.removeAll(keepingCapacity: true)
        return taken
    }
}

extension IngestSession {
    /// A sample the source's clock cannot place: the source has none yet, or the sample is more than the
    /// skew ahead of it. Near the engine's clock (within the skew of the newest time of the slowest active
    /// source), it is believed at once: a new sender in step with the others, or one back from a pause.
    /// Otherwise it waits with the samples after it until ``IngestLimits/clockJumpConfirmations`` in a row
    /// agree, and the clock starts (or jumps) there; the samples that confirmed it are kept.
    mutating func offClock(_ sample: ClockCandidate.Sample, judge: inout LateJudge, nowNanoseconds: Int64) {
        let skew = limits.maximumFutureSkewNanoseconds
        let engineWatermark = router.producerClock.engineClock.currentWatermark
        if engineWatermark != .min {
            let reference = engineWatermark &+ router.windows.latenessNanoseconds
            if abs(sample.timestamp - reference) <= skew {
                if !clockCandidate.isEmpty { rejectClockCandidate() }
                accept([sample], judge: &judge, nowNanoseconds: nowNanoseconds, confirmations: 0)
                return
            }
        }
        if !clockCandidate.isEmpty && !clockCandidate.agrees(sample, skew: skew) { rejectClockCandidate() }
        clockCandidate.append(sample)
        if clockCandidate.isConfirmed {
            let samples = clockCandidate.removeAll()
            accept(samples, judge: &judge, nowNanoseconds: nowNanoseconds, confirmations: samples.count)
        }
    }

    /// Starts (or moves) the source's clock at the first of `samples`, joins the source to its producer's
    /// clock, and judges and routes the samples in order, as if they had arrived on that clock.
    private mutating func accept(
        _ samples: [ClockCandidate.Sample],
        judge: inout LateJudge,
        nowNanoseconds: Int64,
        confirmations: Int
    ) {
        guard let first = samples.first else { return }
        let producerClock = router.producerClock
        let previousNewest = source.newestNanoseconds
        producerClock.advance(source, toNewest: first.timestamp)
        producerClock.join(source, nowNanoseconds: nowNanoseconds)
        judge = LateJudge(source: source, windows: router.windows)
        let appender = router.appender
        for sample in samples {
            if judge.isLate(sample.timestamp) {
                offClockLate += 1
            } else {
                appender.append(
                    timestamp: sample.timestamp,
                    seriesID: sample.seriesID,
                    value: sample.value,
                    newest: judge.newestNanoseconds
                )
                offClockOnTime += 1
            }
        }
        guard previousNewest != .min else {
            let how = confirmations > 0 ? "\(confirmations) samples in a row agreed" : "in step with the engine's"
            logClock("clock starts at \(EventTime.rfc3339(nanoseconds: first.timestamp)) (\(how))")
            return
        }
        counters.clockJumps.wrappingIncrement(ordering: .relaxed)
        let gap = EventTime.describeDuration(nanoseconds: first.timestamp &- previousNewest)
        let how = confirmations > 0 ? "confirmed by \(confirmations) samples in a row" : "in step with the engine's"
        logClock(
            "clock jumped \(gap) ahead, from \(EventTime.rfc3339(nanoseconds: previousNewest)) to "
                + "\(EventTime.rfc3339(nanoseconds: first.timestamp)) (\(how)): a gap in the data"
        )
    }

    /// Rejects the waiting samples: a later sample did not agree with them (outliers).
    mutating func rejectClockCandidate() {
        let rejected = clockCandidate.removeAll()
        guard let first = rejected.first else { return }
        counters.rejectedClockOutliers.wrappingIncrement(by: rejected.count, ordering: .relaxed)
        let clock =
            source.hasClock
            ? "its clock (\(EventTime.rfc3339(nanoseconds: source.newestNanoseconds)))" : "the samples after them"
        report(
            "rejected \(rejected.count) sample(s) at \(EventTime.rfc3339(nanoseconds: first.timestamp)): more than "
                + "--max-future-skew from \(clock), and not confirmed by the samples right after them (outliers)"
        )
    }

    /// The end of the stream: samples still waiting for confirmation are kept when the source never had a
    /// clock (they are all it sent, and nothing contradicts them) and rejected when they would have moved a
    /// clock it had (a jump no later sample confirmed). Then the source stops holding the watermark back.
    ///
    /// - Parameter keepingSender: the connection was cut while the run goes on: a sender that said who it is
    ///   keeps its clock, series and pending jump (``DisconnectedSenders``) for `--source-idle-timeout`, to
    ///   take them back when it reconnects; the rest is settled when that time is up.
    mutating func finishClock(keepingSender: Bool = false) {
        if keepingSender, let hello {
            // Samples waiting for a source that never had a clock are kept at the end of a stream (nothing
            // contradicts them), and they were acknowledged: settled now, as if the stream had ended, rather
            // than kept and rejected with the entry when the sender does not come back.
            if !source.hasClock && !clockCandidate.isEmpty { acceptCandidateOfSourceWithoutClock() }
            disconnectedSenders.keep(
                DisconnectedSenders.Entry(source: source, claimedSeries: claimedSeries, clockCandidate: clockCandidate),
                sender: hello.senderID
            )
            senderSequences.noteAwaited(sender: hello.senderID, true)
            claimedSeries.removeAll()
            _ = clockCandidate.removeAll()
            finishSender()
            return
        }
        if !clockCandidate.isEmpty {
            if source.hasClock {
                rejectClockCandidate()
            } else {
                acceptCandidateOfSourceWithoutClock()
            }
        }
        router.producerClock.leave(source)
        router.publishWatermark()
        releaseClaims()
        finishSender()
    }

    /// The end of a stream (or a cut connection) of a source that never had a clock: its waiting samples are
    /// all it sent and nothing contradicts them, so its clock starts at them and they are judged and routed.
    private mutating func acceptCandidateOfSourceWithoutClock() {
        let nowNanoseconds = ResourceUsage.monotonicNanoseconds()
        router.beginFrame(source: source)
        var judge = LateJudge(source: source, windows: router.windows)
        let samples = clockCandidate.removeAll()
        accept(samples, judge: &judge, nowNanoseconds: nowNanoseconds, confirmations: samples.count)
        if offClockOnTime > 0 { router.producerClock.noteOnTime(source, nowNanoseconds: nowNanoseconds) }
        router.endFrame(newest: judge.newestNanoseconds)
        if offClockLate > 0 {
            counters.lateSamples.wrappingIncrement(by: offClockLate, ordering: .relaxed)
            reportLate(offClockLate)
        }
        (offClockLate, offClockOnTime) = (0, 0)
    }

    private mutating func logClock(_ message: String) {
        clockLines.log(
            logger,
            .notice,
            "\(streamName): \(message)",
            closing: "\(streamName): more clock changes; no longer logging them (counted in clock_jumps)"
        )
    }
}
