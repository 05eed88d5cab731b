#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call on a rollup or state file or directory: which path, which operation, and why.
public struct RollupIOError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Operation: String, Sendable {
        case createTemporary = "create temporary file"
        case write
        case fsync
        /// Giving the written temporary file its final name (a hard link, or a rename without one).
        case publish
        case openDirectory = "open directory"
        case fsyncDirectory = "fsync directory"
        case listDirectory = "list directory"
        case open
        case stat
        case read
        case createDirectory = "create directory"
        case lock
    }

    public var path: String
    public var operation: Operation
    /// The `errno` of the failed call (`ENOSPC`, `EACCES`, `ENOTDIR`, …).
    public var errorNumber: Int32
    /// `strerror(errno)`.
    public var message: String

    /// - Parameter message: what went wrong, when `strerror(errorNumber)` would not say it.
    public init(path: String, operation: Operation, errorNumber: Int32, message: String? = nil) {
        self.path = path
        self.operation = operation
        self.errorNumber = errorNumber
        self.message = message ?? String(cString: strerror(errorNumber))
    }

    public var description: String { "\(operation.rawValue) \(path): \(message) (errno \(errorNumber))" }
}

/// Why the writer could not take or store rows.
public enum RollupWriterError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file system call failed; the rows of the segment being written were dropped and counted.
    case io(RollupIOError)
    /// `append` or `flush` after `close`.
    case closed(directory: String)

    public var description: String {
        switch self {
        case .io(let error): return "rollup segment not written: \(error)"
        case .closed(let directory): return "rollup writer for \(directory) is closed"
        }
    }
}

/// Why a segment file could not be read. Every case names what was expected, so a user can tell a torn
/// copy (length mismatch) from bit rot (checksum) from a file that is not a segment at all (magic).
public enum RollupSegmentError: Error, Sendable, Equatable, CustomStringConvertible {
    case io(RollupIOError)
    case tooShort(byteCount: Int, minimum: Int)
    case badMagic(found: UInt32)
    /// A file named as a flow summary file (`flows-*.vgf`) whose magic is not `VGFS`.
    case notFlowSummary(found: UInt32)
    case unsupportedVersion(UInt16)
    case checksumMismatch(stored: UInt32, computed: UInt32)
    case lengthMismatch(field: String, declared: Int, actual: Int)
    case limitExceeded(field: String, value: Int, minimum: Int, maximum: Int)
    case zstd(message: String)
    case truncated(section: String, offset: Int, needed: Int, available: Int)
    case malformed(section: String, offset: Int, reason: String)

    /// Header offsets count from the file's start, the others from the uncompressed payload's.
    private static func place(_ section: String, _ offset: Int) -> String {
        section == "header" ? "byte \(offset) of the file" : "byte \(offset) of the uncompressed payload"
    }

    public var description: String {
        switch self {
        case .io(let error):
            return error.description
        case .tooShort(let byteCount, let minimum):
            return "file is \(byteCount) bytes, a segment has at least \(minimum)"
        case .badMagic(let found):
            return
                "bad magic 0x\(String(found, radix: 16)), expected 0x\(String(SegmentLayout.magic, radix: 16)) (\"VGRS\")"
        case .notFlowSummary(let found):
            return "bad magic 0x\(String(found, radix: 16)), expected 0x53464756 (\"VGFS\", a flow summary file)"
        case .unsupportedVersion(let version):
            return "format version \(version), this reader knows \(SegmentLayout.version)"
        case .checksumMismatch(let stored, let computed):
            return "CRC32C mismatch: stored 0x\(String(stored, radix: 16)), computed 0x\(String(computed, radix: 16))"
        case .lengthMismatch(let field, let declared, let actual):
            return "\(field): header says \(declared) bytes, found \(actual)"
                + (field.hasPrefix("file size") ? " (a torn or truncated copy, or a damaged length field)" : "")
        case .limitExceeded(let field, let value, let minimum, let maximum):
            return "\(field) \(value) outside \(minimum)...\(maximum)"
        case .zstd(let message):
            return "zstd: \(message)"
        case .truncated(let section, let offset, let needed, let available):
            return "\(section) truncated at \(Self.place(section, offset)): needed \(needed) bytes, \(available) left"
        case .malformed(let section, let offset, let reason):
            return "\(section) malformed at \(Self.place(section, offset)): \(reason)"
        }
    }
}
