import VigilCore
import VigilWire

/// One exporter's translation from flow records to counter readings, and its event-time source.
///
/// Records add their traffic (scaled by the sampling interval) to cumulative per-series totals; every
/// ``FlowIngest/readingIntervalNanoseconds`` of the exporter's export time the totals of all its series are
/// handed to its ``IngestSession`` as one reading each, stamped with the interval's start. A series' first
/// reading is preceded by a zero one an interval earlier, so its first interval's traffic is counted too.
/// Readings go on while the exporter exports (a dead interface reads as rate 0), and stop with it.
///
/// Wire ids (per exporter, declared to the session like a native schema): flow series at
/// `slot × 6 + direction × 3 + measure` for interface slots in arrival order, sFlow interface counters from
/// ``counterWireIDBase`` at `slot × 8 + measure`. Slots are bounded (``maximumInterfaces`` each).
final class FlowExporterState {
    let key: FlowExporterKey
    var session: IngestSession
    /// 1 in N for records that say nothing of their sampling (`--sampling-rate`; 1 when not given).
    let fallbackSamplingInterval: UInt32
    /// Interface slots for flow series: ifIndex → slot, dense below ``denseInterfaceLimit``.
    private var denseSlots: [Int32]
    private var sparseSlots: [UInt32: Int32] = [:]
    private var slotCount = 0
    /// Which directions of each slot have declared series (bit 0 in, bit 1 out).
    private var declaredDirections: [UInt8] = []
    /// Cumulative totals by flow wire id (`slot × 6 + direction × 3 + measure`): `totalsCount` of them (six per
    /// slot) in room for `totalsCapacity`, grown by doubling when a slot is added and bounded by
    /// ``maximumInterfaces`` slots. Unsafe storage, not an array: an array's uniqueness check before each
    /// write cost two calls per record. Read and written only below `totalsCount` (checked in debug builds).
    private var totals = UnsafeMutablePointer<Double>.allocate(capacity: 0)
    private var totalsCount = 0
    private var totalsCapacity = 0
    /// Flow wire ids declared, in declaration order: what each reading covers.
    private var activeWireIDs: [UInt32] = []
    /// Flow wire ids declared since the last reading: they get a zero baseline first.
    private var newWireIDs: [UInt32] = []
    /// sFlow interface counter slots: ifIndex → slot.
    private var counterSlots: [UInt32: Int32] = [:]
    /// Start of the reading interval the totals have data for (`Int64.min`: none pending).
    private(set) var pendingIntervalStart: Int64 = .min
    /// End of the pending interval (`Int64.min`: none pending): a record before it changes no interval, so
    /// most records take no division.
    private var pendingIntervalEnd: Int64 = .min
    /// Wall-clock (monotonic) time of the last record added, for flushing a quiet exporter's last interval.
    private(set) var lastRecordNanoseconds: Int64 = 0
    private var readings = FlowReadings()
    /// Per-window heavy hitters of this exporter's traffic (only with `--rollups`). A constant: a `var`
    /// cost a retain and release of it per record.
    let analytics: FlowExporterAnalytics?
    /// Records added to the totals, and records dropped (over the interface bound or the cardinality limit).
    private var recordsDropped = 0
    /// sFlow counter samples of interfaces past ``maximumInterfaces``.
    private var counterSamplesDropped = 0
    /// Set once the input has logged that this exporter named more interfaces than it holds.
    var loggedInterfaceLimit = false

    /// Records and counter samples dropped since the last call.
    func takeDropped() -> (records: Int, counterSamples: Int) {
        defer { (recordsDropped, counterSamplesDropped) = (0, 0) }
        return (recordsDropped, counterSamplesDropped)
    }

    static let denseInterfaceLimit = 4_096
    static let maximumInterfaces = 4_096
    static let counterWireIDBase: UInt32 = 1 << 20

    /// The wire id (and index in `totals`) of flow measure `measure` of interface slot `slot`, direction 0
    /// (in) or 1 (out).
    @inline(__always)
    static func flowWireID(slot: Int, direction: Int, measure: Int = 0) -> Int {
        (slot * 2 + direction) * FlowMeasure.perDirection + measure
    }

    /// The wire id of sFlow interface counter `measure` of counter slot `slot`.
    static func counterWireID(slot: Int, measure: InterfaceCounterMeasure) -> UInt32 {
        counterWireIDBase + UInt32(slot * InterfaceCounterMeasure.allCases.count + measure.rawValue)
    }

    /// How far apart readings are, in export time (``FlowIngest/readingIntervalNanoseconds``).
    let intervalNanoseconds: Int64

    init(
        key: FlowExporterKey,
        session: IngestSession,
        fallbackSamplingInterval: UInt32,
        intervalNanoseconds: Int64,
        analytics: FlowExporterAnalytics? = nil
    ) {
        self.key = key
        self.analytics = analytics
        self.intervalNanoseconds = intervalNanoseconds
        self.session = session
        self.fallbackSamplingInterval = max(1, fallbackSamplingInterval)
        self.denseSlots = []
    }

    /// The slot of `interfaceIndex`, declaring its series for `direction` when new; nil past the bound.
    @inline(__always)
    private func slot(_ interfaceIndex: UInt32, direction: Int) -> Int? {
        var slot: Int
        if interfaceIndex < Self.denseInterfaceLimit && Int(interfaceIndex) < denseSlots.count
            && denseSlots[Int(interfaceIndex)] >= 0
        {
            slot = Int(denseSlots[Int(interfaceIndex)])
        } else if let known = sparseSlots[interfaceIndex] {
            slot = Int(known)
        } else {
            guard slotCount < Self.maximumInterfaces else { return nil }
            slot = slotCount
            slotCount += 1
            if interfaceIndex < Self.denseInterfaceLimit {
                if Int(interfaceIndex) >= denseSlots.count {
                    denseSlots.append(contentsOf: repeatElement(-1, count: Int(interfaceIndex) + 1 - denseSlots.count))
                }
                denseSlots[Int(interfaceIndex)] = Int32(slot)
            } else {
                sparseSlots[interfaceIndex] = Int32(slot)
            }
            declaredDirections.append(0)
            addSlotTotals()
        }
        if declaredDirections[slot] & (1 << direction) == 0 {
            declaredDirections[slot] |= 1 << direction
            declare(slot: slot, interfaceIndex: interfaceIndex, direction: direction)
        }
        return slot
    }

    /// Six zero totals for a new slot (growing the storage if full).
    private func addSlotTotals() {
        let needed = totalsCount + 2 * FlowMeasure.perDirection
        precondition(needed <= Self.maximumInterfaces * 2 * FlowMeasure.perDirection)
        if needed > totalsCapacity {
            let capacity = min(max(needed, totalsCapacity * 2), Self.maximumInterfaces * 2 * FlowMeasure.perDirection)
            let grown = UnsafeMutablePointer<Double>.allocate(capacity: capacity)
            grown.moveInitialize(from: totals, count: totalsCount)
            totals.deallocate()
            totals = grown
            totalsCapacity = capacity
        }
        (totals + totalsCount).initialize(repeating: 0, count: 2 * FlowMeasure.perDirection)
        totalsCount = needed
    }

    deinit {
        totals.deinitialize(count: totalsCount)
        totals.deallocate()
    }

    private func declare(slot: Int, interfaceIndex: UInt32, direction: Int) {
        for measure in FlowMeasure.allCases {
            let wireID = UInt32(Self.flowWireID(slot: slot, direction: direction, measure: measure.rawValue))
            let key = SeriesKey(
                device: key.deviceLabel,
                interface: String(interfaceIndex),
                metric: measure.metric,
                extraLabels: [Label(name: "direction", value: direction == 0 ? "in" : "out")]
            )
            session.nativeDecoder(
                didDeclare: SchemaEntry(
                    wireID: wireID,
                    descriptor: SeriesDescriptor(key: key, kind: .counter64, unit: measure.unit)
                )
            )
            activeWireIDs.append(wireID)
            newWireIDs.append(wireID)
        }
    }

    /// Adds a record's traffic to its interfaces' totals: in on its input interface, out on its output
    /// interface (when the exporter named one), scaled by its sampling interval.
    @inline(__always)
    func add(_ record: FlowRecord, exportNanoseconds: Int64, nowNanoseconds: Int64) {
        advance(toIntervalOf: exportNanoseconds)
        lastRecordNanoseconds = nowNanoseconds
        let samplingInterval = record.samplingInterval == 0 ? fallbackSamplingInterval : record.samplingInterval
        analytics?.add(
            record,
            samplingInterval: samplingInterval,
            exportNanoseconds: exportNanoseconds,
            nowNanoseconds: nowNanoseconds
        )
        let sampling = Double(samplingInterval)
        let octets = Double(record.octets) * sampling
        let packets = Double(record.packets) * sampling
        let flows = Double(record.flows)
        guard let input = slot(record.inputInterface, direction: 0) else {
            recordsDropped += 1
            return
        }
        let inBase = Self.flowWireID(slot: input, direction: 0)
        assert(inBase + FlowMeasure.perDirection <= totalsCount)
        totals[inBase] += octets
        totals[inBase + 1] += packets
        totals[inBase + 2] += flows
        guard record.outputInterface != 0 else { return }
        guard let output = slot(record.outputInterface, direction: 1) else {
            recordsDropped += 1
            return
        }
        let outBase = Self.flowWireID(slot: output, direction: 1)
        assert(outBase + FlowMeasure.perDirection <= totalsCount)
        totals[outBase] += octets
        totals[outBase + 1] += packets
        totals[outBase + 2] += flows
    }

    /// Hands the pending interval's readings to the session: zero baselines of the series new in it, then
    /// every series' total, all stamped with the interval's start (the baselines one interval earlier).
    /// The start of the reading interval holding `exportNanoseconds`.
    @inline(__always)
    func intervalStart(of exportNanoseconds: Int64) -> Int64 {
        let remainder = exportNanoseconds % intervalNanoseconds
        return exportNanoseconds - (remainder < 0 ? remainder + intervalNanoseconds : remainder)
    }

    /// Makes the interval holding `exportNanoseconds` the pending one, flushing the one before it. An older
    /// export time (a datagram reordered, held data decoded late) counts in the pending interval: its
    /// traffic is reported now, and readings never go back in time.
    @inline(__always)
    private func advance(toIntervalOf exportNanoseconds: Int64) {
        guard exportNanoseconds >= pendingIntervalEnd else { return }
        let start = intervalStart(of: exportNanoseconds)
        if start > pendingIntervalStart {
            if pendingIntervalStart != .min { flush() }
            pendingIntervalStart = start
            let (end, overflow) = start.addingReportingOverflow(intervalNanoseconds)
            pendingIntervalEnd = overflow ? .max : end
        }
    }

    func flush() {
        guard pendingIntervalStart != .min else { return }
        readings.removeAll()
        let start = pendingIntervalStart
        pendingIntervalStart = .min
        pendingIntervalEnd = .min
        for wireID in newWireIDs {
            readings.append(timestamp: start &- intervalNanoseconds, value: 0, wireID: wireID)
        }
        newWireIDs.removeAll(keepingCapacity: true)
        for wireID in activeWireIDs {
            assert(Int(wireID) < totalsCount)
            readings.append(timestamp: start, value: totals[Int(wireID)], wireID: wireID)
        }
        session.admit(readings)
    }

    /// An sFlow counter sample: its interface's counters as readings at once, stamped with the start of the
    /// reading interval of `exportNanoseconds` (after the flow readings of earlier intervals, so the
    /// exporter's readings stay in time order).
    func addInterfaceCounters(_ record: InterfaceCounterRecord, exportNanoseconds: Int64) {
        advance(toIntervalOf: exportNanoseconds)
        let timestamp = intervalStart(of: exportNanoseconds)
        let slot: Int
        if let known = counterSlots[record.interfaceIndex] {
            slot = Int(known)
        } else {
            guard counterSlots.count < Self.maximumInterfaces else {
                counterSamplesDropped += 1
                return
            }
            slot = counterSlots.count
            counterSlots[record.interfaceIndex] = Int32(slot)
            for measure in InterfaceCounterMeasure.allCases {
                let key = SeriesKey(
                    device: key.deviceLabel,
                    interface: String(record.interfaceIndex),
                    metric: measure.metric
                )
                session.nativeDecoder(
                    didDeclare: SchemaEntry(
                        wireID: Self.counterWireID(slot: slot, measure: measure),
                        descriptor: SeriesDescriptor(key: key, kind: measure.kind, unit: measure.unit)
                    )
                )
            }
        }
        readings.removeAll()
        for measure in InterfaceCounterMeasure.allCases {
            readings.append(
                timestamp: timestamp,
                value: measure.value(of: record),
                wireID: Self.counterWireID(slot: slot, measure: measure)
            )
        }
        session.admit(readings)
    }
}
