import CZstd
import VigilStore

#if canImport(Glibc)
import Glibc
private func closeFile(_ descriptor: Int32) -> Int32 { Glibc.close(descriptor) }
private func writeFile(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    Glibc.write(descriptor, bytes, count)
}
#elseif canImport(Darwin)
import Darwin
private func closeFile(_ descriptor: Int32) -> Int32 { Darwin.close(descriptor) }
private func writeFile(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    Darwin.write(descriptor, bytes, count)
}
#endif

/// A streaming file writer, zstd-compressed or plain, published atomically.
///
/// Bytes go to `<path>.tmp.<pid>`; ``close()`` ends the zstd frame, fsyncs and renames onto `path`, so a
/// reader sees either the old file or the whole new one. The temporary file follows the rule of
/// ``TemporaryFiles``: a writer that fails, or is dropped without ``close()``, removes it, so does the process
/// at `exit()`, and one that a killed process left for the same `path` is removed when the next writer opens.
/// The path `-` writes to standard output, and a path naming a device, FIFO or socket
/// (`/dev/null`, a named pipe) is written in place: a rename would replace it with a regular file. A
/// symbolic link is followed, so the file it names is replaced and the link stays. Memory is bounded: one
/// zstd output buffer (`ZSTD_CStreamOutSize()`, ~128 KiB) or, uncompressed, one 1 MiB staging buffer.
/// Not thread-safe.
public final class CompressedFileWriter {
    public enum Compression: Sendable, Equatable {
        case none
        /// zstd at `level` (1...22); `windowLog` (10...27) turns on long-distance matching with that window.
        case zstd(level: Int32, windowLog: Int32?)
    }

    /// zstd when `path` ends in `.zst`, otherwise none.
    public static func compression(forPath path: String, level: Int32, windowLog: Int32? = nil) -> Compression {
        path.hasSuffix(".zst") ? .zstd(level: level, windowLog: windowLog) : .none
    }

    public let path: String
    public let compression: Compression
    /// Bytes handed to ``write(_:)-(UnsafeRawBufferPointer)``, and bytes written to the file.
    public private(set) var bytesIn: Int64 = 0
    public private(set) var bytesOut: Int64 = 0

    private let fileDescriptor: Int32
    /// Where the file is built, renamed onto ``targetPath`` at close; nil when written in place.
    private let temporaryPath: String?
    /// What the temporary file replaces: `path`, with symbolic links resolved.
    private let targetPath: String
    /// Whether ``close()`` closes the descriptor (not standard output's).
    private let ownsDescriptor: Bool
    private let context: OpaquePointer?
    private let stagingBuffer: UnsafeMutableRawBufferPointer
    private var stagedCount = 0
    private var closed = false

    /// Opens the temporary file (or standard output) and sets up the compressor.
    /// - Throws: ``CompressedFileWriterError`` with the path and the system's or zstd's reason.
    public init(path: String, compression: Compression) throws {
        self.path = path
        self.compression = compression
        var context: OpaquePointer?
        if case .zstd(let level, let windowLog) = compression {
            guard (1...22).contains(level), windowLog.map({ (10...27).contains($0) }) ?? true else {
                throw CompressedFileWriterError.invalidSettings(
                    path: path,
                    reason: "zstd level 1...22, window log 10...27"
                )
            }
            guard let created = ZSTD_createCCtx() else {
                throw CompressedFileWriterError.compressionFailed(path: path, reason: "cannot create a zstd context")
            }
            context = created
            var settings: [(ZSTD_cParameter, Int32)] = [(ZSTD_c_compressionLevel, level), (ZSTD_c_checksumFlag, 1)]
            if let windowLog {
                settings += [(ZSTD_c_enableLongDistanceMatching, 1), (ZSTD_c_windowLog, windowLog)]
            }
            for (parameter, value) in settings {
                let result = ZSTD_CCtx_setParameter(created, parameter, value)
                if ZSTD_isError(result) != 0 {
                    ZSTD_freeCCtx(created)
                    throw CompressedFileWriterError.compressionFailed(path: path, reason: Self.zstdReason(result))
                }
            }
        }
        let target = Self.resolvingLinks(path)
        var status = stat()
        let isSpecial = path != "-" && stat(target, &status) == 0 && (status.st_mode & S_IFMT) != S_IFREG
        if path == "-" {
            fileDescriptor = 1
            temporaryPath = nil
            ownsDescriptor = false
        } else {
            // A device or FIFO is written in place; anything else is built beside its target and renamed.
            let temporary = isSpecial ? nil : TemporaryFiles.path(publishing: target)
            var descriptor: Int32
            if let temporary {
                let name = target.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
                let directory = target.contains("/") ? String(target.dropLast(name.count)) : "."
                TemporaryFiles.removeAbandoned(in: directory) { $0 == name }
                do {
                    descriptor = try TemporaryFiles.create(temporary)
                } catch {
                    descriptor = -1
                    errno = error.errorNumber
                }
            } else {
                descriptor = open(target, O_WRONLY | O_CLOEXEC)
            }
            guard descriptor >= 0 else {
                let code = errno
                if let context { ZSTD_freeCCtx(context) }
                throw CompressedFileWriterError.openFailed(path: temporary ?? path, reason: Self.systemReason(code))
            }
            fileDescriptor = descriptor
            temporaryPath = temporary
            ownsDescriptor = true
        }
        targetPath = target
        self.context = context
        let stagingSize = context == nil ? 1 << 20 : ZSTD_CStreamOutSize()
        stagingBuffer = .allocate(byteCount: stagingSize, alignment: 16)
    }

    deinit {
        if let context { ZSTD_freeCCtx(context) }
        stagingBuffer.deallocate()
        if !closed, ownsDescriptor {
            if let temporaryPath { TemporaryFiles.remove(temporaryPath) }
            _ = closeFile(fileDescriptor)
        }
    }

    /// Compresses (or stages) `bytes` and writes whatever output is ready. O(bytes).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!closed, "write after close")
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        bytesIn += Int64(bytes.count)
        guard let context else {
            var offset = 0
            while offset < bytes.count {
                let take = min(bytes.count - offset, stagingBuffer.count - stagedCount)
                (stagingBuffer.baseAddress! + stagedCount).copyMemory(from: base + offset, byteCount: take)
                stagedCount += take
                offset += take
                if stagedCount == stagingBuffer.count { try flushStaging() }
            }
            return
        }
        var input = ZSTD_inBuffer(src: base, size: bytes.count, pos: 0)
        while input.pos < input.size {
            try compressStep(context: context, input: &input, directive: ZSTD_e_continue)
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// `path` with symbolic links resolved when it exists (so a link is not replaced by the new file).
    static func resolvingLinks(_ path: String) -> String {
        guard path != "-", let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Ends the zstd frame, writes the rest, fsyncs and renames the file into place. On failure the
    /// temporary file is removed.
    public func close() throws {
        precondition(!closed, "close twice")
        closed = true
        var published = false
        // The descriptor (and the temporary file's lock) is released only once the temporary name is gone.
        defer {
            if let temporaryPath {
                if published { TemporaryFiles.published(temporaryPath) } else { TemporaryFiles.remove(temporaryPath) }
                _ = closeFile(fileDescriptor)
            }
        }
        if let context {
            var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
            while try compressStep(context: context, input: &input, directive: ZSTD_e_end) != 0 {}
        } else {
            try flushStaging()
        }
        guard let temporaryPath else {
            if ownsDescriptor, closeFile(fileDescriptor) != 0 {
                throw CompressedFileWriterError.writeFailed(
                    path: path,
                    offset: bytesOut,
                    reason: Self.systemReason(errno)
                )
            }
            return
        }
        guard fsync(fileDescriptor) == 0 else {
            throw CompressedFileWriterError.writeFailed(path: path, offset: bytesOut, reason: Self.systemReason(errno))
        }
        guard rename(temporaryPath, targetPath) == 0 else {
            throw CompressedFileWriterError.renameFailed(
                from: temporaryPath,
                to: path,
                reason: Self.systemReason(errno)
            )
        }
        published = true
    }

    /// One call of ZSTD_compressStream2 into the staging buffer, then writes what it produced.
    /// - Returns: zstd's hint of bytes still to flush (0 when a `ZSTD_e_end` is complete).
    @discardableResult
    private func compressStep(
        context: OpaquePointer,
        input: inout ZSTD_inBuffer,
        directive: ZSTD_EndDirective
    ) throws
        -> Int
    {
        var output = ZSTD_outBuffer(dst: stagingBuffer.baseAddress, size: stagingBuffer.count, pos: 0)
        let remaining = ZSTD_compressStream2(context, &output, &input, directive)
        if ZSTD_isError(remaining) != 0 {
            throw CompressedFileWriterError.compressionFailed(path: path, reason: Self.zstdReason(remaining))
        }
        stagedCount = output.pos
        try flushStaging()
        return remaining
    }

    private func flushStaging() throws {
        var offset = 0
        while offset < stagedCount {
            let written = writeFile(fileDescriptor, stagingBuffer.baseAddress! + offset, stagedCount - offset)
            if written < 0 {
                let code = errno
                if code == EINTR { continue }
                throw CompressedFileWriterError.writeFailed(
                    path: path,
                    offset: bytesOut,
                    reason: Self.systemReason(code)
                )
            }
            offset += written
            bytesOut += Int64(written)
        }
        stagedCount = 0
    }

    private static func systemReason(_ code: Int32) -> String { String(cString: strerror(code)) }
    private static func zstdReason(_ code: Int) -> String { String(cString: ZSTD_getErrorName(code)) }
}

/// A failure of ``CompressedFileWriter``: which file, at which output offset, and why.
public enum CompressedFileWriterError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidSettings(path: String, reason: String)
    case openFailed(path: String, reason: String)
    case writeFailed(path: String, offset: Int64, reason: String)
    case compressionFailed(path: String, reason: String)
    case renameFailed(from: String, to: String, reason: String)

    public var description: String {
        switch self {
        case .invalidSettings(let path, let reason): return "\(path): invalid compression settings (\(reason))"
        case .openFailed(let path, let reason): return "cannot create \(path): \(reason)"
        case .writeFailed(let path, let offset, let reason):
            return "write to \(path) failed at byte \(offset): \(reason)"
        case .compressionFailed(let path, let reason): return "zstd failed on \(path): \(reason)"
        case .renameFailed(let from, let to, let reason): return "cannot rename \(from) to \(to): \(reason)"
        }
    }
}
