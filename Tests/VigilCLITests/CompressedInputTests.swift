import Foundation
import Testing
import VigilWire

/// zstd-compressed recordings through `vigil generate` and `vigil run`: the frames Vigil writes, what damage,
/// a cut and a hostile frame header cost, and what the byte counters count.
@Suite("compressed input: zstd frames, damage, truncation, byte counts", .serialized)
struct CompressedInputTests {
    /// A 3-day, 20-series recording, compressed (`recording.vgl.zst`) and not (`recording.vgl`): 10,352,978
    /// native bytes, 517,500 samples, about ten zstd frames.
    struct Recording {
        let directory: URL
        var compressedPath: String { directory.appendingPathComponent("recording.vgl.zst").path }
        var nativePath: String { directory.appendingPathComponent("recording.vgl").path }
        let compressed: [UInt8]
        let native: [UInt8]
        let frames: [ZstdFrameSpan]

        static func make(_ name: String, level: String = "3") throws -> Recording {
            let directory = try CLI.temporaryDirectory(name)
            for out in ["recording.vgl.zst", "recording.vgl"] {
                let generated = try CLI.run([
                    "generate", "--devices", "2", "--interfaces", "1", "--days", "3", "--zstd-level", level,
                    "--out", directory.appendingPathComponent(out).path,
                ])
                #expect(generated.status == 0, "\(generated.standardError)")
            }
            let compressed = try [UInt8](Data(contentsOf: directory.appendingPathComponent("recording.vgl.zst")))
            let native = try [UInt8](Data(contentsOf: directory.appendingPathComponent("recording.vgl")))
            return Recording(
                directory: directory,
                compressed: compressed,
                native: native,
                frames: zstdFrames(compressed)
            )
        }

        /// Writes `bytes` beside the recording and returns the path.
        func write(_ bytes: [UInt8], as name: String) throws -> String {
            let path = directory.appendingPathComponent(name).path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return path
        }

        /// Native bytes before zstd frame `index`.
        func nativeOffset(ofFrame index: Int) -> Int { frames[..<index].reduce(0) { $0 + ($1.contentSize ?? 0) } }

        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    @Test("vigil generate writes a .zst as checksummed zstd frames of at most 1 MiB that end between native frames")
    func generatedFrames() throws {
        let recording = try Recording.make("frames", level: "19")
        defer { recording.remove() }
        let frames = recording.frames
        #expect(frames.count >= 10, "10,352,978 native bytes in frames of at most 1 MiB: \(frames.count)")
        #expect(frames.last.map { $0.offset + $0.length } == recording.compressed.count, "nothing after the frames")
        #expect(frames.allSatisfy { ($0.contentSize ?? .max) <= 1 << 20 }, "\(frames.map(\.contentSize))")
        #expect(frames.allSatisfy { $0.hasChecksum })
        #expect(frames.reduce(0) { $0 + ($1.contentSize ?? 0) } == recording.native.count)
        let nativeFrames = Set(frameOffsets(recording.native))
        for index in frames.indices {
            #expect(
                nativeFrames.contains(recording.nativeOffset(ofFrame: index)),
                "zstd frame \(index) starts a native frame"
            )
        }
    }
}

/// One zstd frame of a file, as its header and block headers tell (RFC 8878, section 3.1.1).
struct ZstdFrameSpan {
    var offset: Int
    var length: Int
    /// The frame content size, when the header records it.
    var contentSize: Int?
    var hasChecksum: Bool
}

/// The zstd frames of `bytes`, walked by their headers without decompressing; stops at anything else.
func zstdFrames(_ bytes: [UInt8]) -> [ZstdFrameSpan] {
    func little(_ offset: Int, _ count: Int) -> Int {
        (0..<count).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
    }
    var frames: [ZstdFrameSpan] = []
    var offset = 0
    while offset + 6 <= bytes.count, little(offset, 4) == 0xFD2F_B528 {
        let descriptor = bytes[offset + 4]
        let singleSegment = descriptor >> 5 & 1 == 1
        var position = offset + 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][Int(descriptor & 3)]
        let sizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][Int(descriptor >> 6)]
        let contentSize = sizeBytes == 0 ? nil : little(position, sizeBytes) + (sizeBytes == 2 ? 256 : 0)
        position += sizeBytes
        var last = false
        while !last && position + 3 <= bytes.count {
            let header = little(position, 3)
            last = header & 1 == 1
            position += 3 + (header >> 1 & 3 == 1 ? 1 : header >> 3)
        }
        let hasChecksum = descriptor >> 2 & 1 == 1
        position += hasChecksum ? 4 : 0
        frames.append(
            ZstdFrameSpan(offset: offset, length: position - offset, contentSize: contentSize, hasChecksum: hasChecksum)
        )
        offset = position
    }
    return frames
}
