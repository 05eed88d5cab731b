import VigilCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Buffers closed windows and writes them as rollup segment files (docs/rollup-format.md).
///
/// Rows are buffered up to `rowsPerSegment`; a full buffer is written as one segment, published
/// atomically (temporary file `.seg-….vgr.tmp.PID`, fsync, hard link to `seg-<first window start ns>-<seq>.vgr`,
/// which never replaces an existing file, fsync of the directory). Before its first segment the writer
/// removes the temporary files that killed writers left in the directory (``TemporaryFiles``). A failed write throws a ``RollupWriterError``
/// naming the path, the operation and `strerror(errno)`; the rows of that segment are dropped and counted
/// in ``droppedRows``, so memory stays bounded and the writer keeps going with the next segment.
///
/// One writer per directory; not thread-safe (the engine owns it from one queue).
public final class RollupSegmentWriter {
    public let directory: String
    public let windowNanoseconds: Int64
    public let rowsPerSegment: Int
    public let compressionLevel: Int32

    /// Segments published.
    public private(set) var segmentsWritten = 0
    /// Rows in published segments.
    public private(set) var rowsWritten = 0
    /// Bytes of published segment files.
    public private(set) var bytesWritten = 0
    /// Failed segment writes, and published segments whose directory could not be synced.
    public private(set) var writeErrors = 0
    /// Rows lost because their segment could not be written.
    public private(set) var droppedRows = 0
    /// Rows refused at `append`: no descriptor for their series, or a descriptor beyond the format's
    /// limits (strings over 4096 bytes, more than 64 extra labels).
    public private(set) var rejectedRows = 0
    /// The most recent write failure, for the engine's status output.
    public private(set) var lastError: RollupWriterError?

    /// Rows waiting for the next segment; never more than `rowsPerSegment`.
    public var bufferedRowCount: Int { buffer.count }

    private var buffer: [WindowAggregate] = []
    /// Descriptors of the series in `buffer`, looked up once per series per segment.
    private var descriptors: [SeriesID: SeriesDescriptor] = [:]
    private var sequence = 0
    private var isClosed = false
    /// Whether the temporary files that killed writers left in ``directory`` were removed (before the
    /// first segment: ``TemporaryFiles/removeAbandoned(in:finalName:)``).
    private var removedAbandonedTemporaries = false
    /// The largest uncompressed payload a segment may have: the format's limit (lowered by tests).
    var maximumPayloadByteCount = SegmentLayout.maximumPayloadByteCount

    /// Creates a writer. Does no I/O: an unusable directory shows up as a typed error at the first write.
    ///
    /// - Parameters:
    ///   - directory: where segments go; must exist.
    ///   - windowNanoseconds: the width of the windows appended, > 0.
    ///   - rowsPerSegment: rows per segment file, 1...4_194_304.
    ///   - compressionLevel: zstd level; 9 by default (a segment is written once and read many times).
    public init(directory: String, windowNanoseconds: Int64, rowsPerSegment: Int = 1 << 20, compressionLevel: Int32 = 9)
    {
        precondition(windowNanoseconds > 0, "window width must be positive")
        precondition(
            (1...SegmentLayout.maximumRowCount).contains(rowsPerSegment),
            "rowsPerSegment must be in 1...\(SegmentLayout.maximumRowCount)"
        )
        self.directory = directory
        self.windowNanoseconds = windowNanoseconds
        self.rowsPerSegment = rowsPerSegment
        self.compressionLevel = compressionLevel
        buffer.reserveCapacity(min(rowsPerSegment, 1 << 16))
    }

    /// Buffers closed windows, writing a segment each time `rowsPerSegment` rows are buffered.
    ///
    /// - Parameters:
    ///   - aggregates: closed windows of any series, in any order.
    ///   - descriptors: looked up once per series per segment (not per row); rows whose series has none
    ///     are counted in ``rejectedRows``.
    /// - Throws: the first ``RollupWriterError`` met; later rows of the batch are still buffered.
    /// Complexity: O(n) amortised, plus the segment writes.
    public func append(
        _ aggregates: UnsafeBufferPointer<WindowAggregate>,
        descriptors lookup: (SeriesID) -> SeriesDescriptor?
    ) throws {
        guard !isClosed else { throw RollupWriterError.closed(directory: directory) }
        var firstError: RollupWriterError?
        for aggregate in aggregates {
            if descriptors[aggregate.seriesID] == nil {
                guard let descriptor = lookup(aggregate.seriesID), Self.fitsFormat(descriptor) else {
                    rejectedRows += 1
                    continue
                }
                descriptors[aggregate.seriesID] = descriptor
            }
            buffer.append(aggregate)
            if buffer.count == rowsPerSegment {
                do { try flush() } catch let error as RollupWriterError { firstError = firstError ?? error }
            }
        }
        if let firstError { throw firstError }
    }

    /// Array convenience for ``append(_:descriptors:)-(UnsafeBufferPointer<WindowAggregate>,_)``.
    public func append(_ aggregates: [WindowAggregate], descriptors lookup: (SeriesID) -> SeriesDescriptor?) throws {
        try aggregates.withUnsafeBufferPointer { try append($0, descriptors: lookup) }
    }

    /// Writes the buffered rows as one segment (nothing if none are buffered).
    ///
    /// - Throws: ``RollupWriterError/io(_:)``; the buffered rows are then dropped and counted.
    public func flush() throws {
        guard !isClosed else { throw RollupWriterError.closed(directory: directory) }
        guard !buffer.isEmpty else { return }
        defer {
            buffer.removeAll(keepingCapacity: true)
            descriptors.removeAll(keepingCapacity: true)
        }
        // Sort by series then start; the original index breaks ties so equal rows keep their order.
        let order = buffer.indices.sorted { a, b in
            let left = buffer[a]
            let right = buffer[b]
            if left.seriesID != right.seriesID { return left.seriesID < right.seriesID }
            if left.windowStartNanoseconds != right.windowStartNanoseconds {
                return left.windowStartNanoseconds < right.windowStartNanoseconds
            }
            return a < b
        }
        let rows = order.map { buffer[$0] }
        try publish(rows[...])
    }

    /// Encodes sorted rows as one segment and publishes it; rows whose payload would pass the format's
    /// limit (long labels on many series) are split in halves, each its own segment.
    private func publish(_ rows: ArraySlice<WindowAggregate>) throws {
        var series: [RollupSeriesEntry] = []
        for row in rows {
            if series.last?.seriesID == row.seriesID {
                series[series.count - 1].rowCount += 1
            } else {
                series.append(
                    RollupSeriesEntry(seriesID: row.seriesID, descriptor: descriptors[row.seriesID]!, rowCount: 1)
                )
            }
        }
        let bytes: [UInt8]
        do {
            bytes = try SegmentEncoder.encode(
                rows: rows,
                series: series,
                windowNanoseconds: windowNanoseconds,
                compressionLevel: compressionLevel,
                maximumPayloadByteCount: maximumPayloadByteCount
            )
        } catch .payloadTooLarge where rows.count > 1 {
            let middle = rows.startIndex + rows.count / 2
            var firstError: Error?
            for half in [rows[..<middle], rows[middle...]] {
                do { try publish(half) } catch { firstError = firstError ?? error }
            }
            if let firstError { throw firstError }
            return
        } catch .payloadTooLarge(let byteCount) {
            let reason = "a single row's segment payload is \(byteCount) bytes, over the format's limit"
            throw recordFailure(
                RollupIOError(path: directory, operation: .write, errorNumber: EFBIG, message: reason),
                rows: rows.count
            )
        } catch .compression {
            let reason = "zstd could not compress the segment"
            throw recordFailure(
                RollupIOError(path: directory, operation: .write, errorNumber: ENOMEM, message: reason),
                rows: rows.count
            )
        }
        var notDurable: RollupIOError?
        let firstWindowStart = rows.map(\.windowStartNanoseconds).min()!
        // A name taken between choosing it and publishing (another writer in the directory) is retried
        // with the next free one.
        for attempt in 1...3 {
            guard let finalPath = nextSegmentPath(firstWindowStart: firstWindowStart) else {
                let reason = "no free segment name: \(Self.maximumNameAttempts) names in a row taken"
                throw recordFailure(
                    RollupIOError(path: directory, operation: .publish, errorNumber: EEXIST, message: reason),
                    rows: rows.count
                )
            }
            if !removedAbandonedTemporaries {
                removedAbandonedTemporaries = true
                TemporaryFiles.removeAbandoned(in: directory) { $0.hasPrefix(".seg-") && $0.hasSuffix(".vgr") }
            }
            do {
                try FileIO.publishAtomically(
                    bytes,
                    temporaryPath: TemporaryFiles.path(publishing: finalPath, hidden: true),
                    finalPath: finalPath,
                    directory: directory
                )
                break
            } catch let error as RollupIOError {
                if error.errorNumber == EEXIST && attempt < 3 { continue }
                throw recordFailure(error, rows: rows.count)
            } catch let error as FileIO.PublishedNotDurable {
                notDurable = error.error
                break
            }
        }
        segmentsWritten += 1
        rowsWritten += rows.count
        bytesWritten += bytes.count
        if let notDurable {
            // Published and readable; reported (and counted) because it may not survive a power loss.
            writeErrors += 1
            lastError = .io(notDurable)
            throw RollupWriterError.io(notDurable)
        }
    }

    /// Flushes and closes; later calls to `append` or `flush` throw ``RollupWriterError/closed(directory:)``.
    public func close() throws {
        guard !isClosed else { return }
        defer { isClosed = true }
        try flush()
    }

    private func recordFailure(_ error: RollupIOError, rows: Int) -> RollupWriterError {
        droppedRows += rows
        writeErrors += 1
        lastError = .io(error)
        return .io(error)
    }

    private static func fitsFormat(_ descriptor: SeriesDescriptor) -> Bool {
        let key = descriptor.key
        let strings =
            [key.device, key.interface, key.metric, descriptor.unit] + key.extraLabels.flatMap { [$0.name, $0.value] }
        return key.extraLabels.count <= SegmentLayout.maximumExtraLabelCount
            && strings.allSatisfy { $0.utf8.count <= SegmentLayout.maximumStringByteCount }
    }

    /// How many sequence numbers a segment tries before its write fails.
    static let maximumNameAttempts = 1000

    /// `seg-<first window start, 19 digits>-<sequence, 6 digits>.vgr`: names sort by time. The sequence
    /// skips names already taken (a restarted writer in the same directory); nil when
    /// ``maximumNameAttempts`` in a row are taken. (Temporary names carry the writer's PID, so another
    /// writer's temporary file never takes a name.)
    private func nextSegmentPath(firstWindowStart: Int64) -> String? {
        let startDigits = String(max(firstWindowStart, 0))
        let paddedStart = String(repeating: "0", count: max(0, 19 - startDigits.count)) + startDigits
        for _ in 0..<Self.maximumNameAttempts {
            sequence += 1
            let sequenceDigits = String(sequence)
            let paddedSequence = String(repeating: "0", count: max(0, 6 - sequenceDigits.count)) + sequenceDigits
            let path = "\(directory)/seg-\(paddedStart)-\(paddedSequence).vgr"
            if !FileIO.fileExists(path) { return path }
        }
        return nil
    }
}
