import Testing
import VigilCore
import VigilWire

/// A seeded stream of separately encoded frames (schemas and data), so each frame's extent and its expected
/// events are known.
private struct FrameStream {
    var frames: [[UInt8]] = []

    init(seed: UInt64, frameCount: Int) throws {
        var generator = SplitMix64(seed: seed)
        let encoder = NativeEncoder(samplesPerDataFrame: 64)
        for index in 0..<frameCount {
            var frame: [UInt8] = []
            if index % 4 == 0 {
                try encoder.appendSchemaFrames(
                    randomSchemaEntries(count: 1 + Int(generator.next() % 4), generator: &generator),
                    to: &frame
                )
            } else {
                let samples = randomSamples(count: 1 + Int(generator.next() % 64), entries: [], generator: &generator)
                encoder.appendDataFrames(
                    timestamps: samples.timestamps,
                    wireIDs: samples.wireIDs,
                    values: samples.values,
                    to: &frame
                )
            }
            frames.append(frame)
        }
    }

    /// The non-error events of every frame except those in `excluded`, each frame placed at the offset given
    /// by `startOffsets`.
    func expectedEvents(startOffsets: [Int], excluding excluded: Set<Int> = []) -> [DecodeEvent] {
        var events: [DecodeEvent] = []
        for (index, frame) in frames.enumerated() where !excluded.contains(index) {
            for event in decodeAll(frame).delegate.events {
                if case .data(_, let timestamps, let wireIDs, let valueBits) = event {
                    events.append(
                        .data(
                            offset: Int64(startOffsets[index]),
                            timestamps: timestamps,
                            wireIDs: wireIDs,
                            valueBits: valueBits
                        )
                    )
                } else {
                    events.append(event)
                }
            }
        }
        return events
    }

    var startOffsets: [Int] {
        var offsets: [Int] = []
        var offset = 0
        for frame in frames {
            offsets.append(offset)
            offset += frame.count
        }
        return offsets
    }
}

private func withoutErrors(_ events: [DecodeEvent]) -> [DecodeEvent] {
    events.filter { if case .failed = $0 { return false } else { return true } }
}

@Suite("Resynchronisation after damage")
struct NativeResyncTests {
    @Test(
        "one flipped bit anywhere loses exactly the frame it hits, and errors point into that frame",
        arguments: 1...40
    )
    func flippedBit(seed: UInt64) throws {
        let stream = try FrameStream(seed: seed, frameCount: 12)
        var generator = SplitMix64(seed: seed &+ 0xF11B)
        var bytes = stream.frames.flatMap { $0 }
        let bitIndex = Int(generator.next() % UInt64(bytes.count * 8))
        bytes[bitIndex / 8] ^= 1 << UInt8(bitIndex % 8)
        let offsets = stream.startOffsets
        let damagedFrame = offsets.lastIndex { $0 <= bitIndex / 8 }!
        let damagedRange =
            Int64(offsets[damagedFrame])..<Int64(offsets[damagedFrame] + stream.frames[damagedFrame].count)

        let (delegate, decoder) = decodeInChunks(bytes, generator: &generator, maxChunkByteCount: 900)
        #expect(
            withoutErrors(delegate.events) == stream.expectedEvents(startOffsets: offsets, excluding: [damagedFrame])
        )
        #expect(!delegate.errors.isEmpty)
        #expect(delegate.errors.allSatisfy { damagedRange.contains($0.offset) })
        #expect(decoder.statistics.bytesSkipped == Int64(stream.frames[damagedFrame].count))
        #expect(decoder.statistics.bytesConsumed == Int64(bytes.count))
    }

    @Test(
        "garbage runs between frames, fake magics included, are each reported once and lose nothing",
        arguments: 1...20
    )
    func insertedGarbage(seed: UInt64) throws {
        let stream = try FrameStream(seed: seed, frameCount: 10)
        var generator = SplitMix64(seed: seed &+ 0x6A7B)
        var bytes: [UInt8] = []
        var offsets: [Int] = []
        var garbageRuns: [NativeDecodeError] = []
        for frame in stream.frames {
            if generator.next() % 2 == 0 {
                var junk = (0..<Int(1 + generator.next() % 40)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                // Sometimes a magic whose header is junk, or a partial magic.
                switch generator.next() % 3 {
                case 0:
                    junk +=
                        [0x56, 0x47, 0x49, 0x4C] + (0..<20).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                case 1: junk += [0x56, 0x47, 0x49]
                default: break
                }
                garbageRuns.append(.garbageSkipped(offset: Int64(bytes.count), byteCount: junk.count))
                bytes += junk
            }
            offsets.append(bytes.count)
            bytes += frame
        }

        let (delegate, _) = decodeInChunks(bytes, generator: &generator, maxChunkByteCount: 300)
        #expect(withoutErrors(delegate.events) == stream.expectedEvents(startOffsets: offsets))
        let reportedRuns = delegate.errors.filter { $0.kind == .garbageSkipped }
        #expect(reportedRuns == garbageRuns)
        #expect(delegate.errors.allSatisfy { $0.kind == .garbageSkipped || $0.kind == .headerChecksumMismatch })
    }

    @Test("a frame cut short at any length loses only itself, wherever it is in the stream", arguments: 1...30)
    func truncatedFrame(seed: UInt64) throws {
        let stream = try FrameStream(seed: seed, frameCount: 8)
        var generator = SplitMix64(seed: seed &+ 0x7C07)
        let cutFrame = Int(generator.next() % UInt64(stream.frames.count))
        let keptByteCount = 1 + Int(generator.next() % UInt64(stream.frames[cutFrame].count - 1))
        var bytes: [UInt8] = []
        var offsets: [Int] = []
        for (index, frame) in stream.frames.enumerated() {
            offsets.append(bytes.count)
            bytes += index == cutFrame ? Array(frame[0..<keptByteCount]) : frame
        }

        let (delegate, decoder) = decodeInChunks(bytes, generator: &generator, maxChunkByteCount: 500)
        #expect(withoutErrors(delegate.events) == stream.expectedEvents(startOffsets: offsets, excluding: [cutFrame]))
        #expect(!delegate.errors.isEmpty)
        #expect(delegate.errors.allSatisfy { $0.offset == Int64(offsets[cutFrame]) })
        #expect(decoder.statistics.bytesSkipped == Int64(keptByteCount))
    }

    @Test("seeded random bytes never crash or stall the decoder and every byte is accounted for", arguments: 1...10)
    func randomBytes(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        // Bias towards the magic so headers get parsed, not just skipped.
        let bytes = (0..<20_000).map { index -> UInt8 in
            let magic: [UInt8] = [0x56, 0x47, 0x49, 0x4C]
            return generator.next() % 8 == 0 ? magic[index % 4] : UInt8(truncatingIfNeeded: generator.next())
        }
        let (delegate, decoder) = decodeInChunks(bytes, generator: &generator, maxChunkByteCount: 4096)
        #expect(decoder.statistics.bytesConsumed == Int64(bytes.count))
        #expect(decoder.statistics.bytesSkipped == Int64(bytes.count))
        #expect(delegate.errors.count == decoder.statistics.totalErrors)
        #expect(!delegate.errors.isEmpty)
    }
}
