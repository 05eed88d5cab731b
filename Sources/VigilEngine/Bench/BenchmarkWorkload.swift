import VigilCore
import VigilWire

/// The synthetic stream `vigil bench` measures: `series` interface series (devices × 48 interfaces
/// × 8 metrics, metrics 0-3 counters, 4-7 gauges), one sample per series per 10 s round, in a
/// fixed pseudo-random series order inside each round, timestamps strictly increasing. Deterministic
/// from the seed; encoded once into native frames held in memory.
public final class BenchmarkWorkload: @unchecked Sendable {
    public let series: Int
    public let samples: Int
    public let bytes: UnsafeMutableRawBufferPointer
    /// Event time of the first round: a whole minute, so windows align.
    public static let startNanoseconds: Int64 = 1_793_577_600_000_000_000  // 2026-11-02T00:00:00Z

    static let metrics: [(String, MetricKind, String)] = [
        ("in_octets", .counter64, "octets"), ("out_octets", .counter64, "octets"),
        ("in_packets", .counter32, "packets"), ("out_packets", .counter32, "packets"),
        ("rx_power_dbm", .gauge, "dBm"), ("tx_power_dbm", .gauge, "dBm"),
        ("temperature_celsius", .gauge, "celsius"), ("cpu_percent", .gauge, "percent"),
    ]

    public init(series: Int, samples: Int, seed: UInt64 = 42, samplesPerFrame: Int = 8192) {
        precondition(series > 0 && samples > 0)
        self.series = series
        self.samples = samples
        let encoder = NativeEncoder(samplesPerDataFrame: samplesPerFrame)
        var out: [UInt8] = []
        out.reserveCapacity(samples * 20 + samples / samplesPerFrame * 64 + series * 64 + 1024)
        var schema: [SchemaEntry] = []
        schema.reserveCapacity(series)
        for id in 0..<series {
            let (metric, kind, unit) = Self.metrics[id % 8]
            let key = SeriesKey(
                device: "bench-\(id / 384)",
                interface: "if-\(id / 8 % 48)",
                metric: metric
            )
            schema.append(SchemaEntry(wireID: UInt32(id), descriptor: SeriesDescriptor(key: key, kind: kind, unit: unit)))
        }
        try! encoder.appendSchemaFrames(schema, to: &out)

        var generator = SplitMix64(seed: seed)
        var order = Array(0..<UInt32(series))
        order.shuffle(using: &generator)
        var levels = (0..<series).map { id in id % 8 < 4 ? Double(generator.next() % 1_000_000_000) : -3.0 }
        let roundNanoseconds: Int64 = 10_000_000_000
        let stepNanoseconds = max(1, roundNanoseconds / Int64(series))
        let chunk = 65_536
        var timestamps = [Int64](repeating: 0, count: chunk)
        var wireIDs = [UInt32](repeating: 0, count: chunk)
        var values = [Double](repeating: 0, count: chunk)
        var produced = 0
        while produced < samples {
            let count = min(chunk, samples - produced)
            for index in 0..<count {
                let position = produced + index
                let round = position / series
                let slot = position % series
                let id = Int(order[slot])
                timestamps[index] = Self.startNanoseconds + Int64(round) * roundNanoseconds + Int64(slot) * stepNanoseconds
                wireIDs[index] = UInt32(id)
                if id % 8 < 4 {
                    levels[id] += Double(1_000 + generator.next() % 100_000)
                    if id % 8 >= 2 && levels[id] >= 4_294_967_296 { levels[id] -= 4_294_967_296 }
                } else {
                    levels[id] += (generator.nextUnit() - 0.5) * 0.1
                }
                values[index] = levels[id]
            }
            timestamps.withUnsafeBufferPointer { t in
                wireIDs.withUnsafeBufferPointer { w in
                    values.withUnsafeBufferPointer { v in
                        encoder.appendDataFrames(
                            timestamps: UnsafeBufferPointer(rebasing: t[0..<count]),
                            wireIDs: UnsafeBufferPointer(rebasing: w[0..<count]),
                            values: UnsafeBufferPointer(rebasing: v[0..<count]),
                            to: &out
                        )
                    }
                }
            }
            produced += count
        }
        bytes = .allocate(byteCount: out.count, alignment: 64)
        out.withUnsafeBytes { bytes.copyMemory(from: $0) }
    }

    deinit { bytes.deallocate() }
}
