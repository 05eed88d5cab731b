import CZstd

/// Streaming zstd decompression that survives damage, so `vigil run --input file:fleet.vgl.zst` reads a
/// compressed recording without a temporary file, and a damaged one loses only the zstd frame that holds the
/// damage (`docs/wire-format.md`, "Compressed streams").
///
/// - A frame zstd rejects (a corrupt block, a content checksum mismatch, a window over ``windowLogMaximum``,
///   bytes that do not start a frame) is reported as ``Damage/corruptFrame(frameOffset:stoppedAt:reason:)`` and
///   skipped: decoding resumes at the next zstd frame magic (`28 B5 2F FD`) or skippable-frame magic
///   (`5? 2A 4D 18`). What the frame produced before zstd noticed the damage was handed out already and stays.
/// - Input that ends inside a frame is reported as ``Damage/truncatedFrame(frameOffset:inputEnd:)``; what was
///   decoded before the cut stays.
///
/// Where the search for the next frame starts: at the damaged frame's second byte, or ``lookbackBytes`` (two
/// maximal zstd blocks) before the point where zstd stopped, whichever is later. A damaged block header can make
/// zstd read up to a block past the frame's end, so the search must look back to find the next frame; bytes it
/// then gives zstd a second time are limited to a quarter of the input plus 1 MiB, so input built of fake frame
/// starts cannot make the work quadratic (past that budget, the search starts where zstd stopped).
///
/// Bounds, whatever the input: output goes into the caller's buffer; compressed input is held in one buffer of
/// ``lookbackBytes`` + ``readChunkBytes`` (768 KiB); zstd's own state is at most one window of
/// 2^``windowLogMaximum`` bytes plus a block (a frame that declares its content size, as Vigil's do, needs only
/// that size). Not thread-safe.
public final class ZstdStreamDecompressor {
    /// The largest window a frame may ask for: 2^27 bytes (128 MiB), zstd's own default limit (the `zstd` CLI
    /// refuses larger windows too unless given `--long=N` or `--memory`). Recordings written with
    /// `zstd --long=27` or by older `vigil generate` (window log 27) fit; a frame asking for more is damage.
    public static let windowLogMaximum: Int32 = 27
    /// How far before the point zstd stopped at a damaged frame the search for the next frame may start.
    public static let lookbackBytes = 256 << 10
    /// zstd's frame header prefix (enough to know the header's size) and block header, in bytes.
    static let frameHeaderPrefixBytes = 5
    static let blockHeaderBytes = 3
    /// Compressed bytes asked for per read.
    public static let readChunkBytes = 512 << 10

    /// The zstd frame magic (0xFD2FB528, little-endian), to detect compressed input by content.
    public static let magic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]

    /// Whether `bytes` (at least 4) start a zstd frame or a skippable frame (magic 0x184D2A50 … 0x184D2A5F).
    public static func startsFrame(_ bytes: some Collection<UInt8>) -> Bool {
        guard bytes.count >= 4 else { return false }
        let value = bytes.prefix(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return isFrameMagic(value)
    }

    static func isFrameMagic(_ value: UInt32) -> Bool { value == 0xFD2F_B528 || value & 0xFFFF_FFF0 == 0x184D_2A50 }

    /// Damage found in the compressed input; offsets count compressed bytes from the start of the stream.
    public enum Damage: Equatable, Sendable, CustomStringConvertible {
        /// zstd rejected the frame that starts at `frameOffset` once it had read up to `stoppedAt`.
        case corruptFrame(frameOffset: Int64, stoppedAt: Int64, reason: String)
        /// The input ends at `inputEnd`, inside the frame that starts at `frameOffset`.
        case truncatedFrame(frameOffset: Int64, inputEnd: Int64)

        /// The kind under which the run summary counts it (`decode_errors`).
        public var counterName: String {
            switch self {
            case .corruptFrame: return "decompression"
            case .truncatedFrame: return "truncated_compressed_frame"
            }
        }

        public var description: String {
            switch self {
            case .corruptFrame(let frameOffset, let stoppedAt, let reason):
                return "zstd frame at compressed byte \(frameOffset) is damaged (\(reason), found by compressed byte "
                    + "\(stoppedAt)): the rest of its data is lost, resuming at the next zstd frame"
            case .truncatedFrame(let frameOffset, let inputEnd):
                return "the compressed input ends at byte \(inputEnd), inside the zstd frame at compressed byte "
                    + "\(frameOffset): the data decoded before the cut is kept"
            }
        }
    }

    private let stream: OpaquePointer
    private let reportDamage: (Damage) -> Void
    /// Compressed bytes: `input[0..<end]` are stream bytes from `inputOffset`; zstd gets them from `cursor` on.
    /// Bytes before `cursor` are kept only while a search after damage may need them.
    private let input: UnsafeMutableRawBufferPointer
    private var inputOffset: Int64 = 0
    private var cursor = 0
    private var end = 0
    private var inputEnded = false
    /// Where the frame zstd is decoding starts; nil between frames.
    private var frameStart: Int64?
    /// After damage: where the search for the next frame magic goes on; nil while decoding.
    private var searchFrom: Int64?
    /// zstd's last hint: input bytes to finish the unit it is in, plus the next block header when a block follows.
    private var nextInputHint = 0
    /// Whether zstd may hold decoded bytes it could not flush (the last call filled the output).
    private var holdsOutput = false
    /// The furthest compressed offset zstd has been given, and the bytes it was given a second time.
    private var highWater: Int64 = 0
    private var rewoundBytes: Int64 = 0

    /// - Parameter reportDamage: called once per damaged or cut frame, before decoding goes on.
    public init(reportDamage: @escaping (Damage) -> Void) {
        guard let stream = ZSTD_createDStream() else { fatalError("ZSTD_createDStream failed: out of memory") }
        self.stream = stream
        self.reportDamage = reportDamage
        ZSTD_initDStream(stream)
        ZSTD_DCtx_setParameter(stream, ZSTD_d_windowLogMax, Self.windowLogMaximum)
        input = .allocate(byteCount: Self.lookbackBytes + Self.readChunkBytes, alignment: 16)
    }

    deinit {
        ZSTD_freeDStream(stream)
        input.deallocate()
    }

    /// Decompresses from `readCompressed` into `output`, returning how many bytes it wrote; 0 means the compressed
    /// input is exhausted. Damage is reported, not thrown.
    ///
    /// zstd reports an error without saying what it wrote in the same call, so each call is given at most one
    /// unit (a frame header, a block header, a block, a checksum: zstd's hint less the next block header it
    /// asks for ahead), and output it could not flush is flushed by a call without input first: damage then
    /// loses only the output of the block that holds it.
    /// - Parameter readCompressed: fills the buffer it is given and returns the byte count (0 at end of input);
    ///   what it throws (an I/O error, a stop request) is rethrown as is.
    public func read(
        into output: UnsafeMutableRawBufferPointer,
        readCompressed: (UnsafeMutableRawBufferPointer) throws -> Int
    ) throws -> Int {
        precondition(output.count > 0, "no room to decompress into")
        var outBuffer = ZSTD_outBuffer(dst: output.baseAddress!, size: output.count, pos: 0)
        while outBuffer.pos == 0 {
            if let from = searchFrom {
                if let found = nextFrameMagic(from: from) {
                    cursor = Int(found - inputOffset)
                    searchFrom = nil
                } else {
                    // A magic may straddle reads: its first three bytes are searched again.
                    searchFrom = max(from, inputOffset + Int64(max(0, end - 3)))
                    if inputEnded { return 0 }
                    try refill(readCompressed)
                    continue
                }
            }
            if holdsOutput {
                var noInput = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
                decoded(ZSTD_decompressStream(stream, &outBuffer, &noInput), outBuffer)
                continue
            }
            if cursor == end && !inputEnded {
                try refill(readCompressed)
                continue
            }
            if frameStart == nil {
                if cursor == end { return 0 }  // every frame complete
                frameStart = inputOffset + Int64(cursor)
                nextInputHint = Self.frameHeaderPrefixBytes + Self.blockHeaderBytes
            }
            if cursor == end {
                // zstd has flushed all it decoded and wants more: the input was cut inside this frame.
                reportDamage(.truncatedFrame(frameOffset: frameStart!, inputEnd: inputOffset + Int64(end)))
                ZSTD_DCtx_reset(stream, ZSTD_reset_session_only)
                frameStart = nil
                return 0
            }
            let fedFrom = inputOffset + Int64(cursor)
            let size = min(end - cursor, max(1, nextInputHint - Self.blockHeaderBytes))
            var inBuffer = ZSTD_inBuffer(src: input.baseAddress! + cursor, size: size, pos: 0)
            let hint = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
            // On an error zstd does not say how far it read: all it was given counts.
            cursor += ZSTD_isError(hint) != 0 ? size : inBuffer.pos
            let fedTo = inputOffset + Int64(cursor)
            rewoundBytes += max(0, min(highWater, fedTo) - fedFrom)
            highWater = max(highWater, fedTo)
            if ZSTD_isError(hint) != 0 {
                skipDamagedFrame(code: hint)
            } else {
                decoded(hint, outBuffer)
            }
        }
        return outBuffer.pos
    }

    /// Takes in the result of a call that did not fail.
    private func decoded(_ hint: Int, _ outBuffer: ZSTD_outBuffer) {
        precondition(ZSTD_isError(hint) == 0, "a call without input failed")
        holdsOutput = outBuffer.pos == outBuffer.size
        nextInputHint = hint
        if hint == 0 { frameStart = nil }
    }

    /// Reports the frame zstd rejected, resets zstd and starts the search for the next frame.
    private func skipDamagedFrame(code: Int) {
        let stoppedAt = inputOffset + Int64(cursor)
        let start = frameStart ?? stoppedAt
        var reason = String(cString: ZSTD_getErrorName(code))
        if ZSTD_getErrorCode(code) == ZSTD_error_frameParameter_windowTooLarge {
            reason += ": a window over 2^\(Self.windowLogMaximum) bytes"
        }
        reportDamage(.corruptFrame(frameOffset: start, stoppedAt: stoppedAt, reason: reason))
        ZSTD_DCtx_reset(stream, ZSTD_reset_session_only)
        frameStart = nil
        holdsOutput = false
        let mayRewind = rewoundBytes <= highWater / 4 + (1 << 20)
        searchFrom = max(start + 1, mayRewind ? stoppedAt - Int64(Self.lookbackBytes) : highWater)
    }

    /// The stream offset of the first frame magic at or after `from` among the buffered bytes, if any.
    private func nextFrameMagic(from: Int64) -> Int64? {
        var index = Int(max(from, inputOffset) - inputOffset)
        guard end - index >= 4 else { return nil }
        var window = input.loadUnaligned(fromByteOffset: index, as: UInt32.self).littleEndian
        while true {
            if Self.isFrameMagic(window) { return inputOffset + Int64(index) }
            guard index + 4 < end else { return nil }
            window = window >> 8 | UInt32(input[index + 4]) << 24
            index += 1
        }
    }

    /// Moves the bytes still needed to the front of the buffer and reads more after them; sets `inputEnded` at
    /// the end of input.
    private func refill(_ readCompressed: (UnsafeMutableRawBufferPointer) throws -> Int) throws {
        let cursorOffset = inputOffset + Int64(cursor)
        var keepFrom = cursorOffset
        if let searchFrom {
            keepFrom = searchFrom
        } else if let frameStart {
            keepFrom = max(frameStart + 1, cursorOffset - Int64(Self.lookbackBytes))
        }
        let keep = Int(min(max(keepFrom, inputOffset), inputOffset + Int64(end)) - inputOffset)
        if keep > 0 {
            input.baseAddress!.copyMemory(from: input.baseAddress! + keep, byteCount: end - keep)
            inputOffset += Int64(keep)
            cursor -= keep
            end -= keep
        }
        precondition(input.count - end >= Self.readChunkBytes, "kept more than lookbackBytes")
        let count = try readCompressed(
            UnsafeMutableRawBufferPointer(rebasing: input[end..<(end + Self.readChunkBytes)])
        )
        if count == 0 { inputEnded = true }
        end += count
    }
}
