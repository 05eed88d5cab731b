import Foundation
import Testing

/// `vigil inspect --records-out`: every record the decoders find, in the schema the generator writes for
/// what it sent. Equal files mean Vigil's decoders read exactly what was encoded; the generator's own test
/// (`GenerateFlowsTests.tsharkAgrees`) shows tshark reads the same records, so by transitivity our decoders
/// agree with tshark's, record by record. A direct tshark comparison of a few fields backs that up for the
/// template formats.
@Suite("vigil inspect --records-out: decoded records against the generator's and tshark's", .serialized)
struct InspectRecordsTests {
    static func inspectRecords(_ pcap: String, to jsonl: String) throws -> [String: Any] {
        let result = try CLI.run(["inspect", pcap, "--json", "--records-out", jsonl])
        #expect(result.status == 0, "\(result.standardError)")
        return try CLI.json(result.standardOutput)
    }

    /// One JSON line as sorted `key=value` text: equal lines compare equal whatever the key order.
    static func canonical(_ line: [String: Any]) -> String {
        line.keys.sorted().map { "\($0)=\(line[$0]!)" }.joined(separator: ",")
    }

    @Test(
        "every record decoded from a generated capture equals the record the generator sent, field by field, in order",
        arguments: ["v5", "v9", "ipfix", "sflow"]
    )
    func decodedEqualsGenerated(format: String) throws {
        let directory = try CLI.temporaryDirectory("inspect-records")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (pcap, sentPath, summary) = try GenerateFlowsTests.generate(
            format,
            in: directory,
            [
                "--records", "3001", "--exporters", "3", "--records-per-datagram", "30", "--template-refresh", "7",
                "--sampling-rate", "64", "--seed", "11",
            ]
        )
        let decodedPath = directory.appendingPathComponent("decoded.jsonl").path
        let inspection = try Self.inspectRecords(pcap, to: decodedPath)
        let sent = try GenerateFlowsTests.jsonLines(sentPath)
        let decoded = try GenerateFlowsTests.jsonLines(decodedPath)
        #expect(sent.count == 3_001 && summary["records"] as? Int == 3_001)
        #expect(decoded.count == sent.count)
        #expect(inspection["data_records"] as? Int == decoded.count)
        #expect(inspection["errors"] as? Int == 0)
        var mismatches: [String] = []
        for (index, (expected, actual)) in zip(sent, decoded).enumerated()
        where Self.canonical(expected) != Self.canonical(actual) {
            mismatches.append("record \(index): sent \(Self.canonical(expected))\n  decoded \(Self.canonical(actual))")
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) records differ; first: \(mismatches.first ?? "")")
        // Direction is a real field where the format has one: egress records go through it.
        if format == "v9" || format == "ipfix" {
            #expect(sent.contains { $0["direction"] as? String == "egress" })
        }
    }

    @Test(
        "for NetFlow v9 and IPFIX, tshark reads the same addresses, ports, protocol, bytes and packets as the dump",
        arguments: ["v9", "ipfix"]
    )
    func decodedEqualsTshark(format: String) throws {
        guard GenerateFlowsTests.tshark != nil else {
            print("SKIPPED tshark comparison of vigil inspect --records-out (\(format)): tshark is not installed")
            return
        }
        let directory = try CLI.temporaryDirectory("inspect-tshark")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (pcap, _, _) = try GenerateFlowsTests.generate(
            format,
            in: directory,
            ["--records", "900", "--exporters", "2", "--seed", "5"]
        )
        let decodedPath = directory.appendingPathComponent("decoded.jsonl").path
        _ = try Self.inspectRecords(pcap, to: decodedPath)
        let decoded = try GenerateFlowsTests.jsonLines(decodedPath)
        let fields = [
            "cflow.srcaddr", "cflow.srcaddrv6", "cflow.dstaddr", "cflow.dstaddrv6", "cflow.srcport", "cflow.dstport",
            "cflow.protocol", "cflow.octets", "cflow.packets",
        ]
        let frames = try GenerateFlowsTests.tsharkFields(pcap, format: format, fields: fields)
        var tshark: [String: [String]] = [:]
        for frame in frames {
            tshark["source_address", default: []] += frame[0] + frame[1]
            tshark["destination_address", default: []] += frame[2] + frame[3]
            tshark["source_port", default: []] += frame[4]
            tshark["destination_port", default: []] += frame[5]
            tshark["protocol", default: []] += frame[6]
            tshark["octets", default: []] += frame[7]
            tshark["packets", default: []] += frame[8]
        }
        #expect(decoded.count == 900)
        for key in ["source_port", "destination_port", "protocol", "octets", "packets"] {
            #expect(tshark[key] == decoded.map { "\($0[key]!)" }, "\(key)")
        }
        // tshark lists a datagram's IPv4 addresses before its IPv6 ones: compare each datagram's as a multiset.
        #expect(
            tshark["source_address"]?.sorted() == decoded.map { "\($0["source_address"]!)" }.sorted(),
            "source addresses"
        )
        #expect(
            tshark["destination_address"]?.sorted() == decoded.map { "\($0["destination_address"]!)" }.sorted(),
            "destination addresses"
        )
    }

    @Test("--records-out - writes the records on standard output and the counts on standard error")
    func recordsToStandardOutput() throws {
        let directory = try CLI.temporaryDirectory("inspect-stdout")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (pcap, sentPath, _) = try GenerateFlowsTests.generate("ipfix", in: directory, ["--records", "75"])
        let result = try CLI.run(["inspect", pcap, "--json", "--records-out", "-"])
        #expect(result.status == 0, "\(result.standardError)")
        let lines = result.standardOutput.split(separator: "\n")
        #expect(lines.count == 75)
        #expect(try CLI.json(result.standardError)["data_records"] as? Int == 75)
        let sent = try String(contentsOfFile: sentPath, encoding: .utf8)
        #expect(result.standardOutput == sent)
    }
}
