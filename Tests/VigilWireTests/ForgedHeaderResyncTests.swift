import Testing
import VigilCore
@_spi(Testing) import VigilWire

/// A 24-byte header with a valid header CRC (a data frame, version 1 unless told) claiming `length` payload
/// bytes, with a payload CRC that the bytes after it do not match.
private func forgedHeader(length: Int, version: UInt8 = 1) -> [UInt8] {
    rawFrame(version: version, type: 2, payload: [], declaredLength: UInt32(length), payloadChecksum: 0xDEAD_BEEF)
}

/// Where a stream puts its forged headers relative to its valid frames.
enum ForgedPlacement: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// All of them back to back, then the valid frames inside their claimed spans.
    case before
    /// Ten bursts, each followed by a few valid frames.
    case among
    /// Half back to back, then a valid frame whose timestamp column holds the other half, then valid frames.
    case nested
    /// After the last valid frame: their claimed spans run past the end of the stream.
    case after

    var testDescription: String { rawValue }
}

/// A stream of valid frames and forged headers, with the samples its valid frames carry.
private struct ForgedStream {
    var bytes: [UInt8] = []
    var timestamps: [Int64] = []
    var wireIDs: [UInt32] = []
    var valueBits: [UInt64] = []
    /// Forged headers outside valid frames: each one is rejected once, as a bad payload or a truncated frame.
    var exposedForgedCount = 0
    var generator: SplitMix64
    let forgedLength: Int

    init(seed: UInt64, forgedLength: Int) {
        generator = SplitMix64(seed: seed)
        self.forgedLength = forgedLength
    }

    init(forgedCount: Int, placement: ForgedPlacement, forgedLength: Int, seed: UInt64) throws {
        self.init(seed: seed, forgedLength: forgedLength)
        try appendSchema()
        switch placement {
        case .before:
            appendForged(forgedCount)
            appendValidFrames(40)
        case .among:
            for _ in 0..<10 {
                appendForged(forgedCount / 10)
                appendValidFrames(4)
            }
        case .nested:
            appendForged(forgedCount / 2)
            appendFrameHidingForged(forgedCount - forgedCount / 2)
            appendValidFrames(40)
        case .after:
            appendValidFrames(40)
            appendForged(forgedCount)
        }
    }

    mutating func appendSchema() throws {
        try NativeEncoder().appendSchemaFrames(randomSchemaEntries(count: 3, generator: &generator), to: &bytes)
    }

    mutating func appendForged(_ count: Int) {
        for _ in 0..<count { bytes += forgedHeader(length: forgedLength) }
        exposedForgedCount += count
    }

    /// `count` data frames, written by `NativeEncoder`, each of a seeded sample count in `samplesPerFrame`.
    mutating func appendValidFrames(_ count: Int, samplesPerFrame: ClosedRange<Int> = 1...64) {
        let encoder = NativeEncoder(samplesPerDataFrame: samplesPerFrame.upperBound)
        for _ in 0..<count {
            let sampleCount =
                samplesPerFrame.lowerBound + Int(generator.next() % UInt64(samplesPerFrame.count))
            let samples = randomSamples(count: sampleCount, entries: [], generator: &generator)
            encoder.appendDataFrames(
                timestamps: samples.timestamps,
                wireIDs: samples.wireIDs,
                values: samples.values,
                to: &bytes
            )
            appendExpected(samples.timestamps, samples.wireIDs, samples.values)
        }
    }

    /// One valid data frame whose timestamp column is `count` forged headers, three timestamps each.
    mutating func appendFrameHidingForged(_ count: Int) {
        let hidden = (0..<count).flatMap { _ in forgedHeader(length: forgedLength) }
        let timestamps = stride(from: 0, to: hidden.count, by: 8).map { start in
            hidden[start..<start + 8].reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) }
        }
        let wireIDs = [UInt32](repeating: 5, count: timestamps.count)
        let values = timestamps.map { Double($0 & 0xFFFF) }
        bytes += rawFrame(type: 2, payload: dataPayload(timestamps: timestamps, values: values, wireIDs: wireIDs))
        appendExpected(timestamps, wireIDs, values)
    }

    mutating func appendExpected(_ timestamps: [Int64], _ wireIDs: [UInt32], _ values: [Double]) {
        self.timestamps += timestamps
        self.wireIDs += wireIDs
        valueBits += values.map(\.bitPattern)
    }
}

/// The non-error events a byte-by-byte search finds (deliberately simple, O(bytes × maxPayloadBytes)): at each
/// position, a frame whose header CRC is valid, whose length is within the limit, that is whole in the stream
/// and whose payload CRC matches is decoded (its events, placed at its offset; none for another version) and
/// the search continues after it; anything else, at the next byte.
private func referenceEvents(_ bytes: [UInt8], maxPayloadBytes: Int) -> [DecodeEvent] {
    func word(_ offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }
    var events: [DecodeEvent] = []
    var position = 0
    while position + NativeFormat.headerByteCount <= bytes.count {
        let frameEnd = position + NativeFormat.headerByteCount + Int(word(position + 8))
        guard word(position) == NativeFormat.magic,
            word(position + 20) == CRC32C.checksum(Array(bytes[position..<position + 20])),
            frameEnd - position - NativeFormat.headerByteCount <= maxPayloadBytes, frameEnd <= bytes.count
        else {
            position += 1
            continue
        }
        guard word(position + 12) == CRC32C.checksum(Array(bytes[position + 24..<frameEnd])) else {
            position += 1
            continue
        }
        if bytes[position + 4] != NativeFormat.version {
            position = frameEnd
            continue
        }
        for event in decodeAll(Array(bytes[position..<frameEnd]), maxPayloadBytes: maxPayloadBytes).delegate.events {
            switch event {
            case .data(let offset, let timestamps, let wireIDs, let valueBits):
                events.append(
                    .data(
                        offset: offset + Int64(position),
                        timestamps: timestamps,
                        wireIDs: wireIDs,
                        valueBits: valueBits
                    )
                )
            case .declared: events.append(event)
            case .failed: break
            }
        }
        position = frameEnd
    }
    return events
}

private func withoutErrors(_ events: [DecodeEvent]) -> [DecodeEvent] {
    events.filter { if case .failed = $0 { return false } else { return true } }
}

/// A seeded mix of valid frames, cut frames, garbage and bursts of forged headers, then bit flips and forged
/// headers dropped anywhere (inside frames too).
private func randomHostileMix(generator: inout SplitMix64, maxPayloadBytes: Int) throws -> [UInt8] {
    func below(_ bound: Int) -> Int { Int(generator.next() % UInt64(bound)) }
    var bytes: [UInt8] = []
    let encoder = NativeEncoder(samplesPerDataFrame: 20)
    for _ in 0..<(10 + below(30)) {
        switch below(6) {
        case 0:
            try encoder.appendSchemaFrames(
                randomSchemaEntries(count: 1 + below(2), generator: &generator),
                to: &bytes
            )
        case 1, 2:
            let samples = randomSamples(count: below(21), entries: [], generator: &generator)
            var frame: [UInt8] = []
            encoder.appendDataFrames(
                timestamps: samples.timestamps,
                wireIDs: samples.wireIDs,
                values: samples.values,
                to: &frame
            )
            // Sometimes cut short: the sender restarted mid-frame.
            bytes += below(4) == 0 && frame.count > 1 ? Array(frame[0..<1 + below(frame.count - 1)]) : frame
        case 3:
            // A burst of forged headers, most claiming the maximum payload, some of another version.
            for _ in 0..<(1 + below(60)) {
                bytes += forgedHeader(
                    length: below(3) == 0 ? below(maxPayloadBytes + 1) : maxPayloadBytes,
                    version: below(8) == 0 ? 2 : 1
                )
            }
        case 4:
            let magicPrefix: [UInt8] = Array([0x56, 0x47, 0x49, 0x4C][0..<below(5)])
            bytes += (0..<below(40)).map { _ in UInt8(truncatingIfNeeded: generator.next()) } + magicPrefix
        default:
            // Padding inside which earlier headers' claimed spans end.
            bytes += [UInt8](repeating: 0, count: below(maxPayloadBytes))
        }
    }
    for _ in 0..<below(4) where !bytes.isEmpty {
        bytes[below(bytes.count)] ^= 1 << UInt8(below(8))
    }
    for _ in 0..<below(6) {
        bytes.insert(contentsOf: forgedHeader(length: maxPayloadBytes), at: below(bytes.count + 1))
    }
    return bytes
}

@Suite("resync: forged headers never cost a valid frame, and the work stays linear")
struct ForgedHeaderResyncTests {
    /// The attack as reported: 25 valid headers claiming 4 MiB each with wrong payload CRCs (600 bytes) before
    /// 8,100-sample frames. The damaged-region allowance then skipped frames whole and lost 26 of them
    /// (210,600 samples), visible only in bytes_skipped.
    @Test("25 forged 4 MiB headers before valid frames cost only their own 600 bytes, whole or in chunks")
    func reportedAttack() throws {
        var stream = ForgedStream(seed: 25, forgedLength: NativeFormat.defaultMaxPayloadBytes)
        stream.appendForged(25)
        stream.appendValidFrames(30, samplesPerFrame: 8_100...8_100)
        let whole = decodeAll(stream.bytes)
        #expect(whole.delegate.samples.timestamps == stream.timestamps)
        #expect(whole.delegate.samples.wireIDs == stream.wireIDs)
        #expect(whole.delegate.samples.valueBits == stream.valueBits)
        #expect(whole.decoder.statistics.dataFrames == 30)
        #expect(whole.decoder.statistics.bytesSkipped == 600)
        #expect(whole.delegate.errors.map(\.kind) == Array(repeating: .payloadChecksumMismatch, count: 25))
        #expect(whole.delegate.errors.map(\.offset) == (0..<25).map { Int64($0 * 24) })

        var generator = SplitMix64(seed: 2_500)
        let chunked = decodeInChunks(stream.bytes, generator: &generator, maxChunkByteCount: 300_000)
        #expect(chunked.delegate.events == whole.delegate.events)
        #expect(chunked.decoder.statistics == whole.decoder.statistics)
    }

    @Test(
        "forged headers before, among, inside and after valid frames: every valid frame decodes, however fed",
        arguments: [25, 200],
        ForgedPlacement.allCases
    )
    func forgedHeadersLoseNoValidFrame(forgedCount: Int, placement: ForgedPlacement) throws {
        let maxPayloadBytes = 16_384
        let stream = try ForgedStream(
            forgedCount: forgedCount,
            placement: placement,
            forgedLength: maxPayloadBytes,
            seed: UInt64(forgedCount)
        )
        let whole = decodeAll(stream.bytes, maxPayloadBytes: maxPayloadBytes)
        #expect(whole.delegate.samples.timestamps == stream.timestamps)
        #expect(whole.delegate.samples.wireIDs == stream.wireIDs)
        #expect(whole.delegate.samples.valueBits == stream.valueBits)
        #expect(whole.decoder.statistics.schemaEntries == 3)
        #expect(whole.decoder.statistics.bytesConsumed == Int64(stream.bytes.count))
        // Each exposed forged header is rejected once, as a bad payload or (its span past the end) truncated.
        #expect(whole.decoder.statistics.totalErrors == stream.exposedForgedCount)
        #expect(whole.decoder.statistics.bytesSkipped == Int64(24 * stream.exposedForgedCount))

        var generator = SplitMix64(seed: 0xF0F0 &+ UInt64(forgedCount))
        for maxChunkByteCount in [1, 997] {
            let chunked = decodeInChunks(
                stream.bytes,
                generator: &generator,
                maxChunkByteCount: maxChunkByteCount,
                maxPayloadBytes: maxPayloadBytes
            )
            #expect(chunked.delegate.events == whole.delegate.events, "chunks of up to \(maxChunkByteCount)")
            #expect(chunked.decoder.statistics == whole.decoder.statistics, "chunks of up to \(maxChunkByteCount)")
            #expect(
                chunked.decoder.damageChecksummedByteCount == whole.decoder.damageChecksummedByteCount,
                "chunks of up to \(maxChunkByteCount)"
            )
        }
    }

    /// A header of another version is skipped whole only when its payload CRC vouches for the payload too: a
    /// forged one claiming the maximum payload would otherwise hide every frame in its span, no nesting needed.
    @Test("forged headers of another version hide no valid frame; a whole frame of another version is skipped")
    func forgedOtherVersionLosesNoValidFrame() throws {
        let maxPayloadBytes = 16_384
        var stream = ForgedStream(seed: 2, forgedLength: maxPayloadBytes)
        try stream.appendSchema()
        for version: UInt8 in [2, 0, 255] { stream.bytes += forgedHeader(length: maxPayloadBytes, version: version) }
        let future = rawFrame(version: 2, type: 2, payload: [UInt8](repeating: 7, count: 100))
        let futureOffset = stream.bytes.count
        stream.bytes += future
        stream.appendValidFrames(40)
        let whole = decodeAll(stream.bytes, maxPayloadBytes: maxPayloadBytes)
        #expect(whole.delegate.samples.timestamps == stream.timestamps)
        #expect(whole.delegate.samples.valueBits == stream.valueBits)
        let forgedOffset = Int64(futureOffset - 72)
        #expect(
            whole.delegate.errors == [
                .unsupportedVersion(offset: forgedOffset, version: 2),
                .unsupportedVersion(offset: forgedOffset + 24, version: 0),
                .unsupportedVersion(offset: forgedOffset + 48, version: 255),
                .unsupportedVersion(offset: Int64(futureOffset), version: 2),
            ]
        )
        #expect(whole.decoder.statistics.bytesSkipped == Int64(72 + future.count))
        var generator = SplitMix64(seed: 20)
        let bytewise = decodeInChunks(
            stream.bytes,
            generator: &generator,
            maxChunkByteCount: 1,
            maxPayloadBytes: maxPayloadBytes
        )
        #expect(bytewise.delegate.events == whole.delegate.events)
    }

    @Test(
        "random mixes of valid, cut and forged frames, garbage and bit flips decode as a byte-by-byte search does",
        arguments: 1...12
    )
    func matchesByteByByteReference(seed: UInt64) throws {
        let maxPayloadBytes = 600
        var generator = SplitMix64(seed: 0x5EA2C4 &+ seed)
        for _ in 0..<12 {
            let bytes = try randomHostileMix(generator: &generator, maxPayloadBytes: maxPayloadBytes)
            let expected = referenceEvents(bytes, maxPayloadBytes: maxPayloadBytes)
            let whole = decodeAll(bytes, maxPayloadBytes: maxPayloadBytes)
            #expect(withoutErrors(whole.delegate.events) == expected, "\(bytes.count) bytes")
            #expect(whole.decoder.statistics.bytesConsumed == Int64(bytes.count))
            for maxChunkByteCount in [1, 61, 1_500] {
                var chunkGenerator = SplitMix64(seed: generator.next())
                let chunked = decodeInChunks(
                    bytes,
                    generator: &chunkGenerator,
                    maxChunkByteCount: maxChunkByteCount,
                    maxPayloadBytes: maxPayloadBytes
                )
                #expect(chunked.delegate.events == whole.delegate.events, "chunks of up to \(maxChunkByteCount)")
                #expect(chunked.decoder.statistics == whole.decoder.statistics)
            }
        }
    }

    /// 4 MiB of back-to-back headers each claiming 4 MiB (174,762 of them), then 4.9 MB of valid frames. Checked
    /// one by one, each forged payload would cost a 4 MiB pass: 700 GB of CRC32C. The measure is the work
    /// (bytes checksummed because of the damage, from the decoder's counter), not the time.
    @Test("4 MiB of nested forged 4 MiB headers: every one rejected, every valid frame decoded, linear work")
    func pathologicalNestingIsLinear() throws {
        let forgedCount = NativeFormat.defaultMaxPayloadBytes / 24
        var stream = ForgedStream(seed: 4, forgedLength: NativeFormat.defaultMaxPayloadBytes)
        stream.appendForged(forgedCount)
        stream.appendValidFrames(30, samplesPerFrame: 8_192...8_192)
        let (delegate, decoder) = decodeAll(stream.bytes)
        #expect(delegate.samples.timestamps == stream.timestamps)
        #expect(decoder.statistics.dataFrames == 30)
        #expect(decoder.statistics.errorCount(.payloadChecksumMismatch) == forgedCount)
        #expect(decoder.statistics.totalErrors == forgedCount)
        let checksummed = decoder.damageChecksummedByteCount
        #expect(
            checksummed <= 2 * Int64(stream.bytes.count),
            "\(checksummed) bytes checksummed because of damage for \(stream.bytes.count) bytes of input"
        )
        // One running checksum per 16 bytes of the span being checked, at most one frame long; none once past.
        let memory = decoder.damagedRegionMemoryByteCount
        #expect(memory.peak > 0 && memory.peak <= decoder.maxFrameByteCount / 4 + 8, "peak \(memory.peak) bytes")
        #expect(memory.now == 0)
    }
}
