#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few POSIX calls the store makes, each turning a failure into a ``RollupIOError`` with the path,
/// the operation and `strerror(errno)`. Blocking; called off the hot path, once per segment.
enum FileIO {
    /// Writes `bytes` to a new file at `temporaryPath` (``TemporaryFiles``), fsyncs it, gives it the name
    /// `finalPath` (never replacing an existing file) and fsyncs the directory, so that after a crash
    /// `finalPath` either does not exist or is complete. On failure the temporary file is removed.
    ///
    /// - Throws: ``RollupIOError`` when nothing was published; ``PublishedNotDurable`` when the file was
    ///   published but the directory sync failed.
    static func publishAtomically(_ bytes: [UInt8], temporaryPath: String, finalPath: String, directory: String) throws
    {
        let descriptor: Int32
        do {
            descriptor = try TemporaryFiles.create(temporaryPath)
        } catch {
            throw RollupIOError(path: temporaryPath, operation: .createTemporary, errorNumber: error.errorNumber)
        }
        var published = false
        // Closed (its lock released) only once the temporary name is gone.
        defer {
            if published { TemporaryFiles.published(temporaryPath) } else { TemporaryFiles.remove(temporaryPath) }
            close(descriptor)
        }
        try writeAll(bytes, to: descriptor, path: temporaryPath)
        guard fsync(descriptor) == 0 else {
            throw RollupIOError(path: temporaryPath, operation: .fsync, errorNumber: errno)
        }
        // link() publishes the complete file under its final name but never replaces a name that exists
        // (rename() would: another writer's segment, published since the name was chosen). Only where the
        // file system has no hard links does it fall back to rename().
        if link(temporaryPath, finalPath) == 0 {
            unlink(temporaryPath)  // a leftover is harmless: temporary names are never read
        } else {
            let linkError = errno
            guard linkError == EPERM || linkError == EOPNOTSUPP || linkError == ENOSYS else {
                throw RollupIOError(path: finalPath, operation: .publish, errorNumber: linkError)
            }
            guard !fileExists(finalPath) else {
                throw RollupIOError(path: finalPath, operation: .publish, errorNumber: EEXIST)
            }
            guard rename(temporaryPath, finalPath) == 0 else {
                throw RollupIOError(path: finalPath, operation: .publish, errorNumber: errno)
            }
        }
        published = true
        // The new name is durable only once the directory entry is; the file itself already is. A failure
        // here is reported (the segment may not survive a power loss) but the segment is published.
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryDescriptor >= 0 else {
            throw PublishedNotDurable(RollupIOError(path: directory, operation: .openDirectory, errorNumber: errno))
        }
        defer { close(directoryDescriptor) }
        guard fsync(directoryDescriptor) == 0 else {
            throw PublishedNotDurable(RollupIOError(path: directory, operation: .fsyncDirectory, errorNumber: errno))
        }
    }

    /// The file was published under its final name, but the directory could not be synced: readable now,
    /// perhaps not after a power loss. Not a lost segment.
    struct PublishedNotDurable: Error {
        let error: RollupIOError
        init(_ error: RollupIOError) { self.error = error }
    }

    /// Loops over short writes and EINTR; bounded by the byte count (every successful write advances).
    static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws {
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw RollupIOError(path: path, operation: .write, errorNumber: errno)
                }
                guard written > 0 else { throw RollupIOError(path: path, operation: .write, errorNumber: EIO) }
                offset += written
            }
        }
    }

    /// Reads a whole regular file of at most `maximumByteCount` bytes.
    ///
    /// - Parameters:
    ///   - prefixByteCount: how many bytes to read first and hand to `checkPrefix` (fewer if the file is
    ///     shorter) before anything else is read or allocated.
    ///   - checkPrefix: given those bytes and the file's size; what it throws ends the read, so a file that
    ///     is not what the caller reads costs only its first bytes.
    static func readFile(
        _ path: String,
        maximumByteCount: Int,
        prefixByteCount: Int = 0,
        checkPrefix: (_ prefix: UnsafeRawBufferPointer, _ fileByteCount: Int) throws -> Void = { _, _ in }
    ) throws -> [UInt8] {
        // O_NONBLOCK: opening a FIFO must not wait for a writer (a `seg-*.vgr` FIFO hung `rollups cat`);
        // anything but a regular file is refused right after. Reads of a regular file ignore the flag.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard descriptor >= 0 else { throw RollupIOError(path: path, operation: .open, errorNumber: errno) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw RollupIOError(path: path, operation: .stat, errorNumber: errno)
        }
        let type = status.st_mode & S_IFMT
        guard type == S_IFREG else {
            throw RollupIOError(
                path: path,
                operation: .read,
                errorNumber: type == S_IFDIR ? EISDIR : EINVAL,
                message: "not a regular file (\(describeFileType(type)))"
            )
        }
        let size = Int(status.st_size)
        guard size <= maximumByteCount else { throw RollupIOError(path: path, operation: .read, errorNumber: EFBIG) }
        var prefix = [UInt8](repeating: 0, count: min(prefixByteCount, size))
        let prefixRead = try readFully(descriptor, into: &prefix, from: 0, path: path)
        try prefix.withUnsafeBytes { try checkPrefix(UnsafeRawBufferPointer(rebasing: $0[..<prefixRead]), size) }
        guard prefixRead == prefix.count else { return Array(prefix[..<prefixRead]) }  // shrank while read
        var bytes = [UInt8](repeating: 0, count: size)
        bytes.replaceSubrange(0..<prefixRead, with: prefix)
        let count = try readFully(descriptor, into: &bytes, from: prefixRead, path: path)
        bytes.removeSubrange(count...)
        return bytes
    }

    /// Reads into `bytes[offset...]` until it is full or the file ends; returns the bytes now filled.
    private static func readFully(
        _ descriptor: Int32,
        into bytes: inout [UInt8],
        from offset: Int,
        path: String
    ) throws
        -> Int
    {
        var filled = offset
        try bytes.withUnsafeMutableBytes { buffer in
            while filled < buffer.count {
                let got = read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
                if got < 0 {
                    if errno == EINTR { continue }
                    throw RollupIOError(path: path, operation: .read, errorNumber: errno)
                }
                if got == 0 { break }  // The file shrank while we read it: decode what is there.
                filled += got
            }
        }
        return filled
    }

    /// Names in a directory (not `.`/`..`), unsorted.
    static func listDirectory(_ path: String) throws -> [String] {
        guard let handle = opendir(path) else {
            throw RollupIOError(path: path, operation: .listDirectory, errorNumber: errno)
        }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func describeFileType(_ type: mode_t) -> String {
        switch type {
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "file type \(type)"
        }
    }

    static func fileExists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }
}
