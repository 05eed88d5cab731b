import Foundation
import Testing
import VigilCore
import VigilWire

/// The worked example of docs/wire-format.md, byte for byte.
@Suite("docs/wire-format.md worked example")
struct WireFormatDocExampleTests {
    /// The same bytes as the doc's hex block, computed independently of `NativeEncoder` when the doc was written.
    static let exampleHex =
        "5647494c0101000032000000aebdd9c700000000ee99b086010000000100000000010200723108006574"
        + "2d302f302f30080072785f706f776572030064426d0400736974650300616d735647494c010200003000"
        + "00000526ce86000000000bf3a63a020000000000000000002a36fe9c971700e4358a009d971700000000"
        + "00000cc00000000000000ac00100000001000000"

    static let entry = SchemaEntry(
        wireID: 1,
        descriptor: SeriesDescriptor(
            key: SeriesKey(
                device: "r1",
                interface: "et-0/0/0",
                metric: "rx_power",
                extraLabels: [Label(name: "site", value: "ams")]
            ),
            kind: .gauge,
            unit: "dBm"
        )
    )
    static let timestamps: [Int64] = [1_700_000_000_000_000_000, 1_700_000_010_000_000_000]
    static let values: [Double] = [-3.5, -3.25]

    static func encodeExample() throws -> [UInt8] {
        var bytes: [UInt8] = []
        let encoder = NativeEncoder()
        try encoder.appendSchemaFrames([entry], to: &bytes)
        encoder.appendDataFrames(timestamps: timestamps, wireIDs: [1, 1], values: values, to: &bytes)
        return bytes
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits: [Character] = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] })
    }

    static func docText() throws -> String {
        let docURL = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/wire-format.md")
        return try String(contentsOf: docURL, encoding: .utf8)
    }

    @Test("NativeEncoder writes exactly the example's 146 bytes")
    func encoderMatchesExample() throws {
        let bytes = try Self.encodeExample()
        #expect(bytes.count == 146)
        #expect(Self.hex(bytes) == Self.exampleHex)
    }

    @Test("the doc's hex block is the example, so the page cannot drift from the code")
    func docHexBlockMatches() throws {
        let text = try Self.docText()
        let begin = try #require(text.range(of: "<!-- example-hex-begin -->"))
        let end = try #require(text.range(of: "<!-- example-hex-end -->"))
        let block = text[begin.upperBound..<end.lowerBound].filter { $0.isHexDigit }
        #expect(String(block) == Self.exampleHex)
    }

    @Test("the doc's annotated byte tables spell out the same 146 bytes, in order")
    func docTablesMatch() throws {
        // Table rows look like: | 34 | `02 00` `72 31` | device: 2 bytes, `r1` |
        var annotated = ""
        for line in try Self.docText().split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false)
            guard cells.count >= 4, Int(cells[1].trimmingCharacters(in: .whitespaces)) != nil,
                cells[2].contains("`")
            else { continue }
            annotated += cells[2].filter { $0.isHexDigit }
        }
        #expect(annotated == Self.exampleHex)
    }

    @Test("decoding the example declares the series and yields both samples")
    func decodesExample() throws {
        let (delegate, decoder) = decodeAll(try Self.encodeExample())
        #expect(
            delegate.events == [
                .declared(Self.entry),
                .data(
                    offset: 74,
                    timestamps: Self.timestamps,
                    wireIDs: [1, 1],
                    valueBits: Self.values.map(\.bitPattern)
                ),
            ]
        )
        #expect(decoder.statistics.totalErrors == 0)
    }
}
