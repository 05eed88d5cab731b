import VigilCore

/// One exporter's heavy-hitter sketches for the window being filled: top sources, destinations, address
/// pairs and destination ports by bytes (``SpaceSavingSketch``), and for each destination counter a
/// HyperLogLog of its distinct sources (``HyperLogLogBank``), started afresh whenever a destination takes
/// that counter. Distinct sources are therefore kept only for the destinations the sketch holds, which are
/// the heavy ones: a bound of `capacity` register sets, whatever the traffic.
///
/// Memory is fixed at init (``byteCount(_:)``: 140 KiB with the defaults: 4 × 19 KiB of counters, 64 KiB
/// of registers); ``add`` allocates nothing.
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

        public init() {}
    }

    public let configuration: Configuration
    public let sources: SpaceSavingSketch
    public let destinations: SpaceSavingSketch
    public let pairs: SpaceSavingSketch
    public let ports: SpaceSavingSketch
    public let distinctSources: HyperLogLogBank
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
    }

    /// Bytes of memory a set of sketches with `configuration` holds (the counters, indexes and registers;
    /// object headers aside).
    public static func byteCount(_ configuration: Configuration) -> Int {
        var tableSize = 4
        while tableSize < 4 * configuration.capacity { tableSize <<= 1 }
        let perSketch = configuration.capacity * (MemoryLayout<FlowKey>.stride + 3 * 8 + 2 * 2) + tableSize * 2
        return 4 * perSketch + configuration.capacity << configuration.distinctPrecision
    }

    /// Adds one record's bytes (already scaled by sampling) to every sketch.
    /// Complexity: four sketch updates (O(log capacity) each) and one register update; allocates nothing.
    @inlinable
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
        let source = FlowKey(addressHigh: sourceHigh, addressLow: sourceLow)
        let destination = FlowKey(addressHigh: destinationHigh, addressLow: destinationLow)
        let sourceHash = source.hash64
        let destinationHash = destination.hash64
        sources.add(source, hash: sourceHash, weight: bytes)
        let placement = destinations.add(destination, hash: destinationHash, weight: bytes)
        if placement.isNew { distinctSources.reset(placement.slot) }
        distinctSources.add(sourceHash, to: placement.slot)
        pairs.add(
            FlowKey(
                addressHigh: sourceHigh,
                addressLow: sourceLow,
                secondHigh: destinationHigh,
                secondLow: destinationLow
            ),
            hash: FlowKey.pairHash(sourceHash, destinationHash),
            weight: bytes
        )
        let port = FlowKey(destinationPort: destinationPort, protocolNumber: protocolNumber)
        ports.add(port, hash: port.hash64, weight: bytes)
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
        sources.reset()
        destinations.reset()
        pairs.reset()
        ports.reset()
        _records = 0
        _totalBytes = 0
    }
}
