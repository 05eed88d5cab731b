import Testing
import VigilCore
@_spi(Testing) import VigilWire

/// A small valid stream: two schema frames and data frames of a few samples.
private func hostileBaseStream() throws -> [UInt8] {
    var generator = SplitMix64(seed: 77)
    let encoder = NativeEncoder(samplesPerDataFrame: 7)
    let entries = randomSchemaEntries(count: 6, generator: &generator)
    var bytes: [UInt8] = []
    try encoder.appendSchemaFrames(Array(entries[0..<3]), to: &bytes)
    try encoder.appendSchemaFrames(Array(entries[3...]), to: &bytes)
    let samples = randomSamples(count: 40, entries: entries, generator: &generator)
    encoder.appendDataFrames(
        timestamps: samples.timestamps,
        wireIDs: samples.wireIDs,
        values: samples.values,
        to: &bytes
    )
    return bytes
}

private func refixChecksums(_ bytes: inout [UInt8], frameAt start: Int) {
    guard start + 24 <= bytes.count else { return }
    let length = Int(
        UInt32(bytes[start + 8]) | UInt32(bytes[start + 9]) << 8 | UInt32(bytes[start + 10]) << 16
            | UInt32(bytes[start + 11]) << 24
    )
    let payloadEnd = min(bytes.count, start + 24 + length)
    let payloadCRC = CRC32C.checksum(Array(bytes[(start + 24)..<payloadEnd]))
    bytes.replaceSubrange((start + 12)..<(start + 16), with: littleEndianBytes(payloadCRC))
    let headerCRC = CRC32C.checksum(Array(bytes[start..<(start + 20)]))
    bytes.replaceSubrange((start + 20)..<(start + 24), with: littleEndianBytes(headerCRC))
}

private func magicOffsets(_ bytes: [UInt8]) -> [Int] {
    guard bytes.count >= 4 else { return [] }
    return (0...(bytes.count - 4)).filter {
        bytes[$0] == 0x56 && bytes[$0 + 1] == 0x47 && bytes[$0 + 2] == 0x49 && bytes[$0 + 3] == 0x4C
    }
}

private func mutate(_ input: [UInt8], generator: inout SplitMix64) -> [UInt8] {
    var bytes = input
    func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(generator.next() % UInt64(n)) }
    for _ in 0..<(1 + below(3)) {
        let frames = magicOffsets(bytes).filter { $0 + 24 <= bytes.count }
        switch below(9) {
        case 0 where !bytes.isEmpty:
            for _ in 0..<(1 + below(6)) { bytes[below(bytes.count)] ^= 1 << UInt8(below(8)) }
        case 1 where !bytes.isEmpty:
            bytes.removeSubrange(below(bytes.count)...)
        case 2 where !bytes.isEmpty:
            let from = below(bytes.count)
            let slice = Array(bytes[from..<min(bytes.count, from + 1 + below(200))])
            bytes.insert(contentsOf: slice, at: below(bytes.count + 1))
        case 3 where !frames.isEmpty:
            let start = frames[below(frames.count)]
            let choices: [UInt32] = [
                0, 1, 7, 8, 28, 48, 0xFFFF_FFFF, 4 << 20, (4 << 20) + 1,
                UInt32(truncatingIfNeeded: generator.next() % 400),
            ]
            bytes.replaceSubrange((start + 8)..<(start + 12), with: littleEndianBytes(choices[below(choices.count)]))
            let headerCRC = CRC32C.checksum(Array(bytes[start..<(start + 20)]))
            bytes.replaceSubrange((start + 20)..<(start + 24), with: littleEndianBytes(headerCRC))
        case 4 where !frames.isEmpty:
            let start = frames[below(frames.count)]
            if start + 24 < bytes.count { bytes[start + 24 + below(bytes.count - start - 24)] = UInt8(below(256)) }
            refixChecksums(&bytes, frameAt: start)
        case 5:
            let magics: [[UInt8]] = [[0x56, 0x47, 0x49, 0x4C], [0x56, 0x47, 0x49], [0x56]]
            bytes.insert(contentsOf: magics[below(magics.count)], at: below(bytes.count + 1))
        case 6:
            bytes.insert(contentsOf: (0..<(1 + below(60))).map { _ in UInt8(below(256)) }, at: below(bytes.count + 1))
        case 7 where !frames.isEmpty:
            let start = frames[below(frames.count)]
            bytes[start + 4 + below(2)] = [0, 2, 3, 255][below(4)]
            refixChecksums(&bytes, frameAt: start)
        default:
            if !bytes.isEmpty {
                let from = below(bytes.count)
                bytes.removeSubrange(from..<min(bytes.count, from + 1 + below(30)))
            }
        }
    }
    return bytes
}

private func statisticsSummary(_ decoder: NativeStreamDecoder) -> [Int] {
    NativeDecodeError.Kind.allCases.map { decoder.statistics.errorCount($0) }
        + [decoder.statistics.samples, decoder.statistics.schemaEntries, Int(decoder.statistics.bytesSkipped)]
}

private func withoutErrorEvents(_ events: [DecodeEvent]) -> [DecodeEvent] {
    events.filter { if case .failed = $0 { return false } else { return true } }
}

@Suite("hostile streams: how reads cut them changes nothing, nesting stays linear")
struct HostileStreamTests {
    /// What a stream decodes to must not depend on how the reads happened to cut it.
    @Test("mutated streams decode to the same events whole, byte by byte and in random chunks", arguments: 0..<16)
    func chunkingInvariance(batch: UInt64) throws {
        let base = try hostileBaseStream()
        var generator = SplitMix64(seed: 0xF022 &+ batch)
        for _ in 0..<100 {
            let bytes = mutate(base, generator: &generator)
            let whole = decodeAll(bytes)
            var chunkGenerator = SplitMix64(seed: generator.next())
            let bytewise = decodeInChunks(bytes, generator: &chunkGenerator, maxChunkByteCount: 1)
            let chunked = decodeInChunks(bytes, generator: &chunkGenerator, maxChunkByteCount: 97)
            #expect(whole.decoder.statistics.bytesConsumed == Int64(bytes.count))
            #expect(
                withoutErrorEvents(bytewise.delegate.events) == withoutErrorEvents(whole.delegate.events),
                "data \(bytes)"
            )
            #expect(withoutErrorEvents(chunked.delegate.events) == withoutErrorEvents(whole.delegate.events), "data")
            #expect(
                bytewise.decoder.statistics.bytesSkipped == whole.decoder.statistics.bytesSkipped,
                "skipped \(bytes)"
            )
            #expect(statisticsSummary(bytewise.decoder) == statisticsSummary(whole.decoder), "counts")
        }
    }

    /// A sender that restarts mid-frame again and again: 30 cut frames, each a valid header claiming a
    /// 40 KB payload, 2.2 KB apart, with 40 valid frames after each cut. Every valid frame is found inside
    /// the cut ones (a budget of 8x the damaged run's length alone lost 738 of 1,982).
    @Test("repeated restarts mid-frame lose none of the valid frames between them")
    func repeatedRestartsLoseNoValidFrame() {
        let sampleCount = 2000
        let cut = rawFrame(
            type: 2,
            payload: dataPayload(
                timestamps: Array(repeating: 1, count: sampleCount),
                values: Array(repeating: 1, count: sampleCount),
                wireIDs: Array(repeating: 1, count: sampleCount)
            )
        )
        var bytes: [UInt8] = []
        var validFrames = 0
        var timestamp: Int64 = 10
        func small() -> [UInt8] {
            timestamp += 1
            validFrames += 1
            return rawFrame(type: 2, payload: dataPayload(timestamps: [timestamp], values: [2], wireIDs: [1]))
        }
        let restarts = 30
        for _ in 0..<restarts {
            bytes += cut[0..<100]
            for _ in 0..<40 { bytes += small() }
        }
        while bytes.count < restarts * 2_200 + cut.count { bytes += small() }
        let (delegate, decoder) = decodeAll(bytes)
        #expect(decoder.statistics.errorCount(.payloadChecksumMismatch) == restarts)
        #expect(delegate.dataFrames.count == validFrames)
    }

    /// Back-to-back valid headers, each claiming the maximum payload with a wrong payload CRC: each one is
    /// found by the resync scan inside the previous one, and a full CRC pass over each claimed ~4 MiB would
    /// make 20,000 headers (480 KB) cost ~80 GB of CRC32C. Each is checked and reported, in linear work.
    @Test("nested frames with bad payload CRCs are each rejected, in linear work")
    func nestedBadPayloadsAreLinear() {
        let headerCount = 20_000
        let length = UInt32(NativeFormat.defaultMaxPayloadBytes)
        var header: [UInt8] =
            [0x56, 0x47, 0x49, 0x4C, 1, 2, 0, 0] + littleEndianBytes(length)
            + littleEndianBytes(UInt32(0)) + littleEndianBytes(UInt32(0))
        header += littleEndianBytes(CRC32C.checksum(header))
        var bytes: [UInt8] = []
        bytes.reserveCapacity(headerCount * 24 + Int(length))
        for _ in 0..<headerCount { bytes += header }
        bytes += [UInt8](repeating: 0, count: Int(length))
        let (delegate, decoder) = decodeAll(bytes)
        #expect(delegate.dataFrames.isEmpty)
        #expect(decoder.statistics.bytesConsumed == Int64(bytes.count))
        #expect(decoder.statistics.errorCount(.payloadChecksumMismatch) == headerCount)
        // The work, not the time: bytes checksummed because of the damage, against bytes of input.
        let checksummed = decoder.damageChecksummedByteCount
        #expect(checksummed <= 3 * Int64(bytes.count), "\(checksummed) bytes checksummed for \(bytes.count) of input")
    }

    /// A frame whose payload CRC fails and whose last bytes hold a magic: decoded whole, the magic is
    /// checked and dismissed silently; fed so that a read ends exactly at the frame's end, the same bytes
    /// give an extra header_checksum error and a garbage run. The run summary depends on read boundaries.
    @Test("the errors reported for a damaged frame do not depend on where reads end")
    func damagedFrameErrorsIndependentOfSplit() {
        // One sample whose wire id column reads "VGIL"; a flipped timestamp bit breaks the payload CRC.
        let payload = dataPayload(timestamps: [1], values: [1], wireIDs: [0x4C49_4756])
        var damaged = rawFrame(type: 2, payload: payload)
        damaged[24 + 8] ^= 1
        let good = rawFrame(type: 2, payload: dataPayload(timestamps: [2], values: [2], wireIDs: [1]))
        let bytes = damaged + good

        let whole = decodeAll(bytes)
        var decoder = NativeStreamDecoder()
        var delegate = RecordingDelegate()
        var carry: [UInt8] = []
        for chunk in [Array(bytes[..<damaged.count]), Array(bytes[damaged.count...])] {
            carry += chunk
            let consumed = carry.withUnsafeBytes { decoder.decode($0, delegate: &delegate) }
            carry.removeFirst(consumed)
        }
        carry.withUnsafeBytes { decoder.finish(remaining: $0, delegate: &delegate) }

        #expect(whole.delegate.errors.map(\.kind) == [.payloadChecksumMismatch])
        #expect(delegate.errors == whole.delegate.errors)
        #expect(delegate.dataFrames == whole.delegate.dataFrames)
    }
}
