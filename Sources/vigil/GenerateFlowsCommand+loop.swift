import Foundation
import VigilCore
import VigilEngine
import VigilSim
import VigilWire

/// Where `vigil generate flows` puts its datagrams.
enum FlowDatagramOutput {
    case udp(UDPBatchSender)
    case pcap(CompressedFileWriter)
}

/// What was sent.
struct FlowSendSummary {
    var records = 0
    var datagrams = 0
    var octets: UInt64 = 0
    var packets: UInt64 = 0
    var templateRecords = 0
    var optionsRecords = 0
    var counterSamples = 0
    var payloadBytes = 0
    var elapsedNanoseconds: Int64 = 0
    var stoppedByTime = false
}

/// The hot loop of `vigil generate flows`: batches of datagrams, one exporter per batch in turn, encoded into
/// one slab allocated up front (each slot leaves room in front for the pcap, Ethernet, IP and UDP headers),
/// then sent with one `sendmmsg` or appended to the pcap. Paced per batch by a token bucket: a batch waits
/// until the records before it are due at `--rate`; batches hold about a millisecond of records (at most
/// ``maximumBatchDatagrams`` datagrams). Bounded by the record count and `--max-seconds` (checked per batch).
struct FlowSendLoop {
    static let maximumBatchDatagrams = 32
    /// The simulated clock's pace when sending flat out: records per second.
    static let flatOutSimulatedRecordsPerSecond = 1_000_000.0

    let simulator: FlowExportSimulator
    let plan: GenerateFlowsCommand.Plan
    let recordsToSend: Int
    let recordsPerSecond: Double
    let maxNanoseconds: Int64?
    let pcapNanoseconds: Bool
    let recordsWriter: CompressedFileWriter?
    private(set) var summary = FlowSendSummary()

    init(
        simulator: FlowExportSimulator,
        plan: GenerateFlowsCommand.Plan,
        recordsToSend: Int,
        recordsPerSecond: Double,
        maxNanoseconds: Int64?,
        pcapNanoseconds: Bool,
        recordsWriter: CompressedFileWriter?
    ) {
        self.simulator = simulator
        self.plan = plan
        self.recordsToSend = recordsToSend
        self.recordsPerSecond = recordsPerSecond
        self.maxNanoseconds = maxNanoseconds
        self.pcapNanoseconds = pcapNanoseconds
        self.recordsWriter = recordsWriter
    }

    static func monotonicNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    mutating func run(into output: inout FlowDatagramOutput) throws {
        let configuration = simulator.configuration
        let perDatagram = configuration.recordsPerDatagram
        let exporterCount = configuration.exporterCount
        let headroom = PcapFraming.maximumHeadroom
        let slotBytes = (headroom + FlowEncodingLimits.maximumDatagramBytes + 63) & ~63
        let capacity = Self.maximumBatchDatagrams
        let slab = UnsafeMutableRawBufferPointer.allocate(byteCount: slotBytes * capacity, alignment: 64)
        let payloads = UnsafeMutableBufferPointer<UnsafeMutableRawPointer?>.allocate(capacity: capacity)
        let lengths = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: capacity)
        let times = UnsafeMutableBufferPointer<Int64>.allocate(capacity: capacity)
        defer {
            slab.deallocate()
            payloads.deallocate()
            lengths.deallocate()
            times.deallocate()
        }
        let batchDatagrams =
            recordsPerSecond > 0
            ? max(1, min(capacity, Int(recordsPerSecond / 1_000 / Double(perDatagram)))) : capacity
        let simulatedNanosecondsPerRecord =
            1e9 / (recordsPerSecond > 0 ? recordsPerSecond : Self.flatOutSimulatedRecordsPerSecond)
        var identifications = [UInt16](repeating: 0, count: exporterCount)
        if case .pcap(let writer) = output {
            var header = [UInt8](repeating: 0, count: PcapFraming.fileHeaderByteCount)
            header.withUnsafeMutableBytes { bytes in
                var cursor = FlowWriteCursor(bytes)
                PcapFraming.writeFileHeader(nanosecondTimestamps: pcapNanoseconds, into: &cursor)
            }
            try writer.write(header)
        }
        var lines = ""
        lines.reserveCapacity(64 * 1_024)
        let startNanoseconds = configuration.startNanoseconds
        let started = Self.monotonicNanoseconds()
        var exporter = 0
        var summary = FlowSendSummary()
        while summary.records < recordsToSend {
            if let maxNanoseconds, Self.monotonicNanoseconds() - started >= maxNanoseconds {
                summary.stoppedByTime = true
                break
            }
            let liveNanoseconds = plan.liveTime ? GenerateFlowsCommand.realtimeNanoseconds() : 0
            var count = 0
            var batchRecords = 0
            while count < batchDatagrams && summary.records + batchRecords < recordsToSend {
                let recordCount = min(perDatagram, recordsToSend - summary.records - batchRecords)
                let payload = slab.baseAddress! + count * slotBytes + headroom
                var cursor = FlowWriteCursor(
                    UnsafeMutableRawBufferPointer(start: payload, count: FlowEncodingLimits.maximumDatagramBytes)
                )
                let exportNanoseconds =
                    plan.liveTime
                    ? liveNanoseconds
                    : startNanoseconds + Int64(Double(summary.records + batchRecords) * simulatedNanosecondsPerRecord)
                let result = simulator.encodeDatagram(
                    exporter: exporter,
                    recordCount: recordCount,
                    exportNanoseconds: exportNanoseconds,
                    into: &cursor
                )
                for record in simulator.lastRecords {
                    summary.octets &+= record.octets
                    summary.packets &+= record.packets
                }
                if let recordsWriter {
                    let header = simulator.lastHeader
                    for record in simulator.lastRecords {
                        FlowRecordJSONLines.append(
                            record,
                            format: configuration.format,
                            header: header,
                            exporter: header.agentAddress,
                            to: &lines
                        )
                    }
                    if lines.utf8.count >= 60 * 1_024 {
                        try recordsWriter.write(Array(lines.utf8))
                        lines.removeAll(keepingCapacity: true)
                    }
                }
                payloads[count] = payload
                lengths[count] = UInt32(result.byteCount)
                times[count] = exportNanoseconds
                summary.templateRecords += result.templateRecords
                summary.optionsRecords += result.optionsRecords
                summary.counterSamples += result.counterSamples
                summary.payloadBytes += result.byteCount
                batchRecords += recordCount
                count += 1
            }
            if recordsPerSecond > 0 {
                // The token bucket: this batch may go once the records before it are due.
                let due = started + Int64(Double(summary.records) / recordsPerSecond * 1e9)
                let wait = due - Self.monotonicNanoseconds()
                if wait > 20_000 {
                    var pause = timespec(tv_sec: Int(wait / 1_000_000_000), tv_nsec: Int(wait % 1_000_000_000))
                    var left = timespec()
                    while nanosleep(&pause, &left) != 0 && errno == EINTR { pause = left }
                }
            }
            switch output {
            case .udp(let sender):
                sender.send(
                    from: exporter,
                    payloads: UnsafeBufferPointer(rebasing: payloads[0..<count]),
                    lengths: UnsafeBufferPointer(rebasing: lengths[0..<count])
                )
            case .pcap(let writer):
                let source = simulator.exporterAddress(exporter)
                let frameHeadroom = PcapFraming.headroom(ipv6: !plan.destination.isIPv4)
                for index in 0..<count {
                    identifications[exporter] &+= 1
                    let frame = PcapFraming.writeHeaders(
                        before: UnsafeMutableRawBufferPointer(start: payloads[index], count: Int(lengths[index])),
                        source: source,
                        sourcePort: UInt16(50_000 + exporter % 15_536),
                        destination: plan.destination,
                        destinationPort: plan.destinationPort,
                        timestampNanoseconds: times[index],
                        nanosecondTimestamps: pcapNanoseconds,
                        identification: identifications[exporter]
                    )
                    try writer.write(UnsafeRawBufferPointer(start: frame, count: frameHeadroom + Int(lengths[index])))
                }
            }
            summary.records += batchRecords
            summary.datagrams += count
            exporter = exporter + 1 == exporterCount ? 0 : exporter + 1
        }
        if let recordsWriter, !lines.isEmpty { try recordsWriter.write(Array(lines.utf8)) }
        summary.elapsedNanoseconds = Self.monotonicNanoseconds() - started
        self.summary = summary
    }
}
