import VigilCore
import VigilWire

/// The series flows become: per exporter, interface and direction, the traffic the flow records report,
/// as counters (cumulative since the exporter was first heard), so windows give bytes, packets and flows
/// per second with the same counter machinery as SNMP interface counters, and models, alerts and rollups
/// apply unchanged. sFlow counter samples become per-interface counters of their own.
///
/// Labels: `device` is the exporter's address (with `/domain` when its observation domain is not 0),
/// `interface` the SNMP ifIndex, and flow measures carry `direction=in|out`. Examples:
/// `192.0.2.1/7/flow_bytes{direction=in}`, `192.0.2.1/7/if_in_octets`.
enum FlowMeasure: Int, CaseIterable {
    case bytes = 0
    case packets = 1
    case flows = 2

    static let perDirection = FlowMeasure.allCases.count

    var metric: String {
        switch self {
        case .bytes: "flow_bytes"
        case .packets: "flow_packets"
        case .flows: "flows"
        }
    }

    var unit: String {
        switch self {
        case .bytes: "octets"
        case .packets: "packets"
        case .flows: "flows"
        }
    }
}

/// The counters of an sFlow generic interface counter sample, as series.
enum InterfaceCounterMeasure: Int, CaseIterable {
    case inOctets, outOctets, inPackets, outPackets, inErrors, outErrors, inDiscards, outDiscards

    var metric: String {
        switch self {
        case .inOctets: "if_in_octets"
        case .outOctets: "if_out_octets"
        case .inPackets: "if_in_packets"
        case .outPackets: "if_out_packets"
        case .inErrors: "if_in_errors"
        case .outErrors: "if_out_errors"
        case .inDiscards: "if_in_discards"
        case .outDiscards: "if_out_discards"
        }
    }

    /// sFlow carries octets as 64-bit counters and the rest as 32-bit ones (they wrap).
    var kind: MetricKind {
        switch self {
        case .inOctets, .outOctets: .counter64
        default: .counter32
        }
    }

    var unit: String {
        switch self {
        case .inOctets, .outOctets: "octets"
        default: "packets"
        }
    }

    func value(of record: InterfaceCounterRecord) -> Double {
        switch self {
        case .inOctets: Double(record.inputOctets)
        case .outOctets: Double(record.outputOctets)
        case .inPackets:
            Double(record.inputUnicastPackets &+ record.inputMulticastPackets &+ record.inputBroadcastPackets)
        case .outPackets:
            Double(record.outputUnicastPackets &+ record.outputMulticastPackets &+ record.outputBroadcastPackets)
        case .inErrors: Double(record.inputErrors)
        case .outErrors: Double(record.outputErrors)
        case .inDiscards: Double(record.inputDiscards)
        case .outDiscards: Double(record.outputDiscards)
        }
    }
}

extension FlowExporterKey {
    /// The `device` label of the exporter's series.
    var deviceLabel: String { observationDomain == 0 ? "\(address)" : "\(address)/\(observationDomain)" }
}
