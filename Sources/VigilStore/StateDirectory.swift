import VigilCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One part of a checkpoint: what one component keeps (`kind`, e.g. `flow-templates`), for which instance
/// of it (`key`, e.g. the input `udp://0.0.0.0:2055`), in a payload layout of the component's own
/// `version`. The checkpoint file checksums it; the component still reads its payload as hostile input.
public struct StateSection: Sendable, Equatable {
    public var kind: String
    public var key: String
    public var version: UInt16
    public var payload: [UInt8]

    public init(kind: String, key: String, version: UInt16, payload: [UInt8]) {
        self.kind = kind
        self.key = key
        self.version = version
        self.payload = payload
    }

    /// Longest kind and key, UTF-8 bytes.
    public static let maximumNameByteCount = 4_096
}

/// A checkpoint as published: its sequence number (names are `checkpoint-SEQUENCE.vgs`, 16 hex digits),
/// when it was written (Unix nanoseconds), and its sections.
public struct StateCheckpoint: Sendable, Equatable {
    public var sequence: UInt64
    public var createdNanoseconds: Int64
    public var sections: [StateSection]

    public init(sequence: UInt64, createdNanoseconds: Int64, sections: [StateSection]) {
        self.sequence = sequence
        self.createdNanoseconds = createdNanoseconds
        self.sections = sections
    }

    /// The section of `kind` for `key`, if the checkpoint has one.
    public func section(kind: String, key: String) -> StateSection? {
        sections.first { $0.kind == kind && $0.key == key }
    }

    /// `VIGILSTA`, then the file format version.
    static let magic: [UInt8] = Array("VIGILSTA".utf8)
    static let endMagic: [UInt8] = Array("VGSE".utf8)
    /// The checkpoint file format; a file of any other version is named and skipped, never guessed at.
    public static let formatVersion: UInt16 = 1
    static let headerByteCount = 8 + 2 + 2 + 4 + 8 + 8
    static let trailerByteCount = 4 + 4
    /// Most sections one checkpoint may hold, and its largest file: a bound on what reading one allocates.
    public static let maximumSections = 65_536
    public static let maximumFileByteCount = 1 << 30

    /// The file's bytes (little-endian; `docs/state-format.md`): header (magic, format version, reserved,
    /// section count, sequence, created), sections (kind, key, version, reserved, payload, each with its
    /// length), trailer (CRC32C of every byte before it, end magic).
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.headerByteCount + sections.reduce(0) { $0 + 64 + $1.payload.count })
        func put<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        func putName(_ name: String) {
            precondition(name.utf8.count <= StateSection.maximumNameByteCount, "state section name too long")
            put(UInt16(name.utf8.count))
            bytes.append(contentsOf: name.utf8)
        }
        precondition(sections.count <= Self.maximumSections, "too many state sections")
        bytes.append(contentsOf: Self.magic)
        put(Self.formatVersion)
        put(UInt16(0))
        put(UInt32(sections.count))
        put(sequence)
        put(createdNanoseconds)
        for section in sections {
            putName(section.kind)
            putName(section.key)
            put(section.version)
            put(UInt16(0))
            put(UInt64(section.payload.count))
            bytes.append(contentsOf: section.payload)
        }
        put(CRC32C.checksum(bytes))
        bytes.append(contentsOf: Self.endMagic)
        return bytes
    }

    /// Reads a checkpoint file's bytes.
    ///
    /// - Throws: ``StateFileDamage`` naming what is wrong: not a checkpoint, another format version, a
    ///   checksum that does not match (a torn or damaged file), lengths that run past the end.
    public init(decoding bytes: [UInt8]) throws(StateFileDamage) {
        let total = bytes.count
        guard total >= Self.headerByteCount + Self.trailerByteCount, Array(bytes[0..<8]) == Self.magic else {
            throw StateFileDamage("not a Vigil checkpoint (no VIGILSTA header)")
        }
        let version = UInt16(bytes[8]) | UInt16(bytes[9]) << 8
        guard version == Self.formatVersion else {
            throw StateFileDamage("checkpoint format version \(version); this build reads \(Self.formatVersion)")
        }
        guard Array(bytes[(total - 4)...]) == Self.endMagic else {
            throw StateFileDamage("no end marker: the file is cut short")
        }
        let stored = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: total - 8, as: UInt32.self) }
        let computed = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[..<(total - 8)])) }
        guard UInt32(littleEndian: stored) == computed else {
            throw StateFileDamage("checksum mismatch: the file is damaged")
        }
        var offset = 12
        let end = total - Self.trailerByteCount
        func take<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws(StateFileDamage) -> T {
            guard end - offset >= MemoryLayout<T>.size else {
                throw StateFileDamage("\(what) at byte \(offset) runs past the sections")
            }
            let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
            offset += MemoryLayout<T>.size
            return T(littleEndian: value)
        }
        func takeBytes(_ count: Int, _ what: String) throws(StateFileDamage) -> ArraySlice<UInt8> {
            guard count >= 0, end - offset >= count else {
                throw StateFileDamage("\(what) of \(count) bytes at byte \(offset) runs past the sections")
            }
            defer { offset += count }
            return bytes[offset..<(offset + count)]
        }
        func takeName(_ what: String) throws(StateFileDamage) -> String {
            let length = Int(try take(UInt16.self, "\(what) length"))
            guard length <= StateSection.maximumNameByteCount else {
                throw StateFileDamage("\(what) of \(length) bytes at byte \(offset)")
            }
            return String(decoding: try takeBytes(length, what), as: UTF8.self)
        }
        let sectionCount = Int(try take(UInt32.self, "section count"))
        guard sectionCount <= Self.maximumSections else {
            throw StateFileDamage("\(sectionCount) sections (at most \(Self.maximumSections))")
        }
        sequence = try take(UInt64.self, "sequence")
        createdNanoseconds = try take(Int64.self, "creation time")
        sections = []
        for _ in 0..<sectionCount {
            let kind = try takeName("section kind")
            let key = try takeName("section key")
            let sectionVersion = try take(UInt16.self, "section version")
            _ = try take(UInt16.self, "reserved")
            let length = try take(UInt64.self, "payload length")
            guard length <= UInt64(end - offset) else {
                throw StateFileDamage("section \(kind) \(key): payload of \(length) bytes runs past the sections")
            }
            let payload = Array(try takeBytes(Int(length), "payload"))
            sections.append(StateSection(kind: kind, key: key, version: sectionVersion, payload: payload))
        }
        guard offset == end else { throw StateFileDamage("\(end - offset) bytes after the last section") }
    }
}

/// Why a checkpoint file was not used.
public struct StateFileDamage: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Why a state directory cannot be used at all: the run does not start.
public enum StateDirectoryError: Error, Sendable, Equatable, CustomStringConvertible {
    case inUse(path: String, holder: String)
    case io(RollupIOError)

    public var description: String {
        switch self {
        case .inUse(let path, let holder):
            return "state directory \(path) is in use by another vigil (\(holder)); one directory serves one process"
        case .io(let error): return "state directory: \(error)"
        }
    }
}

/// `--state DIR`: one directory of versioned, checksummed checkpoints, each published whole or not at all
/// (written to a temporary file, synced, linked under its final name, the directory synced), of which a
/// restart reads the newest that checks out. One process at a time: the directory's `LOCK` file is held
/// (`flock`) while this object lives, and a second process is refused with the holder's PID.
/// `docs/state-format.md` is the reference.
public final class StateDirectory {
    public let path: String
    /// How many of the newest checkpoints are kept; older ones are deleted after each publish.
    public let retainedCheckpoints: Int
    private let lockDescriptor: Int32
    private var nextSequence: UInt64 = 1

    /// Opens `path` (created if missing), takes its lock, and removes temporary files a killed process
    /// left. O(entries in the directory).
    ///
    /// - Throws: ``StateDirectoryError``: another process holds it, or it cannot be created or locked.
    public init(path: String, retainedCheckpoints: Int = 2) throws(StateDirectoryError) {
        precondition(retainedCheckpoints >= 1, "a state directory keeps at least one checkpoint")
        self.path = path
        self.retainedCheckpoints = retainedCheckpoints
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw .io(RollupIOError(path: path, operation: .createDirectory, errorNumber: errno))
        }
        let lockPath = path + "/LOCK"
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard descriptor >= 0 else { throw .io(RollupIOError(path: lockPath, operation: .open, errorNumber: errno)) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let lockError = errno
            var holder = [UInt8](repeating: 0, count: 32)
            let got = read(descriptor, &holder, holder.count)
            close(descriptor)
            guard lockError == EWOULDBLOCK else {
                throw .io(RollupIOError(path: lockPath, operation: .lock, errorNumber: lockError))
            }
            let pid = got > 0 ? String(decoding: holder[..<got], as: UTF8.self).trimmingNewlines : "?"
            throw .inUse(path: path, holder: "pid \(pid)")
        }
        // The holder's PID, for the message a second process gets.
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        lockDescriptor = descriptor
        // Checkpoints are written under hidden temporary names (`.checkpoint-….vgs.tmp.PID`).
        TemporaryFiles.removeAbandoned(in: path) { stem in
            stem.hasPrefix(".") && Self.sequence(ofName: stem.dropFirst()) != nil
        }
        nextSequence = (checkpointNames().first?.sequence ?? 0) + 1
    }

    deinit { close(lockDescriptor) }

    /// The newest checkpoint that reads back whole, and the newer ones skipped with why (damaged, cut
    /// short, another format version, unreadable). Never throws: no usable checkpoint is a fresh start.
    public func loadNewest() -> (checkpoint: StateCheckpoint?, skipped: [(name: String, reason: String)]) {
        var skipped: [(name: String, reason: String)] = []
        for (name, sequence) in checkpointNames() {
            do {
                let bytes = try FileIO.readFile(
                    path + "/" + name,
                    maximumByteCount: StateCheckpoint.maximumFileByteCount
                )
                let checkpoint = try StateCheckpoint(decoding: bytes)
                guard checkpoint.sequence == sequence else {
                    skipped.append((name, "holds sequence \(checkpoint.sequence), not the \(sequence) its name says"))
                    continue
                }
                return (checkpoint, skipped)
            } catch let damage as StateFileDamage {
                skipped.append((name, damage.description))
            } catch {
                skipped.append((name, "\(error)"))
            }
        }
        return (nil, skipped)
    }

    /// Publishes `sections` as the next checkpoint, then deletes all but the newest
    /// ``retainedCheckpoints``. Blocking (writes and syncs); call it off the hot path.
    ///
    /// - Returns: the published file's name.
    /// - Throws: ``RollupIOError`` when nothing was published (the previous checkpoints stay as they were).
    @discardableResult
    public func publish(_ sections: [StateSection], createdNanoseconds: Int64) throws -> String {
        let sequence = nextSequence
        let name = Self.name(ofSequence: sequence)
        let finalPath = path + "/" + name
        let bytes = StateCheckpoint(sequence: sequence, createdNanoseconds: createdNanoseconds, sections: sections)
            .encoded()
        do {
            try FileIO.publishAtomically(
                bytes,
                temporaryPath: TemporaryFiles.path(publishing: finalPath, hidden: true),
                finalPath: finalPath,
                directory: path
            )
        } catch let notDurable as FileIO.PublishedNotDurable {
            nextSequence = sequence + 1
            throw notDurable.error
        }
        nextSequence = sequence + 1
        for (old, _) in checkpointNames().dropFirst(retainedCheckpoints) { unlink(path + "/" + old) }
        return name
    }

    /// Checkpoint file names with their sequence numbers, newest first.
    func checkpointNames() -> [(name: String, sequence: UInt64)] {
        let names = (try? FileIO.listDirectory(path)) ?? []
        return names.compactMap { name in Self.sequence(ofName: Substring(name)).map { (name, $0) } }
            .sorted { $0.sequence > $1.sequence }
    }

    /// `checkpoint-0000000000000001.vgs` for sequence 1.
    public static func name(ofSequence sequence: UInt64) -> String {
        let hex = String(sequence, radix: 16)
        return "checkpoint-" + String(repeating: "0", count: max(0, 16 - hex.count)) + hex + ".vgs"
    }

    static func sequence(ofName name: Substring) -> UInt64? {
        guard name.hasPrefix("checkpoint-"), name.hasSuffix(".vgs"), name.count == 11 + 16 + 4 else { return nil }
        // The largest sequence could not be followed by another: not one of ours.
        return UInt64(name.dropFirst(11).dropLast(4), radix: 16).flatMap { $0 == .max ? nil : $0 }
    }
}

extension String {
    fileprivate var trimmingNewlines: String {
        String(self.prefix { $0 != "\n" && $0 != "\0" })
    }
}
