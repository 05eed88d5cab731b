#if canImport(Glibc)
import Glibc
#endif

/// A readable stream of bytes: standard input, a file, a TCP connection. `read` fills the buffer it is
/// given and returns the byte count, 0 at end of stream; it throws ``SourceError`` on I/O failure.
public protocol ByteStream: AnyObject {
    /// For messages: `stdin`, a path, `tcp 127.0.0.1:51234`.
    var name: String { get }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    func close()
}

public struct SourceError: Error, CustomStringConvertible, Equatable {
    public var source: String
    public var operation: String
    public var reason: String

    public init(source: String, operation: String, errno code: Int32) {
        self.source = source
        self.operation = operation
        self.reason = String(cString: strerror(code))
    }

    public init(source: String, operation: String, reason: String) {
        self.source = source
        self.operation = operation
        self.reason = reason
    }

    public var description: String { "\(source): \(operation) failed: \(reason)" }
}

/// A blocking file-descriptor stream (standard input, a regular file, a pipe).
public final class FileDescriptorStream: ByteStream {
    public let name: String
    private var fd: Int32
    private let ownsDescriptor: Bool

    public init(fd: Int32, name: String, ownsDescriptor: Bool) {
        self.fd = fd
        self.name = name
        self.ownsDescriptor = ownsDescriptor
        #if os(Linux)
        // A 1 MiB pipe (the default is 64 KiB) lets the writer run ahead between our large reads.
        var status = stat()
        if fstat(fd, &status) == 0 && (status.st_mode & S_IFMT) == S_IFIFO {
            _ = fcntl(fd, 1031 /* F_SETPIPE_SZ */, 1 << 20)
        }
        #endif
    }

    public static func open(path: String) throws -> FileDescriptorStream {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SourceError(source: path, operation: "open", errno: errno) }
        return FileDescriptorStream(fd: fd, name: path, ownsDescriptor: true)
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw SourceError(source: name, operation: "read", errno: errno)
        }
    }

    public func close() {
        if ownsDescriptor && fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}

/// Wraps a stream and transparently decompresses it when it starts with a zstd frame (or skippable frame)
/// magic, so a `.zst` recording can be given as a file or piped in as is. Damage in the compressed bytes is
/// reported to `reportDamage` and skipped (see ``ZstdStreamDecompressor``); only the inner stream's errors
/// (I/O, a stop request) are thrown.
public final class AutoDecompressingStream: ByteStream {
    private let inner: ByteStream
    private let reportDamage: (ZstdStreamDecompressor.Damage) -> Void
    private var decompressor: ZstdStreamDecompressor?
    private var decided = false
    /// Bytes read while sniffing the magic, handed out before anything else.
    private var sniffed: [UInt8] = []
    /// Bytes read from the inner stream so far: the input's own bytes, compressed or not.
    public private(set) var inputBytesRead = 0

    public init(_ inner: ByteStream, reportDamage: @escaping (ZstdStreamDecompressor.Damage) -> Void) {
        self.inner = inner
        self.reportDamage = reportDamage
    }

    public var name: String { inner.name }
    public var isCompressed: Bool { decompressor != nil }

    /// The inner stream's bytes, the sniffed ones first.
    private func readRaw(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !sniffed.isEmpty else {
            let count = try inner.read(into: buffer)
            inputBytesRead += count
            return count
        }
        let count = min(sniffed.count, buffer.count)
        buffer.copyBytes(from: sniffed[0..<count])
        sniffed.removeFirst(count)
        return count
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if !decided {
            decided = true
            var head = [UInt8](repeating: 0, count: 4)
            var filled = 0
            while filled < 4 {
                let count = try head.withUnsafeMutableBytes {
                    try inner.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...]))
                }
                if count == 0 { break }
                filled += count
                inputBytesRead += count
            }
            sniffed = Array(head[0..<filled])
            if ZstdStreamDecompressor.startsFrame(sniffed) {
                decompressor = ZstdStreamDecompressor(reportDamage: reportDamage)
            }
        }
        guard let decompressor else { return try readRaw(into: buffer) }
        return try decompressor.read(into: buffer) { compressed in try readRaw(into: compressed) }
    }

    public func close() { inner.close() }
}

/// Expands a `file:` pattern: a plain path as is, a glob into its sorted matches.
public func expandFilePattern(_ pattern: String) throws -> [String] {
    guard pattern.contains(where: { "*?[".contains($0) }) else { return [pattern] }
    var results = glob_t()
    defer { globfree(&results) }
    let status = glob(pattern, 0, nil, &results)
    if status == GLOB_NOMATCH { throw SourceError(source: pattern, operation: "glob", reason: "no file matches") }
    guard status == 0 else { throw SourceError(source: pattern, operation: "glob", reason: "glob error \(status)") }
    var paths: [String] = []
    for index in 0..<Int(results.gl_pathc) {
        if let path = results.gl_pathv[index] { paths.append(String(cString: path)) }
    }
    return paths.sorted()
}

/// Reads from bytes already in memory (benchmarks, tests).
public final class MemoryByteStream: ByteStream {
    public let name: String
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0
    private let owner: AnyObject?

    /// - Parameter owner: kept alive while the stream is, when `bytes` points into it.
    public init(name: String, bytes: UnsafeRawBufferPointer, owner: AnyObject?) {
        self.name = name
        self.bytes = bytes
        self.owner = owner
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, bytes.count - offset)
        guard count > 0 else { return 0 }
        buffer.baseAddress!.copyMemory(from: bytes.baseAddress! + offset, byteCount: count)
        offset += count
        return count
    }

    public func close() {}
}
