import CZstd

/// The two zstd calls a segment needs, with errors turned into ``RollupSegmentError`` values.
enum Zstd {
    /// Compresses `input` into one zstd frame that records its content size.
    ///
    /// - Returns: the frame, or nil if zstd reported an error (only on allocation failure in practice).
    static func compress(_ input: [UInt8], level: Int32) -> [UInt8]? {
        let bound = ZSTD_compressBound(input.count)
        var output = [UInt8](repeating: 0, count: bound)
        let written = output.withUnsafeMutableBytes { destination in
            input.withUnsafeBytes { source in
                ZSTD_compress(destination.baseAddress, bound, source.baseAddress, source.count, level)
            }
        }
        guard ZSTD_isError(written) == 0 else { return nil }
        output.removeSubrange(written...)
        return output
    }

    /// Bytes decompressed per step: the output grows by what the frame really produced, not by what the
    /// header claims, until the claim is backed by a checked prefix.
    static let chunkByteCount = 1 << 20

    /// Decompresses one frame whose content size the header declared (checked against the format's
    /// limits). Memory follows what the frame produces: once `prefixByteCount` bytes are out (or the frame
    /// ends), `checkPrefix` sees them, and only when it passes is room for the whole declared size taken.
    ///
    /// - Throws: ``RollupSegmentError/zstd(message:)`` for a corrupt or truncated frame or data after it,
    ///   ``RollupSegmentError/lengthMismatch(field:declared:actual:)`` when the frame's size disagrees, and
    ///   whatever `checkPrefix` throws.
    static func decompress(
        _ frame: UnsafeRawBufferPointer,
        declaredByteCount: Int,
        checkingPrefix prefixByteCount: Int = 0,
        _ checkPrefix: (UnsafeRawBufferPointer) throws -> Void = { _ in }
    ) throws -> [UInt8] {
        let contentSize = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
        // ZSTD_CONTENTSIZE_ERROR and ZSTD_CONTENTSIZE_UNKNOWN are the two largest values.
        guard contentSize < UInt64.max - 1 else {
            throw RollupSegmentError.zstd(message: "payload is not a zstd frame with a known content size")
        }
        guard contentSize == UInt64(declaredByteCount) else {
            throw RollupSegmentError.lengthMismatch(
                field: "uncompressed payload",
                declared: declaredByteCount,
                actual: Int(clamping: contentSize)
            )
        }
        guard let context = ZSTD_createDCtx() else {
            throw RollupSegmentError.zstd(message: "cannot allocate a decompression context")
        }
        defer { ZSTD_freeDCtx(context) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(max(declaredByteCount, 1), chunkByteCount))
        var input = ZSTD_inBuffer(src: frame.baseAddress, size: frame.count, pos: 0)
        var isPrefixChecked = false
        while true {
            let inputBefore = input.pos
            let (hint, produced) = chunk.withUnsafeMutableBytes { destination in
                var buffer = ZSTD_outBuffer(dst: destination.baseAddress, size: destination.count, pos: 0)
                let hint = ZSTD_decompressStream(context, &buffer, &input)
                return (hint, buffer.pos)
            }
            guard ZSTD_isError(hint) == 0 else {
                throw RollupSegmentError.zstd(message: String(cString: ZSTD_getErrorName(hint)))
            }
            guard produced <= declaredByteCount - output.count else {
                throw RollupSegmentError.lengthMismatch(
                    field: "uncompressed payload",
                    declared: declaredByteCount,
                    actual: output.count + produced
                )
            }
            output.append(contentsOf: chunk[0..<produced])
            let isFrameDone = hint == 0
            if !isPrefixChecked && (output.count >= prefixByteCount || isFrameDone) {
                try output.withUnsafeBytes { bytes in
                    try checkPrefix(UnsafeRawBufferPointer(rebasing: bytes[0..<min(prefixByteCount, bytes.count)]))
                }
                isPrefixChecked = true
                output.reserveCapacity(declaredByteCount)
            }
            if isFrameDone { break }
            guard produced > 0 || input.pos > inputBefore else {
                throw RollupSegmentError.zstd(message: "frame ends early (\(output.count) bytes decompressed)")
            }
        }
        guard input.pos == input.size else {
            throw RollupSegmentError.zstd(message: "\(input.size - input.pos) bytes after the zstd frame")
        }
        guard output.count == declaredByteCount else {
            throw RollupSegmentError.lengthMismatch(
                field: "uncompressed payload",
                declared: declaredByteCount,
                actual: output.count
            )
        }
        return output
    }
}
