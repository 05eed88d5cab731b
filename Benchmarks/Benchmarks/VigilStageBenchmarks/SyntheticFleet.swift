import Foundation
import VigilAnalytics
import VigilCore

/// A seeded synthetic fleet: what every stage benchmark feeds its stage, so that the figures of one run are
/// comparable with the next (same seed, same samples, bit for bit).
///
/// Series `id` is a gauge (optical receive power, dBm, read to 0.01 dBm) when `id` is even and a `counter64`
/// (interface octets) when odd, so both window paths and both detector paths are exercised half the time.
/// Samples come in rounds: every series reports once per round, as a fleet of pollers would.
struct SyntheticFleet {
    let seriesCount: Int
    /// Gauges: the series' level in dBm, in -8...-1. Counters: bytes per second, in 1e5...1e9.
    let levels: [Double]

    static let seed: UInt64 = 0x5649_4749_4C21  // "VIGIL!"
    /// 2025-01-01T00:00:00Z: every benchmark's event time starts here.
    static let epochNanoseconds: Int64 = 1_735_689_600 * EventTime.nanosecondsPerSecond
    /// One minute: the engine's default window, and the detector's.
    static let windowNanoseconds: Int64 = 60 * EventTime.nanosecondsPerSecond

    init(seriesCount: Int) {
        precondition(seriesCount > 0 && seriesCount <= 1 << 24, "seriesCount must be in 1...2^24")
        self.seriesCount = seriesCount
        var generator = SplitMix64(seed: Self.seed)
        levels = (0..<seriesCount).map { id in
            let unit = generator.nextUnit()
            return Self.kind(of: SeriesID(id)) == .gauge ? -8 + 7 * unit : pow(10, 5 + 4 * unit)
        }
    }

    static func kind(of id: SeriesID) -> MetricKind { id % 2 == 0 ? .gauge : .counter64 }

    /// A one-shard window table of one-minute windows with every series of the fleet registered.
    func windowTable() throws -> ShardWindowTable {
        var table = ShardWindowTable(
            configuration: try WindowConfiguration(windowNanoseconds: Self.windowNanoseconds),
            shardIndex: 0,
            shardCount: 1,
            initialSeriesCapacity: seriesCount
        )
        for id in 0..<seriesCount {
            table.registerSeries(SeriesID(id), kind: Self.kind(of: SeriesID(id)))
        }
        return table
    }

    /// A descriptor with the label shapes of a real fleet: 40 interfaces per device.
    static func descriptor(of id: SeriesID) -> SeriesDescriptor {
        let interfaceIndex = Int(id / 2) % 40
        let device = "edge-\(id / 80)"
        let interface = "et-0/0/\(interfaceIndex)"
        let key =
            kind(of: id) == .gauge
            ? SeriesKey(device: device, interface: interface, metric: "rx_power_dbm")
            : SeriesKey(device: device, interface: interface, metric: "in_octets")
        return SeriesDescriptor(key: key, kind: kind(of: id), unit: kind(of: id) == .gauge ? "dBm" : "octets")
    }

    /// Samples of `roundCount` rounds, `roundNanoseconds` apart, round-major, in three columns of
    /// `seriesCount × roundCount` elements.
    ///
    /// - Parameters:
    ///   - shuffled: each round lists the series in its own random order (pollers finishing in any order);
    ///     otherwise in id order.
    ///   - startNanoseconds: event time of round 0; each sample lands up to 0.9 s after its round's tick.
    /// - Complexity: O(seriesCount × roundCount). Set-up only: it allocates.
    func samples(
        roundCount: Int,
        roundNanoseconds: Int64,
        startNanoseconds: Int64,
        shuffled: Bool
    ) -> (timestamps: [Int64], seriesIDs: [SeriesID], values: [Double]) {
        precondition(roundCount > 0, "roundCount must be positive")
        let sampleCount = seriesCount * roundCount
        var generator = SplitMix64(seed: Self.seed &+ UInt64(roundCount) &* 31 &+ (shuffled ? 1 : 0))
        var timestamps = [Int64](repeating: 0, count: sampleCount)
        var seriesIDs = [SeriesID](repeating: 0, count: sampleCount)
        var values = [Double](repeating: 0, count: sampleCount)
        // Counters start somewhere in their first 2^40 octets and grow by their rate, ±10% per interval.
        var counters = (0..<seriesCount).map { _ in Double(generator.next() >> 24) }
        var order = (0..<seriesCount).map { SeriesID($0) }
        let jitterBound: UInt64 = 900_000_000  // 0.9 s
        let roundSeconds = Double(roundNanoseconds) / Double(EventTime.nanosecondsPerSecond)
        for round in 0..<roundCount {
            if shuffled { order.shuffle(using: &generator) }
            let tick = startNanoseconds + Int64(round) * roundNanoseconds
            for (position, id) in order.enumerated() {
                let index = round * seriesCount + position
                let series = Int(id)
                timestamps[index] = tick + Int64(generator.next() % jitterBound)
                seriesIDs[index] = id
                if Self.kind(of: id) == .gauge {
                    values[index] = ((levels[series] + 0.05 * generator.nextGaussian()) * 100).rounded() / 100
                } else {
                    if round > 0 {
                        counters[series] += (levels[series] * roundSeconds * (0.9 + 0.2 * generator.nextUnit()))
                            .rounded()
                    }
                    values[index] = counters[series]
                }
            }
        }
        return (timestamps, seriesIDs, values)
    }
}
