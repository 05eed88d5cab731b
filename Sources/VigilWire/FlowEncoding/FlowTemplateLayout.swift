/// The templates the NetFlow v9 and IPFIX encoders announce, as data: what a router of today sends.
///
/// | template | NetFlow v9 | IPFIX |
/// | --- | --- | --- |
/// | 256 | IPv4 flows | IPv4 flows (with `applicationName` 96, variable length, and an enterprise field) |
/// | 257 | IPv6 flows | IPv6 flows (the same extras) |
/// | 258 | sampler options: scope System (1), `FLOW_SAMPLER_ID` 48, `FLOW_SAMPLER_MODE` 49, `FLOW_SAMPLER_RANDOM_INTERVAL` 50 | selector options: scope `selectorId` 302, `samplingPacketInterval` 305, `samplingPacketSpace` 306 |
/// | 259, 261, … | IPv4 flows, layout 1, 2, …: template 256 plus the variant fields of the layout | the same |
/// | 260, 262, … | IPv6 flows, layout 1, 2, …: template 257 plus the variant fields | the same |
///
/// An exporter announces `templateCount` templates (3 by default: 256, 257, 258), ids 256 up to
/// 256 + templateCount − 1: ``ipv4LayoutCount(templateCount:)`` IPv4 layouts and
/// ``ipv6LayoutCount(templateCount:)`` IPv6 layouts, so a collector holds that many templates per exporter.
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

    /// Templates an exporter announces by default: 256, 257 and 258.
    public static let defaultTemplateCount = 3
    /// At most: the options template and 16 layouts each of IPv4 and IPv6 flows (one datagram carries
    /// them all, within ``FlowEncodingLimits/maximumDatagramBytes``).
    public static let maximumTemplateCount = 1 + 2 * maximumLayouts
    /// Distinct layouts per address family: every subset of ``variantFields``.
    public static let maximumLayouts = 1 << 4

    /// IPv4 flow layouts among `templateCount` templates (the options template is one; the IPv4 layouts
    /// get the odd one out).
    @inlinable
    public static func ipv4LayoutCount(templateCount: Int) -> Int { templateCount / 2 }

    /// IPv6 flow layouts among `templateCount` templates.
    @inlinable
    public static func ipv6LayoutCount(templateCount: Int) -> Int { (templateCount - 1) / 2 }

    /// The template id of IPv4 (or IPv6) flow layout `layout`: 256 (257) for layout 0, then 259 (260),
    /// 261 (262), …, past the options template 258.
    @inlinable
    public static func flowTemplateID(layout: Int, ipv6: Bool) -> UInt16 {
        let first = layout == 0 ? ipv4TemplateID : UInt16(ipv4TemplateID + 1 + 2 * UInt16(layout))
        return ipv6 ? first + 1 : first
    }

    /// Fields a layout appends to its records after the common ones: field `b` when bit `b` of the layout
    /// number is set, so layouts 0-15 all differ. Vigil reads none of them (a collector skips them by
    /// length): `IN_SRC_MAC` 56, `IN_DST_MAC` 80, `FORWARDING_STATUS` 89, `MPLS_LABEL_1` 70. The same
    /// ids in NetFlow v9 and IPFIX.
    public static let variantFields: [Field] = [Field(56, 6), Field(80, 6), Field(89, 1), Field(70, 3)]

    /// Bytes of `layout`'s variant fields in a record.
    @inlinable
    public static func variantByteCount(layout: Int) -> Int {
        (layout & 1 != 0 ? 6 : 0) + (layout & 2 != 0 ? 6 : 0) + (layout & 4 != 0 ? 1 : 0) + (layout & 8 != 0 ? 3 : 0)
    }

    /// Fields of `layout`'s variant.
    @inlinable
    public static func variantFieldCount(layout: Int) -> Int { (layout & (maximumLayouts - 1)).nonzeroBitCount }

    /// Writes `layout`'s variant fields of `record`: locally administered MACs naming its interfaces,
    /// forwarding status 64 (forwarded), MPLS label 0 with the bottom-of-stack bit.
    @inlinable
    @inline(__always)
    public static func writeVariantValues(_ record: FlowRecord, layout: Int, into cursor: inout FlowWriteCursor) {
        if layout & 1 != 0 {
            cursor.put(UInt16(0x0200))
            cursor.put(record.inputInterface)
        }
        if layout & 2 != 0 {
            cursor.put(UInt16(0x0200))
            cursor.put(record.outputInterface)
        }
        if layout & 4 != 0 { cursor.put(UInt8(64)) }
        if layout & 8 != 0 {
            cursor.put(UInt16(0))
            cursor.put(UInt8(1))
        }
    }

    /// The flow template records of `templateCount` templates (not the options template), in id order:
    /// NetFlow v9's (``v9IPv4Fields``, ``v9IPv6Fields``) or IPFIX's, each followed by its layout's variant
    /// fields. Static field tables: no allocation.
    static func writeFlowTemplates(templateCount: Int, ipfix: Bool, into cursor: inout FlowWriteCursor) {
        let ipv4Layouts = ipv4LayoutCount(templateCount: templateCount)
        let ipv6Layouts = ipv6LayoutCount(templateCount: templateCount)
        for layout in 0..<ipv4Layouts {
            for family in 0..<2 where layout < (family == 0 ? ipv4Layouts : ipv6Layouts) {
                let ipv6 = family == 1
                let fields =
                    ipfix ? (ipv6 ? ipfixIPv6Fields : ipfixIPv4Fields) : (ipv6 ? v9IPv6Fields : v9IPv4Fields)
                cursor.put(flowTemplateID(layout: layout, ipv6: ipv6))
                cursor.put(UInt16(fields.count + variantFieldCount(layout: layout)))
                writeSpecifiers(fields, into: &cursor)
                for bit in variantFields.indices where layout & (1 << bit) != 0 {
                    writeSpecifiers(variantFields[bit...bit], into: &cursor)
                }
            }
        }
    }

    /// Field specifiers: id and length, with the enterprise bit and number for an enterprise field (IPFIX).
    static func writeSpecifiers(_ fields: some Collection<Field>, into cursor: inout FlowWriteCursor) {
        for field in fields {
            if field.enterpriseNumber != 0 {
                cursor.put(field.id | 0x8000)
                cursor.put(field.length)
                cursor.put(field.enterpriseNumber)
            } else {
                cursor.put(field.id)
                cursor.put(field.length)
            }
        }
    }

    /// Bytes of one flow template record at most (its header, 23 field specifiers of 4 bytes, one with an
    /// enterprise number): what an encoder reserves per template.
    public static let maximumFlowTemplateByteCount = 4 + 4 * (2 + 17 + 4) + 4

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
