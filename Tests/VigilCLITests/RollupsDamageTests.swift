import Foundation
import Testing

/// `vigil rollups cat|stats` over a directory where some segments are damaged.
@Suite("vigil rollups with damaged segments", .serialized)
struct RollupsDamageTests {
    static let start: Int64 = 1_793_577_600_000_000_000  // 2026-11-02T00:00:00Z
    static let hour: Int64 = 3_600_000_000_000

    /// Two runs into one directory: device "a" (2 series) at 00:00, device "b" (3 series) at 01:00, 30
    /// rounds each (5 windows per series). Each run writes one segment, named by its first window start.
    private func twoSegments(_ name: String) throws -> (directory: URL, rollups: String, first: String, second: String)
    {
        let directory = try CLI.temporaryDirectory(name)
        let rollups = directory.appendingPathComponent("rollups").path
        CLI.ignoreBrokenPipes()
        for (device, series, start) in [("a", 2, Self.start), ("b", 3, Self.start + Self.hour)] {
            let stream = makeStream(series: series, rounds: 30, device: device, start: start)
            let result = try CLI.run(["run", "--input", "-", "--rollups", rollups], input: Data(stream))
            #expect(result.status == 0, "\(result.standardError)")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: rollups).sorted()
        // seg-<first window start, 19 digits>-<sequence, 6 digits>.vgr; no temporary files left behind.
        #expect(names == ["seg-1793577600000000000-000001.vgr", "seg-1793581200000000000-000001.vgr"])
        return (directory, rollups, rollups + "/" + (names.first ?? ""), rollups + "/" + (names.last ?? ""))
    }

    private func csvRows(_ text: String) -> [[String]] {
        text.split(separator: "\n").dropFirst().map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
    }

    @Test("intact segments: cat prints both runs' rows in time order and stats counts them")
    func intact() throws {
        let setup = try twoSegments("rollups-intact")
        defer { try? FileManager.default.removeItem(at: setup.directory) }
        let cat = try CLI.run(["rollups", "cat", setup.rollups])
        #expect(cat.status == 0, "\(cat.standardError)")
        let rows = csvRows(cat.standardOutput)
        #expect(rows.count == 2 * 5 + 3 * 5)
        #expect(rows.prefix(10).allSatisfy { $0[1] == "a" })
        #expect(rows.dropFirst(10).allSatisfy { $0[1] == "b" })
        // Within a segment: by series, then window start; each window holds 6 samples of a constant gauge.
        #expect(rows.prefix(5).map { $0[0] } == (0..<5).map { "2026-11-02T00:0\($0):00Z" })
        #expect(rows.allSatisfy { $0[4] == "6" && $0[12] == "" })
        #expect(rows.first.map { Array($0[1...3]) } == ["a", "et-0/0/0", "rx_power_dbm"])
        #expect(rows.first?[5] == "-18.0", "sum of six -3.0 readings")
        let stats = try CLI.json(try CLI.run(["rollups", "stats", setup.rollups, "--json"]).standardOutput)
        #expect(stats["segments"] as? Int == 2)
        #expect(stats["rows"] as? Int == 25)
        #expect(stats["series"] as? Int == 5)
        #expect(stats["first_window_start"] as? String == "2026-11-02T00:00:00Z")
        #expect(stats["last_window_end"] as? String == "2026-11-02T01:05:00Z")
    }

    @Test("a flipped byte: the segment is named on stderr with its CRC mismatch and skipped; the other prints")
    func flippedByte() throws {
        let setup = try twoSegments("rollups-flip")
        defer { try? FileManager.default.removeItem(at: setup.directory) }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: setup.first))
        bytes[bytes.count / 2] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: setup.first))

        for format in ["csv", "jsonl"] {
            let cat = try CLI.run(["rollups", "cat", setup.rollups, "--format", format])
            #expect(cat.status == 0, "\(cat.standardError)")
            #expect(cat.standardError.contains("skipping damaged segment \(setup.first)"), "\(cat.standardError)")
            #expect(cat.standardError.contains("CRC32C mismatch"), "\(cat.standardError)")
            #expect(!cat.standardError.contains(setup.second), "\(cat.standardError)")
            let lines = cat.standardOutput.split(separator: "\n")
            #expect(lines.count == 15 + (format == "csv" ? 1 : 0))
            #expect(
                lines.dropFirst(format == "csv" ? 1 : 0).allSatisfy {
                    $0.contains(format == "csv" ? ",b," : "\"device\":\"b\"")
                }
            )
        }

        let stats = try CLI.run(["rollups", "stats", setup.rollups, "--json"])
        #expect(stats.status == 0)
        #expect(stats.standardError.contains(setup.first), "\(stats.standardError)")
        let object = try CLI.json(stats.standardOutput)
        #expect(object["segments"] as? Int == 1)
        #expect(object["rows"] as? Int == 15)
        #expect(object["damaged_segments"] as? Int == 1)
        let damaged = object["damaged"] as? [[String: Any]] ?? []
        #expect(damaged.first?["path"] as? String == setup.first)
        let reason = damaged.first?["reason"] as? String ?? ""
        #expect(reason.contains("CRC32C mismatch"), "\(reason)")
    }

    @Test("a truncated segment and a file that is not a segment are both named and skipped")
    func truncatedAndForeign() throws {
        let setup = try twoSegments("rollups-torn")
        defer { try? FileManager.default.removeItem(at: setup.directory) }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: setup.second))
        try bytes.prefix(bytes.count - 10).write(to: URL(fileURLWithPath: setup.second))
        let foreign = setup.rollups + "/seg-9999999999999999999-000001.vgr"
        try Data(repeating: 0x41, count: 200).write(to: URL(fileURLWithPath: foreign))

        let cat = try CLI.run(["rollups", "cat", setup.rollups])
        #expect(cat.status == 0, "\(cat.standardError)")
        #expect(csvRows(cat.standardOutput).count == 10, "only device a's segment is intact")
        #expect(
            cat.standardError.contains("skipping damaged segment \(setup.second): file size"),
            "\(cat.standardError)"
        )
        #expect(cat.standardError.contains("skipping damaged segment \(foreign): bad magic"), "\(cat.standardError)")

        let stats = try CLI.run(["rollups", "stats", setup.rollups])
        #expect(stats.status == 0)
        #expect(stats.standardOutput.contains("damaged_segments  2"), "\(stats.standardOutput)")
        #expect(stats.standardOutput.contains("rows              10"), "\(stats.standardOutput)")
    }

    @Test("a 300 MB file named like a segment but without its magic is named and skipped after its header")
    func largeForeignFileIsNotRead() throws {
        let directory = try CLI.temporaryDirectory("rollups-foreign")
        defer { try? FileManager.default.removeItem(at: directory) }
        let rollups = directory.appendingPathComponent("rollups").path
        let run = try CLI.run(
            ["run", "--input", "-", "--rollups", rollups],
            input: Data(makeStream(series: 2, rounds: 30))
        )
        #expect(run.status == 0, "\(run.standardError)")
        // A disk image copied in by mistake, first in name order: its header is not a segment's, and nothing
        // after it matters.
        let foreign = rollups + "/seg-0000000000000000000-000000.vgr"
        #expect(FileManager.default.createFile(atPath: foreign, contents: Data("not a segment".utf8)))
        #expect(truncate(foreign, 300 << 20) == 0)  // sparse: no disk space taken
        // Then enough small damaged files that their warnings fill the standard error pipe: the command
        // waits there, after reading the large one, while its byte count is taken.
        for index in 1...800 {
            let name = String(format: "seg-0000000000000000001-%06d.vgr", index)
            #expect(FileManager.default.createFile(atPath: rollups + "/" + name, contents: Data(count: 100)))
        }
        for command in [["stats", rollups, "--json"], ["cat", rollups]] {
            let (result, bytesRead) = try CLI.bytesReadBeforeStandardErrorFills(["rollups"] + command)
            #expect(result.status == 0, "\(command): \(result.standardError.suffix(500))")
            #expect(
                result.standardError.contains("skipping damaged segment \(foreign): bad magic"),
                "\(command): \(result.standardError.prefix(500))"
            )
            // The whole file would be 300 MiB; its header, the 800 small files, the intact segment and the
            // loader's reads of the libraries are a few MiB.
            #expect(bytesRead >= 0 && bytesRead < 50 << 20, "\(command): read \(bytesRead) bytes")
        }
    }

    @Test("a FIFO named like a segment is named as not a regular file; stats and cat do not wait on it")
    func fifoInDirectory() throws {
        let directory = try CLI.temporaryDirectory("rollups-fifo")
        let rollups = directory.appendingPathComponent("rollups").path
        let run = try CLI.run(
            ["run", "--input", "-", "--rollups", rollups],
            input: Data(makeStream(series: 2, rounds: 30))
        )
        #expect(run.status == 0, "\(run.standardError)")
        #expect(mkfifo(rollups + "/seg-9999999999999999999-000001.vgr", 0o644) == 0)
        for command in [["stats", rollups, "--json"], ["cat", rollups]] {
            let result = try CLI.run(["rollups"] + command, timeoutSeconds: 10)
            #expect(result.status == 0, "\(command): \(result.standardError)")
            #expect(result.standardError.contains("seg-9999999999999999999-000001.vgr"), "\(result.standardError)")
            #expect(result.standardError.contains("not a regular file (a FIFO)"), "\(result.standardError)")
        }
    }

    @Test("a missing directory is an error naming it; a bad time is a usage error")
    func badArguments() throws {
        let missing = try CLI.run(["rollups", "stats", "/nonexistent/vigil-rollups"])
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("/nonexistent/vigil-rollups"), "\(missing.standardError)")
        let badTime = try CLI.run(["rollups", "cat", "/tmp", "--from", "yesterday"])
        #expect(badTime.status == 64)
        #expect(badTime.standardError.contains("--from yesterday is not an RFC 3339 time"), "\(badTime.standardError)")
        let badFormat = try CLI.run(["rollups", "cat", "/tmp", "--format", "xml"])
        #expect(badFormat.status == 64)
        #expect(badFormat.standardError.contains("--format"), "\(badFormat.standardError)")
    }
}
