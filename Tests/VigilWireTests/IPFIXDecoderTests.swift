import Testing
import VigilWire

/// IPFIX template 400: IPv6 addresses, octets in 2 bytes and packets in 3 (reduced-size encoding), an
/// enterprise field (PEN 9), a variable-length interfaceName (82), flowStartMilliseconds,
/// flowEndNanoseconds (NTP-64), ports, protocol, ipVersion.
private let ipfixTemplate400 = templateRecord(
    400,
    [
        (27, 16, nil), (28, 16, nil), (1, 2, nil), (2, 3, nil), (100, 4, 9), (82, 65535, nil), (152, 8, nil),
        (157, 8, nil), (7, 2, nil), (11, 2, nil), (4, 1, nil), (60, 1, nil),
    ]
)

private func record400(name: [UInt8], longForm: Bool) -> [UInt8] {
    var w = WireBytes()
    w.u64(0x2001_0DB8_0000_0000)
    w.u64(1)
    w.u64(0x2001_0DB8_0000_0000)
    w.u64(2)
    w.uint(60_000, length: 2)
    w.uint(70_000, length: 3)
    w.u32(0xDEAD_BEEF)  // enterprise field: opaque
    if longForm {
        w.u8(255)
        w.u16(UInt16(name.count))
    } else {
        w.u8(UInt8(name.count))
    }
    w.append(name)
    w.u64(1_699_999_999_000)
    w.u32(1_700_000_000 + 2_208_988_800)  // NTP seconds
    w.u32(0x4000_0000)  // .25 s
    w.u16(53)
    w.u16(5353)
    w.u8(17)
    w.u8(6)
    return w.bytes
}

private let expected400: FlowRecord = {
    var r = FlowRecord()
    r.sourceAddress = IPAddress(high: 0x2001_0DB8_0000_0000, low: 1)
    r.destinationAddress = IPAddress(high: 0x2001_0DB8_0000_0000, low: 2)
    r.octets = 60_000
    r.packets = 70_000
    r.startMilliseconds = 1_699_999_999_000
    r.endMilliseconds = 1_700_000_000_250
    r.sourcePort = 53
    r.destinationPort = 5353
    r.protocolNumber = 17
    r.ipVersion = 6
    return r
}()

@Suite("IPFIX")
struct IPFIXDecoderTests {
    @Test("variable-length (short and long form), enterprise and reduced-size fields decode; NTP and ms times convert")
    func variableEnterpriseReducedSize() {
        var decoder = TemplateFlowDecoder()
        let data =
            record400(name: Array("eth0".utf8), longForm: false)
            + record400(name: [UInt8](repeating: 0x41, count: 300), longForm: true)
            + record400(name: [], longForm: false)
        let consumer = decoder.run([
            ipfixMessage(sequence: 0, sets: [flowSet(2, ipfixTemplate400), flowSet(400, data + [0, 0, 0])])
        ])
        #expect(consumer.errors.isEmpty)
        #expect(consumer.templates == [.learned(templateID: 400, fieldCount: 12, isOptions: false)])
        #expect(consumer.records == [expected400, expected400, expected400])
        #expect(consumer.recordInfos.first?.exporter == FlowExporterKey(address: exporterAddress, observationDomain: 7))
        #expect(consumer.recordInfos.first?.format == .ipfix)
    }

    @Test("a variable-length field running past its set is truncated; the set's earlier records are kept")
    func variableLengthPastSet() {
        var decoder = TemplateFlowDecoder()
        // 76 bytes whole; 70 is more than the shortest record (64), so not padding: a record cut short.
        let broken = Array(record400(name: Array("0123456789".utf8), longForm: true).prefix(70))
        let data = record400(name: Array("x".utf8), longForm: false) + broken
        let consumer = decoder.run([
            ipfixMessage(sequence: 0, sets: [flowSet(2, ipfixTemplate400), flowSet(400, data)])
        ])
        #expect(consumer.records == [expected400])
        #expect(consumer.reasons == [.truncated])
    }

    @Test("IPFIX sequence numbers count data records (options records too); a skip is a gap of records")
    func sequenceCountsRecords() {
        var decoder = TemplateFlowDecoder()
        let template = flowSet(2, templateRecord(256, [(1, 4)]))
        func data(_ count: Int) -> [UInt8] { flowSet(256, [UInt8](repeating: 1, count: 4 * count)) }
        let consumer = decoder.run([
            ipfixMessage(sequence: 100, sets: [template, data(3)]),  // expects 103
            ipfixMessage(sequence: 103, sets: [data(2)]),  // expects 105
            ipfixMessage(sequence: 109, sets: [data(1)]),  // 4 records lost; expects 110
            ipfixMessage(sequence: 110, sets: [template]),  // no data; expects 110
            ipfixMessage(sequence: 110, sets: [data(1)]),
            ipfixMessage(sequence: 2, sets: [data(1)]),  // restart
            ipfixMessage(sequence: 3, sets: [data(1)]),
        ])
        #expect(consumer.gaps == [4])
        #expect(consumer.records.count == 9)
    }

    @Test("withdrawal: one template (field count 0), all templates (id 2), all options templates (id 3)")
    func withdrawal() {
        var decoder = TemplateFlowDecoder()
        let exporter = FlowExporterKey(address: exporterAddress, observationDomain: 7)
        var options = WireBytes()
        options.append(templateRecord(500, [(302, 4), (305, 4)]))
        options.bytes.insert(contentsOf: [0, 1], at: 4)  // scope field count 1
        let setup = ipfixMessage(
            sequence: 0,
            sets: [
                flowSet(2, templateRecord(256, [(1, 4)]) + templateRecord(257, [(2, 4)])), flowSet(3, options.bytes),
            ]
        )
        var consumer = decoder.run([setup])
        #expect(decoder.templateCount(of: exporter) == 3)
        consumer = decoder.run([ipfixMessage(sequence: 0, sets: [flowSet(2, [1, 0, 0, 0])])])
        #expect(consumer.templates == [.withdrawn(templateID: 256)])
        #expect(decoder.templateCount(of: exporter) == 2)
        consumer = decoder.run([ipfixMessage(sequence: 0, sets: [flowSet(2, [0, 2, 0, 0])])])
        #expect(consumer.templates == [.withdrawn(templateID: 2)])
        #expect(decoder.templateCount(of: exporter) == 1)  // the options template stays
        consumer = decoder.run([ipfixMessage(sequence: 0, sets: [flowSet(3, [0, 3, 0, 0])])])
        #expect(consumer.templates == [.withdrawn(templateID: 3)])
        #expect(decoder.templateCount(of: exporter) == 0)
        // Data for a withdrawn template is held, not decoded with the old layout.
        consumer = decoder.run([ipfixMessage(sequence: 0, sets: [flowSet(256, [0, 0, 0, 1])])])
        #expect(consumer.records.isEmpty)
        #expect(decoder.heldSetCount(of: exporter) == 1)
        #expect(consumer.errors.isEmpty)
    }

    @Test("options data: selector 5 samples 1 in (1+99)/1; systemInitTime is the base of sysUptime times")
    func selectorAndSystemInit() {
        var decoder = TemplateFlowDecoder()
        var optionsTemplate = WireBytes()
        optionsTemplate.u16(500)
        optionsTemplate.u16(4)
        optionsTemplate.u16(1)  // scope: selectorId
        optionsTemplate.append([1, 46, 0, 4, 1, 49, 0, 4, 1, 50, 0, 4, 0, 160, 0, 8])  // 302, 305, 306, 160
        var optionsData = WireBytes()
        optionsData.u32(5)
        optionsData.u32(1)
        optionsData.u32(99)
        optionsData.u64(1_699_000_000_000)
        var data = WireBytes()
        data.u32(5)
        data.u32(10)
        data.u32(1000)
        data.u32(2000)
        let consumer = decoder.run([
            ipfixMessage(
                sequence: 0,
                sets: [
                    flowSet(3, optionsTemplate.bytes), flowSet(500, optionsData.bytes),
                    flowSet(2, templateRecord(401, [(302, 4), (1, 4), (22, 4), (21, 4)])), flowSet(401, data.bytes),
                ]
            )
        ])
        #expect(consumer.errors.isEmpty)
        #expect(consumer.optionsRecordCount == 1)
        #expect(consumer.templates.first == .learned(templateID: 500, fieldCount: 4, isOptions: true))
        #expect(consumer.records.map(\.samplingInterval) == [100])
        #expect(consumer.records.map(\.startMilliseconds) == [1_699_000_001_000])
        #expect(consumer.records.map(\.endMilliseconds) == [1_699_000_002_000])
        #expect(consumer.records.map(\.octets) == [10])
    }

    @Test("flowStartSeconds and flowStartMicroseconds (NTP) convert; without systemInitTime uptime times stay 0")
    func otherTimeEncodings() {
        var decoder = TemplateFlowDecoder()
        var data = WireBytes()
        data.u32(1_700_000_000)  // 150
        data.u32(1_700_000_001 + 2_208_988_800)  // 155 seconds
        data.u32(0x8000_0000)  // .5 s
        data.u32(5000)  // 22 uptime: ignored, 150 is absolute
        var uptimeOnly = WireBytes()
        uptimeOnly.u32(5000)
        let consumer = decoder.run([
            ipfixMessage(
                sequence: 0,
                sets: [
                    flowSet(2, templateRecord(256, [(150, 4), (155, 8), (22, 4)]) + templateRecord(257, [(22, 4)])),
                    flowSet(256, data.bytes), flowSet(257, uptimeOnly.bytes),
                ]
            )
        ])
        #expect(consumer.records.map(\.startMilliseconds) == [1_700_000_000_000, 0])
        #expect(consumer.records.map(\.endMilliseconds) == [1_700_000_001_500, 0])
    }
}
