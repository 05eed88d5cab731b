/// NetFlow v9 datagrams (RFC 3954): a 20-byte header, then, when templates are due, a template flowset
/// (id 0: templates 256 and 257, and the further layouts' when more than 3 templates are asked for), an
/// options template flowset (id 1: the sampler template 258) and its options data; then a data flowset of
/// IPv4 records (256, or another IPv4 layout) and one of IPv6 records (257, or another IPv6 layout), each
/// padded to 4 bytes. See ``FlowTemplateLayout`` for the fields.
///
/// `sysUptime` is taken at the whole second of the export time (v9 carries no sub-second export time), so a
/// decoder's `unix_secs·1000 − sysUptime + FIRST_SWITCHED` is each record's start exactly.
public enum NetFlowV9Encoder {
    public static let headerByteCount = 20
    public static let ipv4RecordByteCount = 57
    public static let ipv6RecordByteCount = 81

    /// Writes one datagram.
    /// - Parameters:
    ///   - records: up to 30 records, the IPv4 ones first (the order they are written in; IPv6 records
    ///     before an IPv4 one are written after it).
    ///   - header: the exporter's clock and source id; `sequenceNumber` counts the datagrams sent before.
    ///   - includeTemplates: whether to send the templates and the sampler options (the first datagram and
    ///     every refresh).
    ///   - samplingInterval: the sampler's 1-in-N interval announced in the options data.
    ///   - templateCount: templates announced, 3 to ``FlowTemplateLayout/maximumTemplateCount`` (ids 256 up).
    ///   - layoutTurn: which layouts the data uses: IPv4 records layout `layoutTurn` modulo
    ///     ``FlowTemplateLayout/ipv4LayoutCount(templateCount:)``, IPv6 records likewise.
    ///   - cursor: where to write.
    /// - Returns: what was written.
    public static func encode(
        records: UnsafeBufferPointer<FlowRecord>,
        header: FlowExportHeader,
        includeTemplates: Bool,
        samplingInterval: UInt32,
        templateCount: Int = FlowTemplateLayout.defaultTemplateCount,
        layoutTurn: Int = 0,
        into cursor: inout FlowWriteCursor
    ) -> FlowEncodedDatagram {
        precondition(records.count <= FlowEncodingLimits.maximumRecordsPerDatagram)
        precondition(
            (FlowTemplateLayout.defaultTemplateCount...FlowTemplateLayout.maximumTemplateCount).contains(templateCount)
        )
        precondition(layoutTurn >= 0)
        cursor.require(
            128 + (includeTemplates ? templateCount * FlowTemplateLayout.maximumFlowTemplateByteCount : 0)
                + records.count * (ipv6RecordByteCount + 16 + 4)
        )
        let ipv4Layout = layoutTurn % FlowTemplateLayout.ipv4LayoutCount(templateCount: templateCount)
        let ipv6Layout = layoutTurn % FlowTemplateLayout.ipv6LayoutCount(templateCount: templateCount)
        var result = FlowEncodedDatagram()
        let start = cursor.offset
        let exportSeconds = header.exportSeconds
        let countPosition = start + 2
        cursor.put(UInt16(9))
        cursor.put(UInt16(0))  // count, patched below
        cursor.put(header.uptime(atMilliseconds: Int64(exportSeconds) * 1_000))
        cursor.put(exportSeconds)
        cursor.put(header.sequenceNumber)
        cursor.put(header.observationDomain)
        if includeTemplates {
            writeTemplates(templateCount: templateCount, into: &cursor)
            result.templateRecords = templateCount
            // Options data: the system scope (the exporter's IPv4 address), sampler 1, random, 1 in N.
            let set = cursor.offset
            cursor.put(FlowTemplateLayout.samplerOptionsTemplateID)
            cursor.put(UInt16(0))
            cursor.put(UInt32(truncatingIfNeeded: header.agentAddress.low))
            cursor.put(FlowTemplateLayout.samplerID)
            cursor.put(FlowTemplateLayout.samplerModeRandom)
            cursor.put(samplingInterval)
            cursor.padToFourBytes(from: set)
            cursor.patch(UInt16(cursor.offset - set), at: set + 2)
            result.optionsRecords = 1
        }
        var set = -1
        for index in records.indices where records[index].sourceAddress.isIPv4 {
            if set < 0 {
                set = cursor.offset
                cursor.put(FlowTemplateLayout.flowTemplateID(layout: ipv4Layout, ipv6: false))
                cursor.put(UInt16(0))
            }
            let record = records[index]
            cursor.put4Bytes(record.sourceAddress)
            cursor.put4Bytes(record.destinationAddress)
            writeCommon(record, header: header, into: &cursor)
            FlowTemplateLayout.writeVariantValues(record, layout: ipv4Layout, into: &cursor)
            result.flowRecords += 1
        }
        if set >= 0 {
            cursor.padToFourBytes(from: set)
            cursor.patch(UInt16(cursor.offset - set), at: set + 2)
        }
        set = -1
        for index in records.indices where !records[index].sourceAddress.isIPv4 {
            if set < 0 {
                set = cursor.offset
                cursor.put(FlowTemplateLayout.flowTemplateID(layout: ipv6Layout, ipv6: true))
                cursor.put(UInt16(0))
            }
            let record = records[index]
            cursor.put16Bytes(record.sourceAddress)
            cursor.put16Bytes(record.destinationAddress)
            writeCommon(record, header: header, into: &cursor)
            FlowTemplateLayout.writeVariantValues(record, layout: ipv6Layout, into: &cursor)
            result.flowRecords += 1
        }
        if set >= 0 {
            cursor.padToFourBytes(from: set)
            cursor.patch(UInt16(cursor.offset - set), at: set + 2)
        }
        // The header's count: every record of the datagram, templates and options data included.
        cursor.patch(UInt16(result.flowRecords + result.templateRecords + result.optionsRecords), at: countPosition)
        result.byteCount = cursor.offset - start
        return result
    }

    @inlinable
    @inline(__always)
    static func writeCommon(_ record: FlowRecord, header: FlowExportHeader, into cursor: inout FlowWriteCursor) {
        cursor.put(record.sourcePort)
        cursor.put(record.destinationPort)
        cursor.put(record.protocolNumber)
        cursor.put(record.typeOfService)
        cursor.put(record.tcpFlags)
        cursor.put(record.inputInterface)
        cursor.put(record.outputInterface)
        cursor.put(record.octets)
        cursor.put(record.packets)
        cursor.put(header.uptime(atMilliseconds: record.startMilliseconds))
        cursor.put(header.uptime(atMilliseconds: record.endMilliseconds))
        cursor.put(record.sourceAS)
        cursor.put(record.destinationAS)
        cursor.put(record.direction.rawValue)
        cursor.put(FlowTemplateLayout.samplerID)
    }

    /// The template flowset (256, 257, and the further layouts' in id order) and the options template
    /// flowset (258). Static field tables: no allocation.
    static func writeTemplates(templateCount: Int, into cursor: inout FlowWriteCursor) {
        var set = cursor.offset
        cursor.put(UInt16(0))
        cursor.put(UInt16(0))
        FlowTemplateLayout.writeFlowTemplates(templateCount: templateCount, ipfix: false, into: &cursor)
        cursor.patch(UInt16(cursor.offset - set), at: set + 2)
        set = cursor.offset
        cursor.put(UInt16(1))
        cursor.put(UInt16(0))
        cursor.put(FlowTemplateLayout.samplerOptionsTemplateID)
        cursor.put(UInt16(FlowTemplateLayout.v9SamplerScopeFields.count * 4))
        cursor.put(UInt16(FlowTemplateLayout.v9SamplerOptionFields.count * 4))
        FlowTemplateLayout.writeSpecifiers(FlowTemplateLayout.v9SamplerScopeFields, into: &cursor)
        FlowTemplateLayout.writeSpecifiers(FlowTemplateLayout.v9SamplerOptionFields, into: &cursor)
        cursor.padToFourBytes(from: set)
        cursor.patch(UInt16(cursor.offset - set), at: set + 2)
    }
}
