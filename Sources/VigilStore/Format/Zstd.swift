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

    /// Decompresses one frame whose content size the header declared (already checked against the
    /// format's limits, so the allocation is bounded).
    ///
    /// - Throws: ``RollupSegmentError/zstd(message:)`` for a corrupt frame, or
    ///   ``RollupSegmentError/lengthMismatch(field:declared:actual:)`` when the frame's size disagrees.
    static func decompress(_ frame: UnsafeRawBufferPointer, declaredByteCount: Int) throws -> [UInt8] {
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
        var output = [UInt8](repeating: 0, count: declaredByteCount)
        let produced = output.withUnsafeMutableBytes { destination in
            ZSTD_decompress(destination.baseAddress, destination.count, frame.baseAddress, frame.count)
        }
        guard ZSTD_isError(produced) == 0 else {
            throw RollupSegmentError.zstd(message: String(cString: ZSTD_getErrorName(produced)))
        }
        guard produced == declaredByteCount else {
            throw RollupSegmentError.lengthMismatch(
                field: "uncompressed payload",
                declared: declaredByteCount,
                actual: produced
            )
        }
        return output
    }
}
