import Testing
import VigilWire

/// Template 256: src/dst IPv4, ports, protocol, IN_BYTES, IN_PKTS, FIRST/LAST_SWITCHED, ifIndexes,
/// direction, and an unknown 3-byte field 99 (skipped). 37 bytes per record.
private let v9Template256 = templateRecord(
    256,
    [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 4), (2, 4), (22, 4), (21, 4), (10, 2), (14, 2), (61, 1), (99, 3)]
)

private func v9Record256(octets: UInt32, sourcePort: UInt16 = 1234) -> [UInt8] {
    var w = WireBytes()
    w.ipv4(10, 1, 2, 3)
    w.ipv4(192, 0, 2, 9)
    w.u16(sourcePort)
    w.u16(443)
    w.u8(6)
    w.u32(octets)
    w.u32(7)
    w.u32(95_000)  // first switched, uptime ms
    w.u32(99_500)  // last switched
    w.u16(11)
    w.u16(12)
    w.u8(1)  // egress
    w.append([0xAA, 0xBB, 0xCC])
    return w.bytes
}

private func expected256(octets: UInt64, sourcePort: UInt16 = 1234) -> FlowRecord {
    var r = FlowRecord()
    r.sourceAddress = IPAddress(ipv4: 0x0A01_0203)
    r.destinationAddress = IPAddress(ipv4: 0xC000_0209)
    r.sourcePort = sourcePort
    r.destinationPort = 443
    r.protocolNumber = 6
    r.octets = octets
    r.packets = 7
    // Header: uptime 100_000 ms at 1_700_000_000 s.
    r.startMilliseconds = 1_699_999_995_000
    r.endMilliseconds = 1_699_999_999_500
    r.inputInterface = 11
    r.outputInterface = 12
    r.direction = .egress
    r.ipVersion = 4
    return r
}

@Suite("NetFlow v9")
struct NetFlowV9DecoderTests {
    @Test("template then data in one datagram: every understood field, epoch times, unknown field and padding skipped")
    func templateAndData() {
        var decoder = TemplateFlowDecoder()
        let data = flowSet(256, v9Record256(octets: 1500) + v9Record256(octets: 40, sourcePort: 5) + [0, 0])
        let consumer = decoder.run([v9Datagram(sequence: 1, sets: [flowSet(0, v9Template256), data])])
        #expect(consumer.errors.isEmpty)
        #expect(consumer.templates == [.learned(templateID: 256, fieldCount: 13, isOptions: false)])
        #expect(consumer.records == [expected256(octets: 1500), expected256(octets: 40, sourcePort: 5)])
        let info = consumer.recordInfos.first
        #expect(info?.format == .netFlowV9)
        #expect(info?.exporter == FlowExporterKey(address: exporterAddress, observationDomain: 1))
        #expect(info?.exportNanoseconds == 1_700_000_000_000_000_000)
    }

    @Test("a template re-sent unchanged is a refresh (learned); a new layout is redefined and used at once")
    func refreshAndRedefinition() {
        var decoder = TemplateFlowDecoder()
        var newRecord = WireBytes()
        newRecord.u32(99)  // IN_BYTES only
        let consumer = decoder.run([
            v9Datagram(sequence: 1, sets: [flowSet(0, v9Template256)]),
            v9Datagram(sequence: 2, sets: [flowSet(0, v9Template256)]),
            v9Datagram(sequence: 3, sets: [flowSet(0, templateRecord(256, [(1, 4)])), flowSet(256, newRecord.bytes)]),
        ])
        #expect(
            consumer.templates == [
                .learned(templateID: 256, fieldCount: 13, isOptions: false),
                .learned(templateID: 256, fieldCount: 13, isOptions: false),
                .redefined(templateID: 256, fieldCount: 1, isOptions: false),
            ]
        )
        #expect(consumer.records.map(\.octets) == [99])
        #expect(decoder.templateCount(of: FlowExporterKey(address: exporterAddress, observationDomain: 1)) == 1)
    }

    @Test("v9 sequence numbers count datagrams per source id: a skip is a gap, a restart resets silently")
    func sequenceGaps() {
        var decoder = TemplateFlowDecoder()
        let consumer = decoder.run([
            v9Datagram(sequence: 5, sets: []),
            v9Datagram(sequence: 6, sets: []),
            v9Datagram(sequence: 9, sets: []),  // 7 and 8 lost
            v9Datagram(sequence: 1, sets: []),  // restart
            v9Datagram(sequence: 2, sets: []),
            v9Datagram(sequence: 50, sourceID: 2, sets: []),  // another source id: its own counter
        ])
        #expect(consumer.gaps == [2])
        #expect(consumer.errors.isEmpty)
    }

    @Test(
        "options data names sampler 3 as 1 in 1000 and sets a default of 1 in 50; records resolve own, sampler, default"
    )
    func samplersFromOptions() {
        var decoder = TemplateFlowDecoder()
        // Options template 257: scope System (1) 4 bytes; FLOW_SAMPLER_ID (48) 1 byte, RANDOM_INTERVAL (50) 4.
        var options257 = WireBytes()
        options257.u16(257)
        options257.u16(4)
        options257.u16(8)
        options257.append([0, 1, 0, 4, 0, 48, 0, 1, 0, 50, 0, 4])
        // Options template 258: scope System; SAMPLING_INTERVAL (34) 4 bytes: the exporter's default.
        var options258 = WireBytes()
        options258.u16(258)
        options258.u16(4)
        options258.u16(4)
        options258.append([0, 1, 0, 4, 0, 34, 0, 4, 0, 0])  // two bytes of padding
        var optionsData257 = WireBytes()
        optionsData257.u32(0)
        optionsData257.u8(3)
        optionsData257.u32(1000)
        var optionsData258 = WireBytes()
        optionsData258.u32(0)
        optionsData258.u32(50)
        // Data template 300: IN_BYTES (4), FLOW_SAMPLER_ID (1), SAMPLING_INTERVAL (34, 2 bytes).
        var data = WireBytes()
        for (sampler, own) in [(3, 0), (9, 0), (3, 7)] as [(UInt8, UInt16)] {
            data.u32(1)
            data.u8(sampler)
            data.u16(own)
        }
        let consumer = decoder.run([
            v9Datagram(
                sequence: 1,
                sets: [
                    flowSet(1, options257.bytes + [0, 0]), flowSet(1, options258.bytes),
                    flowSet(257, optionsData257.bytes + [0, 0, 0]), flowSet(258, optionsData258.bytes),
                    flowSet(0, templateRecord(300, [(1, 4), (48, 1), (34, 2)])), flowSet(300, data.bytes),
                ]
            )
        ])
        #expect(consumer.errors.isEmpty)
        #expect(consumer.optionsRecordCount == 2)
        #expect(
            consumer.templates == [
                .learned(templateID: 257, fieldCount: 3, isOptions: true),
                .learned(templateID: 258, fieldCount: 2, isOptions: true),
                .learned(templateID: 300, fieldCount: 3, isOptions: false),
            ]
        )
        #expect(consumer.records.map(\.samplingInterval) == [1000, 50, 7])
    }

    @Test("ICMP type-code fills a zero destination port; OUT_BYTES counts only without IN_BYTES")
    func icmpAndOctetPriority() {
        var decoder = TemplateFlowDecoder()
        var record = WireBytes()
        record.u8(1)  // protocol ICMP
        record.u16(0)  // dst port
        record.u16(0x0803)  // icmp type 8 code 3
        record.u32(100)  // IN_BYTES
        record.u32(200)  // OUT_BYTES
        var outOnly = WireBytes()
        outOnly.u32(300)  // OUT_BYTES
        outOnly.u32(4)  // OUT_PKTS
        outOnly.u32(999)  // octetTotalCount (85): ignored, OUT_BYTES is a delta
        let consumer = decoder.run([
            v9Datagram(
                sequence: 1,
                sets: [
                    flowSet(0, templateRecord(256, [(4, 1), (11, 2), (32, 2), (1, 4), (23, 4)])),
                    flowSet(0, templateRecord(257, [(23, 4), (24, 4), (85, 4)])),
                    flowSet(256, record.bytes), flowSet(257, outOnly.bytes),
                ]
            )
        ])
        #expect(consumer.records.map(\.destinationPort) == [0x0803, 0])
        #expect(consumer.records.map(\.octets) == [100, 300])
        #expect(consumer.records.map(\.packets) == [0, 4])
        #expect(consumer.records.map(\.flows) == [1, 1])
    }

    @Test("data before its template is held, then decoded after the template with its own datagram's info")
    func heldUntilTemplate() {
        var decoder = TemplateFlowDecoder()
        let exporter = FlowExporterKey(address: exporterAddress, observationDomain: 1)
        var consumer = RecordingFlowConsumer()
        decoder.run(
            [v9Datagram(sequence: 1, sets: [flowSet(256, v9Record256(octets: 5))])],
            arrivalNanoseconds: 1000,
            into: &consumer
        )
        #expect(consumer.records.isEmpty)
        #expect(decoder.heldSetCount(of: exporter) == 1)
        #expect(decoder.heldByteCount == 37)
        decoder.run(
            [v9Datagram(sequence: 2, sets: [flowSet(0, v9Template256)])],
            arrivalNanoseconds: 2000,
            into: &consumer
        )
        #expect(consumer.errors.isEmpty)
        #expect(consumer.records == [expected256(octets: 5)])
        #expect(consumer.recordInfos.map(\.sequenceNumber) == [1])
        #expect(consumer.recordInfos.map(\.arrivalNanoseconds) == [1000])
        // Order: the second datagram, its template, then the held records.
        #expect(
            Array(consumer.events.suffix(2)) == [.template(consumer.templates[0]), .record(expected256(octets: 5))]
        )
        #expect(decoder.heldByteCount == 0)
    }

    @Test("held data is dropped oldest first (template_not_found) when an exporter's or the total hold is full")
    func heldOverflow() {
        var limits = FlowDecoderLimits()
        limits.maximumHeldBytesPerExporter = 80  // two 37-byte sets
        limits.maximumHeldBytes = 112  // three
        var decoder = TemplateFlowDecoder(limits: limits)
        var consumer = RecordingFlowConsumer()
        let other = IPAddress(ipv4: 0x0A00_0002)
        for (index, octets) in [1, 2, 3].enumerated() {
            decoder.run(
                [v9Datagram(sequence: UInt32(index), sets: [flowSet(256, v9Record256(octets: UInt32(octets)))])],
                arrivalNanoseconds: Int64(index),
                into: &consumer
            )
        }
        #expect(consumer.reasons == [.templateNotFound])  // exporter hold: set 1 dropped
        decoder.run(
            [v9Datagram(sequence: 0, sets: [flowSet(256, v9Record256(octets: 4))])],
            from: other,
            arrivalNanoseconds: 10,
            into: &consumer
        )
        decoder.run(
            [v9Datagram(sequence: 1, sets: [flowSet(256, v9Record256(octets: 5))])],
            from: other,
            arrivalNanoseconds: 11,
            into: &consumer
        )
        // Total hold: four sets do not fit in 112 bytes, the oldest anywhere (octets 2) goes.
        #expect(consumer.reasons == [.templateNotFound, .templateNotFound])
        #expect(decoder.heldByteCount == 111)
        decoder.run(
            [v9Datagram(sequence: 3, sets: [flowSet(0, v9Template256)])],
            arrivalNanoseconds: 12,
            into: &consumer
        )
        #expect(consumer.records.map(\.octets) == [3])
        // A set larger than the hold is dropped at once.
        decoder.run(
            [v9Datagram(sequence: 4, sets: [flowSet(999, [UInt8](repeating: 1, count: 81))])],
            arrivalNanoseconds: 13,
            into: &consumer
        )
        #expect(consumer.reasons.count == 3)
    }

    @Test("held data older than heldDataNanoseconds is dropped on the exporter's next datagram")
    func heldTimeout() {
        var limits = FlowDecoderLimits()
        limits.heldDataNanoseconds = 1_000
        var decoder = TemplateFlowDecoder(limits: limits)
        var consumer = RecordingFlowConsumer()
        decoder.run(
            [v9Datagram(sequence: 1, sets: [flowSet(256, v9Record256(octets: 5))])],
            arrivalNanoseconds: 0,
            into: &consumer
        )
        decoder.run([v9Datagram(sequence: 2, sets: [])], arrivalNanoseconds: 1_000, into: &consumer)
        #expect(consumer.errors.isEmpty)
        decoder.run(
            [v9Datagram(sequence: 3, sets: [flowSet(0, v9Template256)])],
            arrivalNanoseconds: 1_001,
            into: &consumer
        )
        #expect(consumer.reasons == [.templateNotFound])
        #expect(consumer.records.isEmpty)
        #expect(decoder.heldByteCount == 0)
    }
}

/// Records only, for a consumer that reads no record detail (as the engine's ingest).
private struct LeanRecordConsumer: FlowConsumer {
    static var readsRecordDetail: Bool { false }
    var records: [FlowRecord] = []
    var errors: [FlowDecodeError] = []
    mutating func flowRecord(_ record: FlowRecord, info: FlowDatagramInfo) { records.append(record) }
    mutating func flowError(_ error: FlowDecodeError, info: FlowDatagramInfo?) { errors.append(error) }
}

@Suite("NetFlow v9: a consumer that reads no record detail")
struct NetFlowV9LeanConsumerTests {
    @Test("it gets the same traffic, addresses, destination port, protocol and interfaces; the detail stays unset")
    func leanRecords() {
        let datagram = v9Datagram(
            sequence: 1,
            sets: [flowSet(0, v9Template256), flowSet(256, v9Record256(octets: 1500) + v9Record256(octets: 40))]
        )
        var full = TemplateFlowDecoder()
        let fullRecords = full.run([datagram]).records
        var lean = TemplateFlowDecoder()
        var consumer = LeanRecordConsumer()
        datagram.withUnsafeBytes {
            lean.decode($0, from: exporterAddress, arrivalNanoseconds: 1_700_000_000_000_000_000, into: &consumer)
        }
        #expect(fullRecords == [expected256(octets: 1500), expected256(octets: 40)])
        let expected = fullRecords.map { full in
            var record = FlowRecord()
            record.sourceAddress = full.sourceAddress
            record.destinationAddress = full.destinationAddress
            record.destinationPort = full.destinationPort
            record.protocolNumber = full.protocolNumber
            record.octets = full.octets
            record.packets = full.packets
            record.flows = full.flows
            record.inputInterface = full.inputInterface
            record.outputInterface = full.outputInterface
            record.samplingInterval = full.samplingInterval
            record.ipVersion = 4  // from the template's address fields
            return record
        }
        #expect(consumer.errors.isEmpty)
        #expect(consumer.records == expected)
    }
}
