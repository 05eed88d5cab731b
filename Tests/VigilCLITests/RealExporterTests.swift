import Foundation
import Testing

/// Vigil against flow exporters and collectors no one here wrote: softflowd and pmacctd meter a capture of
/// ordinary traffic made in the test; a relay hands each datagram they send both to `vigil run --input udp://`
/// and to nfdump's nfcapd (or, for sFlow, keeps a capture for tshark). Vigil must count the flows, bytes and
/// packets the reference collector counts, and the per-flow records `vigil inspect` decodes from the relayed
/// datagrams must be nfdump's, flow by flow. Each test skips, saying why, when a tool is missing.
@Suite("real exporters: softflowd and pmacctd into Vigil, against nfcapd and tshark", .serialized)
struct RealExporterTests {
    /// What one exporter's run gave: the traffic it metered, what Vigil and nfcapd made of it, the relayed
    /// datagrams as a capture.
    struct Outcome {
        var traffic: RawTraffic.Totals
        var vigilSummary: [String: Any]
        var vigilCounters: [String: Double]
        var nfcapdTotals: [String: Int]
        var nfcapdFlows: [String: (packets: Int, bytes: Int)]
        var capture: String
        var directory: URL
    }

    /// Makes the traffic capture, starts Vigil, nfcapd and the relay, lets `export` run the exporter (given
    /// the capture path, the relay port and the directory), then stops everything by PID and reads back.
    static func runAgainstNfcapd(
        _ name: String,
        export: (_ traffic: String, _ relayPort: UInt16, _ directory: URL) throws -> Void
    ) throws -> Outcome {
        let directory = try CLI.temporaryDirectory("peer-\(name)")
        let trafficPath = directory.appendingPathComponent("traffic.pcap").path
        let traffic = try RawTraffic.writeCapture(to: trafficPath)
        let vigil = try VigilUDPRun(rollups: directory.appendingPathComponent("rollups"))
        let nfcapd = try Nfcapd(directory: directory.appendingPathComponent("nfcapd"))
        let relay = try UDPRelay(forwardingTo: [vigil.port, nfcapd.port])
        try export(trafficPath, relay.port, directory)
        let quiet = relay.waitUntilQuiet(quietSeconds: 0.5, seconds: 20)
        #expect(quiet, "\(name) sent nothing to the relay")
        let datagrams = relay.stop()
        let capture = directory.appendingPathComponent("relayed.pcap").path
        try UDPRelay.writeCapture(datagrams, destinationPort: 2055, to: capture)
        let (status, summary, log) = try vigil.stop()
        #expect(status == 0, "\(log)")
        let nfcapdLog = nfcapd.stop()
        let totals = try nfcapd.totals()
        #expect(totals["Flows"] != nil, "nfdump -I read nothing; nfcapd said: \(nfcapdLog)")
        return Outcome(
            traffic: traffic,
            vigilSummary: summary,
            vigilCounters: try vigil.counterTotals(),
            nfcapdTotals: totals,
            nfcapdFlows: try nfcapd.flows(),
            capture: capture,
            directory: directory
        )
    }

    /// The records `vigil inspect --records-out` decodes from a capture, keyed as ``Nfcapd/flows()`` keys
    /// them, packets and bytes added per key.
    static func inspectFlows(_ capture: String, in directory: URL) throws -> [String: (packets: Int, bytes: Int)] {
        let path = directory.appendingPathComponent("inspected.jsonl").path
        let result = try CLI.run(["inspect", capture, "--records-out", path, "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        var flows: [String: (packets: Int, bytes: Int)] = [:]
        for record in try GenerateFlowsTests.jsonLines(path) {
            let number = "\(record["protocol"]!)"
            let ports = number == "1" ? "" : ",\(record["source_port"]!),\(record["destination_port"]!)"
            let key = "\(record["source_address"]!),\(record["destination_address"]!),\(number)\(ports)"
            flows[key, default: (0, 0)].packets += (record["packets"] as! NSNumber).intValue
            flows[key, default: (0, 0)].bytes += (record["octets"] as! NSNumber).intValue
        }
        return flows
    }

    /// The assertions every NetFlow/IPFIX exporter's run must pass.
    static func expectAgreement(_ outcome: Outcome, exporter: String) throws {
        let traffic = outcome.traffic
        let nfcapd = outcome.nfcapdTotals
        let counters = outcome.vigilCounters
        // The reference collector saw what the capture holds (or the exporter is not doing what we think).
        #expect(nfcapd["Flows"] == traffic.flows, "\(exporter): nfcapd \(nfcapd)")
        #expect(nfcapd["Packets"] == traffic.packets, "\(exporter): nfcapd \(nfcapd)")
        #expect(nfcapd["Bytes"] == traffic.ipBytes, "\(exporter): nfcapd \(nfcapd)")
        // Vigil counts the same, through the whole engine: records in the summary, bytes and packets in the
        // flow counters it wrote to its rollups (all ingress: the exporters meter no direction).
        #expect(outcome.vigilSummary["flow_records"] as? Int == nfcapd["Flows"], "\(exporter)")
        #expect(outcome.vigilSummary["flow_records_dropped"] as? Int == 0)
        #expect((outcome.vigilSummary["decode_errors"] as? [String: Int])?.isEmpty == true, "\(outcome.vigilSummary)")
        #expect(counters["flow_bytes{direction=in}"].map { Int($0) } == nfcapd["Bytes"], "\(exporter): \(counters)")
        #expect(counters["flow_packets{direction=in}"].map { Int($0) } == nfcapd["Packets"], "\(exporter): \(counters)")
        #expect(counters["flows{direction=in}"].map { Int($0) } == nfcapd["Flows"], "\(exporter): \(counters)")
        #expect(counters["flow_bytes{direction=out}"] == nil, "\(exporter): \(counters)")
        // Flow by flow: the 5-tuples, packets and bytes Vigil decodes are nfdump's, and the capture's.
        let inspected = try inspectFlows(outcome.capture, in: outcome.directory)
        #expect(inspected.count == traffic.flows && outcome.nfcapdFlows.count == traffic.flows)
        print(
            "\(exporter): capture \(traffic.flows) flows, \(traffic.packets) packets, \(traffic.ipBytes) bytes; "
                + "nfcapd \(nfcapd["Flows"] ?? -1)/\(nfcapd["Packets"] ?? -1)/\(nfcapd["Bytes"] ?? -1); "
                + "vigil \(outcome.vigilSummary["flow_records"] ?? "-") records in "
                + "\(outcome.vigilSummary["flow_datagrams"] ?? "-") datagrams, counters \(counters)"
        )
        let describe = { (flows: [String: (packets: Int, bytes: Int)]) in
            flows.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.packets)/\($0.value.bytes)" }
        }
        #expect(describe(inspected) == describe(outcome.nfcapdFlows), "\(exporter): vigil inspect against nfdump")
        #expect(describe(inspected) == describe(traffic.flowKeys), "\(exporter): vigil inspect against the capture")
    }

    @Test(
        "softflowd -v 9 and -v 10: Vigil counts the flows, bytes and packets nfcapd counts, flow by flow",
        arguments: ["9", "10"]
    )
    func softflowd(version: String) throws {
        if Peer.missing(["softflowd", "softflowctl", "nfcapd", "nfdump"], for: "softflowd -v \(version)") { return }
        let outcome = try Self.runAgainstNfcapd("softflowd-v\(version)") { traffic, port, directory in
            let control = directory.appendingPathComponent("softflowd.ctl").path
            let exporter = try Child(
                Peer.tool("softflowd")!,
                [
                    "-d", "-r", traffic, "-n", "127.0.0.1:\(port)", "-v", version,
                    "-p", directory.appendingPathComponent("softflowd.pid").path, "-c", control,
                ]
            )
            defer { exporter.stop() }
            // softflowd 1.1.0 reading a file blocks on its control socket between reads (strace: accept(2)
            // before each pcap_dispatch), so each request lets it read on: ask for statistics until it has
            // read the whole capture, then shut it down, which expires and exports every flow.
            let socketReady = exporter.waitFor(seconds: 10) { _ in FileManager.default.fileExists(atPath: control) }
            #expect(socketReady, "softflowd made no control socket: \(exporter.output)")
            let softflowctl = Peer.tool("softflowctl")!
            var statistics = ""
            for _ in 0..<50 where exporter.isRunning {
                statistics = try Peer.run(softflowctl, ["-c", control, "statistics"], seconds: 10).1
                if statistics.contains("Packets processed: 360") { break }
                usleep(100_000)
            }
            #expect(statistics.contains("Packets processed: 360"), "\(statistics)")
            _ = try Peer.run(softflowctl, ["-c", control, "shutdown"], seconds: 10)
            let exported = exporter.waitFor(seconds: 10) { $0.contains("Flows exported") }
            #expect(exported, "softflowd did not report its export: \(exporter.output)")
        }
        defer { try? FileManager.default.removeItem(at: outcome.directory) }
        try Self.expectAgreement(outcome, exporter: "softflowd -v \(version)")
    }

    /// A pmacctd configuration that reads `traffic` once and exits, with one probe plugin.
    static func pmacctConfiguration(traffic: String, plugin: [String]) -> String {
        (["daemonize: false", "pcap_savefile: \(traffic)", "pcap_savefile_wait: false"] + plugin)
            .joined(separator: "\n") + "\n"
    }

    static func runPmacctd(configuration: String, in directory: URL) throws {
        let path = directory.appendingPathComponent("pmacctd.conf").path
        try configuration.write(toFile: path, atomically: true, encoding: .utf8)
        // pmacctd sleeps 2 s before reading a savefile, then exits on its own.
        let exporter = try Child(Peer.tool("pmacctd")!, ["-f", path])
        let exited = exporter.waitForExit(seconds: 60)
        if !exited { exporter.stop() }
        // pmacctd's core sometimes sees its probe plugin end (after the plugin read the whole savefile,
        // exported and shut down: "Shutting down on user request") before it notices the end of the file
        // itself, and then exits 1 with "connection lost to …": a race inside pmacctd, not a failed export
        // (the counts are checked against nfcapd's and the capture's all the same).
        let finished =
            exporter.terminationStatus == 0 || exporter.output.contains("Shutting down on user request")
        #expect(exited && finished, "pmacctd: \(exporter.output)")
    }

    @Test("pmacctd's nfprobe plugin (NetFlow v9): Vigil counts the flows, bytes and packets nfcapd counts")
    func pmacctNfprobe() throws {
        if Peer.missing(["pmacctd", "nfcapd", "nfdump"], for: "pmacctd nfprobe") { return }
        let outcome = try Self.runAgainstNfcapd("pmacctd-nfprobe") { traffic, port, directory in
            try Self.runPmacctd(
                configuration: Self.pmacctConfiguration(
                    traffic: traffic,
                    plugin: ["plugins: nfprobe", "nfprobe_receiver: 127.0.0.1:\(port)", "nfprobe_version: 9"]
                ),
                in: directory
            )
        }
        defer { try? FileManager.default.removeItem(at: outcome.directory) }
        try Self.expectAgreement(outcome, exporter: "pmacctd nfprobe")
    }

    @Test("pmacctd's sfprobe plugin (sFlow v5): Vigil counts the samples and bytes tshark decodes from the datagrams")
    func pmacctSfprobe() throws {
        if Peer.missing(["pmacctd", "tshark"], for: "pmacctd sfprobe") { return }
        let directory = try CLI.temporaryDirectory("peer-sfprobe")
        defer { try? FileManager.default.removeItem(at: directory) }
        let trafficPath = directory.appendingPathComponent("traffic.pcap").path
        let traffic = try RawTraffic.writeCapture(to: trafficPath)
        let vigil = try VigilUDPRun(rollups: directory.appendingPathComponent("rollups"))
        let relay = try UDPRelay(forwardingTo: [vigil.port])
        try Self.runPmacctd(
            configuration: Self.pmacctConfiguration(
                traffic: trafficPath,
                plugin: ["plugins: sfprobe", "sfprobe_receiver: 127.0.0.1:\(relay.port)", "sfprobe_agentip: 127.0.0.1"]
            ),
            in: directory
        )
        #expect(relay.waitUntilQuiet(quietSeconds: 0.5, seconds: 20), "pmacctd sent nothing")
        let datagrams = relay.stop()
        let capture = directory.appendingPathComponent("relayed.pcap").path
        try UDPRelay.writeCapture(datagrams, destinationPort: 6343, to: capture)
        let (status, summary, log) = try vigil.stop()
        #expect(status == 0, "\(log)")
        // tshark's reading of the same datagrams: one frame length per flow sample, and the sampling rates.
        let tshark = try Child(
            Peer.tool("tshark")!,
            [
                "-r", capture, "-d", "udp.port==6343,sflow", "-T", "fields", "-E", "aggregator=,",
                "-e", "sflow_245.header.frame_length", "-e", "sflow.flow_sample.sampling_rate",
            ],
            separateErrors: true
        )
        #expect(tshark.waitForExit(seconds: 60) && tshark.terminationStatus == 0, "\(tshark.errors)")
        var frameLengths: [Int] = []
        var rates: Set<String> = []
        for line in tshark.output.split(separator: "\n") {
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false)
            frameLengths += columns[0].split(separator: ",").compactMap { Int($0) }
            if columns.count > 1 { rates.formUnion(columns[1].split(separator: ",").map(String.init)) }
        }
        #expect(rates == ["1"], "pmacctd samples every packet by default")
        // pmacctd's own account: it samples what it reads; at 1-in-1, at most one sample per packet.
        #expect(frameLengths.count > traffic.packets * 9 / 10 && frameLengths.count <= traffic.packets)
        #expect(summary["flow_records"] as? Int == frameLengths.count, "\(summary)")
        print(
            "pmacctd sfprobe: \(traffic.packets) packets read, \(datagrams.count) datagrams, tshark "
                + "\(frameLengths.count) samples of \(frameLengths.reduce(0, +)) bytes; vigil "
                + "\(summary["flow_records"] ?? "-") records"
        )
        #expect((summary["decode_errors"] as? [String: Int])?.isEmpty == true, "\(summary)")
        let counters = try vigil.counterTotals()
        #expect(counters["flow_bytes{direction=in}"].map { Int($0) } == frameLengths.reduce(0, +), "\(counters)")
        #expect(counters["flow_packets{direction=in}"].map { Int($0) } == frameLengths.count, "\(counters)")
        // And vigil inspect reads the capture the same way.
        let inspection = try CLI.run(["inspect", capture, "--json"])
        let counts = try CLI.json(inspection.standardOutput)
        #expect(counts["data_records"] as? Int == frameLengths.count)
        #expect(counts["errors"] as? Int == 0)
    }
}
