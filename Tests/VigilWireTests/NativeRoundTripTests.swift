import Testing
import VigilCore
import VigilWire

@Suite("Native format round trip")
struct NativeRoundTripTests {
    @Test("random seeded schemas and samples decode to exactly what was encoded", arguments: 1...12)
    func randomRoundTrip(seed: UInt64) throws {
        var generator = SplitMix64(seed: seed)
        let samplesPerDataFrame = 1 + Int(generator.next() % 700)
        let encoder = NativeEncoder(samplesPerDataFrame: samplesPerDataFrame)
        let entries = randomSchemaEntries(count: 1 + Int(generator.next() % 60), generator: &generator)
        let samples = randomSamples(count: Int(generator.next() % 4000), entries: entries, generator: &generator)
        var bytes: [UInt8] = []
        try encoder.appendSchemaFrames(entries, to: &bytes)
        encoder.appendDataFrames(
            timestamps: samples.timestamps,
            wireIDs: samples.wireIDs,
            values: samples.values,
            to: &bytes
        )

        let (delegate, decoder) = decodeAll(bytes)
        #expect(delegate.errors.isEmpty)
        #expect(delegate.accessorMismatches == 0)
        #expect(delegate.declarations == entries)
        let decoded = delegate.samples
        #expect(decoded.timestamps == samples.timestamps)
        #expect(decoded.wireIDs == samples.wireIDs)
        #expect(decoded.valueBits == samples.values.map(\.bitPattern))
        let expectedDataFrames = (samples.timestamps.count + samplesPerDataFrame - 1) / samplesPerDataFrame
        let statistics = decoder.statistics
        #expect(statistics.dataFrames == expectedDataFrames)
        #expect(statistics.schemaFrames == 1)
        #expect(statistics.schemaEntries == entries.count)
        #expect(statistics.samples == samples.timestamps.count)
        #expect(statistics.bytesConsumed == Int64(bytes.count))
        #expect(statistics.bytesSkipped == 0)
        #expect(statistics.totalErrors == 0)
        #expect(decoder.streamOffset == Int64(bytes.count))
    }

    @Test("a stream split at every byte boundary across two decode calls decodes identically")
    func everySplitPoint() throws {
        var generator = SplitMix64(seed: 99)
        let entries = randomSchemaEntries(count: 3, generator: &generator)
        let samples = randomSamples(count: 7, entries: entries, generator: &generator)
        var bytes: [UInt8] = []
        let encoder = NativeEncoder(samplesPerDataFrame: 3)
        try encoder.appendSchemaFrames(entries, to: &bytes)
        encoder.appendDataFrames(
            timestamps: samples.timestamps,
            wireIDs: samples.wireIDs,
            values: samples.values,
            to: &bytes
        )
        let reference = decodeAll(bytes).delegate.events
        #expect(reference.count == 3 + 3)

        for split in 0...bytes.count {
            var decoder = NativeStreamDecoder()
            var delegate = RecordingDelegate()
            let firstConsumed = bytes.withUnsafeBytes {
                decoder.decode(UnsafeRawBufferPointer(rebasing: $0[..<split]), delegate: &delegate)
            }
            #expect(firstConsumed <= split)
            bytes.withUnsafeBytes { all in
                let rest = UnsafeRawBufferPointer(rebasing: all[firstConsumed...])
                let secondConsumed = decoder.decode(rest, delegate: &delegate)
                #expect(secondConsumed == rest.count)
                decoder.finish(
                    remaining: UnsafeRawBufferPointer(rebasing: rest[secondConsumed...]),
                    delegate: &delegate
                )
            }
            #expect(delegate.events == reference, "split at byte \(split)")
            #expect(decoder.statistics.bytesConsumed == Int64(bytes.count))
        }
    }

    @Test("seeded random chunking through a carry buffer decodes identically", arguments: 1...6)
    func randomChunking(seed: UInt64) throws {
        var generator = SplitMix64(seed: seed &* 1_000_003)
        let entries = randomSchemaEntries(count: 20, generator: &generator)
        let samples = randomSamples(count: 2500, entries: entries, generator: &generator)
        var bytes: [UInt8] = []
        let encoder = NativeEncoder(samplesPerDataFrame: 97)
        try encoder.appendSchemaFrames(entries, to: &bytes)
        encoder.appendDataFrames(
            timestamps: samples.timestamps,
            wireIDs: samples.wireIDs,
            values: samples.values,
            to: &bytes
        )
        let reference = decodeAll(bytes).delegate.events
        let chunked = decodeInChunks(bytes, generator: &generator, maxChunkByteCount: 1 + Int(seed) * 300)
        #expect(chunked.delegate.events == reference)
        #expect(chunked.delegate.errors.isEmpty)
    }

    @Test("DataFrameView.copy of every subrange matches the accessors, on an unaligned buffer")
    func copySubranges() {
        let timestamps: [Int64] = [10, -20, 30, .max, .min]
        let values: [Double] = [1.5, -0.0, .infinity, 3e300, -7.25]
        let wireIDs: [UInt32] = [0, 1, 0xFF_FFFF, 7, 42]
        // One leading byte puts the columns at odd addresses.
        let bytes =
            [0x00] + rawFrame(type: 2, payload: dataPayload(timestamps: timestamps, values: values, wireIDs: wireIDs))

        struct SubrangeChecker: NativeDecoderDelegate {
            var checkedRanges = 0
            var mismatches = 0
            mutating func nativeDecoder(didDeclare entry: SchemaEntry) {}
            mutating func nativeDecoder(didFail error: NativeDecodeError) {}
            mutating func nativeDecoder(didDecode frame: DataFrameView) {
                for lower in 0...frame.count {
                    for upper in lower...frame.count {
                        var t = [Int64](repeating: 0, count: upper - lower)
                        var w = [UInt32](repeating: 0, count: upper - lower)
                        var v = [Double](repeating: 0, count: upper - lower)
                        t.withUnsafeMutableBufferPointer { t in
                            w.withUnsafeMutableBufferPointer { w in
                                v.withUnsafeMutableBufferPointer { v in
                                    // Empty ranges still need valid pointers.
                                    var scratchT: Int64 = 0
                                    var scratchW: UInt32 = 0
                                    var scratchV = 0.0
                                    frame.copy(
                                        range: lower..<upper,
                                        timestamps: t.baseAddress ?? withUnsafeMutablePointer(to: &scratchT) { $0 },
                                        wireIDs: w.baseAddress ?? withUnsafeMutablePointer(to: &scratchW) { $0 },
                                        values: v.baseAddress ?? withUnsafeMutablePointer(to: &scratchV) { $0 }
                                    )
                                }
                            }
                        }
                        for (slot, index) in (lower..<upper).enumerated()
                        where t[slot] != frame.timestamp(at: index) || w[slot] != frame.wireID(at: index)
                            || v[slot].bitPattern != frame.value(at: index).bitPattern
                        {
                            mismatches += 1
                        }
                        checkedRanges += 1
                    }
                }
            }
        }
        var decoder = NativeStreamDecoder()
        var checker = SubrangeChecker()
        bytes.withUnsafeBytes { decoder.finish(remaining: $0, delegate: &checker) }
        #expect(checker.checkedRanges == 21)
        #expect(checker.mismatches == 0)
        let decoded = decodeAll(bytes).delegate
        #expect(decoded.samples.timestamps == timestamps)
        #expect(decoded.samples.wireIDs == wireIDs)
        #expect(decoded.samples.valueBits == values.map(\.bitPattern))
    }

    @Test("a later declaration of the same wire id is delivered after the earlier one, in stream order")
    func redeclaration() throws {
        let first = SchemaEntry(
            wireID: 5,
            descriptor: SeriesDescriptor(
                key: SeriesKey(device: "a", interface: "", metric: "cpu"),
                kind: .gauge,
                unit: "%"
            )
        )
        var second = first
        second.descriptor.kind = .counter64
        second.descriptor.unit = "octets"
        var bytes: [UInt8] = []
        let encoder = NativeEncoder()
        try encoder.appendSchemaFrames([first], to: &bytes)
        encoder.appendDataFrames(timestamps: [1], wireIDs: [5], values: [2], to: &bytes)
        try encoder.appendSchemaFrames([second], to: &bytes)
        let events = decodeAll(bytes).delegate.events
        #expect(events.count == 3)
        #expect(events.first == .declared(first))
        #expect(events.last == .declared(second))
    }
}
