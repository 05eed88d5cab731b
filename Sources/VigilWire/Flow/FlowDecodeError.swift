/// Why part of a flow datagram was not decoded. Errors are values with context; ``reason`` is the stable
/// name counted per exporter (the summary's and `vigil inspect`'s keys).
public struct FlowDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable, CaseIterable {
        /// Neither NetFlow v5/v9, IPFIX nor sFlow v5 (native Vigil frames sent to a UDP source included).
        case notAFlowDatagram = "not_a_flow_datagram"
        /// Vigil's native framed format sent to a flow input.
        case nativeFramesOnFlowInput = "native_frames_on_flow_input"
        case shortHeader = "short_header"
        /// The header's record count or length disagrees with the datagram's size.
        case lengthMismatch = "length_mismatch"
        /// A set, sample or record extends past the end of the datagram or its container.
        case truncated = "truncated"
        /// A set id that is neither a template, options template nor data set (1, 4-255 in IPFIX).
        case reservedSetID = "reserved_set_id"
        /// A template with zero fields (outside an IPFIX withdrawal), more than the limit, or a scope count
        /// the options template cannot hold.
        case badTemplate = "bad_template"
        /// A field of length 0 (outside IPFIX variable length), or longer than any set.
        case badFieldLength = "bad_field_length"
        /// Data for a template not (yet) known, held until it timed out or the hold was full.
        case templateNotFound = "template_not_found"
        /// The exporter had more templates, or the decoder more exporters, than its limits.
        case templateLimit = "template_limit"
        case exporterLimit = "exporter_limit"
        /// sFlow: a sample or record length that lies about its contents.
        case badSampleLength = "bad_sample_length"
        /// sFlow: a raw packet header that could not be parsed to a flow key.
        case badPacketHeader = "bad_packet_header"
        /// pcap: a file or record header that is not what it claims (magic, snaplen, record length).
        case badCapture = "bad_capture"
        /// pcap: a captured packet cut by the snaplen before its UDP payload ended.
        case truncatedCapture = "truncated_capture"
        /// pcap: an IP fragment (reassembly is not attempted): counted and skipped.
        case ipFragment = "ip_fragment"
        /// pcap: a link type, or a packet that is not IPv4/IPv6 UDP.
        case unsupportedLinkType = "unsupported_link_type"
        case notUDP = "not_udp"
    }

    public var reason: Reason
    /// Byte offset within the datagram (or capture file) where the problem was found.
    public var offset: Int
    /// What was found and what was expected, for a user to read.
    public var detail: String

    public init(_ reason: Reason, offset: Int, _ detail: String) {
        self.reason = reason
        self.offset = offset
        self.detail = detail
    }

    public var description: String { "\(reason.rawValue) at byte \(offset): \(detail)" }
}
