import Foundation
import Testing

/// `vigil flows top` as a user runs it: a generated capture through `vigil run --rollups`, then the heavy
/// hitters read back and checked against the true totals computed from every record the generator sent.
@Suite("vigil flows top: true top talkers within the reported error bounds", .serialized)
struct FlowsTopTests {
    static let protocolNames: [Int: String] = [6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"]

    /// The key `vigil flows top --by KIND` prints for one record of `--records-out`.
    static func key(_ kind: String, _ record: [String: Any]) -> String {
        let source = record["source_address"] as! String
        let destination = record["destination_address"] as! String
        switch kind {
        case "src": return source
        case "dst": return destination
        case "pair": return "\(source) -> \(destination)"
        default:
            let protocolNumber = record["protocol"] as! Int
            return "\(record["destination_port"] as! Int)/\(protocolNames[protocolNumber] ?? "proto\(protocolNumber)")"
        }
    }

    /// True bytes by key: every record's octets times its sampling interval.
    static func truth(_ kind: String, _ records: [[String: Any]]) -> [String: UInt64] {
        var totals: [String: UInt64] = [:]
        for record in records {
            let octets = (record["octets"] as! NSNumber).uint64Value
            let sampling = max(1, (record["sampling_interval"] as! NSNumber).uint64Value)
            totals[key(kind, record), default: 0] += octets * sampling
        }
        return totals
    }

    /// Generates a v9 capture and its records, runs it into a rollup directory; returns both.
    static func prepare(_ name: String, _ extra: [String]) throws -> (directory: URL, records: [[String: Any]]) {
        let directory = try CLI.temporaryDirectory(name)
        let pcap = directory.appendingPathComponent("f.pcap").path
        let jsonl = directory.appendingPathComponent("f.jsonl").path
        let generated = try CLI.run(
            ["generate", "flows", "--format", "v9", "--out", pcap, "--records-out", jsonl] + extra
        )
        #expect(generated.status == 0, "\(generated.standardError)")
        let rollups = directory.appendingPathComponent("r").path
        let run = try CLI.run(["run", "--input", "pcap:\(pcap)", "--rollups", rollups, "--summary-json", "-"])
        #expect(run.status == 0, "\(run.standardError)")
        let summary = try CLI.json(run.standardOutput)
        #expect(summary["flow_summaries"] as? Int ?? 0 >= 1)
        #expect((summary["rejects"] as? [String: Int])?["flow_summaries_dropped"] == 0)
        let records = try String(contentsOfFile: jsonl, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        return (directory, records)
    }

    static func top(_ directory: URL, _ kind: String, _ extra: [String] = []) throws -> [String: Any] {
        let result = try CLI.run(
            ["flows", "top", directory.appendingPathComponent("r").path, "--by", kind, "--json"] + extra
        )
        #expect(result.status == 0, "\(result.standardError)")
        return try CLI.json(result.standardOutput)
    }

    @Test(
        "20,000 records from 3 exporters: each kind's true top 5 are listed, every entry brackets its true bytes",
        arguments: ["src", "dst", "pair", "dstport"]
    )
    func topTalkersWithinBounds(kind: String) throws {
        let (directory, records) = try Self.prepare(
            "flows-top",
            ["--records", "20000", "--exporters", "3", "--sampling-rate", "10"]
        )
        defer { try? FileManager.default.removeItem(at: directory) }
        let truth = Self.truth(kind, records)
        let top = try Self.top(directory, kind, ["-n", "10"])
        #expect(top["by"] as? String == kind)
        #expect((top["exporters"] as? [String])?.count == 3)
        #expect((top["total_bytes"] as? NSNumber)?.uint64Value == truth.values.reduce(0, +))
        let entries = top["entries"] as! [[String: Any]]
        #expect(entries.count == 10)
        var listed: Set<String> = []
        for entry in entries {
            let key = entry["key"] as! String
            let bytes = (entry["bytes"] as! NSNumber).uint64Value
            let error = (entry["error_bytes"] as! NSNumber).uint64Value
            let actual = truth[key] ?? 0
            #expect(
                bytes - min(error, bytes) <= actual && actual <= bytes,
                "\(key): true \(actual), \(bytes) ± \(error)"
            )
            listed.insert(key)
            if kind == "dst" { #expect(entry["distinct_sources"] is Int) }
        }
        for (key, bytes) in truth.sorted(by: { $0.value > $1.value }).prefix(5) {
            #expect(listed.contains(key), "true top-5 \(kind) \(key) (\(bytes) bytes) listed")
        }
    }

    @Test("15 records: every key is listed with its exact bytes, error 0, distinct sources exact")
    func exactWithFewKeys() throws {
        let (directory, records) = try Self.prepare("flows-exact", ["--records", "15"])
        defer { try? FileManager.default.removeItem(at: directory) }
        for kind in ["src", "dst", "pair", "dstport"] {
            let truth = Self.truth(kind, records)
            let entries = try Self.top(directory, kind, ["-n", "100"])["entries"] as! [[String: Any]]
            var seen: [String: UInt64] = [:]
            for entry in entries {
                #expect((entry["error_bytes"] as! NSNumber).uint64Value == 0)
                seen[entry["key"] as! String] = (entry["bytes"] as! NSNumber).uint64Value
            }
            #expect(seen == truth, "\(kind)")
            if kind == "dst" {
                for entry in entries {
                    let sources = Set(
                        records.filter { $0["destination_address"] as? String == entry["key"] as? String }
                            .map { $0["source_address"] as! String }
                    )
                    #expect(entry["distinct_sources"] as? Int == sources.count)
                }
            }
        }
    }

    @Test("a damaged and a foreign flows file are named and skipped; rollups cat and stats ignore flows files")
    func damagedFilesSkipped() throws {
        let (directory, records) = try Self.prepare("flows-damage", ["--records", "2000", "--exporters", "2"])
        defer { try? FileManager.default.removeItem(at: directory) }
        let rollups = directory.appendingPathComponent("r")
        let good = try FileManager.default.contentsOfDirectory(atPath: rollups.path).first { $0.hasPrefix("flows-") }!
        var damaged = try Data(contentsOf: rollups.appendingPathComponent(good))
        damaged[damaged.count / 2] ^= 0x40
        try damaged.write(to: rollups.appendingPathComponent("flows-0000000000000000001-000009.vgf"))
        try Data("not a flows file at all, just text long enough to have a header of 64 bytes......".utf8)
            .write(to: rollups.appendingPathComponent("flows-0000000000000000002-000001.vgf"))
        let result = try CLI.run(["flows", "top", rollups.path, "--by", "dst", "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("flows-0000000000000000001-000009.vgf: CRC32C mismatch"))
        #expect(result.standardError.contains("flows-0000000000000000002-000001.vgf: bad magic"))
        let top = try CLI.json(result.standardOutput)
        #expect((top["total_bytes"] as? NSNumber)?.uint64Value == Self.truth("dst", records).values.reduce(0, +))
        let stats = try CLI.run(["rollups", "stats", rollups.path, "--json"])
        #expect(stats.status == 0 && stats.standardError.isEmpty, "\(stats.standardError)")
        #expect(try CLI.json(stats.standardOutput)["damaged_segments"] as? Int == 0)
        let cat = try CLI.run(["rollups", "cat", rollups.path, "--format", "jsonl"])
        #expect(cat.status == 0 && cat.standardError.isEmpty && !cat.standardOutput.isEmpty)
    }

    @Test("--exporter and --from/--to select summaries; a range with none gives zero bytes, not an error")
    func selection() throws {
        let (directory, records) = try Self.prepare("flows-select", ["--records", "3000", "--exporters", "3"])
        defer { try? FileManager.default.removeItem(at: directory) }
        let one = try Self.top(directory, "src", ["--exporter", "127.0.0.11"])
        #expect(one["exporters"] as? [String] == ["127.0.0.11/2"])
        let exporterRecords = records.filter { $0["exporter"] as? String == "127.0.0.11" }
        #expect(
            (one["total_bytes"] as? NSNumber)?.uint64Value == Self.truth("src", exporterRecords).values.reduce(0, +)
        )
        let none = try Self.top(directory, "src", ["--from", "2030-01-01T00:00:00Z"])
        #expect((none["total_bytes"] as? NSNumber)?.uint64Value == 0)
        #expect((none["entries"] as? [Any])?.isEmpty == true)
        let help = try CLI.run(["flows", "top", "--help"])
        #expect(help.standardOutput.contains("vigil flows top rollups/ --by src"))
    }

    @Test("past 2,048 exporters with sketches the others' records are counted as skipped and logged once, not silent")
    func analyticsPoolFull() throws {
        let directory = try CLI.temporaryDirectory("flows-pool")
        defer { try? FileManager.default.removeItem(at: directory) }
        // 2,100 exporters, each sending 32 one-record datagrams within one window: all want sketches at once.
        let pcap = try GenerateFlowsTests.generate(
            "v9",
            in: directory,
            ["--exporters", "2100", "--records-per-datagram", "1", "--records", "67200"]
        ).pcap
        let rollups = directory.appendingPathComponent("r").path
        let run = try CLI.run(["run", "--input", "pcap:\(pcap)", "--rollups", rollups, "--summary-json", "-"])
        #expect(run.status == 0, "\(run.standardError)")
        let summary = try CLI.json(run.standardOutput)
        #expect(summary["flow_exporters"] as? Int == 2_100)
        #expect(summary["flow_summaries"] as? Int == 2_048)
        #expect((summary["rejects"] as? [String: Int])?["flow_analytics_records_skipped"] == 52 * 32)
        let lines = run.standardError.split(separator: "\n").filter { $0.contains("flow analytics full") }
        #expect(lines.count == 1, "\(run.standardError.suffix(2_000))")
        #expect(lines.first?.contains("2048 exporters hold sketches") == true)
    }
}
