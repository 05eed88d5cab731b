/// Reads one segment file.
public enum RollupSegmentReader {
    /// Largest segment file read: the biggest a writer can produce (4 Mi rows at the per-row worst case,
    /// plus dictionaries) is far below it, so anything larger is not a segment.
    public static let maximumFileByteCount = 1 << 31

    /// Reads and fully verifies a segment: size, magic, version, lengths, CRC32C, zstd frame, streams.
    ///
    /// The 64-byte header is read and checked (magic, version, lengths against the file's size) before the
    /// rest: a file that is not a segment costs its first 64 bytes, however large it is.
    ///
    /// - Parameter path: the segment file.
    /// - Returns: the decoded segment, rows sorted by series then window start.
    /// - Throws: ``RollupSegmentError``: `.io` when the file cannot be read, another case naming what is
    ///   damaged. Memory is bounded by the file size and the format's limits, whatever the file says.
    public static func read(_ path: String) throws -> RollupSegment {
        let bytes: [UInt8]
        do {
            bytes = try FileIO.readFile(
                path,
                maximumByteCount: maximumFileByteCount,
                prefixByteCount: SegmentLayout.headerByteCount
            ) { header, fileByteCount in
                // The checks SegmentDecoder starts with, in its order: size, then the header.
                guard fileByteCount >= SegmentLayout.minimumFileByteCount else {
                    throw RollupSegmentError.tooShort(
                        byteCount: fileByteCount,
                        minimum: SegmentLayout.minimumFileByteCount
                    )
                }
                guard header.count == SegmentLayout.headerByteCount else { return }  // shrank: decode says why
                _ = try RollupSegmentHeader.decode(header, fileByteCount: fileByteCount)
            }
        } catch let error as RollupIOError {
            throw RollupSegmentError.io(error)
        }
        return try decode(bytes)
    }

    /// Decodes a segment from its bytes (what ``read(_:)`` does after reading the file).
    public static func decode(_ bytes: [UInt8]) throws -> RollupSegment {
        try bytes.withUnsafeBytes { try SegmentDecoder.decode($0) }
    }
}

/// A directory of segment files.
public enum RollupDirectory {
    /// A segment that could not be read, and why.
    public struct DamagedSegment: Sendable, Equatable {
        public var path: String
        public var reason: RollupSegmentError
    }

    /// The result of ``scan(_:)``.
    public struct Scan: Sendable {
        /// Readable segments in name order (which is time order), with their paths.
        public var segments: [(path: String, segment: RollupSegment)]
        public var damaged: [DamagedSegment]
    }

    /// Paths of the segment files in `directory` (`*.vgr`, not hidden: temporary files of a writer that
    /// crashed are `.seg-….vgr.tmp.PID` and never listed), sorted by name, which is time order.
    ///
    /// - Throws: ``RollupIOError`` when the directory is missing or unreadable.
    public static func segmentPaths(_ directory: String) throws -> [String] {
        try FileIO.listDirectory(directory)
            .filter { $0.hasSuffix(".vgr") && !$0.hasPrefix(".") }
            .sorted()
            .map { directory + "/" + $0 }
    }

    /// Reads every segment of `directory`; damaged ones are named with their reason and skipped.
    ///
    /// Holds every segment in memory: for large directories iterate ``segmentPaths(_:)`` and
    /// ``RollupSegmentReader/read(_:)`` one segment at a time, as `vigil rollups` does.
    /// - Throws: ``RollupIOError`` when the directory itself is missing or unreadable.
    public static func scan(_ directory: String) throws -> Scan {
        var scan = Scan(segments: [], damaged: [])
        for path in try segmentPaths(directory) {
            do {
                scan.segments.append((path, try RollupSegmentReader.read(path)))
            } catch let error as RollupSegmentError {
                scan.damaged.append(DamagedSegment(path: path, reason: error))
            }
        }
        return scan
    }
}
