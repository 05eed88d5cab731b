import VigilCore

/// The ten metrics of a simulated fleet (`SampleData/README.md`): eight per interface, two per device.
///
/// The raw values give the metric's offset inside its block of wire ids (see ``FleetCatalogue``).
public enum FleetMetric: Int, CaseIterable, Sendable {
    case inOctets = 0
    case outOctets
    case inPackets
    case outPackets
    case inCRCErrors
    case inDiscards
    case rxPowerDBm
    case txPowerDBm
    case cpuPercent
    case temperatureCelsius

    /// The eight interface metrics, in wire-id order.
    public static let interfaceMetrics: [FleetMetric] = [
        .inOctets, .outOctets, .inPackets, .outPackets, .inCRCErrors, .inDiscards, .rxPowerDBm, .txPowerDBm,
    ]
    /// The two device-level metrics (interface ""), in wire-id order.
    public static let deviceMetrics: [FleetMetric] = [.cpuPercent, .temperatureCelsius]

    public var isDeviceLevel: Bool { self == .cpuPercent || self == .temperatureCelsius }

    /// The series' metric label, as it appears on the wire, in alerts and in the ground truth.
    public var name: String {
        switch self {
        case .inOctets: return "in_octets"
        case .outOctets: return "out_octets"
        case .inPackets: return "in_packets"
        case .outPackets: return "out_packets"
        case .inCRCErrors: return "in_crc_errors"
        case .inDiscards: return "in_discards"
        case .rxPowerDBm: return "rx_power_dbm"
        case .txPowerDBm: return "tx_power_dbm"
        case .cpuPercent: return "cpu_percent"
        case .temperatureCelsius: return "temperature_celsius"
        }
    }

    /// Packet counters are 32-bit (SNMP Counter32) so that they wrap at realistic rates; the rest are 64-bit.
    public var kind: MetricKind {
        switch self {
        case .inOctets, .outOctets, .inCRCErrors, .inDiscards: return .counter64
        case .inPackets, .outPackets: return .counter32
        case .rxPowerDBm, .txPowerDBm, .cpuPercent, .temperatureCelsius: return .gauge
        }
    }

    public var unit: String {
        switch self {
        case .inOctets, .outOctets: return "octets"
        case .inPackets, .outPackets, .inDiscards: return "packets"
        case .inCRCErrors: return "errors"
        case .rxPowerDBm, .txPowerDBm: return "dBm"
        case .cpuPercent: return "percent"
        case .temperatureCelsius: return "celsius"
        }
    }
}
