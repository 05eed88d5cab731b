/// Where one template field's value goes in a ``FlowRecord`` (or in the per-record scratch the decoder
/// resolves after the record: times, ICMP type, sampling). `skip` for every field Vigil does not read.
@usableFromInline
enum _FlowFieldTarget: UInt8, Sendable {
    case skip
    case octets
    case packets
    case flows
    case protocolNumber
    case typeOfService
    case tcpFlags
    case sourcePort
    case destinationPort
    case sourceIPv4
    case destinationIPv4
    case sourceIPv6
    case destinationIPv6
    case inputInterface
    case outputInterface
    case sourceAS
    case destinationAS
    case vlan
    case ipVersion
    case direction
    /// `icmpTypeCodeIPv4` (32): the destination port when the record's own is 0.
    case icmpTypeCode
    /// `samplingInterval` (34) or `samplerRandomInterval` (50): 1 in N.
    case samplingInterval
    /// `samplerId` (48) or `selectorId` (302): names a sampler learned from options data.
    case samplerID
    /// `samplingPacketInterval` (305) and `samplingPacketSpace` (306): RFC 5477 systematic sampling.
    case packetInterval
    case packetSpace
    /// `systemInitTimeMilliseconds` (160): the base of IPFIX sysUptime times.
    case systemInitMilliseconds
    /// The one field the template's start (end) time is read from; ``_FlowTimeSource`` says how.
    case startTime
    case endTime
}

/// How a template gives a flow's start or end time. When a template has several, the most precise absolute
/// one is used (milliseconds, then nanoseconds, microseconds, seconds, then uptime).
@usableFromInline
enum _FlowTimeSource: UInt8, Sendable {
    case none
    /// Milliseconds of sysUptime (21/22): v9 converts with the header; IPFIX adds systemInitTimeMilliseconds.
    case uptime
    /// `flowStart/EndSeconds` (150/151).
    case seconds
    /// `flowStart/EndMilliseconds` (152/153).
    case milliseconds
    /// `flowStart/EndMicroseconds` and `Nanoseconds` (154-157): NTP-64 timestamps (RFC 7011 6.1.9/6.1.10:
    /// seconds since 1900 in the high 32 bits, a binary fraction in the low 32).
    case ntp
}

/// The information elements the decoder reads, by id (IANA IPFIX registry; NetFlow v9 uses the same
/// numbers for these, RFC 3954 section 8).
@usableFromInline
enum _FlowElement {
    static let octetDeltaCount: UInt16 = 1
    static let packetDeltaCount: UInt16 = 2
    static let deltaFlowCount: UInt16 = 3
    static let protocolIdentifier: UInt16 = 4
    static let ipClassOfService: UInt16 = 5
    static let tcpControlBits: UInt16 = 6
    static let sourceTransportPort: UInt16 = 7
    static let sourceIPv4Address: UInt16 = 8
    static let ingressInterface: UInt16 = 10
    static let destinationTransportPort: UInt16 = 11
    static let destinationIPv4Address: UInt16 = 12
    static let egressInterface: UInt16 = 14
    static let bgpSourceAsNumber: UInt16 = 16
    static let bgpDestinationAsNumber: UInt16 = 17
    static let flowEndSysUpTime: UInt16 = 21
    static let flowStartSysUpTime: UInt16 = 22
    static let postOctetDeltaCount: UInt16 = 23
    static let postPacketDeltaCount: UInt16 = 24
    static let sourceIPv6Address: UInt16 = 27
    static let destinationIPv6Address: UInt16 = 28
    static let icmpTypeCodeIPv4: UInt16 = 32
    static let samplingInterval: UInt16 = 34
    static let samplerId: UInt16 = 48
    static let samplerRandomInterval: UInt16 = 50
    static let vlanId: UInt16 = 58
    static let ipVersion: UInt16 = 60
    static let flowDirection: UInt16 = 61
    static let octetTotalCount: UInt16 = 85
    static let packetTotalCount: UInt16 = 86
    static let flowStartSeconds: UInt16 = 150
    static let flowEndSeconds: UInt16 = 151
    static let flowStartMilliseconds: UInt16 = 152
    static let flowEndMilliseconds: UInt16 = 153
    static let flowStartMicroseconds: UInt16 = 154
    static let flowEndMicroseconds: UInt16 = 155
    static let flowStartNanoseconds: UInt16 = 156
    static let flowEndNanoseconds: UInt16 = 157
    static let systemInitTimeMilliseconds: UInt16 = 160
    static let selectorId: UInt16 = 302
    static let samplingPacketInterval: UInt16 = 305
    static let samplingPacketSpace: UInt16 = 306

    /// Start-time elements, most precise absolute first, with how each is read.
    static let startTimes: [(UInt16, _FlowTimeSource)] = [
        (flowStartMilliseconds, .milliseconds), (flowStartNanoseconds, .ntp), (flowStartMicroseconds, .ntp),
        (flowStartSeconds, .seconds), (flowStartSysUpTime, .uptime),
    ]
    static let endTimes: [(UInt16, _FlowTimeSource)] = [
        (flowEndMilliseconds, .milliseconds), (flowEndNanoseconds, .ntp), (flowEndMicroseconds, .ntp),
        (flowEndSeconds, .seconds), (flowEndSysUpTime, .uptime),
    ]

    /// The target of an element that needs no choice between alternatives, for a field of `length` bytes
    /// (integers 1...8 bytes, reduced-size encoding included; addresses exactly 4 or 16). A length the
    /// element cannot have makes the field opaque.
    static func directTarget(_ element: UInt16, length: Int) -> _FlowFieldTarget {
        let integer = (1...8).contains(length)
        switch element {
        case deltaFlowCount: return integer ? .flows : .skip
        case protocolIdentifier: return integer ? .protocolNumber : .skip
        case ipClassOfService: return integer ? .typeOfService : .skip
        case tcpControlBits: return integer ? .tcpFlags : .skip
        case sourceTransportPort: return integer ? .sourcePort : .skip
        case destinationTransportPort: return integer ? .destinationPort : .skip
        case sourceIPv4Address: return length == 4 ? .sourceIPv4 : .skip
        case destinationIPv4Address: return length == 4 ? .destinationIPv4 : .skip
        case sourceIPv6Address: return length == 16 ? .sourceIPv6 : .skip
        case destinationIPv6Address: return length == 16 ? .destinationIPv6 : .skip
        case ingressInterface: return integer ? .inputInterface : .skip
        case egressInterface: return integer ? .outputInterface : .skip
        case bgpSourceAsNumber: return integer ? .sourceAS : .skip
        case bgpDestinationAsNumber: return integer ? .destinationAS : .skip
        case vlanId: return integer ? .vlan : .skip
        case ipVersion: return integer ? .ipVersion : .skip
        case flowDirection: return integer ? .direction : .skip
        case icmpTypeCodeIPv4: return integer ? .icmpTypeCode : .skip
        case samplingInterval, samplerRandomInterval: return integer ? .samplingInterval : .skip
        case samplerId, selectorId: return integer ? .samplerID : .skip
        case samplingPacketInterval: return integer ? .packetInterval : .skip
        case samplingPacketSpace: return integer ? .packetSpace : .skip
        case systemInitTimeMilliseconds: return integer ? .systemInitMilliseconds : .skip
        default: return .skip
        }
    }
}
