import Foundation
import Testing
import VigilCore

@testable import VigilEngine

/// `AutoDecompressingStream` over zstd input: damage is reported and skipped frame by frame, never thrown.
@Suite("zstd input: damage, truncation, skippable frames, bounded work")
struct ZstdStreamDecompressorTests {
    /// Bytes that compress, different for each `seed`.
    static func content(_ count: Int, seed: UInt64) -> [UInt8] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { index in index % 5 == 0 ? UInt8(truncatingIfNeeded: random.next()) : UInt8(index % 61)
        }
    }

    /// `content` as `CompressedFileWriter` writes it (one zstd frame per MiB).
    static func compressed(_ content: [UInt8]) throws -> [UInt8] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "vigil-zstd-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).zst"
        ).path
        defer { unlink(path) }
        let writer = try CompressedFileWriter(path: path, compression: .zstd(level: 3, windowLog: nil))
        try writer.write(content)
        try writer.close()
        return try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// A zstd frame of raw (stored) blocks holding `content`, with no checksum.
    static func rawFrame(_ content: [UInt8], blockBytes: Int = 16 << 10) -> [UInt8] {
        var out: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x50]  // no content size; window 1 MiB
        var offset = 0
        repeat {
            let size = min(blockBytes, content.count - offset)
            let last: UInt32 = offset + size == content.count ? 1 : 0
            out += blockHeader(UInt32(size) << 3 | last)
            out += content[offset..<(offset + size)]
            offset += size
        } while offset < content.count
        return out
    }

    static func blockHeader(_ value: UInt32) -> [UInt8] {
        [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF)]
    }

    /// Reads `input` to its end through an `AutoDecompressingStream`, `readBytes` at a time (compressed input is
    /// handed over `inputChunkBytes` at a time); returns the bytes and the damage reported.
    static func decompress(
        _ input: [UInt8],
        readBytes: Int = 1 << 20,
        inputChunkBytes: Int = .max
    ) throws -> (bytes: [UInt8], damage: [ZstdStreamDecompressor.Damage]) {
        var damage: [ZstdStreamDecompressor.Damage] = []
        let stream = AutoDecompressingStream(TrickleStream(input, chunkBytes: inputChunkBytes)) { damage.append($0) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: readBytes)
        while true {
            let count = try buffer.withUnsafeMutableBytes { try stream.read(into: $0) }
            if count == 0 { break }
            out += buffer[0..<count]
        }
        #expect(stream.inputBytesRead == input.count, "every input byte is read, once")
        return (out, damage)
    }

    @Test("a multi-frame stream decompresses to the same bytes whatever the read and input chunk sizes")
    func readSizes() throws {
        let content = Self.content(1_300_000, seed: 1)
        let input = try Self.compressed(content)
        for (readBytes, inputChunkBytes) in [(1 << 20, Int.max), (4_096, 1), (7, 1_000), (1, 65_537)] {
            let (bytes, damage) = try Self.decompress(
                input,
                readBytes: readBytes,
                inputChunkBytes: inputChunkBytes
            )
            #expect(bytes == content, "read \(readBytes), input chunks \(inputChunkBytes)")
            #expect(damage.isEmpty)
        }
    }

    @Test("garbage between frames and after the last one is reported once per run, and every frame is read")
    func garbageBetweenFrames() throws {
        let pieces = [Self.content(300_000, seed: 2), Self.content(200_000, seed: 3)]
        let frames = try pieces.map(Self.compressed)
        let garbage = [UInt8](repeating: 0xAB, count: 1_000)
        let (bytes, damage) = try Self.decompress(frames[0] + garbage + frames[1] + garbage)
        #expect(bytes == pieces[0] + pieces[1])
        #expect(damage.count == 2, "\(damage)")
        if case .corruptFrame(let frameOffset, _, _) = damage.first {
            #expect(frameOffset == Int64(frames[0].count))
        } else {
            Issue.record("expected a damaged frame, got \(damage)")
        }
    }

    @Test("skippable frames, at the start and between frames, are passed over without a report")
    func skippableFrames() throws {
        let pieces = [Self.content(100_000, seed: 4), Self.content(100_000, seed: 5)]
        let frames = try pieces.map(Self.compressed)
        let skippable: [UInt8] = [0x53, 0x2A, 0x4D, 0x18, 16, 0, 0, 0] + [UInt8](repeating: 0x28, count: 16)
        let (bytes, damage) = try Self.decompress(skippable + frames[0] + skippable + frames[1])
        #expect(bytes == pieces[0] + pieces[1])
        #expect(damage.isEmpty, "\(damage)")
    }

    @Test("input cut inside a frame: the bytes decoded before the cut are kept and the cut is reported")
    func truncated() throws {
        let pieces = [Self.content(500_000, seed: 6), Self.content(900_000, seed: 7)]
        let frames = try pieces.map(Self.compressed)
        let cut = frames[0].count + frames[1].count / 2
        let (bytes, damage) = try Self.decompress(Array((frames[0] + frames[1])[..<cut]))
        #expect(damage == [.truncatedFrame(frameOffset: Int64(frames[0].count), inputEnd: Int64(cut))])
        #expect(bytes.count > pieces[0].count, "blocks of the cut frame before the cut are kept")
        #expect(bytes == Array((pieces[0] + pieces[1]).prefix(bytes.count)))
    }

    @Test("a block header made to reach past its frame: the search looks back and the next frame is read whole")
    func damagedBlockHeaderLooksBack() throws {
        let a = [UInt8](repeating: 0x11, count: 40_000)
        let b = [UInt8](repeating: 0x22, count: 40_000)
        let c = [UInt8](repeating: 0xFF, count: 200_000)
        var frameB = Self.rawFrame(b)
        // B's last block (its third, 7,232 bytes) now claims 100,000 bytes and not to be the last: zstd reads on
        // through C's header into C's 0xFF bytes, whose next "block header" is reserved: damage, found 93 KB
        // past C's start.
        let lastBlock = 6 + 2 * (3 + (16 << 10))
        frameB.replaceSubrange(lastBlock..<(lastBlock + 3), with: Self.blockHeader(100_000 << 3))
        let frameA = Self.rawFrame(a)
        let (bytes, damage) = try Self.decompress(frameA + frameB + Self.rawFrame(c))
        #expect(damage.count == 1, "\(damage)")
        #expect(bytes.starts(with: a + b))
        #expect(bytes.count >= a.count + b.count + c.count && bytes.suffix(c.count).elementsEqual(c), "C is read whole")
    }

    @Test("fake frame starts packed together cannot make the work quadratic: look-backs have a budget")
    func lookBackBudget() throws {
        // 1.5 MiB of 9-byte fake frames: magic, header, a raw block claiming 128 KiB that swallows the fakes after
        // it. Each one found by looking back would be read again for 128 KiB.
        let fake: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x50] + Self.blockHeader(UInt32(128 << 10) << 3)
        let input = Array([[UInt8]](repeating: fake, count: (3 << 19) / fake.count).joined())
        var damage = 0
        let stream = AutoDecompressingStream(TrickleStream(input, chunkBytes: .max)) { _ in damage += 1 }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var output = 0
        while true {
            let count = try buffer.withUnsafeMutableBytes { try stream.read(into: $0) }
            if count == 0 { break }
            output += count
        }
        #expect(damage > 0)
        // Without the budget, each of the ~29,000 look-backs in the first 256 KiB re-reads up to 128 KiB (GiBs).
        #expect(output <= 4 * input.count + (2 << 20), "\(output) bytes out of \(input.count)")
    }
}

/// Hands out `bytes` at most `chunkBytes` per read.
final class TrickleStream: ByteStream {
    let name = "trickle"
    private let bytes: [UInt8]
    private let chunkBytes: Int
    private var offset = 0

    init(_ bytes: [UInt8], chunkBytes: Int) {
        self.bytes = bytes
        self.chunkBytes = chunkBytes
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, chunkBytes, bytes.count - offset)
        buffer.copyBytes(from: bytes[offset..<(offset + count)])
        offset += count
        return count
    }

    func close() {}
}
