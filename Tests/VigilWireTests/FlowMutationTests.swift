import Testing
import VigilCore
import VigilWire

#if canImport(Glibc)
import Glibc
#endif

/// Valid datagrams of each format to mutate: v5; v9 with templates, options template, options data and
/// data; IPFIX with variable-length and enterprise fields, options and data, and withdrawals.
private func seedDatagrams(withdrawing: Bool = true) -> [[UInt8]] {
    var v5 = WireBytes()
    v5.u16(5)
    v5.u16(2)
    v5.append([UInt8](repeating: 0, count: 20))
    for index in 0..<96 { v5.u8(UInt8(truncatingIfNeeded: index &* 37)) }
    var v9Options = WireBytes()
    v9Options.u16(257)
    v9Options.u16(4)
    v9Options.u16(8)
    v9Options.append([0, 1, 0, 4, 0, 48, 0, 1, 0, 50, 0, 4, 0, 0])
    let v9 = v9Datagram(
        sequence: 1,
        sets: [
            flowSet(0, templateRecord(256, [(8, 4), (12, 4), (1, 4), (2, 4), (22, 4), (21, 4), (48, 1), (32, 2)])),
            flowSet(1, v9Options.bytes), flowSet(257, [0, 0, 0, 0, 3, 0, 0, 3, 232, 0, 0, 0]),
            flowSet(256, [UInt8](repeating: 7, count: 27 * 3 + 2)),
        ]
    )
    let ipfixTemplate = templateRecord(
        400,
        [(27, 16, nil), (1, 2, nil), (100, 4, 9), (82, 65535, nil), (156, 8, nil), (160, 8, nil), (302, 1, nil)]
    )
    var ipfixData = WireBytes()
    for length in [3, 0, 20] {
        ipfixData.append([UInt8](repeating: 0x20, count: 16))
        ipfixData.u16(1500)
        ipfixData.u32(1)
        ipfixData.u8(UInt8(length))
        ipfixData.append([UInt8](repeating: 0x41, count: length))
        ipfixData.u64(0xE000_0000_0000_0000)
        ipfixData.u64(1_700_000_000_000)
        ipfixData.u8(5)
    }
    var options = WireBytes()
    options.u16(500)
    options.u16(3)
    options.u16(1)
    options.append([1, 46, 0, 1, 1, 49, 0, 2, 1, 50, 0, 2])
    let ipfix = ipfixMessage(
        sequence: 10,
        sets: [
            flowSet(2, ipfixTemplate), flowSet(3, options.bytes), flowSet(500, [5, 0, 1, 0, 99, 0]),
            flowSet(400, ipfixData.bytes),
        ] + (withdrawing ? [flowSet(2, [1, 144, 0, 0]), flowSet(400, ipfixData.bytes)] : [])
    )
    return [v5.bytes, v9, ipfix]
}

/// One to three random edits: bit flips, truncation, deletion, duplicated slices, random bytes, and
/// interesting 16-bit values (lengths and ids at their edges) written at random offsets.
private func mutate(_ input: [UInt8], _ generator: inout SplitMix64) -> [UInt8] {
    var bytes = input
    func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(generator.next() % UInt64(n)) }
    for _ in 0..<(1 + below(3)) {
        switch below(7) {
        case 0 where !bytes.isEmpty:
            for _ in 0..<(1 + below(4)) { bytes[below(bytes.count)] ^= 1 << UInt8(below(8)) }
        case 1 where !bytes.isEmpty:
            bytes.removeSubrange(below(bytes.count)...)
        case 2 where !bytes.isEmpty:
            let from = below(bytes.count)
            bytes.removeSubrange(from..<min(bytes.count, from + 1 + below(16)))
        case 3 where !bytes.isEmpty:
            let from = below(bytes.count)
            let slice = Array(bytes[from..<min(bytes.count, from + 1 + below(64))])
            bytes.insert(contentsOf: slice, at: below(bytes.count + 1))
        case 4:
            let count = 1 + below(8)
            bytes.insert(
                contentsOf: (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) },
                at: below(bytes.count + 1)
            )
        case 5 where bytes.count >= 2:
            let values: [UInt16] = [0, 1, 2, 3, 4, 5, 255, 256, 0x7FFF, 0x8000, 0xFFFF, 0xFFFE]
            let value = values[below(values.count)]
            let at = below(bytes.count - 1)
            bytes[at] = UInt8(value >> 8)
            bytes[at + 1] = UInt8(value & 0xFF)
        default:
            break
        }
    }
    return bytes
}

/// Checks every error has a reason and a detail, and offsets inside the datagram.
private struct CheckingConsumer: FlowConsumer {
    var byteCount = 0
    var records = 0
    var errors = 0
    var badErrors: [FlowDecodeError] = []
    mutating func flowRecord(_ record: FlowRecord, info: FlowDatagramInfo) { records += 1 }
    mutating func flowError(_ error: FlowDecodeError, info: FlowDatagramInfo?) {
        errors += 1
        // Held data decoded later keeps its own datagram's offsets, which may exceed this one's size.
        if error.detail.isEmpty || error.offset < 0
            || (error.offset > byteCount && error.reason != .templateNotFound
                && error.reason != .truncated)
        {
            badErrors.append(error)
        }
    }
}

@Suite("Flow decoders: mutation")
struct FlowMutationTests {
    @Test(
        "100,000 seeded mutations per datagram kind (v5, v9, IPFIX; ×VIGIL_FUZZ_SCALE in make fuzz) never crash; every error has a reason and detail"
    )
    func mutationsNeverCrash() {
        var generator = SplitMix64(seed: 0x5EED_F10E)
        let seeds = seedDatagrams()
        var limits = FlowDecoderLimits()
        limits.maximumExporters = 64
        limits.maximumHeldBytes = 16 * 1024
        limits.maximumHeldBytesPerExporter = 2 * 1024
        limits.maximumTemplatesPerExporter = 32
        limits.maximumSamplersPerExporter = 8
        var decoder = FlowDatagramDecoder(limits: limits)
        var consumer = CheckingConsumer()
        var inputs = 0
        let rounds = 100_000 * fuzzScale
        for round in 0..<rounds {
            for seed in seeds {
                let input = mutate(seed, &generator)
                // A few exporters, so mutations of one's templates meet another's data.
                let address = IPAddress(ipv4: 0x0A00_0000 | UInt32(round % 4))
                consumer.byteCount = input.count
                input.withUnsafeBytes {
                    decoder.decode($0, from: address, arrivalNanoseconds: Int64(round) * 1_000_000, into: &consumer)
                }
                inputs += 1
            }
            // Now and then the valid seeds, so templates are known and data is decoded with them.
            if round % 64 == 0 {
                for seed in seeds {
                    consumer.byteCount = seed.count
                    seed.withUnsafeBytes {
                        decoder.decode($0, from: IPAddress(ipv4: 0x0A00_0000), arrivalNanoseconds: 0, into: &consumer)
                    }
                }
            }
        }
        #expect(inputs == rounds * seeds.count)
        #expect(consumer.badErrors.isEmpty, "\(consumer.badErrors.prefix(5))")
        #expect(consumer.errors > 10_000)
        #expect(consumer.records > 10_000)
        #expect(decoder.templateFlows.heldByteCount <= limits.maximumHeldBytes)
        #expect(decoder.templateFlows.exporterCount <= limits.maximumExporters)
    }

    @Test("a hostile exporter's garbage never touches another exporter's templates or records")
    func otherExportersSurvive() {
        var generator = SplitMix64(seed: 99)
        // Without the withdrawal, whose data is held and released by the next template: each run decodes
        // exactly the same records.
        let seeds = seedDatagrams(withdrawing: false)
        let honest = IPAddress(ipv4: 0xC000_0201)
        let hostile = IPAddress(ipv4: 0xC000_0266)
        var decoder = FlowDatagramDecoder()
        func decodeHonest() -> RecordingFlowConsumer {
            var consumer = RecordingFlowConsumer()
            for seed in seeds[1...] {
                seed.withUnsafeBytes { decoder.decode($0, from: honest, arrivalNanoseconds: 0, into: &consumer) }
            }
            return consumer
        }
        let before = decodeHonest()
        #expect(before.errors.isEmpty)
        #expect(before.records.count == 6)
        var hostileConsumer = RecordingFlowConsumer()
        for _ in 0..<20_000 {
            let input = mutate(seeds[1 + Int(generator.next() % 2)], &generator)
            input.withUnsafeBytes { decoder.decode($0, from: hostile, arrivalNanoseconds: 0, into: &hostileConsumer) }
        }
        #expect(!hostileConsumer.errors.isEmpty)
        let after = decodeHonest()
        #expect(after.records == before.records)
        #expect(after.errors.isEmpty)
        #expect(after.templates == before.templates)
    }
}

/// How many times the default number of seeded mutations to run: `VIGIL_FUZZ_SCALE` (`make fuzz` sets 10,
/// for 10^6 inputs per decoder), 1 by default (10^5 per decoder in `make test`).
let fuzzScale: Int = {
    guard let text = getenv("VIGIL_FUZZ_SCALE"), let scale = Int(String(cString: text)), scale > 0 else { return 1 }
    return scale
}()
