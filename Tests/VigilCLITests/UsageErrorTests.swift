import Foundation
import Testing

/// What a careless user types: negative values, values the engine refuses, a typo in a metric, a glob that
/// matches nothing; and what the repository tells them in its help, docs and Makefile.
@Suite("usage errors a careless user meets")
struct UsageErrorTests {
    @Test(
        "a negative value is a usage error naming the flag and the value, not a 'Missing value'",
        arguments: [
            (["run", "--input", "-", "--window", "-5s"], "--window '-5s'"),
            (["run", "--input", "-", "--lateness", "-1s"], "--lateness '-1s'"),
            (["run", "--input", "-", "--shards", "-3"], "--shards -3"),
            (["run", "--input", "-", "--max-series", "-1"], "--max-series -1"),
            (["run", "--input", "-", "--stop-after-idle", "-2s"], "--stop-after-idle '-2s'"),
            (["generate", "--devices", "-3", "--out", "/dev/null"], "--devices -3"),
            (["generate", "--interval", "-10s", "--out", "/dev/null"], "--interval '-10s'"),
            (["bench", "--series", "-1"], "--series -1"),
            (["bench", "--shards", "-3"], "--shards -3"),
        ]
    )
    func negativeValues(arguments: [String], named: String) throws {
        let result = try CLI.run(arguments, input: Data())
        #expect(result.status == 64, "\(result.standardError)")
        #expect(result.standardError.contains("Error: \(named)"), "\(result.standardError)")
        #expect(!result.standardError.contains("Missing value"), "\(result.standardError)")
    }

    @Test(
        "a value the command refuses ends with that command's usage, not the top-level one",
        arguments: [
            (["run", "--input", "-", "--window", "7m"], "vigil run"),
            (["run", "--input", "-", "--shards", "255"], "vigil run"),
            (["run", "--input", "udp:9"], "vigil run"),
            (["generate", "--interval", "soon", "--out", "/dev/null"], "vigil generate"),
            (["generate", "--devices", "5000", "--out", "/dev/null"], "vigil generate"),
            (["bench", "--window", "soon"], "vigil bench"),
        ]
    )
    func subcommandUsage(arguments: [String], command: String) throws {
        let result = try CLI.run(arguments, input: Data())
        #expect(result.status == 64, "\(result.standardError)")
        #expect(result.standardError.contains("Usage: \(command) "), "\(result.standardError)")
        #expect(!result.standardError.contains("Usage: vigil <subcommand>"), "\(result.standardError)")
    }

    @Test("an unknown metric in --failure-threshold is warned about by name; the help says the defaults go")
    func unknownThresholdMetric() throws {
        let stream = Data(makeStream(series: 2, rounds: 12))
        let typo = try CLI.run(["run", "--input", "-", "--failure-threshold", "rx_powr_dbm<-20"], input: stream)
        #expect(typo.status == 0, "a metric of the user's own data is not an error: \(typo.standardError)")
        #expect(typo.standardError.contains("warning"), "\(typo.standardError)")
        #expect(typo.standardError.contains("rx_powr_dbm is not a metric"), "\(typo.standardError)")
        #expect(typo.standardError.contains("replaces all the defaults (rx_power_dbm<-20,"), "\(typo.standardError)")
        let known = try CLI.run(["run", "--input", "-", "--failure-threshold", "rx_power_dbm<-18"], input: stream)
        #expect(known.status == 0, "\(known.standardError)")
        #expect(!known.standardError.contains("is not a metric"), "\(known.standardError)")
        let help = try CLI.run(["run", "--help"])
        #expect(help.standardOutput.contains("replaces all the"), "\(help.standardOutput)")
    }

    @Test("a glob that matches no file fails like a missing file: exit 1 after the other inputs are read")
    func globWithoutMatch() throws {
        let directory = try CLI.temporaryDirectory("glob-none")
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("good.vgl").path
        try Data(makeStream(series: 3, rounds: 12)).write(to: URL(fileURLWithPath: good))
        for missing in ["file:\(directory.path)/none-*.vgl", "file:\(directory.path)/none.vgl"] {
            let result = try CLI.run(["run", "--input", missing, "--input", "file:" + good, "--summary-json", "-"])
            #expect(result.status == 1, "\(missing): \(result.standardError)")
            let summary = try CLI.json(result.standardOutput)
            #expect(summary["samples"] as? Int == 36, "\(missing): the other input was not read")
            #expect(summary["unreadable_inputs"] as? Int == 1, "\(missing)")
            #expect(result.standardError.contains(directory.path + "/none"), "\(result.standardError)")
        }
    }

    @Test("make clean removes every build directory the Makefile's targets create")
    func makeCleanRemovesEveryScratchPath() throws {
        let makefile = try String(
            contentsOf: CLI.packageRoot.appendingPathComponent("Makefile"),
            encoding: .utf8
        )
        // `swift … --scratch-path DIR` in any target, besides the default .build and the Benchmarks package's.
        let scratchPaths =
            makefile.components(separatedBy: "--scratch-path ").dropFirst()
            .map { String($0.prefix { !$0.isWhitespace }) } + [".build", "Benchmarks/.build"]
        #expect(scratchPaths.contains(".build-tsan"))
        let clean =
            makefile.components(separatedBy: "\nclean:\n").dropFirst().first?
            .prefix { $0 != "\n" } ?? ""
        for path in scratchPaths {
            #expect(clean.split(separator: " ").contains(Substring(path)), "make clean leaves \(path): \(clean)")
        }
    }

    @Test("help, docs and README speak of what is in the repository: no shared/ paths, no benchmark nicknames")
    func noReferencesOutsideTheRepository() throws {
        var texts: [(String, String)] = []
        for command in [["--help"], ["run", "--help"], ["rollups", "cat", "--help"], ["rollups", "stats", "--help"]]
            + [["generate", "--help"], ["eval", "incidents", "--help"], ["bench", "--help"]]
        {
            texts.append((command.joined(separator: " "), try CLI.run(command).standardOutput))
        }
        let root = CLI.packageRoot
        let documents =
            ["README.md", "SampleData/README.md", "Benchmarks/README.md"]
            + ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("docs").path)) ?? [])
            .filter { $0.hasSuffix(".md") }.map { "docs/" + $0 }
        for document in documents {
            if let text = try? String(contentsOf: root.appendingPathComponent(document), encoding: .utf8) {
                texts.append((document, text))
            }
        }
        #expect(texts.count > 10)
        for (name, text) in texts {
            for word in ["shared/", "W1", "w1.vgl", "/work/"] {
                #expect(!text.contains(word), "\(name) mentions \(word)")
            }
        }
    }
}
