#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a file is built before it is published under its final name, and how it is cleaned up: one rule
/// for every writer that publishes by name (`CompressedFileWriter`: `generate --out` and `--truth`,
/// `run --summary-json`, `bench --save-stream`; ``RollupSegmentWriter``: segments).
///
/// - A temporary file is named `NAME.tmp.PID` beside its final file `NAME` (segments: hidden,
///   `.NAME.tmp.PID`), is created by ``create(_:)`` only (`O_EXCL`: never through a link planted under that
///   name), and stays locked (`flock`) while its writer has it open.
/// - Every exit path that runs code removes it: the writer on an error, and the process at `exit()` (an
///   error that ends a command, the second signal's immediate exit, the CLI's signal handlers) for those
///   not yet published.
/// - One left by a process that could run no code (SIGKILL, a crash, a power loss) is removed by the next
///   writer of the same final name (segments: of the same directory), once its PID runs no process here and
///   no process holds its lock (``removeAbandoned(in:finalName:)``).
public enum TemporaryFiles {
    /// The temporary name for publishing `finalPath`: `NAME.tmp.PID` beside it, or `.NAME.tmp.PID`.
    public static func path(publishing finalPath: String, hidden: Bool = false) -> String {
        let (directory, name) = split(finalPath)
        return directory + (hidden ? "." : "") + name + ".tmp.\(getpid())"
    }

    /// Creates the temporary file `path` (from ``path(publishing:hidden:)``) for writing, locks it, and
    /// registers it for removal at exit. A file of that name is a leftover of an earlier process with this
    /// PID (this one never makes two): removed first.
    ///
    /// - Returns: the descriptor; the caller closes it, then calls ``published(_:)`` or ``remove(_:)``.
    /// - Throws: the `errno` of the failed `open`; `ECANCELED` once ``removeAll()`` ran (the process is
    ///   ending).
    public static func create(_ path: String) throws(TemporaryFileError) -> Int32 {
        // Created and registered under the registry's lock: a signal's cleanup on another thread either
        // comes first (and nothing is created) or finds the file registered.
        let (descriptor, errorNumber) = registry.create(path) {
            var descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if descriptor < 0 && errno == EEXIST {
                unlink(path)
                descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            }
            guard descriptor >= 0 else { return (-1, errno) }
            _ = flock(descriptor, LOCK_EX | LOCK_NB)  // new and ours: nobody else can hold it
            return (descriptor, 0)
        }
        guard descriptor >= 0 else { throw TemporaryFileError(path: path, errorNumber: errorNumber) }
        return descriptor
    }

    /// `path` now has its final name (or was renamed away): nothing to remove at exit.
    public static func published(_ path: String) {
        registry.remove(path)
    }

    /// Unlinks the temporary file `path` and forgets it.
    public static func remove(_ path: String) {
        unlink(path)
        registry.remove(path)
    }

    /// Unlinks every temporary file of this process not yet published, and refuses to create more: the
    /// process is ending (`exit`, where it is registered with `atexit` at the first ``create(_:)``, or a
    /// signal). Safe to call more than once.
    public static func removeAll() {
        registry.removeAll()
    }

    /// Removes the temporary files in `directory` that a process which could not clean up left behind:
    /// names `STEM.tmp.PID` for which `finalName(STEM)` holds (`STEM` is `NAME`, or `.NAME` for a hidden
    /// temporary name), whose PID runs no
    /// process here and which no process holds locked. Regular files only; errors are ignored (a leftover
    /// costs disk space, not correctness). O(entries in the directory).
    ///
    /// - Returns: the names removed.
    @discardableResult
    public static func removeAbandoned(in directory: String, finalName: (Substring) -> Bool) -> [String] {
        guard let names = try? FileIO.listDirectory(directory) else { return [] }
        var removed: [String] = []
        for name in names {
            // NAME.tmp.PID: split off the last two dot-separated parts.
            guard let pidDot = name.lastIndex(of: "."), let pid = pid_t(name[name.index(after: pidDot)...]),
                pid > 0, pid != getpid(), name[..<pidDot].hasSuffix(".tmp"),
                finalName(name[..<name.index(pidDot, offsetBy: -4)])
            else { continue }
            // A running PID may be another process by now, or a writer in the middle of creating the file:
            // either way, not ours to remove.
            guard kill(pid, 0) != 0 && errno == ESRCH else { continue }
            let path = (directory.hasSuffix("/") ? directory : directory + "/") + name
            let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)
            guard descriptor >= 0 else { continue }
            defer { close(descriptor) }
            var status = stat()
            // The lock tells a live writer in another PID namespace (a container sharing the directory).
            guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG,
                flock(descriptor, LOCK_EX | LOCK_NB) == 0
            else { continue }
            if unlink(path) == 0 { removed.append(name) }
        }
        return removed
    }

    /// The directory part of `path` (with its trailing `/`, or empty) and the last component.
    private static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[...slash]), String(path[path.index(after: slash)...]))
    }

    private static let registry = Registry()

    /// The paths of this process's unpublished temporary files, behind a mutex (writers run on several
    /// threads, and `exit` may run on any).
    private final class Registry: @unchecked Sendable {
        private var paths: Set<String> = []
        private var mutex = pthread_mutex_t()
        private var exitHandlerInstalled = false
        /// Set by ``removeAll()``: the process is ending, nothing more is created.
        private var closed = false

        init() { pthread_mutex_init(&mutex, nil) }

        /// Runs `open` (which returns a descriptor, or -1 and an errno) and registers `path` if it made
        /// the file, all under the lock.
        func create(_ path: String, _ open: () -> (Int32, Int32)) -> (Int32, Int32) {
            pthread_mutex_lock(&mutex)
            defer { pthread_mutex_unlock(&mutex) }
            guard !closed else { return (-1, ECANCELED) }
            let (descriptor, errorNumber) = open()
            guard descriptor >= 0 else { return (descriptor, errorNumber) }
            paths.insert(path)
            if !exitHandlerInstalled {
                exitHandlerInstalled = true
                atexit { TemporaryFiles.removeAll() }
            }
            return (descriptor, 0)
        }

        func remove(_ path: String) {
            pthread_mutex_lock(&mutex)
            defer { pthread_mutex_unlock(&mutex) }
            paths.remove(path)
        }

        func removeAll() {
            pthread_mutex_lock(&mutex)
            defer { pthread_mutex_unlock(&mutex) }
            closed = true
            for path in paths { unlink(path) }
            paths = []
        }
    }
}

/// A temporary file that could not be created: which, and the `errno`.
public struct TemporaryFileError: Error, Sendable, Equatable {
    public var path: String
    public var errorNumber: Int32
}
