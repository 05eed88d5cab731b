/// Which way a flow crossed the interface it was measured on.
public enum FlowDirection: UInt8, Sendable {
    /// Measured as it came in on `inputInterface` (the default of NetFlow and IPFIX when the record says
    /// nothing: flows are metered at ingress unless `flowDirection` (61) says egress).
    case ingress = 0
    case egress = 1
}

/// One flow data record, whatever format carried it: the fields Vigil understands, normalised.
///
/// Fixed size, no references: decoders fill one in place per record and hand it to a ``FlowConsumer``,
/// so decoding allocates nothing per record. A field the record did not carry keeps its zero value
/// (`IPAddress.unspecified`, port 0, interface 0, time 0).
public struct FlowRecord: Sendable, Equatable {
    public var sourceAddress = IPAddress.unspecified
    public var destinationAddress = IPAddress.unspecified
    /// Transport ports; for ICMP, NetFlow's convention of `type << 8 | code` in the destination port is kept.
    public var sourcePort: UInt16 = 0
    public var destinationPort: UInt16 = 0
    /// IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6).
    public var protocolNumber: UInt8 = 0
    public var tcpFlags: UInt8 = 0
    /// IP type of service / traffic class byte.
    public var typeOfService: UInt8 = 0
    /// 4, 6, or 0 when the record carried no address.
    public var ipVersion: UInt8 = 0
    public var direction = FlowDirection.ingress
    /// SNMP ifIndex values (`ingressInterface` 10, `egressInterface` 14).
    public var inputInterface: UInt32 = 0
    public var outputInterface: UInt32 = 0
    public var sourceAS: UInt32 = 0
    public var destinationAS: UInt32 = 0
    public var vlan: UInt16 = 0
    /// Bytes and packets as the exporter counted them: before sampling is applied (multiply by
    /// ``samplingInterval`` for an estimate of the traffic).
    public var octets: UInt64 = 0
    public var packets: UInt64 = 0
    /// Flows this record stands for (NetFlow v9 field 3; 1 when absent).
    public var flows: UInt64 = 1
    /// 1 in N packets were sampled: from the record (field 34/305), from the exporter's sampler options data
    /// (field 48/302 naming a sampler), or from sFlow's sampling rate. 0 when the exporter said nothing (the
    /// engine then applies `--sampling-rate`, else 1).
    public var samplingInterval: UInt32 = 0
    /// First and last packet of the flow, milliseconds since the Unix epoch (0 when unknown). NetFlow v5/v9
    /// uptime-based times are converted with the datagram header's uptime and export time.
    public var startMilliseconds: Int64 = 0
    public var endMilliseconds: Int64 = 0

    public init() {}
}

/// Counters of one interface from an sFlow counter sample (`generic interface counters`, format 1): the same
/// measures SNMP's IF-MIB gives, read as counters by the engine (rates with wrap and reset handling).
public struct InterfaceCounterRecord: Sendable, Equatable {
    public var interfaceIndex: UInt32 = 0
    /// Interface speed, bits per second.
    public var speedBitsPerSecond: UInt64 = 0
    public var inputOctets: UInt64 = 0
    public var inputUnicastPackets: UInt32 = 0
    public var inputMulticastPackets: UInt32 = 0
    public var inputBroadcastPackets: UInt32 = 0
    public var inputDiscards: UInt32 = 0
    public var inputErrors: UInt32 = 0
    public var outputOctets: UInt64 = 0
    public var outputUnicastPackets: UInt32 = 0
    public var outputMulticastPackets: UInt32 = 0
    public var outputBroadcastPackets: UInt32 = 0
    public var outputDiscards: UInt32 = 0
    public var outputErrors: UInt32 = 0
    /// ifOperStatus bit (status bit 1): whether the interface is up.
    public var operationallyUp = false

    public init() {}
}
