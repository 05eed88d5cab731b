/// IPFIX messages (RFC 7011): a 16-byte header, then, when templates are due, a template set (id 2:
/// templates 256 and 257, and the further layouts' when more than 3 templates are asked for), an options
/// template set (id 3: the selector template 258, one scope field) and its options data; then a data set of
/// IPv4 records (256, or another IPv4 layout) and one of IPv6 records (257, or another). Records carry
/// `applicationName` (96) as a variable-length field and one enterprise-specific field (PEN 32473); sets
/// are not padded. See ``FlowTemplateLayout``.
///
/// The header's sequence number counts the data records sent before the message in the observation domain,
/// options data records included (RFC 7011 section 3.1).
public enum IPFIXEncoder {
    public static let headerByteCount = 16

    /// Writes one message.
    /// - Parameters:
    ///   - records: up to 30 records, the IPv4 ones first (the order they are written in).
    ///   - header: the exporter's clock and observation domain.
    ///   - includeTemplates: whether to send the templates and the selector options (first message, refresh).
    ///   - samplingInterval: 1 in N packets: options data `samplingPacketInterval` 1, `samplingPacketSpace`
    ///     N − 1.
    ///   - templateCount: templates announced, 3 to ``FlowTemplateLayout/maximumTemplateCount`` (ids 256 up).
    ///   - layoutTurn: which layouts the data uses: IPv4 records layout `layoutTurn` modulo
    ///     ``FlowTemplateLayout/ipv4LayoutCount(templateCount:)``, IPv6 records likewise.
    ///   - cursor: where to write.
    /// - Returns: what was written (``FlowEncodedDatagram/optionsRecords`` counts toward the next sequence
    ///   number).
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
                + records.count * (128 + 16)
        )
        let ipv4Layout = layoutTurn % FlowTemplateLayout.ipv4LayoutCount(templateCount: templateCount)
        let ipv6Layout = layoutTurn % FlowTemplateLayout.ipv6LayoutCount(templateCount: templateCount)
        var result = FlowEncodedDatagram()
        let start = cursor.offset
        cursor.put(UInt16(10))
        cursor.put(UInt16(0))  // length, patched below
        cursor.put(header.exportSeconds)
        cursor.put(header.sequenceNumber)
        cursor.put(header.observationDomain)
        if includeTemplates {
            writeTemplates(templateCount: templateCount, into: &cursor)
            result.templateRecords = templateCount
            let set = cursor.offset
            cursor.put(FlowTemplateLayout.samplerOptionsTemplateID)
            cursor.put(UInt16(16))
            cursor.put(UInt32(FlowTemplateLayout.samplerID))
            cursor.put(UInt32(1))
            cursor.put(samplingInterval > 0 ? samplingInterval - 1 : 0)
            assert(cursor.offset - set == 16)
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
            writeCommon(record, into: &cursor)
            FlowTemplateLayout.writeVariantValues(record, layout: ipv4Layout, into: &cursor)
            result.flowRecords += 1
        }
        if set >= 0 { cursor.patch(UInt16(cursor.offset - set), at: set + 2) }
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
            writeCommon(record, into: &cursor)
            FlowTemplateLayout.writeVariantValues(record, layout: ipv6Layout, into: &cursor)
            result.flowRecords += 1
        }
        if set >= 0 { cursor.patch(UInt16(cursor.offset - set), at: set + 2) }
        cursor.patch(UInt16(cursor.offset - start), at: start + 2)
        result.byteCount = cursor.offset - start
        return result
    }

    @inlinable
    @inline(__always)
    static func writeCommon(_ record: FlowRecord, into cursor: inout FlowWriteCursor) {
        cursor.put(record.sourcePort)
        cursor.put(record.destinationPort)
        cursor.put(record.protocolNumber)
        cursor.put(record.typeOfService)
        cursor.put(UInt16(record.tcpFlags))
        cursor.put(record.inputInterface)
        cursor.put(record.outputInterface)
        cursor.put(record.octets)
        cursor.put(record.packets)
        cursor.put(UInt64(bitPattern: record.startMilliseconds))
        cursor.put(UInt64(bitPattern: record.endMilliseconds))
        cursor.put(record.sourceAS)
        cursor.put(record.destinationAS)
        cursor.put(record.direction.rawValue)
        cursor.put(UInt32(FlowTemplateLayout.samplerID))
        let name = FlowTemplateLayout.applicationName(
            protocolNumber: record.protocolNumber,
            destinationPort: record.destinationPort
        )
        cursor.put(UInt8(name.utf8CodeUnitCount))
        cursor.put(bytes: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        cursor.put(FlowTemplateLayout.exampleEnterpriseValue(record))
    }

    /// The template set (256, 257, and the further layouts' in id order) and the options template set
    /// (258). Static field tables: no allocation.
    static func writeTemplates(templateCount: Int, into cursor: inout FlowWriteCursor) {
        var set = cursor.offset
        cursor.put(UInt16(2))
        cursor.put(UInt16(0))
        FlowTemplateLayout.writeFlowTemplates(templateCount: templateCount, ipfix: true, into: &cursor)
        cursor.patch(UInt16(cursor.offset - set), at: set + 2)
        set = cursor.offset
        cursor.put(UInt16(3))
        cursor.put(UInt16(0))
        cursor.put(FlowTemplateLayout.samplerOptionsTemplateID)
        cursor.put(UInt16(FlowTemplateLayout.ipfixSamplerFields.count))
        cursor.put(UInt16(1))  // scope field count: selectorId
        FlowTemplateLayout.writeSpecifiers(FlowTemplateLayout.ipfixSamplerFields, into: &cursor)
        cursor.patch(UInt16(cursor.offset - set), at: set + 2)
    }
}
