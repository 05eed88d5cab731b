import Foundation
import Testing
import VigilCore

@testable import VigilStore

/// The one rule for temporary files (``TemporaryFiles``): what a killed writer left is removed, nothing that
/// a live writer, another output or something else owns is.
@Suite("temporary files")
struct TemporaryFilesTests {
    /// The PID of a process that has exited (and was reaped): no process runs with it.
    static func deadPID() throws -> pid_t {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    static func save(_ text: String, _ path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    @Test("a dead writer's NAME.tmp.PID is removed; a live PID's, a locked one, other names and non-files are kept")
    func abandonedFilesOnly() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let dead = try Self.deadPID()
        let live = getppid()
        try Self.save("dead", directory.path + "/summary.json.tmp.\(dead)")
        try Self.save("live", directory.path + "/summary.json.tmp.\(live)")
        try Self.save("other output", directory.path + "/other.json.tmp.\(dead)")
        try Self.save("not a temporary name", directory.path + "/summary.json.tmp.x\(dead)")
        #expect(mkfifo(directory.path + "/summary.json.tmp.\(dead + 1_000_000)", 0o644) == 0)
        // Locked by a writer in another PID namespace, whose PID means nothing here.
        let lockedPath = directory.path + "/summary.json.tmp.\(dead + 2_000_000)"
        try Self.save("locked", lockedPath)
        let locked = open(lockedPath, O_RDONLY)
        defer { close(locked) }
        #expect(flock(locked, LOCK_EX) == 0)

        let removed = TemporaryFiles.removeAbandoned(in: directory.path) { $0 == "summary.json" }
        #expect(removed == ["summary.json.tmp.\(dead)"])
        #expect(
            directory.names()
                == [
                    "other.json.tmp.\(dead)",
                    "summary.json.tmp.\(dead + 1_000_000)",
                    "summary.json.tmp.\(dead + 2_000_000)",
                    "summary.json.tmp.\(live)",
                    "summary.json.tmp.x\(dead)",
                ].sorted()
        )
    }

    @Test("creating a temporary file never writes through a link planted under its name")
    func createReplacesAPlantedLink() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let victim = directory.path + "/victim"
        try Self.save("precious", victim)
        let temporary = TemporaryFiles.path(publishing: directory.path + "/summary.json")
        #expect(temporary == directory.path + "/summary.json.tmp.\(getpid())")
        #expect(symlink(victim, temporary) == 0)
        let descriptor = try TemporaryFiles.create(temporary)
        #expect(write(descriptor, "new", 3) == 3)
        close(descriptor)
        TemporaryFiles.remove(temporary)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious")
        #expect(directory.names() == ["victim"])
    }

    @Test("a segment writer removes a killed writer's temporary segment before its first segment")
    func segmentWriterRemovesAbandonedSegments() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let abandoned = ".seg-1800000000000000000-000001.vgr.tmp.\(try Self.deadPID())"
        try Self.save("torn", directory.path + "/" + abandoned)
        let writer = RollupSegmentWriter(directory: directory.path, windowNanoseconds: 60_000_000_000)
        try writer.append(WriterTests.rows(3, series: 1, start: 1_800_000_000_000_000_000), descriptors: descriptor)
        try writer.close()
        #expect(directory.names() == ["seg-1800000000000000000-000001.vgr"])
    }
}
