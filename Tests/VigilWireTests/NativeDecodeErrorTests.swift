import Testing
import VigilCore
import VigilWire

/// A 52-byte data frame: one sample (timestamp `timestamp`, value 1.0, wire id 7).
private func goodFrame(timestamp: Int64 = 1) -> [UInt8] {
    rawFrame(type: 2, payload: dataPayload(timestamps: [timestamp], values: [1.0], wireIDs: [7]))
}

private func dataEvent(at offset: Int64, timestamp: Int64 = 1) -> DecodeEvent {
    .data(offset: offset, timestamps: [timestamp], wireIDs: [7], valueBits: [Double(1).bitPattern])
}

@Suite("Native decoder errors, each with its offset")
struct NativeDecodeErrorTests {
    @Test("the good frame used below is 52 bytes: 24 header + 8 prefix + 20 per sample")
    func goodFrameSize() {
        #expect(goodFrame().count == 52)
        #expect(decodeAll(goodFrame()).delegate.events == [dataEvent(at: 0)])
    }

    @Test("garbage before the first frame is skipped and reported once with its offset and length")
    func garbageBeforeFirstFrame() {
        let bytes: [UInt8] = [1, 2, 3, 0x56, 0x47, 9] + goodFrame()
        let (delegate, decoder) = decodeAll(bytes)
        #expect(delegate.events == [.failed(.garbageSkipped(offset: 0, byteCount: 6)), dataEvent(at: 6)])
        #expect(decoder.statistics.bytesSkipped == 6)
        #expect(decoder.statistics.errorCount(.garbageSkipped) == 1)
    }

    @Test("a garbage run fed one byte per call, with magic prefixes in it, is still one report")
    func garbageRunAcrossCalls() {
        let junk: [UInt8] = [0x56, 0x47, 0x49, 0x00, 0x56, 0xFF, 0x56, 0x47, 0x49, 0x56]
        let bytes = goodFrame(timestamp: 1) + junk + goodFrame(timestamp: 2)
        let expected: [DecodeEvent] = [
            dataEvent(at: 0, timestamp: 1),
            .failed(.garbageSkipped(offset: 52, byteCount: 10)),
            dataEvent(at: 62, timestamp: 2),
        ]
        #expect(decodeAll(bytes).delegate.events == expected)
        var generator = SplitMix64(seed: 1)
        #expect(decodeInChunks(bytes, generator: &generator, maxChunkByteCount: 1).delegate.events == expected)
    }

    @Test("garbage at the end of the stream is reported by finish")
    func trailingGarbage() {
        let (delegate, decoder) = decodeAll(goodFrame() + [9, 9, 9, 9, 9])
        #expect(delegate.events == [dataEvent(at: 0), .failed(.garbageSkipped(offset: 52, byteCount: 5))])
        #expect(decoder.statistics.bytesConsumed == 57)
    }

    @Test("a flipped header bit is a header checksum mismatch; the frame becomes garbage and the next decodes")
    func headerChecksumMismatch() {
        var damaged = goodFrame(timestamp: 2)
        let storedHeaderChecksum =
            UInt32(damaged[20]) | UInt32(damaged[21]) << 8 | UInt32(damaged[22]) << 16
            | UInt32(damaged[23]) << 24
        damaged[6] ^= 0x01  // the reserved flags: covered by the header CRC
        let computed = CRC32C.checksum(Array(damaged[0..<20]))
        let bytes = goodFrame(timestamp: 1) + damaged + goodFrame(timestamp: 3)
        let (delegate, decoder) = decodeAll(bytes)
        #expect(
            delegate.events == [
                dataEvent(at: 0, timestamp: 1),
                .failed(.headerChecksumMismatch(offset: 52, expected: storedHeaderChecksum, computed: computed)),
                .failed(.garbageSkipped(offset: 52, byteCount: 52)),
                dataEvent(at: 104, timestamp: 3),
            ]
        )
        #expect(decoder.statistics.errorCount(.headerChecksumMismatch) == 1)
        #expect(decoder.statistics.bytesSkipped == 52)
    }

    @Test("an unsupported version with a valid header CRC skips exactly that frame")
    func unsupportedVersionSkipsFrame() {
        let future = rawFrame(version: 2, type: 2, payload: [1, 2, 3, 4, 5])
        let (delegate, decoder) = decodeAll(future + goodFrame())
        #expect(delegate.events == [.failed(.unsupportedVersion(offset: 0, version: 2)), dataEvent(at: 29)])
        #expect(decoder.statistics.bytesSkipped == 29)
    }

    @Test("an unsupported version announcing more than the limit rescans from the next byte")
    func unsupportedVersionTooLong() {
        let future = rawFrame(version: 9, type: 2, payload: [], declaredLength: .max)
        let (delegate, _) = decodeAll(future + goodFrame())
        #expect(
            delegate.events == [
                .failed(.unsupportedVersion(offset: 0, version: 9)),
                .failed(.garbageSkipped(offset: 0, byteCount: 24)),
                dataEvent(at: 24),
            ]
        )
    }

    @Test("an unknown frame type with a valid header is skipped whole")
    func unknownFrameType() {
        let unknown = rawFrame(type: 7, payload: [1, 2, 3])
        let (delegate, decoder) = decodeAll(unknown + goodFrame())
        #expect(delegate.events == [.failed(.unknownFrameType(offset: 0, type: 7)), dataEvent(at: 27)])
        #expect(decoder.statistics.errorCount(.unknownFrameType) == 1)
    }

    @Test("a payload over the decoder's limit is reported without waiting for it, then rescanned")
    func payloadTooLarge() {
        let (delegate, _) = decodeAll(goodFrame(), maxPayloadBytes: 27)
        #expect(
            delegate.events == [
                .failed(.payloadTooLarge(offset: 0, length: 28, limit: 27)),
                .failed(.garbageSkipped(offset: 0, byteCount: 52)),
            ]
        )
    }

    @Test("a hostile 4 GiB length with a valid header CRC is rejected at once: decode consumes everything")
    func hostileLength() {
        let hostile = rawFrame(type: 2, payload: [], declaredLength: .max)
        let bytes = hostile + goodFrame()
        var decoder = NativeStreamDecoder()
        var delegate = RecordingDelegate()
        let consumed = bytes.withUnsafeBytes { decoder.decode($0, delegate: &delegate) }
        #expect(consumed == bytes.count)
        #expect(
            delegate.events == [
                .failed(.payloadTooLarge(offset: 0, length: .max, limit: 4 << 20)),
                .failed(.garbageSkipped(offset: 0, byteCount: 24)),
                dataEvent(at: 24),
            ]
        )
    }

    @Test("a flipped payload bit is a payload checksum mismatch that skips exactly that frame")
    func payloadChecksumMismatch() {
        var damaged = goodFrame(timestamp: 2)
        let expected = CRC32C.checksum(Array(damaged[24...]))
        damaged[40] ^= 0x80
        let computed = CRC32C.checksum(Array(damaged[24...]))
        let bytes = goodFrame(timestamp: 1) + damaged + goodFrame(timestamp: 3)
        let (delegate, decoder) = decodeAll(bytes)
        #expect(
            delegate.events == [
                dataEvent(at: 0, timestamp: 1),
                .failed(.payloadChecksumMismatch(offset: 52, expected: expected, computed: computed)),
                dataEvent(at: 104, timestamp: 3),
            ]
        )
        #expect(decoder.statistics.bytesSkipped == 52)
    }

    @Test("a frame cut short mid-payload and followed by frames: those frames still decode")
    func truncatedThenMoreFrames() {
        let cut = Array(goodFrame(timestamp: 2)[0..<40])
        let bytes = goodFrame(timestamp: 1) + cut + goodFrame(timestamp: 3) + goodFrame(timestamp: 4)
        // The cut frame claims 28 payload bytes: 16 of its own and 12 of the next frame's header.
        let expected = CRC32C.checksum(Array(goodFrame(timestamp: 2)[24...]))
        let computed = CRC32C.checksum(Array(bytes[76..<104]))
        let events: [DecodeEvent] = [
            dataEvent(at: 0, timestamp: 1),
            .failed(.payloadChecksumMismatch(offset: 52, expected: expected, computed: computed)),
            dataEvent(at: 92, timestamp: 3),
            dataEvent(at: 144, timestamp: 4),
        ]
        #expect(decodeAll(bytes).delegate.events == events)
        var generator = SplitMix64(seed: 3)
        #expect(decodeInChunks(bytes, generator: &generator, maxChunkByteCount: 7).delegate.events == events)
    }

    @Test("finish reports the leftover frame as truncated with bytes needed and available")
    func truncatedAtEnd() {
        let whole = goodFrame(timestamp: 2)
        let cases: [(tail: [UInt8], needed: Int)] = [
            (Array(whole[0..<30]), 52),  // header complete, payload short
            (Array(whole[0..<10]), 24),  // header short
            ([0x56, 0x47], 24),  // a magic prefix
        ]
        for (tail, needed) in cases {
            let (delegate, decoder) = decodeAll(goodFrame(timestamp: 1) + tail)
            #expect(
                delegate.events == [
                    dataEvent(at: 0, timestamp: 1),
                    .failed(.truncatedFrame(offset: 52, needed: needed, available: tail.count)),
                ]
            )
            #expect(decoder.statistics.bytesConsumed == Int64(52 + tail.count))
            #expect(decoder.statistics.bytesSkipped == Int64(tail.count))
        }
    }

    @Test("finish recovers frames that follow inside a truncated frame's claimed length")
    func truncatedAtEndWithFramesInside() {
        // 132 bytes claimed, 40 present, then a whole 52-byte frame: 92 bytes before the end of the stream.
        let big = rawFrame(
            type: 2,
            payload: dataPayload(timestamps: [1, 2, 3, 4, 5], values: [1, 2, 3, 4, 5], wireIDs: [1, 2, 3, 4, 5])
        )
        let bytes = Array(big[0..<40]) + goodFrame(timestamp: 9)
        let (delegate, _) = decodeAll(bytes)
        #expect(
            delegate.events == [
                .failed(.truncatedFrame(offset: 0, needed: 132, available: 92)),
                dataEvent(at: 40, timestamp: 9),
            ]
        )
    }

    @Test("a data payload shorter than its 8-byte prefix is malformed")
    func dataPayloadTooShort() {
        let (delegate, _) = decodeAll(rawFrame(type: 2, payload: [0, 0, 0, 0]) + goodFrame())
        #expect(
            delegate.events == [
                .failed(.malformedData(offset: 0, reason: .payloadTooShort(byteCount: 4))), dataEvent(at: 28),
            ]
        )
    }

    @Test("a data payload whose length disagrees with its count is malformed, even for a hostile count")
    func dataLengthMismatch() {
        let twoSamples = dataPayload(timestamps: [1, 2], values: [1, 2], wireIDs: [1, 2], count: 3)
        let hostile = littleEndianBytes(UInt32.max) + littleEndianBytes(UInt32(0))
        let bytes = rawFrame(type: 2, payload: twoSamples) + rawFrame(type: 2, payload: hostile) + goodFrame()
        let (delegate, decoder) = decodeAll(bytes)
        #expect(
            delegate.events == [
                .failed(
                    .malformedData(offset: 0, reason: .lengthMismatch(count: 3, expectedBytes: 68, actualBytes: 48))
                ),
                .failed(
                    .malformedData(
                        offset: 72,
                        reason: .lengthMismatch(count: .max, expectedBytes: 8 + 20 * Int(UInt32.max), actualBytes: 8)
                    )
                ),
                dataEvent(at: 104),
            ]
        )
        #expect(decoder.statistics.errorCount(.malformedData) == 2)
        #expect(decoder.statistics.samples == 1)
    }

    @Test("empty data and schema frames decode: no samples, no declarations")
    func emptyFrames() throws {
        let bytes =
            rawFrame(type: 2, payload: dataPayload(timestamps: [], values: [], wireIDs: []))
            + rawFrame(type: 1, payload: littleEndianBytes(UInt32(0)))
        let (delegate, decoder) = decodeAll(bytes)
        #expect(delegate.events == [.data(offset: 0, timestamps: [], wireIDs: [], valueBits: [])])
        #expect(decoder.statistics.dataFrames == 1)
        #expect(decoder.statistics.schemaFrames == 1)
        #expect(decoder.statistics.totalErrors == 0)

        var out: [UInt8] = []
        let encoder = NativeEncoder()
        try encoder.appendSchemaFrames([], to: &out)
        encoder.appendDataFrames(timestamps: [], wireIDs: [], values: [], to: &out)
        #expect(out.isEmpty)

        let nothing = decodeAll([])
        #expect(nothing.delegate.events.isEmpty)
    }

    @Test("descriptions say what happened and where; counter names are stable and distinct")
    func descriptionsAndCounterNames() {
        let error = NativeDecodeError.payloadChecksumMismatch(offset: 1_048_600, expected: 0xDEAD_BEEF, computed: 0x1)
        #expect(error.description.hasPrefix("bad payload CRC32C in frame at byte 1048600"))
        #expect(error.description.contains("0xdeadbeef") && error.description.contains("0x00000001"))
        #expect(error.counterName == "payload_checksum")
        #expect(error.offset == 1_048_600)
        let truncated = NativeDecodeError.truncatedFrame(offset: 7, needed: 52, available: 30)
        #expect(truncated.description.contains("byte 7") && truncated.description.contains("52 bytes"))
        let names = NativeDecodeError.Kind.allCases.map(\.counterName)
        #expect(Set(names).count == names.count)
        #expect(names.allSatisfy { $0.allSatisfy { $0.isLowercase || $0 == "_" } })
        let schema = NativeDecodeError.malformedSchema(
            offset: 100,
            fieldOffset: 134,
            reason: .invalidUTF8(field: .labelValue(index: 2))
        )
        #expect(
            schema.description == "malformed schema frame at byte 100: the value of extra label 2 is not valid "
                + "UTF-8 (at byte 134); frame skipped"
        )
    }

    @Test("statistics account for every byte: consumed = delivered + skipped")
    func statisticsAccounting() {
        var damaged = goodFrame()
        damaged[30] ^= 1
        let bytes = [0xAA, 0xBB] + goodFrame() + damaged + rawFrame(type: 9, payload: []) + goodFrame() + [0x56]
        let (delegate, decoder) = decodeAll(bytes)
        let statistics = decoder.statistics
        #expect(statistics.bytesConsumed == Int64(bytes.count))
        #expect(statistics.bytesSkipped == 2 + 52 + 24 + 1)
        #expect(statistics.dataFrames == 2)
        #expect(statistics.errorCount(.garbageSkipped) == 1)
        #expect(statistics.errorCount(.payloadChecksumMismatch) == 1)
        #expect(statistics.errorCount(.unknownFrameType) == 1)
        #expect(statistics.errorCount(.truncatedFrame) == 1)
        #expect(statistics.totalErrors == 4)
        #expect(delegate.errors.count == 4)
    }
}
