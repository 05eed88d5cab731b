import Foundation
import Testing
import VigilCore

@testable import VigilStore

@Suite("Rollup segment round trip")
struct RoundTripTests {
    /// A double from a grab bag of awkward values and random bit patterns.
    static func awkwardDouble(_ random: inout SplitMix64) -> Double {
        switch random.next() % 12 {
        case 0: return .nan
        case 1: return Double(bitPattern: 0x7FF8_0000_0000_0000 | (random.next() & 0xF_FFFF_FFFF))  // NaN payload
        case 2: return random.next() % 2 == 0 ? .infinity : -.infinity
        case 3: return -0.0
        case 4: return Double(bitPattern: random.next() & 0x000F_FFFF_FFFF_FFFF)  // subnormal
        case 5: return Double(bitPattern: random.next())  // anything
        case 6: return (random.nextGaussian() * 1000).rounded() / 100
        case 7: return Double(random.next() >> 11)
        case 8: return .greatestFiniteMagnitude * (random.next() % 2 == 0 ? 1 : -1)
        default: return random.nextGaussian() * 1e6
        }
    }

    @Test(
        "seeded random rows (NaN payloads, ±inf, -0.0, subnormals) over many series and segments read back bit for bit"
    )
    func randomRowsRoundTrip() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var random = SplitMix64(seed: 0x5EED_0001)
        let window: Int64 = 10_000_000_000
        var rows: [WindowAggregate] = []
        for index in 0..<3_000 {
            let series = SeriesID(random.next() % 300)
            // Mostly on the window grid, some off it and some far away, to exercise both start encodings.
            let start: Int64 =
                index % 97 == 0
                ? Int64(bitPattern: random.next() >> 2)
                : 1_700_000_000_000_000_000 + Int64(random.next() % 500) * window
            rows.append(
                WindowAggregate(
                    seriesID: series,
                    windowStartNanoseconds: start,
                    count: UInt32(truncatingIfNeeded: random.next() % 4 == 0 ? random.next() : random.next() % 10),
                    sum: Self.awkwardDouble(&random),
                    minimum: Self.awkwardDouble(&random),
                    maximum: Self.awkwardDouble(&random),
                    first: Self.awkwardDouble(&random),
                    last: Self.awkwardDouble(&random),
                    sumOfSquaredDeviations: Self.awkwardDouble(&random),
                    rate: Self.awkwardDouble(&random)
                )
            )
        }
        let writer = RollupSegmentWriter(directory: directory.path, windowNanoseconds: window, rowsPerSegment: 700)
        try writer.append(Array(rows[0..<1_234]), descriptors: descriptor)
        try writer.append(Array(rows[1_234...]), descriptors: descriptor)
        try writer.close()
        #expect(writer.segmentsWritten == 5)  // 4 full segments of 700 and one of 200
        #expect(writer.rowsWritten == rows.count)
        #expect(writer.droppedRows == 0 && writer.writeErrors == 0 && writer.rejectedRows == 0)

        let scan = try RollupDirectory.scan(directory.path)
        #expect(scan.damaged.isEmpty)
        #expect(scan.segments.count == 5)
        #expect(scan.segments.map(\.segment.fileByteCount).reduce(0, +) == writer.bytesWritten)
        // Each segment holds 700 consecutive appended rows, sorted within the segment.
        var offset = 0
        for (_, segment) in scan.segments.sorted(by: {
            $0.path.split(separator: "-").last! < $1.path.split(separator: "-").last!
        }) {
            let expected = sortedForSegment(Array(rows[offset..<offset + segment.rows.count]))
            #expect(segment.rows.count == expected.count)
            for (got, want) in zip(segment.rows, expected) where got != want {
                Issue.record("row differs: \(got) vs \(want)")
                break
            }
            #expect(zip(segment.rows, expected).allSatisfy { bitIdentical($0, $1) })
            for entry in segment.series {
                #expect(entry.descriptor == descriptor(entry.seriesID))
            }
            offset += segment.rows.count
        }
        #expect(offset == rows.count)
    }

    @Test("realistic fleet rows round-trip exactly and segment metadata matches the rows")
    func realisticRoundTrip() throws {
        let fleet = RealisticFleet(seed: 42, devices: 3, interfacesPerDevice: 2, windows: 50)
        let sorted = sortedForSegment(fleet.rows)
        let series = Dictionary(grouping: sorted, by: \.seriesID).keys.sorted().map { id in
            RollupSeriesEntry(
                seriesID: id,
                descriptor: fleet.descriptors[id]!,
                rowCount: sorted.lazy.filter { $0.seriesID == id }.count
            )
        }
        let bytes = try SegmentEncoder.encode(
            rows: sorted[...],
            series: series,
            windowNanoseconds: RealisticFleet.windowNanoseconds,
            compressionLevel: 3
        )
        let segment = try RollupSegmentReader.decode(bytes)
        #expect(segment.rows.count == sorted.count)
        #expect(zip(segment.rows, sorted).allSatisfy { bitIdentical($0, $1) })
        #expect(segment.series == series)
        #expect(segment.header.rowCount == 3 * (2 * 5 + 2) * 50)
        #expect(segment.header.seriesCount == 3 * (2 * 5 + 2))
        #expect(segment.header.firstWindowStartNanoseconds == RealisticFleet.startNanoseconds)
        #expect(
            segment.header.lastWindowStartNanoseconds
                == RealisticFleet.startNanoseconds + 49 * RealisticFleet.windowNanoseconds
        )
        #expect(segment.descriptor(for: 3)?.key.description == "edge-01/et-0/0/0/rx_power")
        #expect(segment.descriptor(for: 10_000) == nil)
    }

    @Test("a reading of -3.21 dBm is stored as the integer -321 with no residual")
    func decimalTransform() {
        let value = -3.21
        let scaleCode = DoubleColumnCodec.scales.firstIndex(of: 100)! + 1
        let scale = DoubleColumnCodec.rowScale(.first, scaleCode: scaleCode, count: 6)
        let k = DoubleColumnCodec.scaledInteger(value, scale)
        #expect(k == -321)
        #expect(DoubleColumnCodec.bits(value) &- DoubleColumnCodec.bits(Double(k) / scale) == 0)
    }

    @Test("the M2 of 1.5 and 2.5 (0.5) uses scale 10² × count 2 and is stored as the integer 100")
    func sumOfSquaredDeviationsTransform() {
        let rows = DoubleColumnCodec.Rows(
            counts: [2, 2],
            values: DoubleColumnCodec.Column.allCases.map { $0 == .sumOfSquaredDeviations ? [0.5, 0.5] : [0, 0] }
        )
        let (scaleCode, _) = DoubleColumnCodec.choose(.sumOfSquaredDeviations, runStart: 0, runEnd: 2, rows: rows)
        #expect(scaleCode == DoubleColumnCodec.scales.firstIndex(of: 1)! + 1)  // 0.5 × 1 × 2 = 1: smallest fit
        let scale = DoubleColumnCodec.rowScale(.sumOfSquaredDeviations, scaleCode: 8, count: 2)
        #expect(scale == 200)
        #expect(DoubleColumnCodec.scaledInteger(0.5, scale) == 100)
    }

    @Test("zigzag varints round-trip at the edges (0, ±1, Int64.min, Int64.max) and have the expected lengths")
    func varints() throws {
        let values: [Int64] = [0, -1, 1, 63, -64, 64, Int64.min, Int64.max, 1 << 62]
        var writer = ByteWriter(capacity: 64)
        for value in values { writer.appendSignedVarint(value) }
        #expect(Array(writer.bytes.prefix(4)) == [0, 1, 2, 126])
        #expect(varintByteCount(zigzag(Int64.min)) == 10)
        #expect(varintByteCount(0) == 1 && varintByteCount(127) == 1 && varintByteCount(128) == 2)
        let decoded = try writer.bytes.withUnsafeBytes { bytes in
            var reader = ByteReader(bytes, section: "test")
            let decoded = try values.map { _ in try reader.readSignedVarint() }
            return (decoded, reader.isAtEnd)
        }
        #expect(decoded.0 == values)
        #expect(decoded.1)
    }
}

/// Bit-level equality (WindowAggregate's `==` treats every NaN alike and 0.0 == -0.0).
func bitIdentical(_ a: WindowAggregate, _ b: WindowAggregate) -> Bool {
    let doubles: [KeyPath<WindowAggregate, Double>] = [
        \.sum, \.minimum, \.maximum, \.first, \.last, \.sumOfSquaredDeviations, \.rate,
    ]
    return a.seriesID == b.seriesID && a.windowStartNanoseconds == b.windowStartNanoseconds && a.count == b.count
        && doubles.allSatisfy { a[keyPath: $0].bitPattern == b[keyPath: $0].bitPattern }
}
