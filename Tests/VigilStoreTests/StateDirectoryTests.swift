import Foundation
import Testing
import VigilCore

@testable import VigilStore

/// `--state DIR`: checkpoints published whole, the newest good one read back, damage named and skipped,
/// one process per directory.
@Suite("state directory")
struct StateDirectoryTests {
    static let templates = StateSection(
        kind: "flow-templates",
        key: "udp://0.0.0.0:2055",
        version: 1,
        payload: [1, 2, 3]
    )
    static let other = StateSection(kind: "flow-templates", key: "udp://[::]:4739", version: 7, payload: [])

    static func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
    static func write(_ bytes: [UInt8], _ path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    @Test("a published checkpoint reads back section for section; the newest of several is the one read")
    func publishAndLoad() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        do {
            let state = try StateDirectory(path: directory.path + "/state")
            #expect(state.loadNewest().checkpoint == nil)
            #expect(try state.publish([Self.templates], createdNanoseconds: 10) == "checkpoint-0000000000000001.vgs")
            #expect(
                try state.publish([Self.templates, Self.other], createdNanoseconds: 20)
                    == StateDirectory.name(ofSequence: 2)
            )
        }
        // A new process (object) continues the sequence and reads the newest.
        let state = try StateDirectory(path: directory.path + "/state")
        let (checkpoint, skipped) = state.loadNewest()
        #expect(skipped.isEmpty)
        #expect(checkpoint?.sequence == 2)
        #expect(checkpoint?.createdNanoseconds == 20)
        #expect(checkpoint?.sections == [Self.templates, Self.other])
        #expect(checkpoint?.section(kind: "flow-templates", key: "udp://[::]:4739") == Self.other)
        #expect(checkpoint?.section(kind: "flow-templates", key: "udp://0.0.0.0:9") == nil)
        #expect(try state.publish([], createdNanoseconds: 30) == StateDirectory.name(ofSequence: 3))
    }

    @Test("only the newest two checkpoints are kept; a killed writer's temporary file is removed at open")
    func retentionAndAbandonedTemporaries() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let abandoned =
            directory.path + "/." + StateDirectory.name(ofSequence: 9) + ".tmp.\(try TemporaryFilesTests.deadPID())"
        try Self.write([0xAA], abandoned)
        try Self.write([0xBB], directory.path + "/notes.txt")
        let state = try StateDirectory(path: directory.path)
        #expect(!FileManager.default.fileExists(atPath: abandoned))
        for created in 1...5 { try state.publish([Self.templates], createdNanoseconds: Int64(created)) }
        #expect(
            directory.names() == [
                "LOCK", StateDirectory.name(ofSequence: 4), StateDirectory.name(ofSequence: 5), "notes.txt",
            ]
        )
    }

    @Test("a damaged, cut short, foreign-version or misnamed newest checkpoint is named and the previous one used")
    func damagedNewestFallsBack() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let state = try StateDirectory(path: directory.path, retainedCheckpoints: 3)
        try state.publish([Self.templates], createdNanoseconds: 1)
        try state.publish([Self.other], createdNanoseconds: 2)
        let newest = directory.path + "/" + StateDirectory.name(ofSequence: 2)
        let good = try Self.bytes(newest)

        var flipped = good
        flipped[flipped.count / 2] ^= 0x01
        var foreign = good
        foreign[8] = 2  // format version (little-endian u16 after the 8-byte magic)
        let cases: [(String, [UInt8], String?)] = [
            ("one bit flipped", flipped, "checksum"),
            ("cut short", Array(good.prefix(good.count - 3)), "cut short"),
            ("empty", [], "not a Vigil checkpoint"),
            ("another format version", foreign, "version 2"),
            ("not a checkpoint", Array("hello, world".utf8), nil),
        ]
        for (what, bytes, mention) in cases {
            try Self.write(bytes, newest)
            let (checkpoint, skipped) = state.loadNewest()
            #expect(checkpoint?.sequence == 1, "\(what)")
            #expect(checkpoint?.sections == [Self.templates], "\(what)")
            #expect(skipped.map(\.name) == [StateDirectory.name(ofSequence: 2)], "\(what)")
            if let mention { #expect(skipped.first?.reason.contains(mention) == true, "\(what): \(skipped)") }
        }
        // A file that holds another sequence than its name says (copied over) is skipped too.
        try FileManager.default.copyItem(
            atPath: directory.path + "/" + StateDirectory.name(ofSequence: 1),
            toPath: directory.path + "/" + StateDirectory.name(ofSequence: 7)
        )
        let (checkpoint, skipped) = state.loadNewest()
        #expect(checkpoint?.sequence == 1)
        #expect(skipped.count == 2)
        #expect(skipped.first?.reason.contains("holds sequence 1") == true)
        // Every checkpoint damaged: a fresh start, never a crash.
        try Self.write([1, 2, 3], directory.path + "/" + StateDirectory.name(ofSequence: 1))
        #expect(state.loadNewest().checkpoint == nil)
        #expect(state.loadNewest().skipped.count == 3)
    }

    @Test("every cut and 2,000 seeded byte mutations of a checkpoint decode or are refused, never crash")
    func hostileBytes() throws {
        let good = StateCheckpoint(sequence: 5, createdNanoseconds: 9, sections: [Self.templates, Self.other]).encoded()
        #expect(try StateCheckpoint(decoding: good).sections == [Self.templates, Self.other])
        for length in 0..<good.count {
            #expect(throws: StateFileDamage.self) { try StateCheckpoint(decoding: Array(good.prefix(length))) }
        }
        var generator = SplitMix64(seed: 0xC4EC_4901)
        for _ in 0..<2_000 {
            var bytes = good
            bytes[Int(generator.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: generator.next() | 1)
            // The checksum covers every byte but itself and the end mark: any change is refused.
            #expect(throws: StateFileDamage.self) { try StateCheckpoint(decoding: bytes) }
        }
    }

    @Test("a second process on the same directory is refused, naming the holder's PID; released when the first ends")
    func oneProcessAtATime() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var first: StateDirectory? = try StateDirectory(path: directory.path)
        #expect(first != nil)
        #expect(throws: StateDirectoryError.inUse(path: directory.path, holder: "pid \(getpid())")) {
            _ = try StateDirectory(path: directory.path)
        }
        first = nil
        _ = try StateDirectory(path: directory.path)
    }

    @Test("a path that cannot be a directory is a clear error")
    func unusablePath() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try Self.write([1], directory.path + "/file")
        #expect(throws: StateDirectoryError.self) { _ = try StateDirectory(path: directory.path + "/file") }
        #expect(throws: StateDirectoryError.self) { _ = try StateDirectory(path: directory.path + "/missing/state") }
    }
}
