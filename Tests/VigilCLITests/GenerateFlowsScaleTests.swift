import Foundation
import Testing

/// `vigil generate flows` at the scales of the memory figures (docs/performance.md, "Flow ingest memory"):
/// many templates per exporter, a wide key space, exporters past 4,096. Each test runs the real command and
/// checks what the pcap holds, with `vigil inspect` or by reading the datagrams.
@Suite("vigil generate flows: templates per exporter, distinct flows, many exporters", .serialized)
struct GenerateFlowsScaleTests {
    /// The data set ids of a NetFlow v9 or IPFIX datagram, with their byte counts.
    static func dataSetIDs(_ payload: [UInt8]) -> [UInt16] {
        func u16(_ at: Int) -> Int { Int(payload[at]) << 8 | Int(payload[at + 1]) }
        var offset = u16(0) == 10 ? 16 : 20
        var ids: [UInt16] = []
        while offset + 4 <= payload.count {
            let id = u16(offset)
            let length = u16(offset + 2)
            guard length >= 4 else { break }
            if id >= 256 { ids.append(UInt16(id)) }
            offset += length
        }
        return ids
    }

    @Test(
        "--templates-per-exporter 10: every exporter holds 10 templates, ids 256-265, and data reaches each of its 9 flow templates",
        arguments: ["v9", "ipfix"]
    )
    func templatesPerExporter(format: String) throws {
        let directory = try CLI.temporaryDirectory("flows-templates")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (pcap, jsonl, summary) = try GenerateFlowsTests.generate(
            format,
            in: directory,
            ["--records", "12000", "--exporters", "3", "--templates-per-exporter", "10"]
        )
        #expect(summary["templates_per_exporter"] as? Int == 10)
        let inspected = try CLI.run(["inspect", pcap, "--json"])
        #expect(inspected.status == 0, "\(inspected.standardError)")
        let inspection = try CLI.json(inspected.standardOutput)
        #expect(inspection["data_records"] as? Int == 12_000)
        #expect(inspection["errors"] as? Int == 0)
        let exporters = inspection["exporters"] as? [[String: Any]] ?? []
        #expect(exporters.count == 3)
        // Batches of 32 datagrams of 24 records go to the exporters in turn: 4,320, 3,840 and 3,840 records.
        let sent = try GenerateFlowsTests.jsonLines(jsonl)
        for exporter in exporters {
            #expect(exporter["templates"] as? Int == 10, "\(exporter)")
            let address = exporter["address"] as? String
            #expect(exporter["data_records"] as? Int == sent.filter { $0["exporter"] as? String == address }.count)
        }
        // Every exporter's data sets name all ten: IPv4 layouts 256, 259, 261, 263, 265, IPv6 layouts 257, 260,
        // 262, 264, each used by some datagram, and the sampler options data (258).
        let capture = try FlowCapture(path: pcap)
        var idsBySource: [[UInt8]: Set<UInt16>] = [:]
        for frame in capture.frames {
            idsBySource[frame.source, default: []].formUnion(Self.dataSetIDs(frame.payload))
        }
        #expect(idsBySource.count == 3)
        for (source, ids) in idsBySource {
            #expect(ids == Set(256...265), "\(source): \(ids.sorted())")
        }
    }

    @Test("--templates-per-exporter is refused outside 3...33, and for v5 and sFlow, naming the flag")
    func templatesRefused() throws {
        for (format, count, message) in [
            ("v9", "34", "--templates-per-exporter 34: expected 3...33"),
            ("ipfix", "2", "--templates-per-exporter 2: expected 3...33"),
            ("sflow", "4", "--templates-per-exporter 4: only NetFlow v9 and IPFIX have templates"),
        ] {
            let result = try CLI.run([
                "generate", "flows", "--format", format, "--templates-per-exporter", count, "--out", "/dev/null",
            ])
            #expect(result.status == 64)
            #expect(result.standardError.contains(message), "\(result.standardError)")
        }
    }

    /// Distinct 5-tuples (addresses, ports, protocol) among JSON Lines records, and how often each came.
    static func fiveTuples(_ lines: [[String: Any]]) -> [String: Int] {
        var counts: [String: Int] = [:]
        for line in lines {
            let key = ["source_address", "destination_address", "source_port", "destination_port", "protocol"]
                .map { "\(line[$0]!)" }.joined(separator: " ")
            counts[key, default: 0] += 1
        }
        return counts
    }

    @Test(
        "--distinct-flows N: R records hold min(R, N) distinct 5-tuples, taken in turn, whatever the exporters",
        arguments: ["v5", "ipfix", "sflow"]
    )
    func distinctFlows(format: String) throws {
        let directory = try CLI.temporaryDirectory("flows-distinct")
        defer { try? FileManager.default.removeItem(at: directory) }
        // 6,000 records over 3,000 keys: each key exactly twice. Over 10,000 keys: 6,000 distinct.
        let twice = try GenerateFlowsTests.generate(
            format,
            in: directory,
            name: "twice",
            ["--records", "6000", "--exporters", "2", "--distinct-flows", "3000"]
        )
        #expect(twice.summary["distinct_flows"] as? Int == 3_000)
        let counts = Self.fiveTuples(try GenerateFlowsTests.jsonLines(twice.jsonl))
        #expect(counts.count == 3_000)
        #expect(Set(counts.values) == [2])
        let wide = try GenerateFlowsTests.generate(
            format,
            in: directory,
            name: "wide",
            ["--records", "6000", "--exporters", "2", "--distinct-flows", "10000"]
        )
        let wideLines = try GenerateFlowsTests.jsonLines(wide.jsonl)
        #expect(Self.fiveTuples(wideLines).count == 6_000)
        // What the decoders read is what was sent: the same distinct count from `vigil inspect --records-out`.
        let decoded = directory.appendingPathComponent("decoded.jsonl").path
        let inspected = try CLI.run(["inspect", wide.pcap, "--records-out", decoded])
        #expect(inspected.status == 0, "\(inspected.standardError)")
        #expect(Self.fiveTuples(try GenerateFlowsTests.jsonLines(decoded)).count == 6_000)
        // No keys at all is refused.
        let refused = try CLI.run([
            "generate", "flows", "--format", format, "--distinct-flows", "0", "--out", "/dev/null",
        ])
        #expect(refused.status == 64)
        #expect(refused.standardError.contains("--distinct-flows 0: expected 1...16777216"), "\(refused.standardError)")
    }

    @Test("--exporters 10000: ten thousand exporters, each from its own address with its own domain, 32 records each")
    func tenThousandExporters() throws {
        let directory = try CLI.temporaryDirectory("flows-exporters")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (pcap, _, summary) = try GenerateFlowsTests.generate(
            "v9",
            in: directory,
            ["--records", "320000", "--exporters", "10000", "--records-per-datagram", "1"]
        )
        #expect(summary["exporters"] as? Int == 10_000)
        let inspected = try CLI.run(["inspect", pcap, "--json"], timeoutSeconds: 300)
        #expect(inspected.status == 0, "\(inspected.standardError)")
        let inspection = try CLI.json(inspected.standardOutput)
        #expect(inspection["errors"] as? Int == 0)
        let exporters = inspection["exporters"] as? [[String: Any]] ?? []
        #expect(exporters.count == 10_000)
        #expect(Set(exporters.compactMap { $0["address"] as? String }).count == 10_000)
        #expect(Set(exporters.compactMap { $0["observation_domain"] as? Int }) == Set(1...10_000))
        #expect(exporters.allSatisfy { $0["data_records"] as? Int == 32 && $0["templates"] as? Int == 3 })
        // The last exporter: 127.0.0.10 + 9,999 = 127.0.39.25.
        #expect(exporters.contains { $0["address"] as? String == "127.0.39.25" })
        let tooMany = try CLI.run([
            "generate", "flows", "--format", "v9", "--exporters", "131073", "--out", "/dev/null",
        ])
        #expect(tooMany.status == 64)
        #expect(tooMany.standardError.contains("--exporters 131073: expected 1...131072"), "\(tooMany.standardError)")
    }
}
