import Testing
import VigilCore
import VigilWire

/// The hand-built entry `schemaEntryBytes(wireID: 1)` is 4 + 1 + 1 + (2+2) + (2+8) + (2+8) + (2+3) = 35 bytes.
private let validEntry = schemaEntryBytes(wireID: 1)
private let trailingFrame = rawFrame(type: 2, payload: dataPayload(timestamps: [1], values: [1.0], wireIDs: [7]))

/// Decodes one schema frame at offset 0 followed by a good data frame, and returns the errors; checks that
/// nothing was declared and that the data frame after the damage decodes.
private func schemaErrors(_ payload: [UInt8]) -> [NativeDecodeError] {
    let frame = rawFrame(type: 1, payload: payload)
    let (delegate, decoder) = decodeAll(frame + trailingFrame)
    #expect(delegate.declarations.isEmpty)
    #expect(decoder.statistics.dataFrames == 1)
    #expect(decoder.statistics.schemaEntries == 0)
    #expect(decoder.statistics.bytesSkipped == Int64(frame.count))
    return delegate.errors
}

@Suite("Schema payload defects")
struct NativeSchemaErrorTests {
    @Test("the valid hand-built entry declares r1/et-0/0/0/rx_power as a gauge in dBm")
    func validEntryDecodes() {
        #expect(validEntry.count == 35)
        let (delegate, _) = decodeAll(rawFrame(type: 1, payload: schemaPayload(count: 1, entries: [validEntry])))
        let key = SeriesKey(device: "r1", interface: "et-0/0/0", metric: "rx_power")
        #expect(
            delegate.events == [
                .declared(SchemaEntry(wireID: 1, descriptor: SeriesDescriptor(key: key, kind: .gauge, unit: "dBm")))
            ]
        )
    }

    @Test("each defect is reported with the absolute offset of the field at fault")
    func defectsWithFieldOffsets() {
        // The frame starts at 0, so its payload starts at byte 24 and its first entry at byte 28.
        let longString = [UInt8](repeating: 0x61, count: 1025)
        let cases: [(name: String, payload: [UInt8], fieldOffset: Int64, defect: NativeSchemaDefect)] = [
            ("short entry count", [1, 0], 24, .truncated(field: .entryCount, needed: 4, available: 2)),
            (
                "count beyond the payload", schemaPayload(count: 3, entries: [validEntry]), 24,
                .entryCountExceedsPayload(count: 3, payloadBytes: 39)
            ),
            (
                "hostile count", schemaPayload(count: .max, entries: []), 24,
                .entryCountExceedsPayload(count: .max, payloadBytes: 4)
            ),
            (
                "second entry missing", schemaPayload(count: 2, entries: [validEntry]), 63,
                .truncated(field: .wireID, needed: 4, available: 0)
            ),
            (
                "wire id of 25 bits", schemaPayload(count: 1, entries: [schemaEntryBytes(wireID: 1 << 24)]), 28,
                .wireIDOutOfRange(wireID: 1 << 24)
            ),
            (
                "unknown kind", schemaPayload(count: 1, entries: [schemaEntryBytes(wireID: 1, kind: 3)]), 32,
                .unknownMetricKind(rawValue: 3)
            ),
            (
                "33 labels", schemaPayload(count: 1, entries: [schemaEntryBytes(wireID: 1, labelCount: 33)]), 33,
                .tooManyExtraLabels(count: 33)
            ),
            (
                "1025-byte device",
                schemaPayload(
                    count: 1,
                    entries: [schemaEntryBytes(wireID: 1, strings: [longString, [], [], []])]
                ), 34, .stringTooLong(field: .device, byteCount: 1025)
            ),
            (
                "invalid UTF-8 byte",
                schemaPayload(count: 1, entries: [schemaEntryBytes(wireID: 1, strings: [[0xFF], [], [], []])]), 36,
                .invalidUTF8(field: .device)
            ),
            (
                "overlong encoding in the unit",
                schemaPayload(count: 1, entries: [schemaEntryBytes(wireID: 1, strings: [[], [], [], [0xC0, 0xAF]])]),
                42, .invalidUTF8(field: .unit)
            ),
            (
                "UTF-16 surrogate in a label value",
                schemaPayload(
                    count: 1,
                    entries: [
                        schemaEntryBytes(wireID: 1, strings: [[], [], [], []], labels: [[0x61], [0xED, 0xA0, 0x80]])
                    ]
                ), 47, .invalidUTF8(field: .labelValue(index: 0))
            ),
            (
                "declared label missing",
                schemaPayload(count: 1, entries: [schemaEntryBytes(wireID: 1, labelCount: 1)]),
                63, .truncated(field: .labelName(index: 0), needed: 2, available: 0)
            ),
            (
                "string longer than the payload",
                schemaPayload(count: 1, entries: [Array(validEntry[0..<6]) + [10, 0] + Array("abcdefgh".utf8)]), 36,
                .truncated(field: .device, needed: 10, available: 8)
            ),
            (
                "trailing byte", schemaPayload(count: 1, entries: [validEntry, [0]]), 63, .trailingBytes(count: 1)
            ),
        ]
        for (name, payload, fieldOffset, defect) in cases {
            let errors = schemaErrors(payload)
            #expect(
                errors == [.malformedSchema(offset: 0, fieldOffset: fieldOffset, reason: defect)],
                "\(name)"
            )
        }
    }

    @Test("a schema frame is all or nothing: a bad second entry withholds the good first one")
    func allOrNothing() {
        let errors = schemaErrors(schemaPayload(count: 2, entries: [validEntry, schemaEntryBytes(wireID: 2, kind: 9)]))
        #expect(errors == [.malformedSchema(offset: 0, fieldOffset: 67, reason: .unknownMetricKind(rawValue: 9))])
    }
}
