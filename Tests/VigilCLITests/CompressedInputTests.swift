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

    /// `vigil run --input SOURCE --summary-json -` (no models: only the counts matter here).
    static func run(_ source: String, input: Data? = nil) throws -> (CLIResult, [String: Any]) {
        let result = try CLI.run(
            ["run", "--input", source, "--no-anomaly", "--no-forecast", "--summary-json", "-"],
            input: input
        )
        return (result, try CLI.json(result.standardOutput))
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

    @Test(
        "a flipped bit inside one zstd frame loses at most that frame's samples, counted as a decompression error",
        arguments: ["file", "stdin"]
    )
    func flippedBit(through: String) throws {
        let recording = try Recording.make("flipped-bit-\(through)")
        defer { recording.remove() }
        let (_, clean) = try Self.run("file:" + recording.compressedPath)
        let damagedFrame = recording.frames.count / 2
        let frame = recording.frames[damagedFrame]
        var damaged = recording.compressed
        damaged[frame.offset + frame.length / 2] ^= 0x10
        let path = try recording.write(damaged, as: "damaged.vgl.zst")
        let (result, summary) =
            through == "file" ? try Self.run("file:" + path) : try Self.run("-", input: Data(damaged))
        #expect(result.status == 0, "\(result.standardError)")
        #expect(summary["unreadable_inputs"] as? Int == 0)
        let errors = summary["decode_errors"] as? [String: Int] ?? [:]
        #expect((errors["decompression"] ?? 0) >= 1, "\(errors)")
        #expect(result.standardError.contains("compressed byte"), "\(result.standardError)")
        // Every sample takes 20 bytes of a data frame: a frame of n native bytes holds fewer than n / 20.
        let lost = (clean["samples"] as? Int ?? 0) - (summary["samples"] as? Int ?? 0)
        #expect(lost >= 0 && lost <= (frame.contentSize ?? 0) / 20, "lost \(lost) samples")
        // And every sample decoded reaches its window: the stretch of event time the damage cost is a gap in
        // the stream's clock, not a reason to reject what follows it.
        #expect(summary["samples_aggregated"] as? Int == summary["samples"] as? Int, "\(summary["rejects"] ?? "")")
    }

    @Test("a truncated compressed file and a truncated raw file both exit 0, keeping the samples before the cut")
    func truncatedInputs() throws {
        let recording = try Recording.make("truncated")
        defer { recording.remove() }
        let cutFrame = recording.frames.count / 2
        let frame = recording.frames[cutFrame]
        let compressedPath = try recording.write(
            Array(recording.compressed[..<(frame.offset + frame.length / 2)]),
            as: "cut.vgl.zst"
        )
        let (compressed, compressedSummary) = try Self.run("file:" + compressedPath)
        #expect(compressed.status == 0, "\(compressed.standardError)")
        #expect(compressedSummary["unreadable_inputs"] as? Int == 0)
        let compressedErrors = compressedSummary["decode_errors"] as? [String: Int] ?? [:]
        #expect(compressedErrors["truncated_compressed_frame"] == 1, "\(compressedErrors)")
        let beforeCutFrame = samplesInCompleteFrames(
            recording.native,
            prefix: recording.nativeOffset(ofFrame: cutFrame)
        )
        #expect((compressedSummary["samples"] as? Int ?? 0) >= beforeCutFrame)
        #expect((compressedSummary["samples"] as? Int ?? .max) < 517_500)

        // The raw recording cut in the middle of the same stretch (and of a native frame): the same rule.
        let rawCut = recording.nativeOffset(ofFrame: cutFrame) + (frame.contentSize ?? 0) / 2 + 1_000
        #expect(!frameOffsets(recording.native).contains(rawCut))
        let rawPath = try recording.write(Array(recording.native[..<rawCut]), as: "cut.vgl")
        let (raw, rawSummary) = try Self.run("file:" + rawPath)
        #expect(raw.status == 0, "\(raw.standardError)")
        #expect((rawSummary["decode_errors"] as? [String: Int])?["truncated_frame"] == 1)
        #expect(rawSummary["samples"] as? Int == samplesInCompleteFrames(recording.native, prefix: rawCut))
    }

    @Test("bytes_read counts the compressed bytes read, bytes_decompressed the native bytes decoded")
    func byteCounts() throws {
        let recording = try Recording.make("byte-counts")
        defer { recording.remove() }
        let (_, compressed) = try Self.run("file:" + recording.compressedPath)
        #expect(compressed["bytes_read"] as? Int == recording.compressed.count)
        #expect(compressed["bytes_decompressed"] as? Int == recording.native.count)
        let (standardInput, fromPipe) = try Self.run("-", input: Data(recording.compressed))
        #expect(fromPipe["bytes_read"] as? Int == recording.compressed.count)
        #expect(fromPipe["bytes_decompressed"] as? Int == recording.native.count)
        #expect(standardInput.standardError.contains("\(recording.compressed.count) bytes read, "))
        let (_, raw) = try Self.run("file:" + recording.nativePath)
        #expect(raw["bytes_read"] as? Int == recording.native.count)
        #expect(raw["bytes_decompressed"] as? Int == recording.native.count)
    }

    @Test("a zstd frame asking for a window over 2^27 bytes is refused as a decompression error, in bounded memory")
    func hostileWindow() throws {
        let recording = try Recording.make("hostile-window")
        defer { recording.remove() }
        // A frame whose header asks for a 1 GiB window (window log 30), then RLE blocks that would fill it
        // (4,096 × 128 KiB = 512 MiB), then the whole recording.
        var hostile: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x00, (30 - 10) << 3]
        let rleBlock = UInt32(128 << 10) << 3 | 1 << 1  // not last, type 1 (RLE), 128 KiB
        for _ in 0..<4_096 {
            hostile += [UInt8(rleBlock & 0xFF), UInt8(rleBlock >> 8 & 0xFF), UInt8(rleBlock >> 16), 0x41]
        }
        let path = try recording.write(hostile + recording.compressed, as: "hostile.vgl.zst")
        let (_, clean) = try Self.run("file:" + recording.compressedPath)
        let (result, summary) = try Self.run("file:" + path)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(summary["unreadable_inputs"] as? Int == 0)
        #expect((summary["decode_errors"] as? [String: Int])?["decompression"] == 1)
        #expect(result.standardError.contains("window"), "\(result.standardError)")
        #expect(summary["samples"] as? Int == clean["samples"] as? Int, "the recording after it is read whole")
        let peak = summary["peak_rss_bytes"] as? Int ?? .max
        let cleanPeak = clean["peak_rss_bytes"] as? Int ?? 0
        #expect(peak <= cleanPeak + 64 << 20, "peak RSS \(peak >> 20) MiB against \(cleanPeak >> 20) MiB")
    }
}

/// Samples in the data frames that lie wholly within `bytes[..<prefix]` of a native stream.
func samplesInCompleteFrames(_ bytes: [UInt8], prefix: Int) -> Int {
    frameOffsets(bytes).reduce(0) { total, offset in
        let length =
            Int(bytes[offset + 8]) | Int(bytes[offset + 9]) << 8 | Int(bytes[offset + 10]) << 16
            | Int(bytes[offset + 11]) << 24
        guard bytes[offset + 5] == 2, offset + NativeFormat.headerByteCount + length <= prefix else { return total }
        return total + (Int(bytes[offset + 24]) | Int(bytes[offset + 25]) << 8 | Int(bytes[offset + 26]) << 16)
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
