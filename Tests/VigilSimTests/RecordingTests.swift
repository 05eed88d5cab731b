import CZstd
import Foundation
import Testing
import VigilCore
import VigilEngine
import VigilSim

@Suite("Recording")
struct RecordingTests {
    @Test("a data frame has the v1 header, both CRC32Cs and the columnar payload of the spec")
    func dataFrameLayout() throws {
        var encoder = NativeRecordingEncoder(samplesPerDataFrame: 2)
        let timestamps: [Int64] = [1, 2, 3]
        let wireIDs: [UInt32] = [7, 8, 9]
        let values: [Double] = [1.5, -2, 0]
        try timestamps.withUnsafeBufferPointer { t in
            try wireIDs.withUnsafeBufferPointer { w in
                try values.withUnsafeBufferPointer { v in try encoder.consume(timestamps: t, wireIDs: w, values: v) }
            }
        }
        let bytes = encoder.bytes
        // Two frames: 2 samples (24 + 8 + 40) and 1 sample (24 + 8 + 20).
        #expect(bytes.count == 72 + 52)
        #expect(Array(bytes[0..<8]) == [0x56, 0x47, 0x49, 0x4C, 1, 2, 0, 0])
        func u32(_ offset: Int) -> UInt32 { bytes[offset..<offset + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        #expect(u32(8) == 48)
        #expect(u32(12) == CRC32C.checksum(Array(bytes[24..<72])))
        #expect(u32(20) == CRC32C.checksum(Array(bytes[0..<20])))
        #expect(u32(24) == 2 && u32(28) == 0)
        #expect(bytes[32] == 1 && bytes[40] == 2)  // timestamps 1, 2
        #expect(Array(bytes[48..<56]) == [0, 0, 0, 0, 0, 0, 0xF8, 0x3F])  // 1.5
        #expect(u32(64) == 7 && u32(68) == 8)
        #expect(u32(72 + 8) == 28 && u32(72 + 24) == 1 && u32(72 + 48) == 9)
    }

    @Test("CompressedFileWriter: a zstd file decompresses to the bytes written; a plain file holds them as is")
    func writerRoundTrip() throws {
        var random = SplitMix64(seed: 3)
        let payload = (0..<3_000_000).map { index in
            index % 7 == 0 ? UInt8(truncatingIfNeeded: random.next()) : UInt8(index % 251)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-sim-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, windowLog) in [("a.zst", Int32?.none), ("b.zst", 27), ("c.vgl", nil)] {
            let path = directory.appendingPathComponent(name).path
            let writer = try CompressedFileWriter(
                path: path,
                compression: CompressedFileWriter.compression(forPath: path, level: 3, windowLog: windowLog)
            )
            // Uneven chunks, to cross the staging buffer's edges.
            var offset = 0
            var chunk = 1
            while offset < payload.count {
                let end = min(payload.count, offset + chunk)
                try writer.write(Array(payload[offset..<end]))
                offset = end
                chunk = chunk * 3 + 1
            }
            #expect(!FileManager.default.fileExists(atPath: path))  // published only on close
            try writer.close()
            let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(Int64(file.count) == writer.bytesOut)
            if name.hasSuffix(".zst") {
                #expect(file.count < payload.count / 2)
                var decompressed = [UInt8](repeating: 0, count: payload.count + 1)
                let context = ZSTD_createDCtx()
                defer { ZSTD_freeDCtx(context) }
                ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, 27)
                let size = decompressed.withUnsafeMutableBytes { out in
                    file.withUnsafeBytes {
                        ZSTD_decompressDCtx(context, out.baseAddress, out.count, $0.baseAddress, $0.count)
                    }
                }
                #expect(ZSTD_isError(size) == 0)
                #expect(Array(decompressed.prefix(size)) == payload)
            } else {
                #expect(file == payload)
            }
        }
        #expect(throws: CompressedFileWriterError.self) {
            try CompressedFileWriter(path: directory.appendingPathComponent("no/such/dir.zst").path, compression: .none)
        }
        #expect(throws: CompressedFileWriterError.self) {
            try CompressedFileWriter(
                path: directory.appendingPathComponent("x.zst").path,
                compression: .zstd(level: 40, windowLog: nil)
            )
        }
    }
}
