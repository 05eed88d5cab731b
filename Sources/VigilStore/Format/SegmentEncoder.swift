import VigilCore

/// Turns sorted rows and their dictionary into the bytes of a segment file. Pure: no I/O.
enum SegmentEncoder {
    enum Failure: Error, Equatable {
        /// The uncompressed payload would pass the limit a reader accepts.
        case payloadTooLarge(byteCount: Int)
        /// zstd reported an error (allocation failure, in practice).
        case compression
    }

    /// Encodes a segment.
    ///
    /// - Parameters:
    ///   - rows: sorted by series id then window start; at most ``SegmentLayout/maximumRowCount``.
    ///   - series: one entry per distinct series id of `rows`, ascending, with its row count; descriptors
    ///     within the format's string and label limits (the writer checks).
    ///   - windowNanoseconds: the width of every window, > 0.
    ///   - compressionLevel: zstd level.
    ///   - maximumPayloadByteCount: the largest uncompressed payload allowed (the format's limit, smaller in
    ///     tests).
    /// - Returns: the file bytes.
    /// - Throws: ``Failure``: the payload is over the limit (write fewer rows) or zstd failed.
    /// Complexity: O(rows) plus O(series × 64 × scales) to choose each series' transforms.
    static func encode(
        rows: ArraySlice<WindowAggregate>,
        series: [RollupSeriesEntry],
        windowNanoseconds: Int64,
        compressionLevel: Int32,
        maximumPayloadByteCount: Int = SegmentLayout.maximumPayloadByteCount
    ) throws(Failure) -> [UInt8] {
        let rows = Array(rows)
        precondition(!rows.isEmpty && rows.count <= SegmentLayout.maximumRowCount)
        precondition(windowNanoseconds > 0)
        var payload = ByteWriter(capacity: rows.count * 16 + series.count * 64)
        for entry in series {
            encodeDictionaryEntry(entry, into: &payload)
        }
        let dictionaryByteCount = payload.bytes.count
        let firstStart = rows.lazy.map(\.windowStartNanoseconds).min()!
        let lastStart = rows.lazy.map(\.windowStartNanoseconds).max()!
        var runs: [Range<Int>] = []
        runs.reserveCapacity(series.count)
        var runStart = 0
        for entry in series {
            runs.append(runStart..<runStart + entry.rowCount)
            runStart += entry.rowCount
        }
        precondition(runStart == rows.count, "dictionary row counts must add up to the rows")

        encodeWindowStarts(
            rows,
            runs: runs,
            firstStart: firstStart,
            windowNanoseconds: windowNanoseconds,
            into: &payload
        )
        var counts = ByteWriter(capacity: rows.count)
        for run in runs {
            var previous: Int64 = 0
            for row in run {
                counts.appendSignedVarint(Int64(rows[row].count) - previous)
                previous = Int64(rows[row].count)
            }
        }
        payload.appendVarint(UInt64(counts.bytes.count))
        payload.append(contentsOf: counts.bytes)

        let columnar = DoubleColumnCodec.Rows(
            counts: rows.map(\.count),
            values: DoubleColumnCodec.Column.allCases.map { column in
                switch column {
                case .last: return rows.map(\.last)
                case .first: return rows.map(\.first)
                case .minimum: return rows.map(\.minimum)
                case .maximum: return rows.map(\.maximum)
                case .sum: return rows.map(\.sum)
                case .sumOfSquaredDeviations: return rows.map(\.sumOfSquaredDeviations)
                case .rate: return rows.map(\.rate)
                }
            }
        )
        for column in DoubleColumnCodec.Column.allCases {
            var choices = ByteWriter(capacity: runs.count)
            var integers = ByteWriter(capacity: rows.count * 2)
            var residuals = ByteWriter(capacity: rows.count)
            for run in runs {
                let (scaleCode, predictor) = DoubleColumnCodec.choose(
                    column,
                    runStart: run.lowerBound,
                    runEnd: run.upperBound,
                    rows: columnar
                )
                choices.bytes.append(DoubleColumnCodec.choiceByte(scaleCode: scaleCode, predictor: predictor))
                DoubleColumnCodec.forEachEncoded(
                    column,
                    scaleCode: scaleCode,
                    predictor: predictor,
                    runStart: run.lowerBound,
                    runEnd: run.upperBound,
                    rows: columnar
                ) { delta, residual in
                    integers.appendSignedVarint(delta)
                    if let residual { residuals.appendSignedVarint(residual) }
                }
            }
            for stream in [choices, integers, residuals] {
                payload.appendVarint(UInt64(stream.bytes.count))
                payload.append(contentsOf: stream.bytes)
            }
        }

        guard payload.bytes.count <= maximumPayloadByteCount else {
            throw .payloadTooLarge(byteCount: payload.bytes.count)
        }
        guard let compressed = Zstd.compress(payload.bytes, level: compressionLevel) else { throw .compression }
        let header = RollupSegmentHeader(
            windowNanoseconds: windowNanoseconds,
            firstWindowStartNanoseconds: firstStart,
            lastWindowStartNanoseconds: lastStart,
            rowCount: rows.count,
            seriesCount: series.count,
            payloadCompressedByteCount: compressed.count,
            payloadUncompressedByteCount: payload.bytes.count,
            dictionaryByteCount: dictionaryByteCount
        )
        var file = header.encoded()
        file.reserveCapacity(file.count + compressed.count + SegmentLayout.trailerByteCount)
        file.append(contentsOf: compressed)
        let crc = CRC32C.checksum(file)
        for shift in stride(from: 0, to: 32, by: 8) {
            file.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift)))
        }
        return file
    }

    static func encodeDictionaryEntry(_ entry: RollupSeriesEntry, into writer: inout ByteWriter) {
        writer.appendVarint(UInt64(entry.seriesID))
        writer.bytes.append(entry.descriptor.kind.rawValue)
        writer.appendVarint(UInt64(entry.rowCount))
        let key = entry.descriptor.key
        for text in [key.device, key.interface, key.metric, entry.descriptor.unit] {
            writer.appendString(text)
        }
        writer.appendVarint(UInt64(key.extraLabels.count))
        for label in key.extraLabels {
            writer.appendString(label.name)
            writer.appendString(label.value)
        }
    }

    /// Window starts per series as deltas (from the segment's first start at each series' first row), in
    /// whole windows when every start is on the grid of the first one, in nanoseconds otherwise.
    static func encodeWindowStarts(
        _ rows: [WindowAggregate],
        runs: [Range<Int>],
        firstStart: Int64,
        windowNanoseconds: Int64,
        into payload: inout ByteWriter
    ) {
        let onGrid = rows.allSatisfy { row in
            let (offset, overflow) = row.windowStartNanoseconds.subtractingReportingOverflow(firstStart)
            return !overflow && offset % windowNanoseconds == 0
        }
        let unitNanoseconds = onGrid ? windowNanoseconds : 1
        var starts = ByteWriter(capacity: rows.count)
        for run in runs {
            var previous = firstStart
            for row in run {
                let start = rows[row].windowStartNanoseconds
                // Unsigned: sorted starts never step back, and the distance fits even across all of Int64.
                starts.appendVarint(UInt64(bitPattern: start &- previous) / UInt64(unitNanoseconds))
                previous = start
            }
        }
        payload.bytes.append(onGrid ? 1 : 0)
        payload.appendVarint(UInt64(starts.bytes.count))
        payload.append(contentsOf: starts.bytes)
    }
}
