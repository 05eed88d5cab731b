/// Dense identifier of a series inside one engine, assigned by ``SeriesRegistry`` in registration order.
///
/// Dense ids let every per-series table be a plain array: shard `id % shardCount` holds the series at
/// local index `id / shardCount`.
public typealias SeriesID = UInt32

/// How a series' values behave, which decides how windows aggregate them.
public enum MetricKind: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// A level sampled at a point in time (power in dBm, temperature, CPU %).
    case gauge = 0
    /// A monotonically increasing 32-bit counter that wraps at 2^32 (SNMP Counter32).
    case counter32 = 1
    /// A monotonically increasing 64-bit counter that wraps at 2^64 (SNMP Counter64, ifHCInOctets).
    case counter64 = 2

    public var isCounter: Bool { self != .gauge }

    /// The counter's modulus (2^32 or 2^64) as a Double; 0 for gauges.
    public var counterModulus: Double {
        switch self {
        case .gauge: return 0
        case .counter32: return 4_294_967_296.0
        case .counter64: return 18_446_744_073_709_551_616.0
        }
    }

    public var description: String {
        switch self {
        case .gauge: return "gauge"
        case .counter32: return "counter32"
        case .counter64: return "counter64"
        }
    }

    /// Parses the names used on the command line and in JSON: `gauge`, `counter32`, `counter64`
    /// (`counter` alone means `counter64`).
    public init?(name: String) {
        switch name {
        case "gauge": self = .gauge
        case "counter32": self = .counter32
        case "counter64", "counter": self = .counter64
        default: return nil
        }
    }
}

/// One extra label beyond the three every series has.
public struct Label: Hashable, Sendable, Comparable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public static func < (lhs: Label, rhs: Label) -> Bool {
        (lhs.name, lhs.value) < (rhs.name, rhs.value)
    }
}

/// What identifies a series: device, interface and metric, plus optional extra labels kept sorted by name
/// so that two keys with the same labels in another order are equal.
///
/// Device-level metrics (CPU, chassis temperature) use an empty `interface`.
public struct SeriesKey: Hashable, Sendable, CustomStringConvertible {
    public private(set) var device: String
    public private(set) var interface: String
    public private(set) var metric: String
    public private(set) var extraLabels: [Label]
    /// The labels' hash, computed once: a registry of a million keys rehashes every key each time its table
    /// grows, and hashing the strings again each time was most of the cost of declaring series.
    let labelsHash: Int

    public init(device: String, interface: String, metric: String, extraLabels: [Label] = []) {
        self.device = device
        self.interface = interface
        self.metric = metric
        self.extraLabels = extraLabels.sorted()
        var hasher = Hasher()
        hasher.combine(device)
        hasher.combine(interface)
        hasher.combine(metric)
        hasher.combine(self.extraLabels)
        labelsHash = hasher.finalize()
    }

    public static func == (lhs: SeriesKey, rhs: SeriesKey) -> Bool {
        lhs.labelsHash == rhs.labelsHash && lhs.device == rhs.device && lhs.interface == rhs.interface
            && lhs.metric == rhs.metric && lhs.extraLabels == rhs.extraLabels
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(labelsHash) }

    /// `device/interface/metric` (or `device/metric` when there is no interface), then `{k=v,…}` when
    /// there are extra labels: the form `--series` patterns match against.
    public var description: String {
        var text = interface.isEmpty ? "\(device)/\(metric)" : "\(device)/\(interface)/\(metric)"
        if !extraLabels.isEmpty {
            text += "{" + extraLabels.map { "\($0.name)=\($0.value)" }.joined(separator: ",") + "}"
        }
        return text
    }
}

/// Everything the engine knows about a series: its key, kind and unit (`octets`, `dBm`, `celsius`, `percent`).
public struct SeriesDescriptor: Hashable, Sendable {
    public var key: SeriesKey
    public var kind: MetricKind
    public var unit: String

    public init(key: SeriesKey, kind: MetricKind, unit: String) {
        self.key = key
        self.kind = kind
        self.unit = unit
    }
}
