import Testing
import VigilCore
import VigilWire

private let dataTemplate = flowSet(0, templateRecord(256, [(8, 4), (1, 4)]))
private let dataSet = flowSet(256, [10, 0, 0, 1, 0, 0, 0, 9])

private func ipfixOptionsTemplate(_ id: UInt16, fieldCount: UInt16, scopeCount: UInt16) -> [UInt8] {
    var w = WireBytes()
    w.u16(id)
    w.u16(fieldCount)
    w.u16(scopeCount)
    for _ in 0..<fieldCount { w.append([1, 46, 0, 4]) }
    return w.bytes
}

@Suite("Flow decoders: hostile input")
struct FlowHostileInputTests {
    @Test("a set shorter than 4 bytes or running past the datagram is truncated and ends the datagram")
    func truncatedSets() {
        var decoder = TemplateFlowDecoder()
        var consumer = decoder.run([
            v9Datagram(sequence: 1, sets: [dataTemplate, flowSet(256, [], length: 2), dataSet])
        ])
        #expect(consumer.reasons == [.truncated])
        #expect(consumer.records.isEmpty)
        consumer = decoder.run([v9Datagram(sequence: 2, sets: [dataSet, flowSet(256, [1, 2, 3, 4], length: 200)])])
        #expect(consumer.reasons == [.truncated])
        #expect(consumer.records.count == 1)
        consumer = decoder.run([v9Datagram(sequence: 3, sets: [dataSet, [0, 0]])])
        #expect(consumer.reasons == [.truncated])
    }

    @Test("templates with no fields, too many fields, a bad id or a record no set can hold are bad_template")
    func badTemplates() {
        var limits = FlowDecoderLimits()
        limits.maximumFieldsPerTemplate = 4
        var decoder = TemplateFlowDecoder(limits: limits)
        let cases: [[UInt8]] = [
            v9Datagram(sequence: 1, sets: [flowSet(0, templateRecord(256, [(UInt16, UInt16)]()))]),
            v9Datagram(sequence: 2, sets: [flowSet(0, templateRecord(256, [(1, 4), (2, 4), (4, 1), (5, 1), (6, 1)]))]),
            v9Datagram(sequence: 3, sets: [flowSet(0, templateRecord(255, [(1, 4)]))]),
            v9Datagram(sequence: 4, sets: [flowSet(0, templateRecord(256, [(1, 40000), (2, 40000)]))]),
            ipfixMessage(sequence: 0, sets: [flowSet(2, templateRecord(17, [(1, 4)]))]),
            ipfixMessage(sequence: 0, sets: [flowSet(2, [0, 7, 0, 0])]),  // withdrawal of id 7
        ]
        let consumer = decoder.run(cases)
        #expect(consumer.reasons == Array(repeating: .badTemplate, count: cases.count))
        #expect(consumer.templates.isEmpty)
    }

    @Test("a field of length 0, or of 65535 in v9 (no variable length there), is bad_field_length")
    func badFieldLengths() {
        var decoder = TemplateFlowDecoder()
        let consumer = decoder.run([
            v9Datagram(sequence: 1, sets: [flowSet(0, templateRecord(256, [(1, 4), (2, 0)]))]),
            v9Datagram(sequence: 2, sets: [flowSet(0, templateRecord(256, [(82, 65535)]))]),
            ipfixMessage(sequence: 0, sets: [flowSet(2, templateRecord(256, [(1, 0)]))]),
        ])
        #expect(consumer.reasons == [.badFieldLength, .badFieldLength, .badFieldLength])
    }

    @Test("options templates with a scope count of 0 or above the field count are bad_template")
    func badScopes() {
        var decoder = TemplateFlowDecoder()
        var v9NoScope = WireBytes()
        v9NoScope.u16(300)
        v9NoScope.u16(0)  // scope bytes
        v9NoScope.u16(4)
        v9NoScope.append([0, 34, 0, 4])
        var v9Unaligned = WireBytes()
        v9Unaligned.u16(301)
        v9Unaligned.u16(3)
        v9Unaligned.u16(4)
        v9Unaligned.append([0, 1, 0, 4, 0, 34, 0, 4])
        let consumer = decoder.run([
            ipfixMessage(sequence: 0, sets: [flowSet(3, ipfixOptionsTemplate(300, fieldCount: 2, scopeCount: 0))]),
            ipfixMessage(sequence: 0, sets: [flowSet(3, ipfixOptionsTemplate(300, fieldCount: 2, scopeCount: 3))]),
            v9Datagram(sequence: 1, sets: [flowSet(1, v9NoScope.bytes)]),
            v9Datagram(sequence: 2, sets: [flowSet(1, v9Unaligned.bytes)]),
        ])
        #expect(consumer.reasons == [.badTemplate, .badTemplate, .badTemplate, .badTemplate])
    }

    @Test("template fields running past their set are truncated")
    func truncatedTemplate() {
        var decoder = TemplateFlowDecoder()
        let consumer = decoder.run([
            v9Datagram(sequence: 1, sets: [flowSet(0, Array(templateRecord(256, [(1, 4), (2, 4)]).prefix(10)))]),
            ipfixMessage(sequence: 0, sets: [flowSet(2, Array(templateRecord(256, [(1, 4, 9)]).prefix(10)))]),
        ])
        #expect(consumer.reasons == [.truncated, .truncated])
    }

    @Test("reserved set ids are reported and skipped; the sets after them still decode")
    func reservedSetIDs() {
        var decoder = TemplateFlowDecoder()
        let ipfixTemplate = flowSet(2, templateRecord(256, [(8, 4), (1, 4)]))
        let consumer = decoder.run([
            v9Datagram(sequence: 1, sets: [dataTemplate, flowSet(5, [1, 2, 3, 4]), flowSet(255, []), dataSet]),
            ipfixMessage(sequence: 0, sets: [ipfixTemplate, flowSet(1, []), flowSet(4, [9, 9, 9, 9]), dataSet]),
        ])
        #expect(consumer.reasons == [.reservedSetID, .reservedSetID, .reservedSetID, .reservedSetID])
        #expect(consumer.records.count == 2)
    }

    @Test("an IPFIX header length other than the datagram's is length_mismatch, with no datagram info")
    func ipfixLengthMismatch() {
        var decoder = TemplateFlowDecoder()
        var padded = ipfixMessage(sequence: 0, sets: [dataTemplate])
        padded.append(0)
        let consumer = decoder.run([
            ipfixMessage(sequence: 0, length: 100, sets: [dataTemplate]), padded,
            Array(ipfixMessage(sequence: 0, sets: []).prefix(15)),
        ])
        #expect(
            consumer.events == [
                .error(.lengthMismatch, hasInfo: false), .error(.lengthMismatch, hasInfo: false),
                .error(.shortHeader, hasInfo: false),
            ]
        )
    }

    @Test("templates past maximumTemplatesPerExporter and exporters past maximumExporters are refused")
    func limits() {
        var limits = FlowDecoderLimits()
        limits.maximumTemplatesPerExporter = 1
        limits.maximumExporters = 1
        var decoder = TemplateFlowDecoder(limits: limits)
        let consumer = decoder.run([
            v9Datagram(
                sequence: 1,
                sets: [
                    flowSet(
                        0,
                        templateRecord(256, [(1, 4)]) + templateRecord(257, [(1, 4)]) + templateRecord(256, [(2, 4)])
                    )
                ]
            ),
            v9Datagram(sequence: 1, sourceID: 2, sets: [dataTemplate]),
        ])
        #expect(consumer.reasons == [.templateLimit, .exporterLimit])
        #expect(
            consumer.templates == [
                .learned(templateID: 256, fieldCount: 1, isOptions: false),
                .redefined(templateID: 256, fieldCount: 1, isOptions: false),
            ]
        )
    }

    @Test("templates past maximumTemplates across all exporters are refused; a withdrawal gives the room back")
    func decoderWideTemplateLimit() {
        var limits = FlowDecoderLimits()
        limits.maximumTemplates = 3
        var decoder = TemplateFlowDecoder(limits: limits)
        let two = flowSet(2, templateRecord(256, [(8, 4), (1, 8)]) + templateRecord(257, [(12, 4), (1, 8)]))
        let first = FlowExporterKey(address: exporterAddress, observationDomain: 1)
        let second = FlowExporterKey(address: exporterAddress, observationDomain: 2)
        var consumer = decoder.run([
            ipfixMessage(sequence: 0, domain: 1, sets: [two]),
            ipfixMessage(sequence: 0, domain: 2, sets: [two]),
        ])
        #expect(consumer.reasons == [.templateLimit], "the second exporter's 257 is the fourth template")
        #expect(decoder.templateCount == 3)
        #expect(decoder.templateCount(of: second) == 1)
        decoder.run(
            [
                ipfixMessage(sequence: 0, domain: 1, sets: [flowSet(2, templateRecord(257, [] as [(UInt16, UInt16)]))]),
                ipfixMessage(sequence: 0, domain: 2, sets: [two]),
            ],
            into: &consumer
        )
        #expect(consumer.reasons == [.templateLimit])
        #expect(decoder.templateCount == 3)
        #expect(decoder.templateCount(of: first) == 1)
        #expect(decoder.templateCount(of: second) == 2)
    }

    @Test("a rejected redefinition removes the old layout: the data after it is held, not misread")
    func rejectedRedefinition() {
        var decoder = TemplateFlowDecoder()
        let exporter = FlowExporterKey(address: exporterAddress, observationDomain: 1)
        let consumer = decoder.run([
            v9Datagram(sequence: 1, sets: [dataTemplate]),
            v9Datagram(sequence: 2, sets: [flowSet(0, templateRecord(256, [(8, 4), (1, 0)])), dataSet]),
        ])
        #expect(consumer.reasons == [.badFieldLength])
        #expect(consumer.records.isEmpty)
        #expect(decoder.heldSetCount(of: exporter) == 1)
        #expect(decoder.templateCount(of: exporter) == 0)
    }

    @Test("with source ports given, an exporter's restart from a new port is a new session: no gap, no old templates")
    func sessionsPerSourcePort() {
        var decoder = TemplateFlowDecoder()
        var consumer = RecordingFlowConsumer()
        for (port, datagram) in [
            (UInt16(5000), v9Datagram(sequence: 1, sets: [dataTemplate, dataSet])),
            (UInt16(6000), v9Datagram(sequence: 900, sets: [dataSet])),
        ] {
            datagram.withUnsafeBytes {
                decoder.decode($0, from: exporterAddress, sourcePort: port, arrivalNanoseconds: 0, into: &consumer)
            }
        }
        #expect(consumer.records.count == 1)
        #expect(consumer.gaps.isEmpty)
        let exporter = FlowExporterKey(address: exporterAddress, observationDomain: 1)
        #expect(decoder.heldSetCount(of: exporter, sourcePort: 6000) == 1)
        #expect(decoder.templateCount(of: exporter, sourcePort: 5000) == 1)
    }

    @Test(
        "the dispatcher routes v5, v9, IPFIX and sFlow (a cut sFlow header is short_header); names native frames and garbage"
    )
    func dispatch() {
        var decoder = FlowDatagramDecoder()
        var consumer = RecordingFlowConsumer()
        var v5 = WireBytes()
        v5.u16(5)
        v5.u16(1)
        v5.append([UInt8](repeating: 0, count: 20 + 48))
        let inputs: [[UInt8]] = [
            v5.bytes, v9Datagram(sequence: 1, sets: [dataTemplate, dataSet]),
            ipfixMessage(sequence: 0, sets: [flowSet(2, templateRecord(256, [(1, 4)])), flowSet(256, [0, 0, 0, 1])]),
            [0, 0, 0, 5, 0, 0, 0, 1], [0x56, 0x47, 0x49, 0x4C, 1, 2], [0xDE, 0xAD, 0xBE, 0xEF, 0x01], [],
        ]
        for input in inputs {
            input.withUnsafeBytes { decoder.decode($0, from: exporterAddress, arrivalNanoseconds: 0, into: &consumer) }
        }
        #expect(consumer.records.count == 3)
        #expect(
            consumer.reasons == [.shortHeader, .nativeFramesOnFlowInput, .notAFlowDatagram, .notAFlowDatagram]
        )
        #expect(consumer.errors[2].detail.contains("deadbeef01"))
        #expect(FlowDatagramDecoder.format(of: UnsafeRawBufferPointer(start: nil, count: 0)) == nil)
    }
}
