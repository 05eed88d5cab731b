import VigilCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Buffers per-(exporter, window) flow summaries and writes them as flow summary files
/// (`flows-<first window start, 19 digits>-<sequence, 6 digits>.vgf`, ``FlowSummaryFile``) into a rollup
/// directory, published atomically as segments are (temporary file, fsync, link, directory fsync).
///
/// At most ``summariesPerFile`` summaries are buffered; a full buffer is written at once. A failed write
/// drops that file's summaries, counts them in ``droppedSummaries`` and throws a ``RollupWriterError``
/// naming the path and `strerror`; the writer goes on with the next file. One writer per directory; not
/// thread-safe (the engine's rollup writer thread owns it).
public final class FlowSummaryWriter {
    public let directory: String
    public let summariesPerFile: Int
    public let compressionLevel: Int32

    public private(set) var filesWritten = 0
    public private(set) var summariesWritten = 0
    public private(set) var bytesWritten = 0
    public private(set) var droppedSummaries = 0
    public private(set) var writeErrors = 0
    public var bufferedCount: Int { buffer.count }

    private var buffer: [FlowWindowSummary] = []
    private var sequence = 0
    private var isClosed = false
    private var removedAbandonedTemporaries = false

    /// - Parameters:
    ///   - directory: the rollup directory; must exist.
    ///   - summariesPerFile: 1...65,536 (default 4,096: with the default 20 entries a kind, about 2 MiB
    ///     before compression).
    public init(directory: String, summariesPerFile: Int = 4_096, compressionLevel: Int32 = 9) {
        precondition((1...FlowSummaryFile.maximumSummaryCount).contains(summariesPerFile), "summariesPerFile")
        self.directory = directory
        self.summariesPerFile = summariesPerFile
        self.compressionLevel = compressionLevel
    }

    /// Buffers `summary`, writing a file when ``summariesPerFile`` are buffered.
    /// - Throws: ``RollupWriterError`` when that write failed (its summaries are counted as dropped).
    public func append(_ summary: FlowWindowSummary) throws {
        guard !isClosed else { throw RollupWriterError.closed(directory: directory) }
        if let first = buffer.first, first.windowNanoseconds != summary.windowNanoseconds { try flush() }
        buffer.append(summary)
        if buffer.count >= summariesPerFile { try flush() }
    }

    /// Writes the buffered summaries as one file (nothing when none are buffered).
    public func flush() throws {
        guard !isClosed else { throw RollupWriterError.closed(directory: directory) }
        guard !buffer.isEmpty else { return }
        let summaries = buffer
        buffer.removeAll(keepingCapacity: true)
        guard let bytes = FlowSummaryFile.encode(summaries, compressionLevel: compressionLevel) else {
            throw failure(
                RollupIOError(
                    path: directory,
                    operation: .write,
                    errorNumber: ENOMEM,
                    message: "zstd could not compress"
                ),
                count: summaries.count
            )
        }
        let first = summaries.map(\.windowStartNanoseconds).min()!
        let startDigits = String(max(first, 0))
        let paddedStart = String(repeating: "0", count: max(0, 19 - startDigits.count)) + startDigits
        if !removedAbandonedTemporaries {
            removedAbandonedTemporaries = true
            TemporaryFiles.removeAbandoned(in: directory) { $0.hasPrefix(".flows-") && $0.hasSuffix(".vgf") }
        }
        for _ in 0..<1_000 {
            sequence += 1
            let sequenceDigits = String(sequence)
            let paddedSequence = String(repeating: "0", count: max(0, 6 - sequenceDigits.count)) + sequenceDigits
            let path = "\(directory)/flows-\(paddedStart)-\(paddedSequence).vgf"
            if FileIO.fileExists(path) { continue }
            do {
                try FileIO.publishAtomically(
                    bytes,
                    temporaryPath: TemporaryFiles.path(publishing: path, hidden: true),
                    finalPath: path,
                    directory: directory
                )
            } catch let error as RollupIOError {
                if error.errorNumber == EEXIST { continue }
                throw failure(error, count: summaries.count)
            } catch let error as FileIO.PublishedNotDurable {
                record(bytes: bytes.count, count: summaries.count)
                writeErrors += 1
                throw RollupWriterError.io(error.error)
            }
            record(bytes: bytes.count, count: summaries.count)
            return
        }
        throw failure(
            RollupIOError(
                path: directory,
                operation: .publish,
                errorNumber: EEXIST,
                message: "no free flows file name"
            ),
            count: summaries.count
        )
    }

    /// Flushes and closes.
    public func close() throws {
        guard !isClosed else { return }
        defer { isClosed = true }
        try flush()
    }

    private func record(bytes: Int, count: Int) {
        filesWritten += 1
        summariesWritten += count
        bytesWritten += bytes
    }

    private func failure(_ error: RollupIOError, count: Int) -> RollupWriterError {
        droppedSummaries += count
        writeErrors += 1
        return .io(error)
    }
}
