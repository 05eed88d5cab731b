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
/// Compressed output is a sequence of independent zstd frames, each holding at most ``zstdFrameContentBytes``
/// of the bytes written, so damage to the file loses at most one frame's worth (a reader resumes at the next
/// frame, `docs/wire-format.md`). A frame ends before a ``write(_:)-(UnsafeRawBufferPointer)`` that would take it
/// past that size: a caller that writes whole native frames, one per call, gets zstd frames that end between
/// native frames. Only a single write larger than the limit is cut inside. Each frame records its content size
/// (so a reader needs a window of that size at most) and a content checksum (XXH64, so `zstd -t` checks a file
/// without Vigil).
///
/// Bytes go to `<path>.tmp.<pid>`; ``close()`` ends the last zstd frame, fsyncs and renames onto `path`, so a
/// reader sees either the old file or the whole new one. The temporary file follows the rule of
/// ``TemporaryFiles``: a writer that fails, or is dropped without ``close()``, removes it, so does the process
/// at `exit()`, and one that a killed process left for the same `path` is removed when the next writer opens.
/// The path `-` writes to standard output, and a path naming a device, FIFO or socket
/// (`/dev/null`, a named pipe) is written in place: a rename would replace it with a regular file. A
/// symbolic link is followed, so the file it names is replaced and the link stays. Memory is bounded: one 1 MiB
/// staging buffer and, compressed, one output buffer for a compressed frame (`ZSTD_compressBound(1 MiB)`) and
/// the zstd context. Not thread-safe.
public final class CompressedFileWriter {
    public enum Compression: Sendable, Equatable {
        case none
        /// zstd at `level` (1...22); `windowLog` (10...27) turns on long-distance matching with that window
        /// (which a frame of at most ``zstdFrameContentBytes`` caps at 2^20).
        case zstd(level: Int32, windowLog: Int32?)
    }

    /// The most uncompressed bytes in one zstd frame: 1 MiB, so a damaged frame costs at most about 52,000
    /// samples. Measured on the SampleData recording (`vigil generate`'s defaults, level 19): 2.9 % larger than one
    /// frame with a 128 MiB window (19,075,336 against 18,542,818 bytes); on its first 32 MiB, frames of at most
    /// 256 KiB cost 7.7 %, 512 KiB 4.2 %, 1 MiB 2.75 %, 2 MiB 1.7 %, 4 MiB 0.9 %.
    public static let zstdFrameContentBytes = 1 << 20

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
    /// Bytes written and not yet compressed or written out: one zstd frame's content at most.
    private let stagingBuffer: UnsafeMutableRawBufferPointer
    /// Where a frame is compressed to (empty when not compressing).
    private let frameBuffer: UnsafeMutableRawBufferPointer
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
        stagingBuffer = .allocate(byteCount: Self.zstdFrameContentBytes, alignment: 16)
        frameBuffer = .allocate(
            byteCount: context == nil ? 0 : ZSTD_compressBound(Self.zstdFrameContentBytes),
            alignment: 16
        )
    }

    deinit {
        if let context { ZSTD_freeCCtx(context) }
        stagingBuffer.deallocate()
        frameBuffer.deallocate()
        if !closed, ownsDescriptor {
            if let temporaryPath { TemporaryFiles.remove(temporaryPath) }
            _ = closeFile(fileDescriptor)
        }
    }

    /// Stages `bytes`, first ending the zstd frame (or writing the staged bytes) if they do not fit beside
    /// what is staged; compresses and writes each full frame. O(bytes).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!closed, "write after close")
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        bytesIn += Int64(bytes.count)
        if stagedCount > 0 && stagedCount + bytes.count > stagingBuffer.count { try flushStaging() }
        var offset = 0
        while offset < bytes.count {
            let take = min(bytes.count - offset, stagingBuffer.count - stagedCount)
            (stagingBuffer.baseAddress! + stagedCount).copyMemory(from: base + offset, byteCount: take)
            stagedCount += take
            offset += take
            if stagedCount == stagingBuffer.count { try flushStaging() }
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

    /// Ends the last zstd frame, writes the rest, fsyncs and renames the file into place. On failure the
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
        // A compressed file holds at least one frame, empty if nothing was written: `zstd -t` accepts it.
        if stagedCount > 0 || (context != nil && bytesOut == 0) { try flushStaging() }
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

    /// Writes the staged bytes out: compressed as one zstd frame, or as they are.
    private func flushStaging() throws {
        guard let context else {
            try writeOut(UnsafeRawBufferPointer(rebasing: stagingBuffer[0..<stagedCount]))
            stagedCount = 0
            return
        }
        let size = ZSTD_compress2(
            context,
            frameBuffer.baseAddress,
            frameBuffer.count,
            stagingBuffer.baseAddress,
            stagedCount
        )
        if ZSTD_isError(size) != 0 {
            throw CompressedFileWriterError.compressionFailed(path: path, reason: Self.zstdReason(size))
        }
        stagedCount = 0
        try writeOut(UnsafeRawBufferPointer(rebasing: frameBuffer[0..<size]))
    }

    private func writeOut(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = writeFile(fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
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
