/// The templates the NetFlow v9 and IPFIX encoders announce, as data: what a router of today sends.
///
/// | template | NetFlow v9 | IPFIX |
/// | --- | --- | --- |
/// | 256 | IPv4 flows | IPv4 flows (with `applicationName` 96, variable length, and an enterprise field) |
/// | 257 | IPv6 flows | IPv6 flows (the same extras) |
/// | 258 | sampler options: scope System (1), `FLOW_SAMPLER_ID` 48, `FLOW_SAMPLER_MODE` 49, `FLOW_SAMPLER_RANDOM_INTERVAL` 50 | selector options: scope `selectorId` 302, `samplingPacketInterval` 305, `samplingPacketSpace` 306 |
public enum FlowTemplateLayout {
    /// One field of a template: its element id, its length (65535: IPFIX variable length), and its
    /// private enterprise number (IPFIX; 0 for IANA elements).
    public struct Field: Sendable, Equatable {
        public var id: UInt16
        public var length: UInt16
        public var enterpriseNumber: UInt32

        public init(_ id: UInt16, _ length: UInt16, enterprise: UInt32 = 0) {
            self.id = id
            self.length = length
            self.enterpriseNumber = enterprise
        }
    }

    public static let ipv4TemplateID: UInt16 = 256
    public static let ipv6TemplateID: UInt16 = 257
    public static let samplerOptionsTemplateID: UInt16 = 258
    /// The one sampler (v9 `FLOW_SAMPLER_ID`, IPFIX `selectorId`) every data record names.
    public static let samplerID: UInt8 = 1
    /// NetFlow v9 `FLOW_SAMPLER_MODE` 2: random sampling.
    public static let samplerModeRandom: UInt8 = 2
    /// The enterprise field's PEN: 32473, the number RFC 5612 reserves for documentation and examples.
    public static let exampleEnterpriseNumber: UInt32 = 32_473
    /// Its element id within that enterprise (a 32-bit "customer id" of the example).
    public static let exampleEnterpriseElementID: UInt16 = 1

    /// The fields every flow template has after its two addresses (NetFlow v9 ids and lengths).
    static let v9CommonFields: [Field] = [
        Field(7, 2), Field(11, 2), Field(4, 1), Field(5, 1), Field(6, 1), Field(10, 4), Field(14, 4),
        Field(1, 8), Field(2, 8), Field(22, 4), Field(21, 4), Field(16, 4), Field(17, 4), Field(61, 1), Field(48, 1),
    ]

    /// NetFlow v9 template 256: IPV4_SRC_ADDR 8, IPV4_DST_ADDR 12, then the common fields.
    public static let v9IPv4Fields: [Field] = [Field(8, 4), Field(12, 4)] + v9CommonFields
    /// NetFlow v9 template 257: IPV6_SRC_ADDR 27, IPV6_DST_ADDR 28, then the common fields.
    public static let v9IPv6Fields: [Field] = [Field(27, 16), Field(28, 16)] + v9CommonFields
    /// NetFlow v9 options template 258: scope System (1, 4 bytes: the exporter's IPv4 address), then the
    /// sampler's id, mode and interval.
    public static let v9SamplerScopeFields: [Field] = [Field(1, 4)]
    public static let v9SamplerOptionFields: [Field] = [Field(48, 1), Field(49, 1), Field(50, 4)]

    /// The IPFIX fields after the two addresses: ports, protocol, class of service, tcpControlBits (2 bytes),
    /// interfaces, octetDeltaCount, packetDeltaCount, flowStart/EndMilliseconds, AS numbers, flowDirection,
    /// selectorId (reduced to 4 bytes), applicationName (variable length) and the enterprise field.
    static let ipfixCommonFields: [Field] = [
        Field(7, 2), Field(11, 2), Field(4, 1), Field(5, 1), Field(6, 2), Field(10, 4), Field(14, 4),
        Field(1, 8), Field(2, 8), Field(152, 8), Field(153, 8), Field(16, 4), Field(17, 4), Field(61, 1),
        Field(302, 4), Field(96, 0xFFFF),
        Field(exampleEnterpriseElementID, 4, enterprise: exampleEnterpriseNumber),
    ]
    /// IPFIX template 256: sourceIPv4Address 8, destinationIPv4Address 12, then the common fields.
    public static let ipfixIPv4Fields: [Field] = [Field(8, 4), Field(12, 4)] + ipfixCommonFields
    /// IPFIX template 257: sourceIPv6Address 27, destinationIPv6Address 28, then the common fields.
    public static let ipfixIPv6Fields: [Field] = [Field(27, 16), Field(28, 16)] + ipfixCommonFields
    /// IPFIX options template 258: scope selectorId 302, then samplingPacketInterval 305 and
    /// samplingPacketSpace 306 (1 packet sampled, N − 1 skipped: 1 in N).
    public static let ipfixSamplerFields: [Field] = [Field(302, 4), Field(305, 4), Field(306, 4)]

    /// The application name IPFIX records carry in `applicationName` (96), from the protocol and the
    /// server port: a few well-known names, else empty (a zero-length variable field). Static storage.
    @inlinable
    public static func applicationName(protocolNumber: UInt8, destinationPort: UInt16) -> StaticString {
        switch (protocolNumber, destinationPort) {
        case (6, 443): "https"
        case (17, 443): "quic"
        case (6, 80), (6, 8080): "http"
        case (17, 53), (6, 53): "dns"
        case (6, 22): "ssh"
        case (17, 123): "ntp"
        case (6, 25): "smtp"
        case (6, 179): "bgp"
        case (6, 3306): "mysql"
        case (6, 5432): "postgresql"
        case (6, 993): "imaps"
        case (1, _), (58, _): "icmp"
        default: ""
        }
    }

    /// The example enterprise field's value for a record: its interface pair, `input << 16 | output`.
    @inlinable
    public static func exampleEnterpriseValue(_ record: FlowRecord) -> UInt32 {
        record.inputInterface << 16 | (record.outputInterface & 0xFFFF)
    }
}
