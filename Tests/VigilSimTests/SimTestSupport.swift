import VigilCore
import VigilSim

/// Collects everything a simulator run produces, for inspection.
struct CollectingSink: FleetSampleSink {
    var series: [SeriesDescriptor] = []
    var timestamps: [Int64] = []
    var wireIDs: [UInt32] = []
    var values: [Double] = []
    var batchSizes: [Int] = []

    mutating func declare(series: [SeriesDescriptor]) throws { self.series = series }

    mutating func consume(
        timestamps: UnsafeBufferPointer<Int64>,
        wireIDs: UnsafeBufferPointer<UInt32>,
        values: UnsafeBufferPointer<Double>
    ) throws {
        self.timestamps.append(contentsOf: timestamps)
        self.wireIDs.append(contentsOf: wireIDs)
        self.values.append(contentsOf: values)
        batchSizes.append(timestamps.count)
    }

    /// The (time, value) samples of one series, in time order.
    func samples(of wireID: UInt32) -> [(time: Int64, value: Double)] {
        var result: [(Int64, Double)] = []
        for index in wireIDs.indices where wireIDs[index] == wireID {
            result.append((timestamps[index], values[index]))
        }
        return result
    }
}

let second: Int64 = 1_000_000_000
let minute: Int64 = 60 * second
let hour: Int64 = 3_600 * second
let day: Int64 = 86_400 * second
let monday = FleetConfiguration.defaultStartNanoseconds

func run(_ configuration: FleetConfiguration) throws -> (FleetSimulator, CollectingSink) {
    let simulator = try FleetSimulator(configuration: configuration)
    var sink = CollectingSink()
    _ = try simulator.run(into: &sink)
    return (simulator, sink)
}

/// Per-second increase of a counter between two samples (no wrap handling: callers pick spans without wraps).
func rate(_ samples: [(time: Int64, value: Double)], from start: Int64, to end: Int64) -> Double {
    let inside = samples.filter { $0.time >= start && $0.time < end }
    guard let first = inside.first, let last = inside.last, last.time > first.time else { return .nan }
    return (last.value - first.value) / (Double(last.time - first.time) / 1e9)
}
