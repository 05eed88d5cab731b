import Foundation
import VigilCore

@testable import VigilStore

/// A fresh empty directory under the system temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init(_ label: String = "vigil-store") {
        let template = NSTemporaryDirectory() + "\(label)-XXXXXX"
        var bytes = Array(template.utf8CString)
        let created = bytes.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(created != nil, "mkdtemp failed")
        path = String(cString: bytes)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    func names() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
}

/// Welford aggregation of one window's samples, the way a window closes it.
func aggregate(
    seriesID: SeriesID,
    windowStartNanoseconds: Int64,
    samples: [(offsetSeconds: Double, value: Double)],
    isCounter: Bool
) -> WindowAggregate {
    var count: UInt32 = 0
    var mean = 0.0
    var m2 = 0.0
    var sum = 0.0
    var minimum = Double.infinity
    var maximum = -Double.infinity
    for (_, value) in samples {
        count += 1
        let delta = value - mean
        mean += delta / Double(count)
        m2 += delta * (value - mean)
        sum += value
        minimum = min(minimum, value)
        maximum = max(maximum, value)
    }
    let first = samples.first!
    let last = samples.last!
    let rate = isCounter ? (last.value - first.value) / (last.offsetSeconds - first.offsetSeconds) : .nan
    return WindowAggregate(
        seriesID: seriesID,
        windowStartNanoseconds: windowStartNanoseconds,
        count: count,
        sum: sum,
        minimum: minimum,
        maximum: maximum,
        first: first.value,
        last: last.value,
        sumOfSquaredDeviations: m2,
        rate: rate
    )
}

/// A seeded fleet that reports like real devices: every 10 s, 60 s windows.
///
/// Per interface: `in_octets`, `out_octets` (counter64, integer readings, 1-100 MB/s with 20 % noise),
/// `in_errors` (counter64, a few errors in 2 % of intervals), `rx_power`, `tx_power` (gauge, 0.01 dBm).
/// Per device: `cpu` (gauge, 0.1 %), `temperature` (gauge, 0.1 degC). Windows aggregate 6 samples with
/// Welford's M2; a counter's rate is (last - first) / 50 s.
struct RealisticFleet {
    static let windowNanoseconds: Int64 = 60_000_000_000
    static let startNanoseconds: Int64 = 1_795_000_000_000_000_000 / 60_000_000_000 * 60_000_000_000

    var rows: [WindowAggregate] = []
    var descriptors: [SeriesID: SeriesDescriptor] = [:]

    init(seed: UInt64, devices: Int, interfacesPerDevice: Int, windows: Int) {
        var random = SplitMix64(seed: seed)
        var nextID: SeriesID = 0
        func register(
            _ device: String,
            _ interface: String,
            _ metric: String,
            _ kind: MetricKind,
            _ unit: String
        )
            -> SeriesID
        {
            defer { nextID += 1 }
            descriptors[nextID] = SeriesDescriptor(
                key: SeriesKey(device: device, interface: interface, metric: metric),
                kind: kind,
                unit: unit
            )
            return nextID
        }
        for deviceIndex in 0..<devices {
            let device = "edge-\(deviceIndex < 9 ? "0" : "")\(deviceIndex + 1)"
            for interfaceIndex in 0..<interfacesPerDevice {
                let interface = "et-0/0/\(interfaceIndex)"
                for metric in ["in_octets", "out_octets"] {
                    let id = register(device, interface, metric, .counter64, "octets")
                    var reading = (random.nextUnit() * 1e12).rounded()
                    let bytesPerSecond = 1e6 * pow(100, random.nextUnit())
                    emitCounter(id, windows: windows, random: &random) {
                        reading += max(0, (bytesPerSecond * 10 * (1 + 0.2 * $0.nextGaussian())).rounded())
                        return reading
                    }
                }
                let errorsID = register(device, interface, "in_errors", .counter64, "packets")
                var errors = Double(random.next() % 1000)
                emitCounter(errorsID, windows: windows, random: &random) {
                    if $0.nextUnit() < 0.02 { errors += Double(1 + $0.next() % 5) }
                    return errors
                }
                for (metric, low, high) in [("rx_power", -8.0, -2.0), ("tx_power", -1.0, 2.0)] {
                    let id = register(device, interface, metric, .gauge, "dBm")
                    let base = low + (high - low) * random.nextUnit()
                    emitGauge(id, windows: windows, random: &random, scale: 100) { base + 0.05 * $0.nextGaussian() }
                }
            }
            let cpuID = register(device, "", "cpu", .gauge, "percent")
            let cpuBase = 5 + 55 * random.nextUnit()
            emitGauge(cpuID, windows: windows, random: &random, scale: 10) {
                min(100, max(0, cpuBase + 3 * $0.nextGaussian()))
            }
            let temperatureID = register(device, "", "temperature", .gauge, "celsius")
            let temperatureBase = 35 + 20 * random.nextUnit()
            emitGauge(temperatureID, windows: windows, random: &random, scale: 10) {
                temperatureBase + 0.3 * $0.nextGaussian()
            }
        }
    }

    private mutating func emitCounter(
        _ id: SeriesID,
        windows: Int,
        random: inout SplitMix64,
        next: (inout SplitMix64) -> Double
    ) {
        for window in 0..<windows {
            let samples = (0..<6).map { (offsetSeconds: Double($0 * 10), value: next(&random)) }
            rows.append(
                aggregate(seriesID: id, windowStartNanoseconds: start(window), samples: samples, isCounter: true)
            )
        }
    }

    /// Device values are decimals: the reading `k / scale` is what parsing "-3.21" gives.
    private mutating func emitGauge(
        _ id: SeriesID,
        windows: Int,
        random: inout SplitMix64,
        scale: Double,
        next: (inout SplitMix64) -> Double
    ) {
        for window in 0..<windows {
            let samples = (0..<6).map {
                (offsetSeconds: Double($0 * 10), value: (next(&random) * scale).rounded() / scale)
            }
            rows.append(
                aggregate(seriesID: id, windowStartNanoseconds: start(window), samples: samples, isCounter: false)
            )
        }
    }

    private func start(_ window: Int) -> Int64 {
        Self.startNanoseconds + Int64(window) * Self.windowNanoseconds
    }
}

/// Rows sorted the way a segment stores them.
func sortedForSegment(_ rows: [WindowAggregate]) -> [WindowAggregate] {
    rows.enumerated().sorted { a, b in
        (a.element.seriesID, a.element.windowStartNanoseconds, a.offset)
            < (b.element.seriesID, b.element.windowStartNanoseconds, b.offset)
    }.map(\.element)
}

func descriptor(_ id: SeriesID) -> SeriesDescriptor {
    SeriesDescriptor(
        key: SeriesKey(
            device: "dev-\(id % 7)",
            interface: id % 3 == 0 ? "" : "et-0/0/\(id)",
            metric: id % 2 == 0 ? "rx_power" : "in_octets",
            extraLabels: id % 5 == 0 ? [Label(name: "site", value: "fra\(id)"), Label(name: "a", value: "b")] : []
        ),
        kind: id % 2 == 0 ? .gauge : .counter64,
        unit: id % 2 == 0 ? "dBm" : "octets"
    )
}
