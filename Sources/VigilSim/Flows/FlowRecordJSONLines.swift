import VigilWire

/// The records a simulated exporter sent, one JSON object per line, in the order they are on the wire: what
/// a decoder's differential test compares its own output with. Keys are ``FlowRecord``'s fields in snake
/// case, plus the datagram's format, exporter, observation domain and header sequence number. Fields a
/// format does not carry are 0 (sFlow's times; v5's sampling interval when unsampled). IPFIX records also
/// name their `application_name` (96) and the example enterprise field `enterprise_32473_1`.
///
/// Not on the fast path: a line is built as a `String` (about a microsecond per record).
public enum FlowRecordJSONLines {
    /// Appends one line (with its newline) for `record` to `text`.
    public static func append(
        _ record: FlowRecord,
        format: FlowFormat,
        header: FlowExportHeader,
        exporter: IPAddress,
        to text: inout String
    ) {
        text += "{\"format\":\"\(format)\",\"exporter\":\"\(exporter)\""
        text += ",\"observation_domain\":\(header.observationDomain),\"sequence_number\":\(header.sequenceNumber)"
        text +=
            ",\"source_address\":\"\(record.sourceAddress)\",\"destination_address\":\"\(record.destinationAddress)\""
        text += ",\"source_port\":\(record.sourcePort),\"destination_port\":\(record.destinationPort)"
        text += ",\"protocol\":\(record.protocolNumber),\"tcp_flags\":\(record.tcpFlags)"
        text += ",\"type_of_service\":\(record.typeOfService),\"ip_version\":\(record.ipVersion)"
        text += ",\"direction\":\"\(record.direction == .egress ? "egress" : "ingress")\""
        text += ",\"input_interface\":\(record.inputInterface),\"output_interface\":\(record.outputInterface)"
        text += ",\"source_as\":\(record.sourceAS),\"destination_as\":\(record.destinationAS)"
        text += ",\"octets\":\(record.octets),\"packets\":\(record.packets),\"flows\":\(record.flows)"
        text += ",\"sampling_interval\":\(record.samplingInterval)"
        text += ",\"start_ms\":\(record.startMilliseconds),\"end_ms\":\(record.endMilliseconds)"
        if format == .ipfix {
            let name = FlowTemplateLayout.applicationName(
                protocolNumber: record.protocolNumber,
                destinationPort: record.destinationPort
            )
            text += ",\"application_name\":\"\(name)\""
            text += ",\"enterprise_32473_1\":\(FlowTemplateLayout.exampleEnterpriseValue(record))"
        }
        text += "}\n"
    }
}
