import CVigilNative
import VigilCore
import VigilWire

extension IngestSession {
    /// What a frame's samples came to, counted in registers by the frame loop.
    struct FrameCounts {
        var unknown = 0
        var cardinality = 0
        var fedElsewhere = 0
        var nonFinite = 0
        var outOfRange = 0
        var inFuture = 0
        var late = 0
        var onTime = 0
    }

    /// A sample's accepted range of time, and how far ahead of its stream's clock it may be.
    struct Bounds {
        var minimumTimestamp: Int64
        /// The per-frame maximum: at most `hardMaximumTimestamp`, and for live senders the wall clock plus the skew.
        var maximumTimestamp: Int64
        var hardMaximumTimestamp: Int64
        var skew: Int64
    }

    /// The per-sample path: from `start`, translates each sample's wire id, validates it, judges it against the
    /// stream's clock and routes it, until the frame ends or a sample needs the session (it returns that one's
    /// index): one with no clock to judge it by, more than the skew ahead of it, or, with `stopOnClock`, the
    /// first sample on the clock (which rejects a pending clock jump). Everything it touches is a parameter,
    /// so its state stays in registers.
    @inline(__always)
    static func routeOnClock<Columns: WireSampleColumns>(
        _ frame: Columns,
        from start: Int,
        table: UnsafeBufferPointer<SeriesID>,
        sparse: [UInt32: SeriesID],
        overLimit: [UInt64],
        bounds: Bounds,
        stopOnClock: Bool,
        judge: inout LateJudge,
        counts: inout FrameCounts,
        appender: ShardRouter.Appender
    ) -> Int {
        let frameCount = frame.count
        let minimum = bounds.minimumTimestamp
        let maximum = bounds.maximumTimestamp
        let skew = bounds.skew
        var index = start
        while index < frameCount {
            // Wire ids come in the sender's order, random over a table larger than L1: fetch the entry a few
            // samples ahead so the lookup below hits cache.
            if index &+ translationPrefetchDistance < frameCount {
                let wireAhead = Int(frame.wireID(at: index &+ translationPrefetchDistance))
                if wireAhead < table.count { vigil_prefetch_for_write(table.baseAddress! + wireAhead) }
            }
            let wireID = Int(frame.wireID(at: index))
            let seriesID = translate(wireID, table: table, sparse: sparse)
            if seriesID >= fedElsewhere {
                if seriesID == fedElsewhere {
                    counts.fedElsewhere &+= 1
                } else if seriesID == undeclared && !isMarked(wireID, in: overLimit) {
                    counts.unknown &+= 1
                } else {
                    counts.cardinality &+= 1
                }
                index &+= 1
                continue
            }
            let value = frame.value(at: index)
            if !value.isFinite {
                counts.nonFinite &+= 1
                index &+= 1
                continue
            }
            let timestamp = frame.timestamp(at: index)
            if timestamp < minimum || timestamp > maximum {
                if timestamp > maximum && timestamp <= bounds.hardMaximumTimestamp {
                    counts.inFuture &+= 1
                } else {
                    counts.outOfRange &+= 1
                }
                index &+= 1
                continue
            }
            // Both times passed the range check, so the difference cannot overflow; `newest + skew` could.
            if judge.newestNanoseconds == .min || timestamp &- judge.newestNanoseconds > skew || stopOnClock {
                return index
            }
            if judge.isLate(timestamp) {
                counts.late &+= 1
            } else {
                appender.append(timestamp: timestamp, seriesID: seriesID, value: value, newest: judge.newestNanoseconds)
                counts.onTime &+= 1
            }
            index &+= 1
        }
        return index
    }
}
