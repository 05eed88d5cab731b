import Foundation
import Testing

/// `vigil generate flows` as a user runs it: what the summary says against what the pcap holds, determinism,
/// the datagram limit, and tshark's independent reading of every format.
@Suite("vigil generate flows: counts, determinism, limits and tshark's reading", .serialized)
struct GenerateFlowsTests {
    static let ports = ["v5": 2055, "v9": 2055, "ipfix": 4739, "sflow": 6343]

    /// Runs `vigil generate flows --format FORMAT --out DIR/FORMAT.pcap --records-out DIR/FORMAT.jsonl`.
    static func generate(
        _ format: String,
        in directory: URL,
        name: String? = nil,
        _ extra: [String] = []
    ) throws -> (pcap: String, jsonl: String, summary: [String: Any]) {
        let pcap = directory.appendingPathComponent("\(name ?? format).pcap").path
        let jsonl = directory.appendingPathComponent("\(name ?? format).jsonl").path
        let result = try CLI.run(
            ["generate", "flows", "--format", format, "--out", pcap, "--records-out", jsonl] + extra
        )
        #expect(result.status == 0, "\(result.standardError)")
        return (pcap, jsonl, try CLI.json(result.standardOutput))
    }

    static func jsonLines(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    @Test(
        "the summary counts exactly the records, datagrams, bytes and packets the pcap holds",
        arguments: ["v5", "v9", "ipfix", "sflow"]
    )
    func summaryMatchesCapture(format: String) throws {
        let directory = try CLI.temporaryDirectory("flows-counts")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (pcap, jsonl, summary) = try Self.generate(
            format,
            in: directory,
            ["--records", "3001", "--exporters", "3", "--records-per-datagram", "30", "--template-refresh", "7"]
        )
        let capture = try FlowCapture(path: pcap)
        var counts = FlowDatagramCounts()
        for frame in capture.frames {
            #expect(frame.destinationPort == UInt16(Self.ports[format]!))
            counts += try FlowDatagramCounts(format: format, datagram: frame.payload)
        }
        #expect(summary["records"] as? Int == 3_001)
        #expect(counts.records == 3_001)
        #expect(summary["datagrams"] as? Int == capture.frames.count)
        #expect(capture.frames.count == 101, "100 full datagrams of 30 and one of 1")
        #expect((summary["bytes_total"] as? NSNumber)?.uint64Value == counts.octets)
        #expect((summary["packets_total"] as? NSNumber)?.uint64Value == counts.packets)
        #expect(summary["template_records"] as? Int == counts.templates)
        #expect(summary["options_records"] as? Int == counts.optionsRecords)
        #expect(summary["counter_samples"] as? Int == counts.counterSamples)
        if format == "v9" || format == "ipfix" {
            // Batches of 32 datagrams go to the exporters in turn: 37, 32 and 32 datagrams, with templates in
            // datagrams 0, 7, …, 35 of the first (6 times) and 0, 7, …, 28 of the others (5 times each).
            #expect(counts.optionsRecords == 16)
            #expect(counts.templates == 16 * 3)
        }
        if format == "sflow" { #expect(counts.counterSamples == 16) }
        // Exporters 127.0.0.10, .11, .12 in turn.
        #expect(Set(capture.frames.map { $0.source }) == [[127, 0, 0, 10], [127, 0, 0, 11], [127, 0, 0, 12]])
        let lines = try Self.jsonLines(jsonl)
        #expect(lines.count == 3_001)
        #expect(lines.reduce(UInt64(0)) { $0 + (($1["octets"] as? NSNumber)?.uint64Value ?? 0) } == counts.octets)
    }

    @Test("the same seed gives the same pcap and records, byte for byte; another seed does not")
    func deterministic() throws {
        let directory = try CLI.temporaryDirectory("flows-determinism")
        defer { try? FileManager.default.removeItem(at: directory) }
        for format in ["v9", "sflow"] {
            let options = ["--records", "2000", "--exporters", "2", "--seed", "42"]
            let first = try Self.generate(format, in: directory, name: "a", options)
            let second = try Self.generate(format, in: directory, name: "b", options)
            let other = try Self.generate(format, in: directory, name: "c", ["--records", "2000", "--exporters", "2"])
            let read = { (path: String) in try Data(contentsOf: URL(fileURLWithPath: path)) }
            #expect(try read(first.pcap) == read(second.pcap), "\(format)")
            #expect(try read(first.jsonl) == read(second.jsonl), "\(format)")
            #expect(try read(first.pcap) != read(other.pcap), "\(format)")
        }
    }

    @Test("--records-per-datagram 31 is refused with a usage error naming the flag and the limit")
    func datagramLimit() throws {
        let result = try CLI.run([
            "generate", "flows", "--format", "v9", "--records-per-datagram", "31", "--out", "/dev/null",
        ])
        #expect(result.status == 64)
        #expect(result.standardError.contains("--records-per-datagram 31: expected 1...30"), "\(result.standardError)")
        #expect(result.standardError.contains("vigil generate flows"))
        let neither = try CLI.run(["generate", "flows", "--format", "v9"])
        #expect(neither.status == 64)
        #expect(neither.standardError.contains("--to udp://HOST:PORT or --out FILE.pcap"), "\(neither.standardError)")
    }

    @Test("vigil generate without a subcommand is still the fleet simulator, flags and all")
    func fleetIsTheDefault() throws {
        let directory = try CLI.temporaryDirectory("flows-default")
        defer { try? FileManager.default.removeItem(at: directory) }
        let implicit = directory.appendingPathComponent("implicit.vgl").path
        let explicit = directory.appendingPathComponent("explicit.vgl").path
        let options = ["--devices", "1", "--interfaces", "1", "--days", "0.01"]
        let a = try CLI.run(["generate"] + options + ["--out", implicit])
        let b = try CLI.run(["generate", "fleet"] + options + ["--out", explicit])
        #expect(a.status == 0 && b.status == 0, "\(a.standardError) \(b.standardError)")
        #expect(a.standardError.contains("series"))
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: implicit)) == Data(contentsOf: URL(fileURLWithPath: explicit))
        )
    }

    @Test("over UDP to loopback every datagram arrives, from its exporter's address, none lost or refused")
    func udpLoopback() throws {
        let receiver = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        #expect(receiver >= 0)
        defer { close(receiver) }
        var size: Int32 = 8 << 20
        setsockopt(receiver, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(receiver, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(receiver, pointer, length) == 0 && getsockname(receiver, pointer, &length) == 0
            }
        }
        #expect(bound)
        let port = UInt16(bigEndian: address.sin_port)
        let result = try CLI.run([
            "generate", "flows", "--format", "ipfix", "--records", "2400", "--exporters", "2", "--rate", "200000",
            "--to", "udp://127.0.0.1:\(port)",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let summary = try CLI.json(result.standardOutput)
        #expect(summary["datagrams"] as? Int == 100)
        #expect(summary["send_errors"] as? Int == 0)
        #expect(summary["live_time"] as? Bool == true)
        var sources: [UInt32: Int] = [:]
        var buffer = [UInt8](repeating: 0, count: 9_000)
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(receiver, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var counts = FlowDatagramCounts()
        while true {
            var from = sockaddr_in()
            var fromLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            let received = withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(receiver, &buffer, buffer.count, 0, $0, &fromLength)
                }
            }
            if received <= 0 { break }
            sources[UInt32(bigEndian: from.sin_addr.s_addr), default: 0] += 1
            counts += try FlowDatagramCounts(format: "ipfix", datagram: Array(buffer[0..<received]))
        }
        // At 200k records/s a batch holds 1 ms of records: 8 datagrams of 24. Exporters take the 13 batches
        // in turn: 127.0.0.10 seven (the last of 4 datagrams), 127.0.0.11 six.
        #expect(sources == [0x7F00_000A: 52, 0x7F00_000B: 48], "\(sources)")
        #expect(counts.records == 2_400)
        #expect((summary["bytes_total"] as? NSNumber)?.uint64Value == counts.octets)
    }

    // MARK: - tshark

    static var tshark: String? {
        ["/usr/bin/tshark", "/usr/local/bin/tshark"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// `tshark -r PCAP -d udp.port==PORT,DISSECTOR -T fields -e …`: per frame, per field, the values.
    static func tsharkFields(_ pcap: String, format: String, fields: [String]) throws -> [[[String]]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tshark!)
        let dissector = format == "sflow" ? "sflow" : "cflow"
        process.arguments =
            ["-r", pcap, "-d", "udp.port==\(ports[format]!),\(dissector)", "-T", "fields", "-E", "aggregator=|"]
            + fields.flatMap { ["-e", $0] }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.isEmpty }
            .map { line in
                line.split(separator: "\t", omittingEmptySubsequences: false).map { column in
                    column.isEmpty ? [] : column.split(separator: "|").map(String.init)
                }
            }
    }

    /// tshark's rendering of an absolute time: `Nov  2, 2026 00:00:01.250000000 UTC`.
    static func tsharkTime(milliseconds: Int64) -> String {
        var seconds = time_t(milliseconds / 1_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return String(
            format: "%@ %2d, %d %02d:%02d:%02d.%03d000000 UTC",
            months[Int(parts.tm_mon)],
            parts.tm_mday,
            parts.tm_year + 1900,
            parts.tm_hour,
            parts.tm_min,
            parts.tm_sec,
            Int(milliseconds % 1_000)
        )
    }

    @Test(
        "tshark decodes exactly the records the generator reports having sent, record by record",
        arguments: ["v5", "v9", "ipfix", "sflow"]
    )
    func tsharkAgrees(format: String) throws {
        guard Self.tshark != nil else {
            print("SKIPPED tshark differential test for \(format): tshark is not installed (apt-get install tshark)")
            return
        }
        let directory = try CLI.temporaryDirectory("flows-tshark")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (pcap, jsonl, summary) = try Self.generate(
            format,
            in: directory,
            ["--records", "1500", "--exporters", "2", "--sampling-rate", "64", "--seed", "9"]
        )
        let sent = try Self.jsonLines(jsonl)
        #expect(sent.count == summary["records"] as? Int)
        func expected(_ key: String) -> [String] { sent.map { "\($0[key]!)" } }
        if format == "sflow" {
            try compareSFlow(pcap: pcap, sent: sent)
            return
        }
        let names = [
            "cflow.srcaddr", "cflow.srcaddrv6", "cflow.dstaddr", "cflow.dstaddrv6", "cflow.srcport", "cflow.dstport",
            "cflow.protocol", "cflow.octets", "cflow.packets", "cflow.inputint", "cflow.outputint", "cflow.srcas",
            "cflow.dstas", "cflow.timestart", "cflow.sysuptime", "cflow.unix_secs", "cflow.unix_nsecs",
            "cflow.abstimestart", "cflow.abstimeend",
        ]
        let frames = try Self.tsharkFields(pcap, format: format, fields: names)
        #expect(frames.count == summary["datagrams"] as? Int)
        var columns = [String: [String]]()
        var starts: [String] = []
        for frame in frames {
            #expect(frame.count == names.count)
            for (index, name) in names.enumerated() {
                if name == "cflow.srcaddrv6" || name == "cflow.dstaddrv6" { continue }
                let values =
                    name == "cflow.srcaddr" || name == "cflow.dstaddr" ? frame[index] + frame[index + 1] : frame[index]
                columns[name, default: []] += values
            }
            if format != "ipfix" {
                // NetFlow: start = export time − sysUptime + FIRST_SWITCHED (tshark prints seconds since boot).
                let milliseconds = { (text: String) in Int64((Double(text)! * 1_000).rounded()) }
                let now = Int64(frame[15][0])! * 1_000 + (frame[16].first.map { Int64($0)! / 1_000_000 } ?? 0)
                starts += frame[13].map { "\(now - milliseconds(frame[14][0]) + milliseconds($0))" }
            }
        }
        #expect(columns["cflow.srcaddr"] == expected("source_address"))
        #expect(columns["cflow.dstaddr"] == expected("destination_address"))
        #expect(columns["cflow.srcport"] == expected("source_port"))
        #expect(columns["cflow.dstport"] == expected("destination_port"))
        #expect(columns["cflow.protocol"] == expected("protocol"))
        #expect(columns["cflow.octets"] == expected("octets"))
        #expect(columns["cflow.packets"] == expected("packets"))
        #expect(columns["cflow.inputint"] == expected("input_interface"))
        #expect(columns["cflow.outputint"] == expected("output_interface"))
        #expect(columns["cflow.srcas"] == expected("source_as"))
        #expect(columns["cflow.dstas"] == expected("destination_as"))
        if format == "ipfix" {
            let times = sent.map { Self.tsharkTime(milliseconds: ($0["start_ms"] as! NSNumber).int64Value) }
            #expect(columns["cflow.abstimestart"] == times)
        } else {
            #expect(starts == expected("start_ms"))
        }
        #expect(sent.allSatisfy { ($0["sampling_interval"] as? Int) == 64 })
    }

    func compareSFlow(pcap: String, sent: [[String: Any]]) throws {
        let names = [
            "ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "sflow_245.header.frame_length",
            "sflow.flow_sample.input_interface", "sflow.flow_sample.output_interface_value",
            "sflow.flow_sample.sampling_rate", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
        ]
        let frames = try Self.tsharkFields(pcap, format: "sflow", fields: names)
        var columns = [String: [String]]()
        for frame in frames {
            // The capture's own IPv4 and UDP headers come first: drop them.
            columns["src", default: []] += frame[0].dropFirst() + frame[1]
            columns["dst", default: []] += frame[2].dropFirst() + frame[3]
            for index in 4..<names.count {
                columns[names[index], default: []] +=
                    names[index].hasPrefix("udp") ? Array(frame[index].dropFirst()) : frame[index]
            }
        }
        func expected(_ key: String, protocol number: Int? = nil) -> [String] {
            sent.filter { number == nil || $0["protocol"] as? Int == number }.map { "\($0[key]!)" }
        }
        #expect(columns["src"] == expected("source_address"))
        #expect(columns["dst"] == expected("destination_address"))
        #expect(columns["sflow_245.header.frame_length"] == expected("octets"))
        #expect(columns["sflow.flow_sample.input_interface"] == expected("input_interface"))
        #expect(columns["sflow.flow_sample.output_interface_value"] == expected("output_interface"))
        #expect(columns["sflow.flow_sample.sampling_rate"] == expected("sampling_interval"))
        #expect(columns["tcp.srcport"] == expected("source_port", protocol: 6))
        #expect(columns["tcp.dstport"] == expected("destination_port", protocol: 6))
        #expect(columns["udp.srcport"] == expected("source_port", protocol: 17))
        #expect(columns["udp.dstport"] == expected("destination_port", protocol: 17))
    }
}
