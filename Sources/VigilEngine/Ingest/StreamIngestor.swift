import VigilCore
import VigilWire

/// The bytes-to-batches step for one stream: a read buffer that always has room for one whole frame, the
/// native decoder, and the stream's ``IngestSession``.
///
/// Frames may straddle reads: after decoding, the unconsumed tail (at most one partial frame) moves to
/// the front of the buffer and the next read appends to it. Bound: `maximumFrameBytes + readChunkBytes`.
final class StreamIngestor {
    private var decoder: NativeStreamDecoder
    private(set) var session: IngestSession
    private let buffer: UnsafeMutableRawBufferPointer
    private let readChunkBytes: Int
    private var filled = 0
    private let counters: EngineCounters
    private var reportedSkipped: Int64 = 0

    init(session: IngestSession, maximumPayloadBytes: Int, readChunkBytes: Int, counters: EngineCounters) {
        self.decoder = NativeStreamDecoder(maxPayloadBytes: maximumPayloadBytes)
        self.session = session
        self.readChunkBytes = readChunkBytes
        self.counters = counters
        buffer = .allocate(
            byteCount: NativeFormat.headerByteCount + maximumPayloadBytes + readChunkBytes,
            alignment: 64
        )
    }

    deinit { buffer.deallocate() }

    /// Where the next read goes: up to `readChunkBytes` after what is buffered.
    var writableTail: UnsafeMutableRawBufferPointer {
        let end = min(buffer.count, filled + readChunkBytes)
        return UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<end])
    }

    /// Bytes of a frame that has not fully arrived yet.
    var bufferedBytes: Int { filled }

    /// Decodes after `count` bytes were read into ``writableTail``.
    func didAppend(_ count: Int) {
        guard count > 0 else { return }
        counters.bytesDecompressed.wrappingIncrement(by: count, ordering: .relaxed)
        filled += count
        let consumed = decoder.decode(UnsafeRawBufferPointer(rebasing: buffer[0..<filled]), delegate: &session)
        let remaining = filled - consumed
        if remaining > 0 && consumed > 0 {
            (buffer.baseAddress! + 0).copyMemory(from: buffer.baseAddress! + consumed, byteCount: remaining)
        }
        filled = remaining
        publishSkipped()
    }

    /// At end of stream: reports a trailing partial frame (truncated input) and hands on partial batches.
    /// - Returns: true if the stream ended inside a frame.
    @discardableResult
    func finish() -> Bool {
        let endedMidFrame = filled > 0
        decoder.finish(remaining: UnsafeRawBufferPointer(rebasing: buffer[0..<filled]), delegate: &session)
        filled = 0
        publishSkipped()
        session.router.flush()
        return endedMidFrame
    }

    private func publishSkipped() {
        let skipped = decoder.statistics.bytesSkipped
        if skipped != reportedSkipped {
            counters.bytesSkipped.wrappingIncrement(by: Int(skipped - reportedSkipped), ordering: .relaxed)
            reportedSkipped = skipped
        }
    }
}
