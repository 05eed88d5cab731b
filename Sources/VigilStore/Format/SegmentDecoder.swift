import VigilCore

/// Turns the bytes of a segment file back into a ``RollupSegment``. Pure: no I/O.
///
/// Checks in order: size, magic, version, lengths against the file size and limits, CRC32C (before any
/// allocation that depends on the payload), zstd, then every stream's length and every row's consistency.
enum SegmentDecoder {
    static func decode(_ file: UnsafeRawBufferPointer) throws -> RollupSegment {
        guard file.count >= SegmentLayout.minimumFileByteCount else {
            throw RollupSegmentError.tooShort(byteCount: file.count, minimum: SegmentLayout.minimumFileByteCount)
        }
        let header = try RollupSegmentHeader.decode(
            UnsafeRawBufferPointer(rebasing: file[0..<SegmentLayout.headerByteCount]),
            fileByteCount: file.count
        )
        let checkedEnd = file.count - SegmentLayout.trailerByteCount
        var trailer = ByteReader(UnsafeRawBufferPointer(rebasing: file[checkedEnd...]), section: "trailer")
        let storedCRC: UInt32 = try trailer.readLittleEndian()
        let computedCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: file[0..<checkedEnd]))
        guard storedCRC == computedCRC else {
            throw RollupSegmentError.checksumMismatch(stored: storedCRC, computed: computedCRC)
        }
        let frame = UnsafeRawBufferPointer(rebasing: file[SegmentLayout.headerByteCount..<checkedEnd])
        // The first megabyte of the dictionary is decoded before the rest is decompressed: a payload of
        // garbage (or of zeros behind a valid CRC, which zstd expands 32,768-fold) fails there.
        let payload = try Zstd.decompress(
            frame,
            declaredByteCount: header.payloadUncompressedByteCount,
            checkingPrefix: min(header.dictionaryByteCount, SegmentLayout.dictionaryProbeByteCount)
        ) { prefix in
            var reader = ByteReader(prefix, section: "series dictionary")
            _ = try decodeDictionary(&reader, header: header, isPrefix: true)
        }
        return try payload.withUnsafeBytes { bytes in
            try decodePayload(bytes, header: header, fileByteCount: file.count)
        }
    }

    static func decodePayload(
        _ bytes: UnsafeRawBufferPointer,
        header: RollupSegmentHeader,
        fileByteCount: Int
    ) throws -> RollupSegment {
        var reader = ByteReader(bytes, section: "payload")
        var dictionary = try reader.subReader(count: header.dictionaryByteCount, section: "series dictionary")
        let (series, runs) = try decodeDictionary(&dictionary, header: header, isPrefix: false)

        let starts = try decodeWindowStarts(&reader, runs: runs, header: header)
        var countsReader = try reader.subReader(
            count: try reader.readLength(limit: reader.remaining, what: "count stream"),
            section: "count column"
        )
        var counts = [UInt32](repeating: 0, count: header.rowCount)
        for run in runs {
            var previous: Int64 = 0
            for row in run {
                let count = previous &+ (try countsReader.readSignedVarint())
                guard let exact = UInt32(exactly: count) else {
                    throw RollupSegmentError.malformed(
                        section: "count column",
                        offset: countsReader.baseOffset + countsReader.offset,
                        reason: "count \(count) outside 0...\(UInt32.max)"
                    )
                }
                counts[row] = exact
                previous = count
            }
        }
        try expectEnd(countsReader)

        var columnar = DoubleColumnCodec.Rows(
            counts: counts,
            values: Array(repeating: [], count: DoubleColumnCodec.Column.allCases.count)
        )
        for column in DoubleColumnCodec.Column.allCases {
            let section = "column \(column)"
            let choices = try reader.subReader(
                count: try reader.readLength(limit: reader.remaining, what: "\(section) choices"),
                section: section
            )
            guard choices.remaining == runs.count else {
                throw RollupSegmentError.malformed(
                    section: section,
                    offset: reader.offset,
                    reason: "\(choices.remaining) choice bytes for \(runs.count) series"
                )
            }
            var integers = try reader.subReader(
                count: try reader.readLength(limit: reader.remaining, what: "\(section) integers"),
                section: section
            )
            var residuals = try reader.subReader(
                count: try reader.readLength(limit: reader.remaining, what: "\(section) residuals"),
                section: section
            )
            var output = [Double](repeating: 0, count: header.rowCount)
            for (index, run) in runs.enumerated() {
                try DoubleColumnCodec.decodeRun(
                    column,
                    choice: choices.bytes[index],
                    runStart: run.lowerBound,
                    runEnd: run.upperBound,
                    rows: columnar,
                    output: &output,
                    integers: &integers,
                    residuals: &residuals
                )
            }
            try expectEnd(integers)
            try expectEnd(residuals)
            columnar.values[column.rawValue] = output
        }
        try expectEnd(reader)

        var rows: [WindowAggregate] = []
        rows.reserveCapacity(header.rowCount)
        for (index, run) in runs.enumerated() {
            for row in run {
                let value = { (column: DoubleColumnCodec.Column) in columnar.values[column.rawValue][row] }
                rows.append(
                    WindowAggregate(
                        seriesID: series[index].seriesID,
                        windowStartNanoseconds: starts[row],
                        count: counts[row],
                        sum: value(.sum),
                        minimum: value(.minimum),
                        maximum: value(.maximum),
                        first: value(.first),
                        last: value(.last),
                        sumOfSquaredDeviations: value(.sumOfSquaredDeviations),
                        rate: value(.rate)
                    )
                )
            }
        }
        return RollupSegment(header: header, series: series, rows: rows, fileByteCount: fileByteCount)
    }

    /// Decodes the series dictionary: entries with ascending ids, each with at least one row, their rows
    /// adding up to the header's row count. Returns the entries and each one's run of rows.
    ///
    /// - Parameter isPrefix: the reader holds only the dictionary's first bytes (``Zstd`` checks them
    ///   before it decompresses the rest): an entry cut off at its end ends the check without an error,
    ///   and the totals are not checked.
    static func decodeDictionary(
        _ dictionary: inout ByteReader,
        header: RollupSegmentHeader,
        isPrefix: Bool
    ) throws -> (series: [RollupSeriesEntry], runs: [Range<Int>]) {
        var series: [RollupSeriesEntry] = []
        var runs: [Range<Int>] = []
        if !isPrefix {
            series.reserveCapacity(header.seriesCount)
            runs.reserveCapacity(header.seriesCount)
        }
        var rowTotal = 0
        for index in 0..<header.seriesCount {
            let entry: RollupSeriesEntry
            do {
                entry = try decodeDictionaryEntry(&dictionary)
            } catch RollupSegmentError.truncated where isPrefix {
                return (series, runs)
            }
            if let previous = series.last, previous.seriesID >= entry.seriesID {
                throw RollupSegmentError.malformed(
                    section: "series dictionary",
                    offset: dictionary.offset,
                    reason: "series id \(entry.seriesID) after \(previous.seriesID) (entry \(index)): not ascending"
                )
            }
            guard entry.rowCount >= 1, entry.rowCount <= header.rowCount - rowTotal else {
                throw RollupSegmentError.malformed(
                    section: "series dictionary",
                    offset: dictionary.offset,
                    reason: "series \(entry.seriesID) has \(entry.rowCount) rows; \(header.rowCount - rowTotal) of the "
                        + "header's \(header.rowCount) are left for it"
                )
            }
            runs.append(rowTotal..<rowTotal + entry.rowCount)
            rowTotal += entry.rowCount
            series.append(entry)
        }
        guard isPrefix || (dictionary.isAtEnd && rowTotal == header.rowCount) else {
            throw RollupSegmentError.malformed(
                section: "series dictionary",
                offset: dictionary.offset,
                reason: "\(header.seriesCount) entries with \(rowTotal) rows, \(dictionary.remaining) bytes left; "
                    + "the header says \(header.rowCount) rows"
            )
        }
        return (series, runs)
    }

    static func decodeDictionaryEntry(_ reader: inout ByteReader) throws -> RollupSeriesEntry {
        let start = reader.offset
        let id = try reader.readVarint()
        guard let seriesID = SeriesID(exactly: id) else {
            throw RollupSegmentError.malformed(section: reader.section, offset: start, reason: "series id \(id)")
        }
        let kindByte = try reader.readByte()
        guard let kind = MetricKind(rawValue: kindByte) else {
            throw RollupSegmentError.malformed(
                section: reader.section,
                offset: start,
                reason: "metric kind \(kindByte)"
            )
        }
        let rowCount = try reader.readVarint()
        guard rowCount <= UInt64(SegmentLayout.maximumRowCount) else {
            throw RollupSegmentError.malformed(section: reader.section, offset: start, reason: "row count \(rowCount)")
        }
        let device = try reader.readString(what: "device")
        let interface = try reader.readString(what: "interface")
        let metric = try reader.readString(what: "metric")
        let unit = try reader.readString(what: "unit")
        let labelCount = try reader.readVarint()
        guard labelCount <= UInt64(SegmentLayout.maximumExtraLabelCount) else {
            throw RollupSegmentError.malformed(
                section: reader.section,
                offset: start,
                reason: "\(labelCount) extra labels > \(SegmentLayout.maximumExtraLabelCount)"
            )
        }
        var labels: [Label] = []
        for _ in 0..<Int(labelCount) {
            labels.append(
                Label(
                    name: try reader.readString(what: "label name"),
                    value: try reader.readString(what: "label value")
                )
            )
        }
        let key = SeriesKey(device: device, interface: interface, metric: metric, extraLabels: labels)
        return RollupSeriesEntry(
            seriesID: seriesID,
            descriptor: SeriesDescriptor(key: key, kind: kind, unit: unit),
            rowCount: Int(rowCount)
        )
    }

    static func decodeWindowStarts(
        _ reader: inout ByteReader,
        runs: [Range<Int>],
        header: RollupSegmentHeader
    ) throws -> [Int64] {
        let unitKind = try reader.readByte()
        guard unitKind <= 1 else {
            throw RollupSegmentError.malformed(
                section: "window start column",
                offset: reader.offset - 1,
                reason: "unit kind \(unitKind)"
            )
        }
        let unitNanoseconds = unitKind == 1 ? header.windowNanoseconds : 1
        var startsReader = try reader.subReader(
            count: try reader.readLength(limit: reader.remaining, what: "window start stream"),
            section: "window start column"
        )
        var starts = [Int64](repeating: 0, count: header.rowCount)
        var earliest = Int64.max
        var latest = Int64.min
        for run in runs {
            var previous = header.firstWindowStartNanoseconds
            for row in run {
                let delta = try startsReader.readVarint()
                let (distance, overflow) = delta.multipliedReportingOverflow(by: UInt64(unitNanoseconds))
                let start = previous &+ Int64(bitPattern: distance)
                // Sorted within a series and inside the header's range, or the segment is inconsistent.
                guard !overflow, start >= previous, start <= header.lastWindowStartNanoseconds else {
                    throw RollupSegmentError.malformed(
                        section: "window start column",
                        offset: startsReader.baseOffset + startsReader.offset,
                        reason: "window start \(start) out of order or outside the header's time range"
                    )
                }
                starts[row] = start
                earliest = min(earliest, start)
                latest = max(latest, start)
                previous = start
            }
        }
        try expectEnd(startsReader)
        guard earliest == header.firstWindowStartNanoseconds, latest == header.lastWindowStartNanoseconds else {
            throw RollupSegmentError.malformed(
                section: "window start column",
                offset: startsReader.baseOffset,
                reason: "rows span \(earliest)...\(latest), header says "
                    + "\(header.firstWindowStartNanoseconds)...\(header.lastWindowStartNanoseconds)"
            )
        }
        return starts
    }

    static func expectEnd(_ reader: ByteReader) throws {
        guard reader.isAtEnd else {
            throw RollupSegmentError.malformed(
                section: reader.section,
                offset: reader.offset,
                reason: "\(reader.remaining) bytes left over after the stream's values"
            )
        }
    }
}
