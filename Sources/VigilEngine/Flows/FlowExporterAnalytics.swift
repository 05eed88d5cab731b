import VigilAnalytics
import VigilCore
import VigilWire

/// Sketches lent to exporters while they send: at most ``maximumLive`` at once per flow input, so memory is
/// bounded however many exporters there are (`maximumLive × FlowWindowSketches.byteCount`, 2,048 × 388 KiB
/// = 776 MiB at most with the defaults; an exporter holds one only while it sends, and gives it back a
/// window after its last record). Records of an exporter that finds none free are counted
/// (`flow_analytics_records_skipped`) and still feed its series.
final class FlowAnalyticsPool {
    let configuration: FlowWindowSketches.Configuration
    let maximumLive: Int
    let windowNanoseconds: Int64
    let queue: FlowSummaryQueue
    private(set) var live = 0
    private var free: [FlowWindowSketches] = []
    /// Records not sketched since the last ``takeSkipped()``.
    var skipped = 0

    static let defaultMaximumLive = 2_048

    init(
        queue: FlowSummaryQueue,
        windowNanoseconds: Int64,
        configuration: FlowWindowSketches.Configuration = FlowWindowSketches.Configuration(),
        maximumLive: Int = FlowAnalyticsPool.defaultMaximumLive
    ) {
        precondition(windowNanoseconds > 0 && maximumLive >= 1)
        self.queue = queue
        self.windowNanoseconds = windowNanoseconds
        self.configuration = configuration
        self.maximumLive = maximumLive
    }

    /// Sketches for an exporter starting to send; nil when ``maximumLive`` are lent out.
    func take() -> FlowWindowSketches? {
        if let sketches = free.popLast() {
            live += 1
            return sketches
        }
        guard live < maximumLive else { return nil }
        live += 1
        return FlowWindowSketches(configuration: configuration)
    }

    /// Takes sketches back (emptied); at most a few are kept for reuse, the rest freed.
    func give(_ sketches: FlowWindowSketches) {
        live -= 1
        sketches.reset()
        if free.count < 16 { free.append(sketches) }
    }

    func takeSkipped() -> Int {
        defer { skipped = 0 }
        return skipped
    }
}

/// One exporter's flow analytics: its records, by export time, into per-window sketches; each window's
/// summary (top sources, destinations, pairs, destination ports, distinct sources per top destination)
/// queued for the rollup writer when the exporter's export time passes the window, when it goes quiet, and
/// at the end of the input.
///
/// Windows follow the exporter's export times as ``FlowExporterState`` buckets its readings: a record whose
/// export time is older than the current window (a reordered datagram) counts in the current window, so
/// windows never go back in time.
final class FlowExporterAnalytics {
    let exporter: String
    // Unowned(unsafe): the pool belongs to the same FlowIngest as this exporter and outlives it; a checked
    // reference would cost a retain per record.
    private unowned(unsafe) let pool: FlowAnalyticsPool
    private let windowNanoseconds: Int64
    /// End of the window being filled: a record before it (and at or after its start, or older) stays in it.
    private var windowEnd = Int64.min
    private var sketches: FlowWindowSketches?
    /// Start of the window being filled (`Int64.min`: none yet).
    private(set) var windowStart = Int64.min
    /// Monotonic time of the last record (to release a quiet exporter's sketches).
    private(set) var lastRecordNanoseconds: Int64 = 0

    init(exporter: String, pool: FlowAnalyticsPool) {
        self.exporter = exporter
        self.pool = pool
        self.windowNanoseconds = pool.windowNanoseconds
    }

    var holdsSketches: Bool { sketches != nil }

    /// Adds `record`'s bytes (times `samplingInterval`, saturating) to the window of `exportNanoseconds`.
    @inline(__always)
    func add(_ record: FlowRecord, samplingInterval: UInt32, exportNanoseconds: Int64, nowNanoseconds: Int64) {
        if exportNanoseconds >= windowEnd {
            let remainder = exportNanoseconds % windowNanoseconds
            let start = exportNanoseconds - (remainder < 0 ? remainder + windowNanoseconds : remainder)
            emit()
            windowStart = start
            windowEnd = start &+ windowNanoseconds
        }
        lastRecordNanoseconds = nowNanoseconds
        if sketches == nil {
            sketches = pool.take()
            if sketches == nil {
                pool.skipped &+= 1
                return
            }
        }
        let (scaled, overflow) = record.octets.multipliedReportingOverflow(by: UInt64(samplingInterval))
        sketches.unsafelyUnwrapped.add(
            sourceHigh: record.sourceAddress.high,
            sourceLow: record.sourceAddress.low,
            destinationHigh: record.destinationAddress.high,
            destinationLow: record.destinationAddress.low,
            destinationPort: record.destinationPort,
            protocolNumber: record.protocolNumber,
            bytes: overflow ? .max : scaled
        )
    }

    /// Queues the current window's summary, if it has records, and empties the sketches.
    func emit() {
        guard let sketches, sketches.records > 0 else { return }
        pool.queue.push(
            sketches.summary(
                exporter: exporter,
                windowStartNanoseconds: windowStart,
                windowNanoseconds: windowNanoseconds
            )
        )
        sketches.reset()
    }

    /// Emits the window and gives the sketches back to the pool (a quiet exporter, or the end of input).
    /// A later record of the same window starts a second summary of it, which `vigil flows top` merges.
    func release() {
        emit()
        if let sketches {
            pool.give(sketches)
            self.sketches = nil
        }
    }
}
