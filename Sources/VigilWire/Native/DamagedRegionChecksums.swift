import VigilCore

/// The payload CRC32C of each frame that starts inside a damaged region, in O(log payload) per frame instead of a
/// pass over its payload.
///
/// After a frame whose payload CRC fails, the decoder checks every valid header that starts inside it (the frame
/// may have been cut short and the stream gone on), and each of those may claim a maximum payload and fail in
/// turn: checksumming every claimed payload directly makes nested fake headers quadratic. Instead one forward pass
/// over the region records the running CRC32C at every ``blockByteCount``-byte boundary, and the CRC32C of a
/// payload comes from the running CRCs at its two ends (``CRC32C/suffixChecksum(whole:prefix:suffixByteCount:)``),
/// each the boundary before that end continued over at most 15 bytes.
///
/// Offsets are absolute stream offsets, so the state lives across `decode` calls. The decoder asks in increasing
/// frame order (it only moves forward): boundaries before the asked payload are dropped, and the pass stops at the
/// asked payload's end (what follows may not have arrived), so the bytes read all lie inside the asked frame.
///
/// Bounds. Work: the pass checksums each byte of a region at most once, and each frame asked costs at most
/// 2 × 15 bytes and 2 × 64 multiplications mod P more. Memory: one `UInt32` per 16 bytes of the retained span,
/// which is at most one frame long, so at most `maxFrameByteCount / 16 + 2` of them (1 MiB at the default 4 MiB
/// payload limit), grown as the span is and released by ``reset()`` when the region ends.
@usableFromInline
struct _DamagedRegionChecksums {
    /// Bytes between recorded running CRCs: at most 24, so that the boundary before a payload's start lies inside
    /// its frame's header, in the caller's buffer.
    static var blockByteCount: Int { 16 }

    /// Absolute stream offset of boundary 0, where the pass started; the running CRCs are of the bytes from here.
    var _anchor: Int64 = 0
    /// The boundary number of the oldest retained running CRC.
    var _firstBoundary = 0
    /// The retained running CRCs, oldest first, in a ring that starts at `_ringStart`.
    var _ring: [UInt32] = []
    var _ringStart = 0
    var _count = 0
    /// The most running CRCs ever retained: one per block of the longest frame, plus both ends.
    let _maxCount: Int
    /// Bytes passed to CRC32C because of damage, over the decoder's life (not cleared by ``reset()``): this
    /// structure's pass and block tails, and the direct checks the decoder reports through
    /// ``countDirectCheck(byteCount:)``.
    @usableFromInline var checksummedByteCount: Int64 = 0
    /// The most bytes the ring has held at once, over the decoder's life: checks the documented bound.
    @usableFromInline var peakMemoryByteCount = 0

    @usableFromInline
    init(maxFrameByteCount: Int) {
        _maxCount = maxFrameByteCount / Self.blockByteCount + 2
    }

    /// The CRC32C of the payload of the frame at `frameOffset`, whose bytes (header and payload) start at `frame`.
    ///
    /// O(`payloadByteCount` beyond the pass's frontier + log `payloadByteCount`).
    ///
    /// - Parameters:
    ///   - frame: the frame's first byte; the whole frame must be readable.
    ///   - frameOffset: the frame's absolute stream offset, at least that of the previous call.
    ///   - payloadByteCount: the length the frame's header claims.
    /// - Returns: the CRC32C of the payload, as a direct pass over it would compute it.
    @usableFromInline
    mutating func payloadChecksum(frame: UnsafeRawPointer, frameOffset: Int64, payloadByteCount: Int) -> UInt32 {
        let payloadStart = frameOffset &+ Int64(NativeFormat.headerByteCount)
        let payloadEnd = payloadStart &+ Int64(payloadByteCount)
        if _count == 0 || payloadStart < _boundaryOffset(_firstBoundary) || payloadStart > _frontier {
            // Nothing recorded helps (a first check, or the pass is behind): the pass starts at this payload.
            assert(_count == 0 || payloadStart > _frontier, "frames are checked in stream order")
            _anchor = payloadStart
            _firstBoundary = 0
            _ringStart = 0
            _count = 0
            _append(0)  // the CRC32C of no bytes
        }
        _dropBoundaries(before: _boundary(atOrBefore: payloadStart))
        // The pass, over whole blocks only: it never reads past the payload's end.
        var boundary = _frontier
        var running = _runningChecksum(boundary: _firstBoundary &+ _count &- 1)
        while boundary &+ Int64(Self.blockByteCount) <= payloadEnd {
            let block = UnsafeRawBufferPointer(
                start: frame + Int(boundary &- frameOffset),
                count: Self.blockByteCount
            )
            running = CRC32C.checksum(block, continuing: running)
            _append(running)
            boundary &+= Int64(Self.blockByteCount)
            checksummedByteCount &+= Int64(Self.blockByteCount)
        }
        return CRC32C.suffixChecksum(
            whole: _runningChecksum(at: payloadEnd, frame: frame, frameOffset: frameOffset),
            prefix: _runningChecksum(at: payloadStart, frame: frame, frameOffset: frameOffset),
            suffixByteCount: payloadByteCount
        )
    }

    /// Counts a direct pass over a payload whose CRC failed outside a region (the decoder's fast path did it).
    @usableFromInline
    mutating func countDirectCheck(byteCount: Int) {
        checksummedByteCount &+= Int64(byteCount)
    }

    /// The bytes the ring holds now: 0 outside a damaged region.
    @usableFromInline var memoryByteCount: Int { _ring.count &* MemoryLayout<UInt32>.stride }

    /// Forgets the region and releases its memory: the decoder has moved past every frame that could need it.
    @usableFromInline
    mutating func reset() {
        _ring = []
        _ringStart = 0
        _count = 0
        _firstBoundary = 0
    }

    // MARK: - Boundaries and the ring

    /// The furthest boundary the pass has reached.
    var _frontier: Int64 { _boundaryOffset(_firstBoundary &+ _count &- 1) }

    func _boundaryOffset(_ boundary: Int) -> Int64 {
        _anchor &+ Int64(boundary &* Self.blockByteCount)
    }

    func _boundary(atOrBefore offset: Int64) -> Int {
        Int((offset &- _anchor) / Int64(Self.blockByteCount))
    }

    /// The running CRC32C from the anchor to `offset` (between the oldest boundary and the frontier's next block):
    /// the boundary before it, continued over the bytes up to it.
    mutating func _runningChecksum(at offset: Int64, frame: UnsafeRawPointer, frameOffset: Int64) -> UInt32 {
        let boundary = _boundary(atOrBefore: offset)
        let boundaryOffset = _boundaryOffset(boundary)
        let tailByteCount = Int(offset &- boundaryOffset)
        assert(boundaryOffset >= frameOffset, "the bytes read lie inside the asked frame")
        checksummedByteCount &+= Int64(tailByteCount)
        return CRC32C.checksum(
            UnsafeRawBufferPointer(start: frame + Int(boundaryOffset &- frameOffset), count: tailByteCount),
            continuing: _runningChecksum(boundary: boundary)
        )
    }

    func _runningChecksum(boundary: Int) -> UInt32 {
        let index = boundary &- _firstBoundary
        assert(index >= 0 && index < _count, "boundary \(boundary) is not retained")
        return _ring[_slot(index)]
    }

    func _slot(_ index: Int) -> Int {
        let slot = _ringStart &+ index
        return slot < _ring.count ? slot : slot &- _ring.count
    }

    mutating func _append(_ running: UInt32) {
        if _count == _ring.count {
            _grow()
        }
        _ring[_slot(_count)] = running
        _count &+= 1
    }

    /// Doubles the ring (at least 64 entries), up to `_maxCount`.
    mutating func _grow() {
        let capacity = min(_maxCount, max(64, 2 &* _ring.count))
        precondition(capacity > _count, "the retained span is at most one frame long")
        var grown: [UInt32] = []
        grown.reserveCapacity(capacity)
        for index in 0..<_count {
            grown.append(_ring[_slot(index)])
        }
        grown.append(contentsOf: repeatElement(0, count: capacity &- _count))
        _ring = grown
        _ringStart = 0
        peakMemoryByteCount = max(peakMemoryByteCount, memoryByteCount)
    }

    mutating func _dropBoundaries(before boundary: Int) {
        let dropCount = boundary &- _firstBoundary
        guard dropCount > 0 else { return }
        assert(dropCount < _count, "the frontier is never dropped")
        _ringStart = _slot(dropCount)
        _count &-= dropCount
        _firstBoundary = boundary
    }
}
