import Foundation
import Testing

/// What `vigil run` does with datagrams on a flow input that are not flows: garbage and Vigil's own native
/// frames sent to the wrong port, between valid NetFlow v9 datagrams, through the whole engine.
@Suite("vigil run on a flow input: garbage and native frames among valid flows")
struct FlowGarbageInputTests {
    @Test("garbage and native frames are counted by reason and named on stderr; the valid v9 records all count")
    func garbageAmongFlows() throws {
        let directory = try CLI.temporaryDirectory("flow-garbage")
        defer { try? FileManager.default.removeItem(at: directory) }
        let generated = directory.appendingPathComponent("v9.pcap").path
        let made = try CLI.run([
            "generate", "flows", "--format", "v9", "--records", "40", "--records-per-datagram", "20",
            "--exporters", "1", "--out", generated,
        ])
        #expect(made.status == 0, "\(made.standardError)")
        let flows = try FlowCapture(path: generated).frames.map { $0.payload }
        #expect(flows.count == 2)
        // Not a flow: text, a run of 0xFF, a NetFlow-looking version 7, a single byte.
        let garbage: [[UInt8]] = [
            Array("hello, collector: this is not NetFlow".utf8), [UInt8](repeating: 0xFF, count: 64),
            [0x00, 0x07] + [UInt8](repeating: 0, count: 30), [0x42],
        ]
        let native = makeStream(series: 2, rounds: 3)
        let datagrams: [[UInt8]] = [
            garbage[0], flows[0], native, garbage[1], garbage[2], Array(native.prefix(40)), flows[1], garbage[3],
        ]
        let capture = directory.appendingPathComponent("mixed.pcap").path
        try UDPRelay.writeCapture(
            datagrams.map { (sourcePort: 40_000, payload: $0) },
            destinationPort: 2055,
            to: capture
        )

        let result = try CLI.run(["run", "--input", "pcap:\(capture)", "--summary-json", "-"])
        #expect(result.status == 0, "\(result.standardError)")
        let summary = try CLI.json(result.standardOutput)
        #expect(summary["flow_records"] as? Int == 40, "\(summary)")
        // Every UDP datagram of the capture reached the flow decoders (and is counted as one), good or not.
        #expect(summary["flow_datagrams"] as? Int == datagrams.count, "\(summary)")
        #expect(summary["flow_exporters"] as? Int == 1, "\(summary)")
        let errors = summary["decode_errors"] as? [String: Int] ?? [:]
        #expect(errors == ["not_a_flow_datagram": 4, "native_frames_on_flow_input": 2], "\(errors)")
        let log = result.standardError.lowercased()
        #expect(log.contains("not a flow datagram") || log.contains("not_a_flow_datagram"), "\(result.standardError)")
        #expect(log.contains("native"), "\(result.standardError)")
    }

    @Test(
        "past --max-series the exporters' refused series are counted, and logged in one budget per input, not per exporter"
    )
    func refusedSeriesLogBounded() throws {
        let directory = try CLI.temporaryDirectory("flow-max-series")
        defer { try? FileManager.default.removeItem(at: directory) }
        let pcap = try GenerateFlowsTests.generate(
            "v9",
            in: directory,
            ["--records", "3200", "--records-per-datagram", "1", "--exporters", "100"]
        ).pcap
        let run = try CLI.run(["run", "--input", "pcap:\(pcap)", "--max-series", "480", "--summary-json", "-"])
        #expect(run.status == 0, "\(run.standardError)")
        let summary = try CLI.json(run.standardOutput)
        #expect(summary["series"] as? Int == 480)
        #expect(summary["flow_exporters"] as? Int == 100)
        #expect((summary["rejects"] as? [String: Int])?["series_over_cardinality_limit"] ?? 0 > 1_000)
        // Every exporter over the limit refuses series; one budget of 20 lines and a closing line for all.
        let lines = run.standardError.split(separator: "\n")
        #expect(lines.filter { $0.contains("rejected") }.count <= 20, "\(run.standardError.suffix(3_000))")
        #expect(lines.filter { $0.contains("exporters: more errors; no longer logging them") }.count == 1)
    }
}
