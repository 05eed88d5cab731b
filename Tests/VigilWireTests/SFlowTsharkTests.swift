import Foundation
import Testing
import VigilCore
import VigilWire

/// Reads sFlow datagrams out of a capture and decodes them: the two pieces as `vigil` chains them.
private struct SFlowFromCapture: CapturedDatagramConsumer {
    var decoder = SFlowDecoder()
    var flows = SFlowRecordingConsumer()
    var errors: [FlowDecodeError] = []

    mutating func capturedDatagram(
        _ payload: UnsafeRawBufferPointer,
        source: IPAddress,
        sourcePort: UInt16,
        destination: IPAddress,
        destinationPort: UInt16,
        timestampNanoseconds: Int64
    ) {
        decoder.decode(payload, from: source, arrivalNanoseconds: timestampNanoseconds, into: &flows)
    }
    mutating func captureError(_ error: FlowDecodeError) { errors.append(error) }
}

@Suite("sFlow decoder against tshark")
struct SFlowTsharkTests {
    static let tshark = "/usr/bin/tshark"

    @Test(
        "random sFlow datagrams written to a pcap decode to what tshark reads from the same file",
        .enabled(if: FileManager.default.isExecutableFile(atPath: tshark), "tshark is not installed")
    )
    func matchesTshark() throws {
        var random = SplitMix64(seed: 6343)
        var packets: [(seconds: UInt32, fraction: UInt32, data: [UInt8])] = []
        for index in 0..<20 {
            let source = UInt32(truncatingIfNeeded: random.next()) | 0x0100_0000
            let destination = UInt32(truncatingIfNeeded: random.next()) | 0x0100_0000
            let ports = (UInt16(truncatingIfNeeded: random.next()), UInt16(truncatingIfNeeded: random.next()))
            let isTCP = random.next() % 2 == 0
            let transport =
                isTCP ? Frames.tcp(ports.0, ports.1, flags: 0x18) : Frames.udp(ports.0, ports.1, [1, 2, 3])
            let vlan = UInt16(1 + random.next() % 4000)
            let frame = Frames.ethernet(
                vlans: [vlan],
                etherType: 0x0800,
                Frames.ipv4(source, destination, protocol: isTCP ? 6 : 17, transport)
            )
            let sample = SFlowBuilder.flowSample(
                rate: UInt32(1 + random.next() % 10_000),
                input: UInt32(random.next() % 1000),
                output: 1,
                records: [SFlowBuilder.rawHeader(protocol: 1, frameLength: UInt32(frame.count + 4 + index), frame)]
            )
            let datagram = SFlowBuilder.datagram(
                agent: 0xC000_0200 | UInt32(index % 3),
                subAgent: UInt32(index % 2),
                sequence: UInt32(index),
                samples: [(1, sample)]
            )
            let outer = Frames.ethernet(
                etherType: 0x0800,
                Frames.ipv4(0x0A00_0001, 0x0A00_0002, protocol: 17, Frames.udp(5000, 6343, datagram))
            )
            packets.append((UInt32(1_700_000_000 + index), 0, outer))
        }
        let capture = Captures.pcap(packets: packets)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-sflow-\(getpid()).pcap")
        try Data(capture).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }

        let fields = [
            "sflow_245.agent", "sflow_245.sub_agent_id", "sflow_245.sequence_number", "sflow.flow_sample.sampling_rate",
            "sflow.flow_sample.input_interface", "sflow_245.header.frame_length", "ip.src", "ip.dst", "tcp.srcport",
            "tcp.dstport", "udp.srcport", "udp.dstport", "vlan.id",
        ]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.tshark)
        process.arguments = ["-r", file.path, "-T", "fields", "-E", "separator=|"] + fields.flatMap { ["-e", $0] }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        // The last of a repeated field is the sampled packet's (the first is the outer datagram's).
        let theirs = output.split(separator: "\n").map { line in
            line.split(separator: "|", omittingEmptySubsequences: false).map {
                String($0.split(separator: ",").last ?? "")
            }
        }

        var reader = CaptureStreamDecoder()
        var ours = SFlowFromCapture()
        capture.withUnsafeBytes { reader.finish(remaining: $0, into: &ours) }
        #expect(ours.errors.isEmpty && ours.flows.errors.isEmpty)
        #expect(theirs.count == 20 && ours.flows.records.count == 20)
        for (index, (info, record)) in zip(ours.flows.datagrams, ours.flows.records).enumerated()
        where index < theirs.count {
            let isTCP = record.protocolNumber == 6
            let mine = [
                info.exporter.address.description, "\(info.exporter.observationDomain)", "\(info.sequenceNumber)",
                "\(record.samplingInterval)", "\(record.inputInterface)", "\(record.octets)",
                record.sourceAddress.description, record.destinationAddress.description,
                isTCP ? "\(record.sourcePort)" : "", isTCP ? "\(record.destinationPort)" : "",
                isTCP ? "5000" : "\(record.sourcePort)", isTCP ? "6343" : "\(record.destinationPort)", "\(record.vlan)",
            ]
            #expect(mine == theirs[index], "datagram \(index)")
        }
    }
}
