import Testing
import VigilCore
import VigilWire

private func entry(wireID: UInt32, labelCount: Int = 0, stringByteCount: Int = 4) -> SchemaEntry {
    func text(_ tag: String) -> String { tag + String(repeating: "x", count: stringByteCount - tag.utf8.count) }
    let labels = (0..<labelCount).map { Label(name: text("n\($0)"), value: text("v\($0)")) }
    let key = SeriesKey(device: text("d"), interface: text("i"), metric: text("m"), extraLabels: labels)
    return SchemaEntry(wireID: wireID, descriptor: SeriesDescriptor(key: key, kind: .counter32, unit: text("u")))
}

@Suite("Native encoder limits and maximum sizes")
struct NativeEncoderTests {
    @Test(
        "the largest legal schema entry (32 labels, 1024-byte strings, top wire id) has the documented size and round-trips"
    )
    func largestEntry() throws {
        let largest = entry(wireID: NativeFormat.maxWireSeriesID, labelCount: 32, stringByteCount: 1024)
        #expect(NativeEncoder.schemaEntryByteCount(largest) == NativeFormat.maxSchemaEntryByteCount)
        #expect(NativeFormat.maxSchemaEntryByteCount == 69_774)
        var bytes: [UInt8] = []
        try NativeEncoder().appendSchemaFrames([largest], to: &bytes)
        #expect(bytes.count == 24 + 4 + 69_774)
        let (delegate, _) = decodeAll(bytes)
        #expect(delegate.events == [.declared(largest)])
    }

    @Test("schema frames split under the payload limit, and a decoder with that limit accepts them all")
    func schemaSplitting() throws {
        let limit = 4 + NativeFormat.maxSchemaEntryByteCount
        let encoder = NativeEncoder(samplesPerDataFrame: 100, maxPayloadBytes: limit)
        let entries =
            (0..<3).map { entry(wireID: UInt32($0), labelCount: 32, stringByteCount: 1024) }
            + (3..<10).map { entry(wireID: UInt32($0)) }
        var bytes: [UInt8] = []
        try encoder.appendSchemaFrames(entries, to: &bytes)
        let (delegate, decoder) = decodeAll(bytes, maxPayloadBytes: limit)
        #expect(delegate.declarations == entries)
        #expect(delegate.errors.isEmpty)
        // Each of the three largest fills a payload exactly (4 + 69,774 bytes), so the seven small ones share
        // a fourth frame.
        #expect(decoder.statistics.schemaFrames == 4)
    }

    @Test("entries the format cannot carry are refused with the field at fault, leaving the output unchanged")
    func refusedEntries() {
        let cases: [(SchemaEntry, NativeEncodeError)] = [
            (entry(wireID: 1 << 24), .wireIDOutOfRange(wireID: 1 << 24)),
            (entry(wireID: 3, labelCount: 33), .tooManyExtraLabels(wireID: 3, count: 33)),
            (entry(wireID: 4, stringByteCount: 1025), .stringTooLong(wireID: 4, field: .device, byteCount: 1025)),
        ]
        for (bad, expected) in cases {
            var bytes: [UInt8] = [0xAB]
            #expect(throws: expected) { try NativeEncoder().appendSchemaFrames([entry(wireID: 1), bad], to: &bytes) }
            #expect(bytes == [0xAB])
        }
        var longLabel = entry(wireID: 5, labelCount: 2)
        longLabel.descriptor.key = SeriesKey(
            device: "d",
            interface: "",
            metric: "m",
            extraLabels: [Label(name: "a", value: "ok"), Label(name: "b", value: String(repeating: "é", count: 513))]
        )
        #expect(throws: NativeEncodeError.stringTooLong(wireID: 5, field: .labelValue(index: 1), byteCount: 1026)) {
            var bytes: [UInt8] = []
            try NativeEncoder().appendSchemaFrames([longLabel], to: &bytes)
        }
    }

    @Test("a data frame exactly at the payload limit decodes; one sample more is too large")
    func dataAtLimit() {
        let limit = NativeFormat.dataPayloadByteCount(sampleCount: 5)
        #expect(limit == 108)
        let five = rawFrame(
            type: 2,
            payload: dataPayload(timestamps: [1, 2, 3, 4, 5], values: [1, 2, 3, 4, 5], wireIDs: [1, 2, 3, 4, 5])
        )
        #expect(decodeAll(five, maxPayloadBytes: limit).decoder.statistics.samples == 5)
        let six = rawFrame(
            type: 2,
            payload: dataPayload(
                timestamps: [1, 2, 3, 4, 5, 6],
                values: [1, 2, 3, 4, 5, 6],
                wireIDs: [1, 2, 3, 4, 5, 6]
            )
        )
        let errors = decodeAll(six, maxPayloadBytes: limit).delegate.errors
        #expect(errors.first == .payloadTooLarge(offset: 0, length: 128, limit: 108))
    }

    @Test("the most samples a default frame can hold (209,714) encode into one frame that decodes")
    func largestDefaultDataFrame() {
        let sampleCount = NativeFormat.maxSamplesPerDataFrame(maxPayloadBytes: NativeFormat.defaultMaxPayloadBytes)
        #expect(sampleCount == 209_714)
        let encoder = NativeEncoder(samplesPerDataFrame: sampleCount)
        let timestamps = (0..<sampleCount).map { Int64($0) * 1_000_000_000 }
        let wireIDs = (0..<sampleCount).map { UInt32($0 % 1000) }
        let values = (0..<sampleCount).map { Double($0) / 8 }
        var bytes: [UInt8] = []
        encoder.appendDataFrames(timestamps: timestamps, wireIDs: wireIDs, values: values, to: &bytes)
        #expect(bytes.count == 24 + 8 + 20 * sampleCount)
        let (delegate, decoder) = decodeAll(bytes)
        #expect(decoder.statistics.dataFrames == 1)
        #expect(delegate.samples.timestamps == timestamps)
        #expect(delegate.samples.wireIDs == wireIDs)
        #expect(delegate.samples.valueBits == values.map(\.bitPattern))
    }

    @Test("samples split into frames of samplesPerDataFrame, the last one partial")
    func dataSplitting() {
        var bytes: [UInt8] = []
        NativeEncoder(samplesPerDataFrame: 4).appendDataFrames(
            timestamps: Array(0..<10),
            wireIDs: Array(repeating: 1, count: 10),
            values: Array(repeating: 0, count: 10),
            to: &bytes
        )
        let frames = decodeAll(bytes).delegate.dataFrames
        let sizes = frames.map { if case .data(_, let t, _, _) = $0 { return t.count } else { return -1 } }
        #expect(sizes == [4, 4, 2])
        #expect(bytes.count == 3 * 32 + 10 * 20)
    }
}
