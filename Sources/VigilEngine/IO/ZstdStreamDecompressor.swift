import CZstd

/// Streaming zstd decompression, so `vigil run --input file:fleet.vgl.zst` reads a compressed recording
/// without a temporary file. Bounded: output is produced into the caller's buffer, a chunk at a time.
public final class ZstdStreamDecompressor {
    private let stream: OpaquePointer
    /// Compressed bytes not yet consumed, `pending[pendingStart..<pendingEnd]`.
    private var pending: UnsafeMutableRawBufferPointer
    private var pendingStart = 0
    private var pendingEnd = 0
    private var frameOpen = false

    public enum Failure: Error, CustomStringConvertible {
        case zstd(String)
        case truncated

        public var description: String {
            switch self {
            case .zstd(let message): return "zstd: \(message)"
            case .truncated: return "zstd: the compressed input ends inside a frame (truncated file)"
            }
        }
    }

    /// The zstd frame magic (0xFD2FB528, little-endian), to detect compressed input by content.
    public static let magic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]

    public init() {
        guard let stream = ZSTD_createDStream() else { fatalError("ZSTD_createDStream failed: out of memory") }
        self.stream = stream
        ZSTD_initDStream(stream)
        // Long-window recordings (zstd --long=27) need a 128 MiB window; cap there, not at the 8 MiB default.
        ZSTD_DCtx_setParameter(stream, ZSTD_d_windowLogMax, 27)
        pending = .allocate(byteCount: ZSTD_DStreamInSize() * 4, alignment: 16)
    }

    deinit {
        ZSTD_freeDStream(stream)
        pending.deallocate()
    }

    /// Decompresses from `readCompressed` into `output`, returning how many bytes it wrote; 0 means the
    /// compressed input is exhausted and every frame complete.
    /// - Parameter readCompressed: fills the buffer it is given and returns the byte count (0 at end of input).
    public func read(
        into output: UnsafeMutableRawBufferPointer,
        readCompressed: (UnsafeMutableRawBufferPointer) throws -> Int
    ) throws -> Int {
        var produced = 0
        while produced == 0 {
            if pendingStart == pendingEnd {
                pendingStart = 0
                pendingEnd = try readCompressed(pending)
                if pendingEnd == 0 {
                    if frameOpen { throw Failure.truncated }
                    return 0
                }
            }
            var inBuffer = ZSTD_inBuffer(src: pending.baseAddress! + pendingStart, size: pendingEnd - pendingStart, pos: 0)
            var outBuffer = ZSTD_outBuffer(dst: output.baseAddress!, size: output.count, pos: 0)
            let hint = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
            if ZSTD_isError(hint) != 0 { throw Failure.zstd(String(cString: ZSTD_getErrorName(hint))) }
            frameOpen = hint != 0
            pendingStart += inBuffer.pos
            produced = outBuffer.pos
            if produced == output.count { break }
            if produced > 0 && pendingStart == pendingEnd { break }
        }
        return produced
    }
}
