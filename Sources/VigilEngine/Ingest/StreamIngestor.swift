import VigilCore
import VigilWire

#if canImport(Glibc)
import Glibc
#endif

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
    /// Bytes of the buffer written since the pages behind them were last released: what it costs in
    /// resident memory (its pages stay mapped after the bytes are consumed, until released).
    private(set) var residentBytes = 0
    private let counters: EngineCounters
    private var reportedSkipped: Int64 = 0

    /// - Parameter buffer: from ``mapReadBuffer(maximumPayloadBytes:readChunkBytes:)``; the ingestor owns it.
    init(
        session: IngestSession,
        buffer: UnsafeMutableRawBufferPointer,
        maximumPayloadBytes: Int,
        readChunkBytes: Int,
        counters: EngineCounters
    ) {
        precondition(
            buffer.count
                == Self.readBufferByteCount(maximumPayloadBytes: maximumPayloadBytes, readChunkBytes: readChunkBytes)
        )
        self.decoder = NativeStreamDecoder(maxPayloadBytes: maximumPayloadBytes)
        self.session = session
        self.readChunkBytes = readChunkBytes
        self.counters = counters
        self.buffer = buffer
    }

    static func readBufferByteCount(maximumPayloadBytes: Int, readChunkBytes: Int) -> Int {
        NativeFormat.headerByteCount + maximumPayloadBytes + readChunkBytes
    }

    /// A stream's read buffer: room for one whole frame and a read. Mapped directly, not from malloc: its
    /// pages go back to the kernel when the stream ends (malloc may keep a freed block of this size in its
    /// heap, where the pages written stay resident), and unused pages can be released while it lives. Only
    /// the pages written are ever resident; no swap is reserved for the rest (`MAP_NORESERVE`).
    /// - Throws: ``SourceError`` when the address space is exhausted (a `ulimit -v`, strict overcommit): the
    ///   stream is refused, the engine goes on.
    static func mapReadBuffer(maximumPayloadBytes: Int, readChunkBytes: Int) throws -> UnsafeMutableRawBufferPointer {
        let byteCount = readBufferByteCount(maximumPayloadBytes: maximumPayloadBytes, readChunkBytes: readChunkBytes)
        let mapped = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw SourceError(source: "read buffer", operation: "map \(byteCount) bytes", errno: errno)
        }
        return UnsafeMutableRawBufferPointer(start: mapped, count: byteCount)
    }

    deinit { munmap(buffer.baseAddress, buffer.count) }

    static let pageBytes = 4096

    /// Where the next read goes: up to `readChunkBytes` after what is buffered.
    var writableTail: UnsafeMutableRawBufferPointer { writableTail(limit: readChunkBytes) }

    /// Where the next read goes, at most `limit` bytes (a budget of buffered bytes shared by connections).
    func writableTail(limit: Int) -> UnsafeMutableRawBufferPointer {
        let end = min(buffer.count, filled + min(readChunkBytes, max(0, limit)))
        return UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<end])
    }

    /// Bytes of a frame that has not fully arrived yet (or up to three that may begin a magic).
    var bufferedBytes: Int { filled }

    /// The acknowledgements gathered for the sender since the last call (see ``IngestSession``).
    func takeAcknowledgement() -> NativeAcknowledgement? { session.takeAcknowledgement() }

    /// Samples in the data frames decoded so far, and retried frames skipped: whether a sender sends telemetry.
    var samplesDecoded: Int { decoder.statistics.samples + decoder.statistics.framesSkippedAsRetries }

    /// Valid frames (schema and data, retries skipped included) decoded so far: a sender's progress.
    var framesDecoded: Int {
        decoder.statistics.dataFrames + decoder.statistics.schemaFrames + decoder.statistics.framesSkippedAsRetries
    }

    /// Gives the pages of the buffer past the bytes it holds back to the kernel (`residentBytes` then
    /// covers only what is buffered). Cheap to skip: a buffer that is reused soon faults them in again.
    /// - Returns: how many bytes `residentBytes` went down by.
    @discardableResult
    func releaseUnusedPages() -> Int {
        let keep = (filled + Self.pageBytes - 1) / Self.pageBytes * Self.pageBytes
        guard residentBytes > keep else { return 0 }
        #if os(Linux)
        _ = madvise(buffer.baseAddress! + keep, residentBytes - keep, MADV_DONTNEED)
        #endif
        let released = residentBytes - keep
        residentBytes = keep
        return released
    }

    /// Decodes after `count` bytes were read into ``writableTail``.
    func didAppend(_ count: Int) {
        guard count > 0 else { return }
        counters.bytesDecompressed.wrappingIncrement(by: count, ordering: .relaxed)
        if !formatChecked && filled + count >= 4 {
            formatChecked = true
            warnIfNotNative(UnsafeRawBufferPointer(rebasing: buffer[0..<4]))
        }
        filled += count
        residentBytes = max(residentBytes, filled)
        let consumed = decoder.decode(UnsafeRawBufferPointer(rebasing: buffer[0..<filled]), delegate: &session)
        let remaining = filled - consumed
        if remaining > 0 && consumed > 0 {
            (buffer.baseAddress! + 0).copyMemory(from: buffer.baseAddress! + consumed, byteCount: remaining)
        }
        filled = remaining
        publishSkipped()
    }

    /// At end of stream: reports a trailing partial frame (truncated input), settles the source's clock
    /// (``IngestSession/finishClock()``) and hands on partial batches.
    ///
    /// - Parameter discardingPartialFrame: the stream was cut by Vigil, not by its sender (the run is
    ///   stopping, or a TCP sender was disconnected for a limit): a partial frame is then dropped without a
    ///   decode error; the caller counts it under the reason it cut the stream.
    /// - Returns: true if the stream ended inside a frame.
    @discardableResult
    func finish(discardingPartialFrame: Bool = false, keepingSender: Bool = false) -> Bool {
        let endedMidFrame = filled > 0
        if !(discardingPartialFrame && endedMidFrame) {
            decoder.finish(remaining: UnsafeRawBufferPointer(rebasing: buffer[0..<filled]), delegate: &session)
        }
        filled = 0
        // The pages go back now, not when the last reference to this ingestor goes (a TCP listener closing
        // many connections in one round keeps them until the round ends).
        releaseUnusedPages()
        publishSkipped()
        session.finishClock(keepingSender: keepingSender)
        session.router.flush()
        return endedMidFrame
    }

    /// Whether the stream's first bytes were looked at for a format that is not Vigil's own.
    private var formatChecked = false

    /// Names a packet capture given where native frames are read: the decoder would only skip its bytes as
    /// garbage (counted), and the user would not learn why nothing came in.
    private func warnIfNotNative(_ head: UnsafeRawBufferPointer) {
        guard CaptureStreamDecoder.startsCapture(Array(head)) else { return }
        session.logger.error(
            "\(session.streamName): this is a packet capture (pcap/pcapng), not native Vigil frames: give it as --input pcap:PATH (or pcap:- for standard input)"
        )
    }

    private func publishSkipped() {
        let skipped = decoder.statistics.bytesSkipped
        if skipped != reportedSkipped {
            counters.bytesSkipped.wrappingIncrement(by: Int(skipped - reportedSkipped), ordering: .relaxed)
            reportedSkipped = skipped
        }
    }
}
