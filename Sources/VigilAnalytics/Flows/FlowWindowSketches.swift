import VigilCore

/// One exporter's heavy-hitter sketches for the window being filled: top sources, destinations, address
/// pairs and destination ports by bytes (``SpaceSavingSketch``), and for each destination counter a
/// HyperLogLog of its distinct sources (``HyperLogLogBank``), started afresh whenever a destination takes
/// that counter. Distinct sources are therefore kept only for the destinations the sketch holds, which are
/// the heavy ones: a bound of `capacity` register sets, whatever the traffic.
///
/// Records do not reach the sketches one by one: ``add`` sums their bytes exactly by address pair and by
/// destination port (``FlowWeightTable``), and each tally folds into the sketches when it fills and before
/// a summary. Traffic repeats keys, so most records cost two table probes instead of four sketch updates
/// (most of them evictions on evenly spread traffic); the sketches see the same bytes, aggregated, and their
/// bounds hold as before. Counts that were exact (at most `capacity` distinct keys) stay exact.
///
/// Memory is fixed at init (``byteCount(_:)``: 388 KiB with the defaults: 4 × 19 KiB of counters, 64 KiB
/// of registers, 224 KiB of pair tally and 24 KiB of port tally); ``add`` allocates nothing.
/// Pure: no clock, no I/O; the engine decides when a window ends and calls ``summary`` then ``reset()``.
public final class FlowWindowSketches {
    public struct Configuration: Sendable, Equatable {
        /// Counters per sketch (Space-Saving `k`), 1...16,384: an estimate is at most total / k too high.
        /// 256 finds the true top 10 of the generator's flat mixes (2,000 sources in a window); 64 missed
        /// one of the top 3 sources at 1.5 % of the bytes, right at total / 64.
        public var capacity = 256
        /// Entries of each kind kept in a window's summary (≤ capacity).
        public var reportedEntries = 20
        /// HyperLogLog precision of the distinct-source registers, 4...16 (8: 256 bytes, ±6.5 %: enough to
        /// tell a scan or a DDoS, thousands of sources, from a handful; one set per destination counter).
        public var distinctPrecision = 8
        /// Address pairs tallied exactly before they fold into the sketches, 1...32,767. A window with
        /// fewer distinct pairs folds once, at its summary; the generator's mixes have about 4,000 in a
        /// window. More pairs fold every `pairTallyCapacity` new pairs, at about the sketches' per-record cost.
        public var pairTallyCapacity = 4_096
        /// Destination ports tallied exactly before they fold, 1...32,767. Ephemeral ports (replies) are
        /// mostly seen once, so a larger tally saves little: the generator's mixes fold about one record
        /// in six whether it holds 1,024 ports or 8,192.
        public var portTallyCapacity = 1_024

        public init() {}
    }

    public let configuration: Configuration
    public let sources: SpaceSavingSketch
    public let destinations: SpaceSavingSketch
    public let pairs: SpaceSavingSketch
    public let ports: SpaceSavingSketch
    public let distinctSources: HyperLogLogBank
    /// Exact weights by address pair and by destination port since the last fold (``FlowWeightTable``).
    @usableFromInline let pairTally: FlowWeightTable<FlowKey>
    /// Keyed by `protocol << 16 | port`, as ``FlowKey/init(destinationPort:protocolNumber:)`` keeps them.
    @usableFromInline let portTally: FlowWeightTable<UInt32>
    /// Records and bytes added since the last reset.
    @usableFromInline var _records: UInt64 = 0
    @usableFromInline var _totalBytes: UInt64 = 0
    public var records: UInt64 { _records }
    public var totalBytes: UInt64 { _totalBytes }

    public init(configuration: Configuration = Configuration()) {
        precondition(
            (1...configuration.capacity).contains(configuration.reportedEntries),
            "reportedEntries must be 1...capacity"
        )
        self.configuration = configuration
        sources = SpaceSavingSketch(capacity: configuration.capacity)
        destinations = SpaceSavingSketch(capacity: configuration.capacity)
        pairs = SpaceSavingSketch(capacity: configuration.capacity)
        ports = SpaceSavingSketch(capacity: configuration.capacity)
        distinctSources = HyperLogLogBank(count: configuration.capacity, precision: configuration.distinctPrecision)
        pairTally = FlowWeightTable<FlowKey>(capacity: configuration.pairTallyCapacity)
        portTally = FlowWeightTable<UInt32>(capacity: configuration.portTallyCapacity)
    }

    /// Bytes of memory a set of sketches with `configuration` holds (the counters, indexes and registers;
    /// object headers aside).
    public static func byteCount(_ configuration: Configuration) -> Int {
        var tableSize = 4
        while tableSize < 4 * configuration.capacity { tableSize <<= 1 }
        let perSketch = configuration.capacity * (MemoryLayout<FlowKey>.stride + 3 * 8 + 2 * 2) + tableSize * 2
        return 4 * perSketch + configuration.capacity << configuration.distinctPrecision
            + FlowWeightTable<FlowKey>.byteCount(capacity: configuration.pairTallyCapacity)
            + FlowWeightTable<UInt32>.byteCount(capacity: configuration.portTallyCapacity)
    }

    /// Adds one record's bytes (already scaled by sampling): to the pair tally and the port tally, which
    /// fold into the sketches when one fills and before a summary.
    /// Complexity: two tally probes, O(1) expected; allocates nothing. A fold (one record in many) costs
    /// four sketch updates (O(log capacity) each) and a register update per tallied pair, one sketch update
    /// per tallied port.
    @inlinable
    @inline(__always)
    public func add(
        sourceHigh: UInt64,
        sourceLow: UInt64,
        destinationHigh: UInt64,
        destinationLow: UInt64,
        destinationPort: UInt16,
        protocolNumber: UInt8,
        bytes: UInt64
    ) {
        _records &+= 1
        let (sum, overflow) = _totalBytes.addingReportingOverflow(bytes)
        _totalBytes = overflow ? .max : sum
        let pair = FlowKey(
            addressHigh: sourceHigh,
            addressLow: sourceLow,
            secondHigh: destinationHigh,
            secondLow: destinationLow
        )
        // One mix over the four words: the tally compares keys, so this hash only has to spread them.
        let pairHash = FlowKey.mix(
            (sourceLow &* 0x9E37_79B9_7F4A_7C15) ^ destinationLow
                ^ ((sourceHigh ^ (destinationHigh &* 0xC2B2_AE3D_27D4_EB4F)) &* 0x1656_67B1_9E37_79F9)
        )
        if !pairTally.add(pair, hash: pairHash, weight: bytes) {
            foldPairs()
            _ = pairTally.add(pair, hash: pairHash, weight: bytes)
        }
        let port = UInt32(protocolNumber) << 16 | UInt32(destinationPort)
        // Multiplicative, its high bits folded into the low ones that pick the index slot.
        let portProduct = UInt64(port) &* 0x9E37_79B9_7F4A_7C15
        let portHash = portProduct ^ (portProduct >> 29)
        if !portTally.add(port, hash: portHash, weight: bytes) {
            foldPorts()
            _ = portTally.add(port, hash: portHash, weight: bytes)
        }
    }

    /// Moves the pair tally into the source, destination and pair sketches and the distinct-source
    /// registers, and empties it. A destination that takes a counter here starts its registers afresh, then
    /// counts the sources of its tallied pairs. Sources and destinations recur across pairs, so they are
    /// added as records were; each pair occurs once, so the pairs not held start at the bound before the
    /// fold (``SpaceSavingSketch/addAbsent(_:hash:weight:priorBound:)``), after the held ones.
    @usableFromInline
    func foldPairs() {
        let sources = self.sources
        let destinations = self.destinations
        let pairs = self.pairs
        let distinctSources = self.distinctSources
        let pairBound = pairs.absentBound
        pairTally.updateEach { pair, bytes in
            let source = FlowKey(addressHigh: pair.addressHigh, addressLow: pair.addressLow)
            let destination = FlowKey(addressHigh: pair.secondHigh, addressLow: pair.secondLow)
            let sourceHash = source.hash64
            let destinationHash = destination.hash64
            sources.add(source, hash: sourceHash, weight: bytes)
            let placement = destinations.add(destination, hash: destinationHash, weight: bytes)
            if placement.isNew { distinctSources.reset(placement.slot) }
            distinctSources.add(sourceHash, to: placement.slot)
            // Zero marks a pair counted (a zero-byte pair adds nothing either way).
            if pairs.addIfHeld(pair, hash: FlowKey.pairHash(sourceHash, destinationHash), weight: bytes) { bytes = 0 }
        }
        pairTally.forEach { pair, bytes in
            guard bytes > 0 else { return }
            let sourceHash = FlowKey(addressHigh: pair.addressHigh, addressLow: pair.addressLow).hash64
            let destinationHash = FlowKey(addressHigh: pair.secondHigh, addressLow: pair.secondLow).hash64
            pairs.addAbsent(
                pair,
                hash: FlowKey.pairHash(sourceHash, destinationHash),
                weight: bytes,
                priorBound: pairBound
            )
        }
        pairTally.removeAll()
    }

    /// Moves the port tally into the port sketch (held ports first, then the others from the bound before
    /// the fold, as for pairs) and empties it.
    @usableFromInline
    func foldPorts() {
        let ports = self.ports
        let priorBound = ports.absentBound
        portTally.updateEach { port, bytes in
            let key = FlowKey(port: UInt64(port))
            if ports.addIfHeld(key, hash: key.hash64, weight: bytes) { bytes = 0 }
        }
        portTally.forEach { port, bytes in
            guard bytes > 0 else { return }
            let key = FlowKey(port: UInt64(port))
            ports.addAbsent(key, hash: key.hash64, weight: bytes, priorBound: priorBound)
        }
        portTally.removeAll()
    }

    /// The window's summary: the top ``Configuration/reportedEntries`` of each kind, and the distinct-source
    /// registers of each destination listed. Allocates (once per window).
    public func summary(
        exporter: String,
        windowStartNanoseconds: Int64,
        windowNanoseconds: Int64
    )
        -> FlowWindowSummary
    {
        foldPairs()
        foldPorts()
        let limit = configuration.reportedEntries
        let destinationTop = destinations.top(limit)
        return FlowWindowSummary(
            exporter: exporter,
            windowStartNanoseconds: windowStartNanoseconds,
            windowNanoseconds: windowNanoseconds,
            records: records,
            totalBytes: totalBytes,
            lists: [sources.top(limit).list, destinationTop.list, pairs.top(limit).list, ports.top(limit).list],
            destinationDistinct: destinationTop.slots.map {
                FlowDistinctRegisters(precision: distinctSources.precision, registers: distinctSources.registers($0))
            }
        )
    }

    /// Empties every sketch for the next window. O(capacity) (register sets are emptied as destinations
    /// take counters, not here).
    public func reset() {
        pairTally.removeAll()
        portTally.removeAll()
        sources.reset()
        destinations.reset()
        pairs.reset()
        ports.reset()
        _records = 0
        _totalBytes = 0
    }
}
