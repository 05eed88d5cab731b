import VigilCore

/// The series of a simulated fleet and their wire ids.
///
/// Layout: device `d` owns the contiguous block of ``seriesPerDevice`` wire ids starting at
/// `d * seriesPerDevice`; inside it, interface `i` metric `m` sits at `i * 8 + m.rawValue`, then
/// `cpu_percent` and `temperature_celsius`. So the wire id is also the series' index in one round of
/// samples, and a tick emits wire ids in increasing order.
public struct FleetCatalogue: Sendable, Equatable {
    public let deviceCount: Int
    public let interfacesPerDevice: Int

    public init(deviceCount: Int, interfacesPerDevice: Int) {
        precondition(deviceCount > 0 && interfacesPerDevice > 0, "a fleet needs devices and interfaces")
        self.deviceCount = deviceCount
        self.interfacesPerDevice = interfacesPerDevice
    }

    public var seriesPerDevice: Int { interfacesPerDevice * FleetMetric.interfaceMetrics.count + 2 }
    public var seriesCount: Int { deviceCount * seriesPerDevice }

    /// `edge-01` … `edge-NN`, zero-padded to at least two digits (and to the width of the largest number).
    public func deviceName(_ deviceIndex: Int) -> String {
        let width = max(2, String(deviceCount).count)
        let digits = String(deviceIndex + 1)
        return "edge-" + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// `et-0/0/0` … for interface indices 0, 1, …
    public func interfaceName(_ interfaceIndex: Int) -> String { "et-0/0/\(interfaceIndex)" }

    @inlinable
    public func wireID(device deviceIndex: Int, interface interfaceIndex: Int, metric: FleetMetric) -> UInt32 {
        UInt32(deviceIndex * seriesPerDevice + interfaceIndex * FleetMetric.interfaceMetrics.count + metric.rawValue)
    }

    @inlinable
    public func wireID(device deviceIndex: Int, metric: FleetMetric) -> UInt32 {
        let offset = metric == .cpuPercent ? 0 : 1
        return UInt32(deviceIndex * seriesPerDevice + interfacesPerDevice * FleetMetric.interfaceMetrics.count + offset)
    }

    /// Every series, indexed by wire id. O(series) strings; call once per run, for the schema.
    public func descriptors() -> [SeriesDescriptor] {
        var result: [SeriesDescriptor] = []
        result.reserveCapacity(seriesCount)
        for device in 0..<deviceCount {
            let deviceName = deviceName(device)
            for interface in 0..<interfacesPerDevice {
                let interfaceName = interfaceName(interface)
                for metric in FleetMetric.interfaceMetrics {
                    result.append(descriptor(device: deviceName, interface: interfaceName, metric: metric))
                }
            }
            for metric in FleetMetric.deviceMetrics {
                result.append(descriptor(device: deviceName, interface: "", metric: metric))
            }
        }
        return result
    }

    private func descriptor(device: String, interface: String, metric: FleetMetric) -> SeriesDescriptor {
        SeriesDescriptor(
            key: SeriesKey(device: device, interface: interface, metric: metric.name),
            kind: metric.kind,
            unit: metric.unit
        )
    }
}
