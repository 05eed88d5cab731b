import Foundation
import Testing

/// `vigil run --state DIR` as an operator restarts a collector: the templates and samplers exporters sent
/// before the restart decode the data they send after it, before their next template refresh.
@Suite("vigil run --state: flow templates across a restart")
struct StateDirectoryRunTests {
    /// One exporter's datagrams from a generated capture, sent from a socket bound to its address and a
    /// source port of the test's choosing (the session's key, with the address and domain).
    struct Exporter {
        var format: String
        var address: String
        var sourcePort: UInt16
        var withTemplates: [[UInt8]] = []
        var dataOnly: [[UInt8]] = []
        var bytesTotal = 0
        var records = 0
    }

    /// Generates `format` datagrams of one exporter at `address` with templates and sampler options (1 in
    /// 10) only in the first datagram, and splits them: the first `setupDatagrams` (with the templates) and
    /// the data-only rest.
    static func exporter(
        _ format: String,
        address: String,
        sourcePort: UInt16,
        setupDatagrams: Int,
        in directory: URL
    ) throws -> Exporter {
        let capture = directory.appendingPathComponent("\(format).pcap").path
        let start = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-60))
        let generated = try CLI.run([
            "generate", "flows", "--format", format, "--records", "2400", "--records-per-datagram", "24",
            "--template-refresh", "100000", "--sampling-rate", "10", "--exporter-base", address, "--start", start,
            "--out", capture,
        ])
        #expect(generated.status == 0, "\(generated.standardError)")
        var exporter = Exporter(format: format, address: address, sourcePort: sourcePort)
        for (index, frame) in try FlowCapture(path: capture).frames.enumerated() {
            let counts = try FlowDatagramCounts(format: format, datagram: frame.payload)
            if index < setupDatagrams {
                exporter.withTemplates.append(frame.payload)
            } else {
                #expect(counts.templates == 0 && counts.optionsRecords == 0, "datagram \(index) carries templates")
                exporter.dataOnly.append(frame.payload)
                exporter.records += counts.records
                exporter.bytesTotal += Int(counts.octets)
            }
        }
        #expect(exporter.withTemplates.count == setupDatagrams)
        #expect(exporter.dataOnly.count == 100 - setupDatagrams)
        return exporter
    }

    /// One run of `vigil run --input udp://127.0.0.1:PORT [--state DIR]` that receives `datagrams` of each
    /// exporter, stops after a second idle (with `--drain` unless told not to: its windows close at its
    /// end, so its rollups hold all it took), and returns its summary and log. Templates are kept per input
    /// (`udp://127.0.0.1:PORT`): a restart that is to find them listens where the run before it did.
    static func run(
        port: UInt16,
        state: String?,
        rollups: String,
        drain: Bool = true,
        sending datagrams: [(Exporter, [[UInt8]])]
    ) throws -> (summary: [String: Any], log: String) {
        let (engine, output, errors) = try FlowInputTests.startUDPEngine(
            port: port,
            stopAfterIdle: "1s",
            arguments: ["--rollups", rollups, "--log-level", "info"] + (state.map { ["--state", $0] } ?? [])
                + (drain ? ["--drain"] : [])
        )
        defer { if engine.isRunning { kill(engine.processIdentifier, SIGKILL) } }
        for (exporter, payloads) in datagrams {
            UDPSender.send(payloads, to: port, from: exporter.address, sourcePort: exporter.sourcePort, burst: 1)
        }
        let (status, summary, log) = try TCP.waitForEngine(engine, output: output, errors: errors)
        #expect(status == 0, "\(log)")
        return (summary, log)
    }

    @Test(
        "after a restart with --state, v9 and IPFIX data sent before any template refresh is decoded and sampled; without it, dropped"
    )
    func templatesSurviveRestart() throws {
        let directory = try CLI.temporaryDirectory("state-templates")
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        let basePort = UInt16.random(in: 20_000...40_000)
        let port = basePort + 10_000
        let v9 = try Self.exporter("v9", address: "127.0.0.10", sourcePort: basePort, setupDatagrams: 5, in: directory)
        let ipfix = try Self.exporter(
            "ipfix",
            address: "127.0.0.30",
            sourcePort: basePort + 1,
            setupDatagrams: 5,
            in: directory
        )
        let state = path("state")

        // Before the restart: the exporters' first datagrams, with their templates and sampler options.
        let first = try Self.run(
            port: port,
            state: state,
            rollups: path("rollups-1"),
            // Its open window goes on in the run after the restart (with --drain it would close here, and
            // the data after the restart, of the same window, would be late).
            drain: false,
            sending: [(v9, v9.withTemplates), (ipfix, ipfix.withTemplates)]
        )
        #expect(first.summary["flow_records"] as? Int == 2 * 5 * 24)
        #expect(first.summary["flow_templates_restored"] as? Int == 0)
        #expect((first.summary["state_checkpoints"] as? Int ?? 0) >= 1)
        #expect(first.summary["state_checkpoint_errors"] as? Int == 0)
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: state).filter {
            $0.hasPrefix("checkpoint-")
        }
        #expect(!checkpoints.isEmpty && checkpoints.count <= 2, "\(checkpoints)")

        // After it: data only. Each exporter's three templates come back from the state directory.
        let second = try Self.run(
            port: port,
            state: state,
            rollups: path("rollups-2"),
            sending: [(v9, v9.dataOnly), (ipfix, ipfix.dataOnly)]
        )
        #expect(second.summary["flow_records"] as? Int == v9.records + ipfix.records)
        #expect(second.summary["flow_records_dropped"] as? Int == 0)
        #expect(second.summary["flow_templates_restored"] as? Int == 6)
        #expect(
            second.log.contains("restored 6 template(s) and 2 sampler(s) of 2 exporter session(s)"),
            "\(second.log)"
        )
        #expect((second.summary["decode_errors"] as? [String: Int] ?? [:])["template_not_found"] == nil)
        // The restored samplers (1 in 10) scale what the records say back to what was sent.
        let totals = try FlowInputTests.countedTotals(rollups: path("rollups-2"))
        #expect(totals["flow_bytes{direction=in}"] == Double(10 * (v9.bytesTotal + ipfix.bytesTotal)))

        // The same data without the state directory: held for templates that never come, then dropped.
        let stateless = try Self.run(
            port: port,
            state: nil,
            rollups: path("rollups-3"),
            sending: [(v9, v9.dataOnly), (ipfix, ipfix.dataOnly)]
        )
        #expect(stateless.summary["flow_records"] as? Int == 0)
        #expect((stateless.summary["decode_errors"] as? [String: Int] ?? [:])["template_not_found"] != nil)
    }

    @Test(
        "a second vigil on the same --state directory is refused with the first one's PID; a damaged checkpoint is named and skipped"
    )
    func oneProcessPerDirectoryAndDamage() throws {
        let directory = try CLI.temporaryDirectory("state-lock")
        let state = directory.appendingPathComponent("state").path
        let port = UInt16.random(in: 20_000...60_000)
        let v9 = try Self.exporter("v9", address: "127.0.0.11", sourcePort: port &+ 3, setupDatagrams: 1, in: directory)
        let first = Process()
        first.executableURL = CLI.executable
        first.arguments = ["run", "--input", "udp://127.0.0.1:\(port)", "--stop-after-idle", "3s", "--state", state]
        first.standardError = FileHandle.nullDevice
        try first.run()
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        usleep(500_000)
        UDPSender.send(v9.withTemplates, to: port, from: v9.address, sourcePort: v9.sourcePort)
        let second = try CLI.run(["run", "--input", "udp://127.0.0.1:\(port &+ 1)", "--state", state])
        #expect(second.status != 0)
        #expect(
            second.standardError.contains(
                "state directory \(state) is in use by another vigil (pid \(first.processIdentifier))"
            ),
            "\(second.standardError)"
        )
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)

        // The first run published a checkpoint at its end; damage it: the next run names it and starts afresh.
        let names = try FileManager.default.contentsOfDirectory(atPath: state).filter { $0.hasPrefix("checkpoint-") }
            .sorted()
        let newest = try #require(names.last)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: state + "/" + newest))
        try handle.seek(toOffset: 30)
        try handle.write(contentsOf: Data([0xFF, 0xFF]))
        try handle.close()
        let third = try CLI.run([
            "run", "--input", "udp://127.0.0.1:\(port &+ 2)", "--stop-after-idle", "1s", "--state", state,
            "--summary-json", "-",
        ])
        #expect(third.status == 0, "\(third.standardError)")
        #expect(third.standardError.contains(newest), "\(third.standardError)")
        #expect(third.standardError.contains("checksum"), "\(third.standardError)")
        #expect(
            third.standardError.contains("no checkpoint in \(state) yet; starting afresh"),
            "\(third.standardError)"
        )
        #expect(try CLI.json(third.standardOutput)["state_checkpoints_skipped"] as? Int == 1)
    }
}
