import Testing
import VigilCore
import VigilWire

/// v9 template 256: src/dst IPv4, ports, protocol, IN_BYTES, IN_PKTS, FLOW_SAMPLER_ID (48). 22 bytes.
private let v9Template = templateRecord(256, [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 4), (2, 4), (48, 1)])

/// v9 options template 257: scope System (1) 4 bytes; FLOW_SAMPLER_ID (48) 1 byte, RANDOM_INTERVAL (50) 4.
private let v9Options: [UInt8] = {
    var w = WireBytes()
    w.u16(257)
    w.u16(4)
    w.u16(8)
    w.append([0, 1, 0, 4, 0, 48, 0, 1, 0, 50, 0, 4])
    return w.bytes
}()

private func v9Data(octets: UInt32, sampler: UInt8) -> [UInt8] {
    var w = WireBytes()
    w.ipv4(10, 1, 2, 3)
    w.ipv4(192, 0, 2, 9)
    w.u16(1234)
    w.u16(443)
    w.u8(6)
    w.u32(octets)
    w.u32(7)
    w.u8(sampler)
    return w.bytes
}

/// The v9 exporter's setup: templates, then options data naming sampler 3 as 1 in 100.
private let v9Setup = v9Datagram(
    sequence: 1,
    sets: [
        flowSet(0, v9Template), flowSet(1, v9Options + [0, 0]),
        flowSet(257, [0, 0, 0, 0, 3, 0, 0, 0, 100, 0, 0, 0]),
    ]
)

/// Data only, as an exporter sends between template refreshes.
private let v9DataOnly = v9Datagram(
    sequence: 2,
    sets: [flowSet(256, v9Data(octets: 1_000, sampler: 3) + v9Data(octets: 2_000, sampler: 3) + [0, 0])]
)

/// IPFIX template 400: IPv4 addresses, an enterprise field (PEN 9), a variable-length interfaceName (82),
/// octetDeltaCount in 4 bytes.
private let ipfixTemplate = templateRecord(
    400,
    [(8, 4, nil), (12, 4, nil), (100, 4, 9), (82, 65535, nil), (1, 4, nil)]
)

private func ipfixData(name: String, octets: UInt32) -> [UInt8] {
    var w = WireBytes()
    w.ipv4(10, 9, 8, 7)
    w.ipv4(10, 9, 8, 6)
    w.u32(0xDEAD_BEEF)
    w.u8(UInt8(name.utf8.count))
    w.append(Array(name.utf8))
    w.u32(octets)
    return w.bytes
}

private let ipfixDataOnly = ipfixMessage(
    sequence: 1,
    sets: [flowSet(400, ipfixData(name: "eth0", octets: 500) + ipfixData(name: "", octets: 600))]
)

private let ipfixAddress = IPAddress(ipv4: 0x0A00_0002)

/// A decoder that learned the v9 and the IPFIX exporters' templates (v9 on source port 2055).
private func learnedDecoder(limits: FlowDecoderLimits = .init()) -> TemplateFlowDecoder {
    var decoder = TemplateFlowDecoder(limits: limits)
    var consumer = RecordingFlowConsumer()
    v9Setup.withUnsafeBytes {
        decoder.decode($0, from: exporterAddress, sourcePort: 2055, arrivalNanoseconds: 0, into: &consumer)
    }
    decoder.run([ipfixMessage(sequence: 0, sets: [flowSet(2, ipfixTemplate)])], from: ipfixAddress, into: &consumer)
    #expect(consumer.errors.isEmpty)
    return decoder
}

/// What a decoder makes of the two data-only datagrams.
private func decodeDataOnly(_ decoder: inout TemplateFlowDecoder) -> RecordingFlowConsumer {
    var consumer = RecordingFlowConsumer()
    v9DataOnly.withUnsafeBytes {
        decoder.decode($0, from: exporterAddress, sourcePort: 2055, arrivalNanoseconds: 0, into: &consumer)
    }
    decoder.run([ipfixDataOnly], from: ipfixAddress, into: &consumer)
    return consumer
}

private func restored(
    from snapshot: [UInt8],
    limits: FlowDecoderLimits = .init()
) throws -> (TemplateFlowDecoder, FlowTemplateState.RestoreReport) {
    var decoder = TemplateFlowDecoder(limits: limits)
    let report = try snapshot.withUnsafeBytes { try decoder.restoreState(from: $0) }
    return (decoder, report)
}

@Suite("Flow template state: snapshot and restore")
struct FlowTemplateStateTests {
    @Test("a restored decoder decodes data-only datagrams exactly as the one that learned the templates")
    func roundTrip() throws {
        var original = learnedDecoder()
        let snapshot = original.stateSnapshot()
        var (restoredDecoder, report) = try restored(from: snapshot)
        #expect([report.sessions, report.templates, report.samplers, report.refused] == [2, 3, 1, 0])
        #expect(restoredDecoder.templateCount == 3)
        #expect(
            restoredDecoder.templateCount(
                of: FlowExporterKey(address: exporterAddress, observationDomain: 1),
                sourcePort: 2055
            ) == 2
        )
        #expect(restoredDecoder.stateSnapshot() == snapshot)

        let fromOriginal = decodeDataOnly(&original)
        let fromRestored = decodeDataOnly(&restoredDecoder)
        #expect(fromRestored.errors.isEmpty)
        #expect(fromRestored.records.count == 4)
        #expect(fromRestored.records == fromOriginal.records)
        // The sampler learned from options data before the restart still scales the v9 records.
        #expect(fromRestored.records.prefix(2).map(\.samplingInterval) == [100, 100])
        #expect(fromRestored.records.suffix(2).map(\.octets) == [500, 600])

        // Without the restored state, the same datagrams find no template.
        var fresh = TemplateFlowDecoder()
        let fromFresh = decodeDataOnly(&fresh)
        #expect(fromFresh.records.isEmpty)
        #expect(fresh.heldSetCount(of: FlowExporterKey(address: ipfixAddress, observationDomain: 7)) == 1)
    }

    @Test("templates are kept per UDP source port: a restored session answers only its own port")
    func keptPerSourcePort() throws {
        var (decoder, _) = try restored(from: learnedDecoder().stateSnapshot())
        var consumer = RecordingFlowConsumer()
        v9DataOnly.withUnsafeBytes {
            decoder.decode($0, from: exporterAddress, sourcePort: 2056, arrivalNanoseconds: 0, into: &consumer)
        }
        #expect(consumer.records.isEmpty)
        #expect(
            decoder.heldSetCount(of: FlowExporterKey(address: exporterAddress, observationDomain: 1), sourcePort: 2056)
                == 1
        )
    }

    @Test("the generation moves when templates are learned, redefined or withdrawn, not when they are refreshed")
    func generation() {
        var decoder = TemplateFlowDecoder()
        let start = decoder.stateGeneration
        _ = decoder.run([ipfixMessage(sequence: 0, sets: [flowSet(2, ipfixTemplate)])])
        let learned = decoder.stateGeneration
        #expect(learned != start)
        let snapshot = decoder.stateSnapshot()
        _ = decoder.run([ipfixMessage(sequence: 0, sets: [flowSet(2, ipfixTemplate)])])
        #expect(decoder.stateGeneration == learned)
        #expect(decoder.stateSnapshot() == snapshot)
        _ = decoder.run([ipfixMessage(sequence: 0, sets: [flowSet(2, templateRecord(400, [(1, 4)]))])])
        let redefined = decoder.stateGeneration
        #expect(redefined != learned)
        _ = decoder.run([ipfixMessage(sequence: 0, sets: [flowSet(2, [1, 144, 0, 0])])])  // withdraw 400
        #expect(decoder.stateGeneration != redefined)
        #expect(decoder.templateCount == 0)
        // A decoder with nothing but sequence numbers snapshots as no sessions.
        #expect(decoder.stateSnapshot() == [0, 0, 0, 0])
    }

    @Test("restoring under smaller limits keeps what fits and reports what it refused")
    func smallerLimits() throws {
        let snapshot = learnedDecoder().stateSnapshot()
        var limits = FlowDecoderLimits()
        limits.maximumTemplatesPerExporter = 1
        var (decoder, report) = try restored(from: snapshot, limits: limits)
        #expect(report.sessions == 2)
        #expect(report.templates == 2)
        #expect(report.refused == 1)
        #expect(report.reasons.count == 1)
        #expect(report.reasons.first?.contains("past 1 templates per exporter") == true)
        #expect(decoder.templateCount == 2)

        var exporters = FlowDecoderLimits()
        exporters.maximumExporters = 1
        (decoder, report) = try restored(from: snapshot, limits: exporters)
        #expect(report.sessions == 1)
        #expect(report.templates == 2)
        #expect(report.refused == 1)
        #expect(decoder.templateCount == 2)

        var total = FlowDecoderLimits()
        total.maximumTemplates = 2
        (decoder, report) = try restored(from: snapshot, limits: total)
        #expect(report.templates == 2)
        #expect(report.refused == 1)
        #expect(report.reasons.first?.contains("past 2 templates across exporters") == true)
        #expect(decoder.templateCount == 2)
        // The restored count holds the line afterwards too: a new template is refused at the limit.
        var consumer = RecordingFlowConsumer()
        decoder.run(
            [ipfixMessage(sequence: 0, domain: 99, sets: [flowSet(2, templateRecord(300, [(1, 4)]))])],
            into: &consumer
        )
        #expect(consumer.reasons == [.templateLimit])
    }

    @Test("a snapshot cut at any length, or with a count past its end, is refused whole and the decoder left empty")
    func truncatedAndOverlong() {
        let snapshot = learnedDecoder().stateSnapshot()
        for length in 1..<snapshot.count {
            var decoder = TemplateFlowDecoder()
            #expect(throws: FlowTemplateState.Malformed.self) {
                try Array(snapshot.prefix(length)).withUnsafeBytes { _ = try decoder.restoreState(from: $0) }
            }
            #expect(decoder.templateCount == 0)
            #expect(decoder.stateSnapshot() == [0, 0, 0, 0])
        }
        var decoder = TemplateFlowDecoder()
        #expect(throws: FlowTemplateState.Malformed.self) {
            try (snapshot + [0]).withUnsafeBytes { _ = try decoder.restoreState(from: $0) }
        }
        #expect(throws: FlowTemplateState.Malformed.self) {
            try [0xFF, 0xFF, 0xFF, 0xFF].withUnsafeBytes { _ = try decoder.restoreState(from: $0) }
        }
        #expect(decoder.templateCount == 0)
    }

    @Test(
        "10,000 seeded mutations of a snapshot never crash; what a mutated snapshot restores decodes without crashing"
    )
    func mutations() {
        let snapshot = learnedDecoder().stateSnapshot()
        var generator = SplitMix64(seed: 0x5EED_57A7E)
        var restoredAny = 0
        var refusedWhole = 0
        for _ in 0..<10_000 {
            var bytes = snapshot
            for _ in 0...Int(generator.next() % 4) {
                let index = Int(generator.next() % UInt64(bytes.count))
                bytes[index] = UInt8(truncatingIfNeeded: generator.next())
            }
            var decoder = TemplateFlowDecoder()
            do {
                _ = try bytes.withUnsafeBytes { try decoder.restoreState(from: $0) }
                restoredAny += 1
                _ = decodeDataOnly(&decoder)
                #expect(decoder.templateCount <= 3)
            } catch {
                refusedWhole += 1
            }
        }
        #expect(restoredAny > 0)
        #expect(refusedWhole > 0)
    }
}
