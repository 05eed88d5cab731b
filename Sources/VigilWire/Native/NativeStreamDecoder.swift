import VigilCore

/// Decodes a stream of native frames (docs/wire-format.md) into schema declarations and data frame views.
///
/// Pure and incremental: the caller owns the bytes. Each ``decode(_:delegate:)`` call decodes every complete
/// frame in its buffer and returns how many bytes it consumed; the caller keeps the rest and presents it again,
/// with more data appended, in the next call. A frame whose payload has not fully arrived is therefore not an
/// error; the caller's buffer must be able to hold ``maxFrameByteCount`` bytes for every frame to complete.
///
/// Every malformed input is a typed, counted ``NativeDecodeError`` with its absolute stream offset, and the
/// decoder resynchronises at the next valid frame: garbage before a magic is skipped (reported once per run);
/// a bad header CRC or an oversized length rescans from the next byte; a frame with a valid header but a bad
/// payload resumes at the next valid header inside it, if any (the frame was cut short and the stream went on),
/// else after it; a frame with an unknown type or an unsupported version (and a matching payload CRC) is
/// skipped whole. The frames decoded are exactly those a byte-by-byte search finds: at each position, a frame
/// whose header and payload CRCs match is decoded and the search continues after it; anything else, the
/// search continues at the next byte.
///
/// The decoder keeps no per-series state: wire ids are the engine's to map. Per sample it does nothing at all;
/// the only per-frame work is two CRC32C passes (header and payload) and, for schema frames, parsing. Inside a
/// damaged region (from a frame whose payload CRC failed to the end of the furthest such frame overlapping it)
/// payloads are checked through the running checksums of one pass over the region instead, so that however
/// the frames there nest, the CRC work stays linear in the region's length.
public struct NativeStreamDecoder {
    /// Frames announcing a longer payload are rejected without waiting for it.
    public let maxPayloadBytes: Int
    @usableFromInline var _statistics: NativeDecoderStatistics
    /// Absolute stream offset of the first byte of the next buffer passed to `decode`.
    @usableFromInline var _streamOffset: Int64
    /// Start of the open garbage run; meaningful only while `_garbageRunByteCount > 0`.
    @usableFromInline var _garbageRunStart: Int64
    @usableFromInline var _garbageRunByteCount: Int
    /// The end of the damaged region: of the furthest frame whose payload CRC failed. Frames that start before
    /// it are checked through `_damagedRegion`. Every rescan inside a bad frame can find another header whose
    /// payload would cost a full CRC pass, and each of those can hold more: checked directly, nested fake
    /// headers each claiming 4 MiB would make the work quadratic.
    @usableFromInline var _damagedRegionEnd: Int64
    /// The running checksums of the damaged region; empty outside one.
    @usableFromInline var _damagedRegion: _DamagedRegionChecksums
    /// While above the next offset: the resync scan inside a frame with a bad payload CRC stopped at a
    /// candidate too close to the end of the buffer to check, and continues here with the next call (so
    /// that how reads cut the stream changes nothing that is reported). Never above `_damagedRegionEnd`.
    @usableFromInline var _rescanEnd: Int64

    /// - Parameter maxPayloadBytes: the largest payload accepted, at most `UInt32.max` (default 4 MiB).
    public init(maxPayloadBytes: Int = NativeFormat.defaultMaxPayloadBytes) {
        precondition(
            maxPayloadBytes >= 0 && UInt64(maxPayloadBytes) <= UInt64(UInt32.max),
            "maxPayloadBytes must be in 0...UInt32.max"
        )
        self.maxPayloadBytes = maxPayloadBytes
        self._statistics = NativeDecoderStatistics()
        self._streamOffset = 0
        self._garbageRunStart = 0
        self._garbageRunByteCount = 0
        self._damagedRegionEnd = 0
        self._damagedRegion = _DamagedRegionChecksums(
            maxFrameByteCount: NativeFormat.headerByteCount + maxPayloadBytes
        )
        self._rescanEnd = 0
    }

    /// Frames by type, samples, bytes consumed and skipped, errors by kind.
    public var statistics: NativeDecoderStatistics { _statistics }

    /// Absolute stream offset of the next byte the decoder expects (everything before it is consumed).
    public var streamOffset: Int64 { _streamOffset }

    /// The largest frame this decoder accepts: the buffer size a caller needs so that every frame can complete.
    public var maxFrameByteCount: Int { NativeFormat.headerByteCount + maxPayloadBytes }

    /// Payload bytes checksummed because of damage: the direct pass over each frame whose payload CRC failed
    /// outside a damaged region, and the damaged regions' own passes and block tails. Every other payload byte
    /// checksummed belongs to a delivered frame, once; tests bound this to show the resync's work is linear.
    @_spi(Testing) public var damageChecksummedByteCount: Int64 { _damagedRegion.checksummedByteCount }

    /// Bytes of running checksums held for the damaged region now (0 outside one), and the most ever held: at
    /// most 4 per 16 bytes of ``maxFrameByteCount``, plus 8.
    @_spi(Testing) public var damagedRegionMemoryByteCount: (now: Int, peak: Int) {
        (_damagedRegion.memoryByteCount, _damagedRegion.peakMemoryByteCount)
    }

    /// Decodes every complete frame in `bytes`, which continue the stream where the last call's consumed
    /// bytes ended, and passes declarations, data frames and errors to `delegate` in stream order.
    ///
    /// O(`bytes.count`): each byte is looked at a bounded number of times (a magic candidate whose header
    /// fails is rescanned from its next byte, so a header's 24 bytes may be looked at up to 24 times), and a
    /// damaged region's payload checks cost one pass over the region plus O(log payload) per frame in it.
    ///
    /// - Parameters:
    ///   - bytes: the unconsumed tail of the previous call followed by new data.
    ///   - delegate: receives the results; ``DataFrameView``s point into `bytes` and live only during the call.
    /// - Returns: bytes consumed. The caller keeps `bytes[consumed...]` (at most one incomplete frame, or up to
    ///   three bytes that may begin a magic) and presents them again with more data appended.
    @inlinable
    public mutating func decode<Delegate: NativeDecoderDelegate>(
        _ bytes: UnsafeRawBufferPointer,
        delegate: inout Delegate
    ) -> Int {
        guard let base = bytes.baseAddress else { return 0 }
        let end = bytes.count
        var position = 0
        // Bounded: every step advances `position` by at least one byte, or advances none and ends the loop.
        while position < end {
            let next =
                _streamOffset &+ Int64(position) < _damagedRegionEnd
                ? _decodeStepInDamagedRegion(base, at: position, end: end, delegate: &delegate)
                : _decodeStep(base, at: position, end: end, inDamagedRegion: false, delegate: &delegate)
            // No progress: what starts at `position` (a frame or a magic) has not fully arrived.
            guard next > position else { break }
            position = next
        }
        _streamOffset &+= Int64(position)
        _statistics.bytesConsumed &+= Int64(position)
        return position
    }

    /// Ends the stream: decodes what is left in `remaining` and reports any bytes that still do not make a
    /// whole frame as ``NativeDecodeError/truncatedFrame(offset:needed:available:)``, then closes any open
    /// garbage run. Call it once, with the unconsumed tail of the last ``decode(_:delegate:)`` call.
    @inlinable
    public mutating func finish<Delegate: NativeDecoderDelegate>(
        remaining: UnsafeRawBufferPointer,
        delegate: inout Delegate
    ) {
        guard let base = remaining.baseAddress else {
            _closeGarbageRun(delegate: &delegate)
            return
        }
        let end = remaining.count
        var position = 0
        // Bounded: every iteration consumes at least one byte (a truncated frame's first) or leaves the loop.
        while true {
            position &+= decode(
                UnsafeRawBufferPointer(start: base + position, count: end &- position),
                delegate: &delegate
            )
            let leftover = end &- position
            guard leftover > 0 else { break }
            // `decode` stops only before a magic prefix shorter than a header, or before a frame whose valid
            // header announces a payload within the limit that has not fully arrived.
            var neededByteCount = NativeFormat.headerByteCount
            if leftover >= NativeFormat.headerByteCount {
                let payloadLength = UInt32(
                    littleEndian: base.loadUnaligned(
                        fromByteOffset: position &+ _NativeHeader.payloadLengthOffset,
                        as: UInt32.self
                    )
                )
                neededByteCount &+= Int(payloadLength)
            }
            _closeGarbageRun(delegate: &delegate)
            _report(
                .truncatedFrame(offset: _streamOffset, needed: neededByteCount, available: leftover),
                delegate: &delegate
            )
            // The truncated frame may have been cut short by a sender that restarted: frames that follow
            // inside its claimed length still decode.
            let skippedByteCount = _nextFrameStart(base + position, from: 1, end: leftover, bufferEnd: leftover)
            position &+= skippedByteCount
            _streamOffset &+= Int64(skippedByteCount)
            _statistics.bytesConsumed &+= Int64(skippedByteCount)
            _statistics.bytesSkipped &+= Int64(skippedByteCount)
        }
        _closeGarbageRun(delegate: &delegate)
    }

    // MARK: - Steps

    /// Decodes what starts at `position`: a frame, a garbage run up to the next magic candidate, or the first
    /// byte of a magic whose header is rejected.
    ///
    /// - Returns: where the next step starts; `position` itself when what starts there has not fully arrived.
    @inlinable
    @inline(__always)
    mutating func _decodeStep<Delegate: NativeDecoderDelegate>(
        _ base: UnsafeRawPointer,
        at position: Int,
        end: Int,
        inDamagedRegion: Bool,
        delegate: inout Delegate
    ) -> Int {
        let available = end &- position
        let frameOffset = _streamOffset &+ Int64(position)
        guard available >= 4 else {
            if _isMagicPrefix(base + position, byteCount: available) { return position }
            _skipGarbage(at: frameOffset, byteCount: 1)
            return position &+ 1
        }
        let header = base + position
        guard header.loadUnaligned(as: UInt32.self) == NativeFormat.magic.littleEndian else {
            let candidate = _nextMagicCandidate(base, from: position &+ 1, end: end)
            _skipGarbage(at: frameOffset, byteCount: candidate &- position)
            return candidate
        }
        guard available >= NativeFormat.headerByteCount else { return position }
        let storedHeaderChecksum = UInt32(
            littleEndian: header.loadUnaligned(fromByteOffset: _NativeHeader.headerChecksumOffset, as: UInt32.self)
        )
        let computedHeaderChecksum = CRC32C.checksum(
            UnsafeRawBufferPointer(start: header, count: NativeFormat.headerChecksummedByteCount)
        )
        guard storedHeaderChecksum == computedHeaderChecksum else {
            _report(
                .headerChecksumMismatch(
                    offset: frameOffset,
                    expected: storedHeaderChecksum,
                    computed: computedHeaderChecksum
                ),
                delegate: &delegate
            )
            _skipGarbage(at: frameOffset, byteCount: 1)
            return position &+ 1
        }
        // A header with a valid CRC ends any garbage run before it, whatever happens to its frame.
        _closeGarbageRun(delegate: &delegate)
        let version = header.load(fromByteOffset: _NativeHeader.versionOffset, as: UInt8.self)
        let payloadLength = UInt32(
            littleEndian: header.loadUnaligned(fromByteOffset: _NativeHeader.payloadLengthOffset, as: UInt32.self)
        )
        guard UInt64(payloadLength) <= UInt64(maxPayloadBytes) else {
            if version != NativeFormat.version {
                _report(.unsupportedVersion(offset: frameOffset, version: version), delegate: &delegate)
            } else {
                _report(
                    .payloadTooLarge(offset: frameOffset, length: payloadLength, limit: maxPayloadBytes),
                    delegate: &delegate
                )
            }
            _skipGarbage(at: frameOffset, byteCount: 1)
            return position &+ 1
        }
        let frameByteCount = NativeFormat.headerByteCount &+ Int(payloadLength)
        // Not an error: the rest of the frame arrives with the next call. Nothing is reported before the
        // whole frame is here, so presenting the same header again never reports twice.
        guard available >= frameByteCount else { return position }
        return position
            &+ _decodeFrame(
                header: header,
                payloadByteCount: Int(payloadLength),
                frameOffset: frameOffset,
                availableByteCount: available,
                inDamagedRegion: inDamagedRegion,
                delegate: &delegate
            )
    }

    /// A step that starts inside the damaged region (cold): continues a rescan the previous call left open,
    /// checks payloads through the region's running checksums, and forgets the region once past it.
    @inlinable
    @inline(never)
    mutating func _decodeStepInDamagedRegion<Delegate: NativeDecoderDelegate>(
        _ base: UnsafeRawPointer,
        at position: Int,
        end: Int,
        delegate: inout Delegate
    ) -> Int {
        let frameOffset = _streamOffset &+ Int64(position)
        var next = position
        if frameOffset < _rescanEnd {
            let limit = min(end, position &+ Int(_rescanEnd &- frameOffset))
            next = _nextFrameStart(base, from: position, end: limit, bufferEnd: end)
            _statistics.bytesSkipped &+= Int64(next &- position)
            // A candidate at `position`: checked now (decoded normally), or still too close to the end.
            if next == position && end &- position >= NativeFormat.headerByteCount { _rescanEnd = 0 }
        }
        if next == position {
            next = _decodeStep(base, at: position, end: end, inDamagedRegion: true, delegate: &delegate)
        }
        if _streamOffset &+ Int64(next) >= _damagedRegionEnd {
            _damagedRegion.reset()
        }
        return next
    }

    // MARK: - Frames

    /// Checks and delivers one complete frame whose header CRC is valid and whose payload is within the limit.
    ///
    /// - Returns: the bytes consumed: the whole frame, or less when its payload CRC fails and a valid header
    ///   starts inside it (the frame was cut short and the stream continued).
    @inlinable
    @inline(__always)
    mutating func _decodeFrame<Delegate: NativeDecoderDelegate>(
        header: UnsafeRawPointer,
        payloadByteCount: Int,
        frameOffset: Int64,
        availableByteCount: Int,
        inDamagedRegion: Bool,
        delegate: inout Delegate
    ) -> Int {
        let frameByteCount = NativeFormat.headerByteCount &+ payloadByteCount
        let version = header.load(fromByteOffset: _NativeHeader.versionOffset, as: UInt8.self)
        let payload = UnsafeRawBufferPointer(start: header + NativeFormat.headerByteCount, count: payloadByteCount)
        let storedPayloadChecksum = UInt32(
            littleEndian: header.loadUnaligned(fromByteOffset: _NativeHeader.payloadChecksumOffset, as: UInt32.self)
        )
        // `inDamagedRegion` is a constant in each caller, so the fast path is a direct pass and nothing more.
        let computedPayloadChecksum =
            inDamagedRegion
            ? _damagedRegion.payloadChecksum(
                frame: header,
                frameOffset: frameOffset,
                payloadByteCount: payloadByteCount
            )
            : CRC32C.checksum(payload)
        guard storedPayloadChecksum == computedPayloadChecksum else {
            // The header was intact but the payload is not: either bits flipped in it (skip the frame) or the
            // frame was cut short and another frame follows inside its claimed length (resume there). A header
            // of another version is no frame either without a payload its CRC vouches for: a forged one must not
            // hide the frames in its claimed length.
            if !inDamagedRegion { _damagedRegion.countDirectCheck(byteCount: payloadByteCount) }
            let frameEnd = frameOffset &+ Int64(frameByteCount)
            if frameEnd > _damagedRegionEnd { _damagedRegionEnd = frameEnd }
            let skippedByteCount = _nextFrameStart(
                header,
                from: 1,
                end: frameByteCount,
                bufferEnd: availableByteCount
            )
            if skippedByteCount < frameByteCount
                && availableByteCount &- skippedByteCount < NativeFormat.headerByteCount
            {
                _rescanEnd = frameEnd
            }
            _rejectFrame(
                version == NativeFormat.version
                    ? .payloadChecksumMismatch(
                        offset: frameOffset,
                        expected: storedPayloadChecksum,
                        computed: computedPayloadChecksum
                    )
                    : .unsupportedVersion(offset: frameOffset, version: version),
                frameByteCount: skippedByteCount,
                delegate: &delegate
            )
            return skippedByteCount
        }
        guard version == NativeFormat.version else {
            _rejectFrame(
                .unsupportedVersion(offset: frameOffset, version: version),
                frameByteCount: frameByteCount,
                delegate: &delegate
            )
            return frameByteCount
        }
        let typeRawValue = header.load(fromByteOffset: _NativeHeader.typeOffset, as: UInt8.self)
        guard let type = NativeFrameType(rawValue: typeRawValue) else {
            _rejectFrame(
                .unknownFrameType(offset: frameOffset, type: typeRawValue),
                frameByteCount: frameByteCount,
                delegate: &delegate
            )
            return frameByteCount
        }
        let flags = UInt16(
            littleEndian: header.loadUnaligned(fromByteOffset: _NativeHeader.flagsOffset, as: UInt16.self)
        )
        if flags & NativeFormat.sequencedFlag != 0 && (type == .data || type == .schema) {
            _decodeNumberedFrame(
                header: header,
                type: type,
                payload: payload,
                frameOffset: frameOffset,
                delegate: &delegate
            )
            return frameByteCount
        }
        switch type {
        case .data:
            _decodeDataPayload(payload, frameOffset: frameOffset, delegate: &delegate)
        case .schema:
            _decodeSchemaPayload(payload, frameOffset: frameOffset, delegate: &delegate)
        case .hello:
            if let hello = NativeHello(payload: payload) {
                delegate.nativeDecoder(didReceive: hello)
            } else {
                _rejectFrame(
                    .malformedHello(offset: frameOffset, byteCount: payload.count),
                    frameByteCount: frameByteCount,
                    delegate: &delegate
                )
            }
        case .acknowledgement:
            // Only Vigil sends acknowledgements: in a sender's stream one is a frame of no known use.
            _rejectFrame(
                .unknownFrameType(offset: frameOffset, type: type.rawValue),
                frameByteCount: frameByteCount,
                delegate: &delegate
            )
        }
        return frameByteCount
    }

    /// A numbered schema or data frame (cold: senders that want acknowledgements): the delegate may skip it
    /// as a retry, and learns whether it was delivered.
    @inlinable
    @inline(never)
    mutating func _decodeNumberedFrame<Delegate: NativeDecoderDelegate>(
        header: UnsafeRawPointer,
        type: NativeFrameType,
        payload: UnsafeRawBufferPointer,
        frameOffset: Int64,
        delegate: inout Delegate
    ) {
        let sequence = UInt32(
            littleEndian: header.loadUnaligned(fromByteOffset: _NativeHeader.reservedOffset, as: UInt32.self)
        )
        guard delegate.nativeDecoder(shouldDecodeFrameNumbered: sequence, type: type, offset: frameOffset) else {
            _statistics.framesSkippedAsRetries &+= 1
            return
        }
        let errorsBefore = _statistics.totalErrors
        if type == .data {
            _decodeDataPayload(payload, frameOffset: frameOffset, delegate: &delegate)
        } else {
            _decodeSchemaPayload(payload, frameOffset: frameOffset, delegate: &delegate)
        }
        delegate.nativeDecoder(didFinishFrameNumbered: sequence, delivered: _statistics.totalErrors == errorsBefore)
    }

    @inlinable
    mutating func _decodeDataPayload<Delegate: NativeDecoderDelegate>(
        _ payload: UnsafeRawBufferPointer,
        frameOffset: Int64,
        delegate: inout Delegate
    ) {
        let frameByteCount = NativeFormat.headerByteCount &+ payload.count
        guard payload.count >= NativeFormat.dataPayloadPrefixByteCount else {
            _rejectFrame(
                .malformedData(offset: frameOffset, reason: .payloadTooShort(byteCount: payload.count)),
                frameByteCount: frameByteCount,
                delegate: &delegate
            )
            return
        }
        let payloadBase = payload.baseAddress!
        let sampleCount = UInt32(littleEndian: payloadBase.loadUnaligned(as: UInt32.self))
        // Cannot overflow: sampleCount < 2^32, so 20 × sampleCount < 2^37.
        let expectedByteCount = NativeFormat.dataPayloadByteCount(sampleCount: Int(sampleCount))
        guard expectedByteCount == payload.count else {
            _rejectFrame(
                .malformedData(
                    offset: frameOffset,
                    reason: .lengthMismatch(
                        count: sampleCount,
                        expectedBytes: expectedByteCount,
                        actualBytes: payload.count
                    )
                ),
                frameByteCount: frameByteCount,
                delegate: &delegate
            )
            return
        }
        _statistics.dataFrames &+= 1
        _statistics.samples &+= Int(sampleCount)
        delegate.nativeDecoder(
            didDecode: DataFrameView(
                count: Int(sampleCount),
                streamOffset: frameOffset,
                columns: payloadBase + NativeFormat.dataPayloadPrefixByteCount
            )
        )
    }

    /// Schema frames are rare, so their parsing is out of line and allocates; only delivery is generic.
    @inlinable
    mutating func _decodeSchemaPayload<Delegate: NativeDecoderDelegate>(
        _ payload: UnsafeRawBufferPointer,
        frameOffset: Int64,
        delegate: inout Delegate
    ) {
        switch _parseSchemaPayload(payload) {
        case .entries(let entries):
            _statistics.schemaFrames &+= 1
            _statistics.schemaEntries &+= entries.count
            for entry in entries {
                delegate.nativeDecoder(didDeclare: entry)
            }
        case .malformed(let payloadByteOffset, let defect):
            let payloadOffset = frameOffset &+ Int64(NativeFormat.headerByteCount)
            _rejectFrame(
                .malformedSchema(
                    offset: frameOffset,
                    fieldOffset: payloadOffset &+ Int64(payloadByteOffset),
                    reason: defect
                ),
                frameByteCount: NativeFormat.headerByteCount &+ payload.count,
                delegate: &delegate
            )
        }
    }

    // MARK: - Errors and garbage

    @inlinable
    mutating func _report<Delegate: NativeDecoderDelegate>(_ error: NativeDecodeError, delegate: inout Delegate) {
        _statistics._count(error.kind)
        delegate.nativeDecoder(didFail: error)
    }

    /// Reports `error` about a frame and counts its `frameByteCount` bytes as skipped.
    @inlinable
    mutating func _rejectFrame<Delegate: NativeDecoderDelegate>(
        _ error: NativeDecodeError,
        frameByteCount: Int,
        delegate: inout Delegate
    ) {
        _statistics.bytesSkipped &+= Int64(frameByteCount)
        _report(error, delegate: &delegate)
    }

    /// Adds `byteCount` bytes at `offset` to the open garbage run, opening one if needed.
    @inlinable
    mutating func _skipGarbage(at offset: Int64, byteCount: Int) {
        if _garbageRunByteCount == 0 {
            _garbageRunStart = offset
        }
        assert(
            _garbageRunStart &+ Int64(_garbageRunByteCount) == offset,
            "garbage runs must be contiguous: anything else consumed closes the run first"
        )
        _garbageRunByteCount &+= byteCount
        _statistics.bytesSkipped &+= Int64(byteCount)
    }

    @inlinable
    mutating func _closeGarbageRun<Delegate: NativeDecoderDelegate>(delegate: inout Delegate) {
        guard _garbageRunByteCount > 0 else { return }
        let byteCount = _garbageRunByteCount
        _garbageRunByteCount = 0
        _report(.garbageSkipped(offset: _garbageRunStart, byteCount: byteCount), delegate: &delegate)
    }
}

/// True when the `byteCount` (< 4) bytes at `bytes` are the start of the magic, so more data may complete it.
@inlinable
func _isMagicPrefix(_ bytes: UnsafeRawPointer, byteCount: Int) -> Bool {
    let magic = NativeFormat.magic
    for index in 0..<byteCount
    where bytes.load(fromByteOffset: index, as: UInt8.self) != UInt8(truncatingIfNeeded: magic >> (8 * index)) {
        return false
    }
    return true
}

/// The index of the next byte in `start..<end` equal to the magic's first byte (`V`), or `end`.
@inlinable
func _nextMagicCandidate(_ base: UnsafeRawPointer, from start: Int, end: Int) -> Int {
    let firstMagicByte = UInt8(truncatingIfNeeded: NativeFormat.magic)
    var index = start
    while index < end && base.load(fromByteOffset: index, as: UInt8.self) != firstMagicByte {
        index &+= 1
    }
    return index
}

/// The index in `start..<end` of the first possible frame start: a magic whose header CRC is valid, or a magic
/// (or magic prefix) too close to `bufferEnd` to check. `end` when there is none. Cold: runs only on damage.
@usableFromInline
func _nextFrameStart(_ base: UnsafeRawPointer, from start: Int, end: Int, bufferEnd: Int) -> Int {
    var index = _nextMagicCandidate(base, from: start, end: end)
    // Bounded: `index` strictly increases up to `end`.
    while index < end {
        let available = bufferEnd - index
        if available < 4 {
            if _isMagicPrefix(base + index, byteCount: available) { return index }
        } else if (base + index).loadUnaligned(as: UInt32.self) == NativeFormat.magic.littleEndian {
            if available < NativeFormat.headerByteCount { return index }
            let header = base + index
            let storedHeaderChecksum = UInt32(
                littleEndian: header.loadUnaligned(fromByteOffset: _NativeHeader.headerChecksumOffset, as: UInt32.self)
            )
            let computedHeaderChecksum = CRC32C.checksum(
                UnsafeRawBufferPointer(start: header, count: NativeFormat.headerChecksummedByteCount)
            )
            if storedHeaderChecksum == computedHeaderChecksum { return index }
        }
        index = _nextMagicCandidate(base, from: index + 1, end: end)
    }
    return end
}
