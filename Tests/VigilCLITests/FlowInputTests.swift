import Foundation
import Testing

/// Flows through `vigil run` as a user gives them: packet captures (`--input pcap:`) and exporters over UDP
/// (`--input udp://`), sent by `vigil generate flows`. What the generator says it sent is the truth.
@Suite("Flow inputs")
struct FlowInputTests {
    /// Per metric and direction label (`flow_bytes{direction=in}`; `-` for series without one), the sum over
    /// series of each series' largest `last` in the rollups: flow series are cumulative counters, so that is
    /// the traffic the run counted.
    static func countedTotals(rollups: String) throws -> [String: Double] {
        let cat = try CLI.run(["rollups", "cat", rollups, "--format", "jsonl"])
        #expect(cat.status == 0, "\(cat.standardError)")
        var largest: [String: Double] = [:]
        for line in cat.standardOutput.split(separator: "\n") {
            let row = try CLI.json(String(line))
            guard let metric = row["metric"] as? String, let last = (row["last"] as? NSNumber)?.doubleValue else {
                continue
            }
            let direction = (row["labels"] as? [String: String])?["direction"] ?? "-"
            let series = "\(metric){direction=\(direction)}|\(row["device"] ?? "")|\(row["interface"] ?? "")"
            largest[series] = max(largest[series] ?? 0, last)
        }
        var totals: [String: Double] = [:]
        for (series, value) in largest {
            totals[String(series.prefix { $0 != "|" }), default: 0] += value
        }
        return totals
    }

    /// Starts `vigil run --input udp://127.0.0.1:port --stop-after-idle … --summary-json - [arguments]` and
    /// waits (up to 20 s) until its socket is bound, so that nothing sent is lost to a slow start on a
    /// loaded machine.
    static func startUDPEngine(
        port: UInt16,
        stopAfterIdle: String,
        arguments: [String] = []
    ) throws -> (Process, output: Pipe, errors: Pipe) {
        let engine = Process()
        engine.executableURL = CLI.executable
        engine.arguments =
            [
                "run", "--input", "udp://127.0.0.1:\(port)", "--stop-after-idle", stopAfterIdle, "--summary-json", "-",
            ] + arguments
        let output = Pipe()
        let errors = Pipe()
        engine.standardOutput = output
        engine.standardError = errors
        try engine.run()
        let deadline = Date().addingTimeInterval(20)
        while engine.isRunning && !isBound(udpPort: port) && Date() < deadline { usleep(20_000) }
        return (engine, output, errors)
    }

    /// Whether a UDP socket on this machine is bound to `port` (from /proc/net/udp, local address column).
    static func isBound(udpPort port: UInt16) -> Bool {
        let suffix = ":" + String(format: "%04X", port)
        for table in ["/proc/net/udp", "/proc/net/udp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let columns = line.split(separator: " ")
                if columns.count > 1 && columns[1].hasSuffix(suffix) { return true }
            }
        }
        return false
    }

    @Test(
        "a capture of each format becomes per-interface counters whose totals equal the bytes, packets and flows sent",
        arguments: ["v5", "v9", "ipfix", "sflow"]
    )
    func captureTotals(format: String) throws {
        let directory = try CLI.temporaryDirectory("flows-\(format)")
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        let capture = path("flows.pcap")
        let generated = try CLI.run([
            "generate", "flows", "--format", format, "--records", "3000", "--exporters", "2", "--out", capture,
        ])
        #expect(generated.status == 0, "\(generated.standardError)")
        let sent = try CLI.json(generated.standardOutput)
        let rollups = path("rollups")
        let run = try CLI.run(["run", "--input", "pcap:\(capture)", "--rollups", rollups, "--summary-json", "-"])
        #expect(run.status == 0, "\(run.standardError)")
        let summary = try CLI.json(run.standardOutput)
        #expect(summary["flow_records"] as? Int == 3000)
        #expect(summary["flow_records_dropped"] as? Int == 0)
        #expect(summary["flow_exporters"] as? Int == 2)
        #expect(summary["late_samples"] as? Int == 0)
        let totals = try Self.countedTotals(rollups: rollups)
        let bytes = Double(sent["bytes_total"] as! Int)
        let packets = Double(sent["packets_total"] as! Int)
        #expect(totals["flow_bytes{direction=in}"] == bytes)
        #expect(totals["flow_packets{direction=in}"] == packets)
        #expect(totals["flows{direction=in}"] == 3000)
        // Every record names an output interface here, so out equals in.
        #expect(totals["flow_bytes{direction=out}"] == bytes)
    }

    @Test("a UDP input takes v9 and IPFIX from two exporters at once: every record counted, none dropped")
    func udpExporters() throws {
        let port = UInt16.random(in: 20_000...60_000)
        let (engine, output, errors) = try Self.startUDPEngine(port: port, stopAfterIdle: "2s")
        defer { if engine.isRunning { kill(engine.processIdentifier, SIGKILL) } }
        var sentRecords = 0
        for (format, base) in [("v9", "127.0.0.20"), ("ipfix", "127.0.0.30")] {
            let sender = try CLI.run([
                "generate", "flows", "--format", format, "--records", "20000", "--exporters", "2",
                "--exporter-base", base, "--rate", "200000", "--to", "udp://127.0.0.1:\(port)",
            ])
            #expect(sender.status == 0, "\(sender.standardError)")
            sentRecords += try CLI.json(sender.standardOutput)["records"] as! Int
        }
        let (status, summary, standardError) = try TCP.waitForEngine(engine, output: output, errors: errors)
        #expect(status == 0, "\(standardError)")
        #expect(standardError.contains("listening on udp://127.0.0.1:\(port)"))
        #expect(summary["flow_records"] as? Int == sentRecords)
        #expect(summary["flow_exporters"] as? Int == 4)
        #expect(summary["udp_kernel_drops"] as? Int == 0)
        #expect(summary["flow_records_dropped"] as? Int == 0)
        #expect((summary["udp_datagrams"] as? Int ?? 0) > 0)
    }

    @Test("native frames sent to a UDP input are named as such in the log and counted, not skipped silently")
    func nativeOnUDP() throws {
        let port = UInt16.random(in: 20_000...60_000)
        let (engine, output, errors) = try Self.startUDPEngine(port: port, stopAfterIdle: "1s")
        defer { if engine.isRunning { kill(engine.processIdentifier, SIGKILL) } }
        UDPSender.send([[UInt8]("VGIL".utf8) + [1, 2, 0, 0], [0xDE, 0xAD, 0xBE, 0xEF]], to: port)
        let (status, summary, standardError) = try TCP.waitForEngine(engine, output: output, errors: errors)
        #expect(status == 0)
        #expect(standardError.contains("native Vigil frames"))
        #expect(standardError.contains("not NetFlow v5/v9, IPFIX or sFlow v5"))
        let decodeErrors = summary["decode_errors"] as? [String: Int] ?? [:]
        #expect(decodeErrors["native_frames_on_flow_input"] == 1)
        #expect(decodeErrors["not_a_flow_datagram"] == 1)
    }

    @Test("--anonymize-ips truncate:24,48 leaves no host address in what is stored; totals are unchanged")
    func anonymizedAddresses() throws {
        let directory = try CLI.temporaryDirectory("flows-anonymized")
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        let generated = try CLI.run([
            "generate", "flows", "--format", "ipfix", "--records", "5000", "--out", path("f.pcap"),
        ])
        #expect(generated.status == 0, "\(generated.standardError)")
        let run = try CLI.run([
            "run", "--input", "pcap:\(path("f.pcap"))", "--rollups", path("r"), "--anonymize-ips", "truncate:24,48",
        ])
        #expect(run.status == 0, "\(run.standardError)")
        var keys: [String] = []
        for by in ["src", "dst"] {
            let top = try CLI.run(["flows", "top", path("r"), "--by", by, "-n", "4096", "--json"])
            #expect(top.status == 0, "\(top.standardError)")
            let entries = try CLI.json(top.standardOutput)["entries"] as? [[String: Any]] ?? []
            keys += entries.compactMap { $0["key"] as? String }
        }
        #expect(!keys.isEmpty)
        #expect(keys.contains { $0.contains(":") }, "the capture has IPv6 flows too")
        for key in keys {
            if key.contains(":") {
                // At most three 16-bit groups, then zeros: "2001:db8:ff::".
                #expect(key.hasSuffix("::") && key.split(separator: ":").count <= 3, "\(key)")
            } else {
                #expect(key.hasSuffix(".0"), "\(key)")
            }
        }
        let refused = try CLI.run(["run", "--input", "pcap:x", "--anonymize-ips", "truncate:33"])
        #expect(refused.status == 64)
        #expect(refused.standardError.contains("--anonymize-ips 'truncate:33'"))
    }
}

/// An exporter's bound on interfaces, met by sFlow counter samples.
@Suite("Flow inputs: interface bound")
struct FlowInterfaceBoundTests {
    /// An sFlow v5 datagram from agent 127.0.0.1 with one counter sample (generic interface counters) of
    /// `interfaceIndex`, written here from the sFlow v5 specification rather than by Vigil's encoder.
    static func counterSampleDatagram(interfaceIndex: UInt32, sequence: UInt32) -> [UInt8] {
        var bytes: [UInt8] = []
        func put(_ value: UInt32) { bytes += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) } }
        func put64(_ value: UInt64) {
            put(UInt32(truncatingIfNeeded: value >> 32))
            put(UInt32(truncatingIfNeeded: value))
        }
        put(5)  // version
        put(1)  // agent address type IPv4
        bytes += [127, 0, 0, 1]
        put(0)  // sub-agent
        put(sequence)
        put(60_000)  // uptime ms
        put(1)  // samples
        put(2)  // counter sample
        put(4 + 4 + 4 + 8 + 88)
        put(sequence)  // sample sequence
        put(interfaceIndex)  // source id: type 0, index
        put(1)  // counter records
        put(1)  // generic interface counters
        put(88)
        put(interfaceIndex)
        put(6)  // ifType
        put64(10_000_000_000)  // ifSpeed
        put(1)  // ifDirection
        put(3)  // ifStatus: up, up
        put64(1_000)  // ifInOctets
        for _ in 0..<6 { put(0) }  // in unicast, multicast, broadcast, discards, errors, unknown protocols
        put64(2_000)  // ifOutOctets
        for _ in 0..<6 { put(0) }  // out unicast, multicast, broadcast, discards, errors, promiscuous mode
        return bytes
    }

    @Test("counter samples of interfaces past an exporter's 4,096 are dropped, counted and logged once")
    func counterSamplesPastTheInterfaceBound() throws {
        let port = UInt16.random(in: 20_000...60_000)
        let (engine, output, errors) = try FlowInputTests.startUDPEngine(port: port, stopAfterIdle: "1s")
        defer { if engine.isRunning { kill(engine.processIdentifier, SIGKILL) } }
        UDPSender.send(
            (UInt32(1)...4_100).map { Self.counterSampleDatagram(interfaceIndex: $0, sequence: $0) },
            to: port
        )
        let (status, summary, standardError) = try TCP.waitForEngine(engine, output: output, errors: errors)
        #expect(status == 0, "\(standardError)")
        #expect(summary["udp_kernel_drops"] as? Int == 0)
        #expect(summary["udp_datagrams"] as? Int == 4_100)
        #expect(summary["flow_counter_samples_dropped"] as? Int == 4)
        #expect((summary["rejects"] as? [String: Int])?["flow_counter_samples_dropped"] == 4)
        let warnings = standardError.split(separator: "\n").filter { $0.contains("more than 4096 interfaces") }
        #expect(warnings.count == 1, "\(standardError)")
    }
}
