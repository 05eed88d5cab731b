import ArgumentParser
import Foundation
import VigilCore
import VigilEngine
import VigilSim
import VigilWire

/// `vigil generate flows`: NetFlow v5/v9, IPFIX or sFlow v5 datagrams from simulated exporters, sent over UDP
/// or written to a pcap file, as fast as the host allows or paced.
struct GenerateFlowsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flows",
        abstract: "Send NetFlow v5/v9, IPFIX or sFlow v5 datagrams from simulated exporters (UDP or a pcap file).",
        discussion: """
            Records are drawn from a seeded pool of plausible flows (a Zipf-like mix of talkers and services; TCP, \
            UDP and ICMP; IPv4 and, except in v5, some IPv6; interfaces 1 to 8) and end 1 to 34 s before their \
            datagram's export time. With --distinct-flows N the 5-tuples come from N distinct keys instead, \
            taken in turn (each a pool flow with a client address of its own in 10.0.0.0/8 or \
            2001:db8:2::/104, mixed from the key's index: no table). Each exporter k (0-based) sends from \
            --exporter-base + k (127.0.0.10, 127.0.0.11, ...; UDP source port 50000 + k mod 15536) with \
            observation domain (v9 source id, v5 engine id, sFlow sub-agent) k + 1 and its own sequence \
            numbers: v5 flows, v9 datagrams, IPFIX data records (options data included), sFlow datagrams. Its \
            first datagram and every --template-refresh-th carry the templates (all \
            --templates-per-exporter of them) and the sampler options (v9, IPFIX) or a counter sample (sFlow).

            Time: with --live-time (the default for --to) export times are the wall clock, as a collector that \
            caps exporters' clocks at its own expects; with --no-live-time (the default for --out) they are --start \
            plus simulated time (records / --rate, or 1M records/s when --rate is 0), so the same options give \
            the same bytes.

            Prints a JSON summary on standard output: records (flow data records only), datagrams, bytes_total \
            and packets_total (the records' counts as sent, before sampling), send_errors (datagrams the kernel \
            refused for good; ENOBUFS and EAGAIN are retried), seconds, records_per_second, and more (the \
            options it ran with: exporters, templates_per_exporter, distinct_flows).

            Examples:
              vigil generate flows --format v9 --records 1000000 --to udp://127.0.0.1:2055
              vigil generate flows --format ipfix --records 5000000 --rate 1000000 --exporters 4 \\
                --to udp://[::1]:4739
              vigil generate flows --format sflow --records 20000 --sampling-rate 1000 --out sflow.pcap \\
                --records-out sflow.jsonl
              vigil generate flows --format v9 --records 10000000 --exporters 10000 \\
                --templates-per-exporter 10 --out exporters.pcap
              vigil generate flows --format ipfix --records 10000000 --distinct-flows 10000000 --out keys.pcap
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case v5, v9, ipfix, sflow

        var flowFormat: FlowFormat {
            switch self {
            case .v5: .netFlowV5
            case .v9: .netFlowV9
            case .ipfix: .ipfix
            case .sflow: .sFlowV5
            }
        }

        /// The port collectors listen on by convention.
        var defaultPort: UInt16 {
            switch self {
            case .v5, .v9: 2055
            case .ipfix: 4739
            case .sflow: 6343
            }
        }
    }

    @Option(help: "Export format: v5, v9, ipfix or sflow.")
    var format: Format
    @Option(parsing: .unconditional, help: "Flow data records to send (options data and templates not counted).")
    var records = 100_000
    @Option(parsing: .unconditional, help: "Records per second, paced per batch; 0 sends flat out.")
    var rate: Double = 0
    @Option(
        parsing: .unconditional,
        help: """
            Simulated exporters (1-131072), each with its own address (--exporter-base + k) and domain (k + 1). \
            With --to, one socket each when bound (the open-file limit applies).
            """
    )
    var exporters = 1
    @Option(
        name: .customLong("templates-per-exporter"),
        parsing: .unconditional,
        help: """
            Templates each exporter announces (v9, ipfix; 3-33): ids 256 up, the sampler options template and \
            IPv4 and IPv6 flow templates of different layouts; data goes round the layouts, one per datagram.
            """
    )
    var templatesPerExporter = FlowTemplateLayout.defaultTemplateCount
    @Option(
        name: .customLong("distinct-flows"),
        parsing: .unconditional,
        help: """
            Draw records from N distinct 5-tuples (1-16777216), taken in turn in send order: R records hold \
            min(R, N) distinct ones. Default: a pool of 4,096 flows with varied client ports.
            """
    )
    var distinctFlows: Int?
    @Option(
        name: .customLong("records-per-datagram"),
        parsing: .unconditional,
        help: "Flow records per datagram, at most 30 (NetFlow v5's limit, which routers keep to for all formats)."
    )
    var recordsPerDatagram = 24
    @Option(
        name: .customLong("sampling-rate"),
        parsing: .unconditional,
        help: "1 in N packets sampled, as announced (v5 header, v9/IPFIX sampler options, sFlow samples)."
    )
    var samplingRate: UInt32 = 1
    @Option(
        name: .customLong("template-refresh"),
        parsing: .unconditional,
        help: "Templates and sampler options (sFlow: a counter sample) every N datagrams of an exporter."
    )
    var templateRefresh = 20
    @Option(parsing: .unconditional, help: "Random seed.")
    var seed: UInt64 = 1
    @Option(help: "First export time with simulated time, RFC 3339 UTC (default 2026-11-02T00:00:00Z).")
    var start = EventTime.rfc3339(nanoseconds: FleetConfiguration.defaultStartNanoseconds)
    @Option(name: .customLong("max-seconds"), parsing: .unconditional, help: "Stop after this many seconds.")
    var maxSeconds: Double?
    @Option(help: "Send to this collector: udp://HOST:PORT (IPv4, [IPv6] or a name).")
    var to: String?
    @Option(help: "Write the datagrams to this pcap file (Ethernet/IP/UDP frames) instead.")
    var out: String?
    @Option(
        parsing: .unconditional,
        help: "The collector's port in the pcap (default 2055 v5/v9, 4739 IPFIX, 6343 sFlow)."
    )
    var port: UInt16?
    @Option(
        name: .customLong("exporter-base"),
        help: """
            Exporter 0's address, IPv4 or IPv6; exporter k's is this + k (default 127.0.0.10). With --to, \
            exporters' sockets are bound to these addresses when given, or by default when the collector is \
            IPv4 loopback.
            """
    )
    var exporterBase: String?
    @Flag(
        name: .customLong("live-time"),
        inversion: .prefixedNo,
        help: "Export times from the wall clock (default with --to) or from --start plus simulated time (with --out)."
    )
    var liveTime: Bool?
    @Flag(name: .customLong("pcap-nanoseconds"), help: "Write a nanosecond-resolution pcap (microseconds otherwise).")
    var pcapNanoseconds = false
    @Option(
        name: .customLong("records-out"),
        help: "Also write every flow record sent, as JSON Lines in wire order (for differential tests of decoders)."
    )
    var recordsOut: String?

    /// Where the datagrams go, checked.
    enum Target {
        case udp(address: IPAddress, port: UInt16)
        case pcap(path: String)
    }

    struct Plan {
        var configuration: FlowExportConfiguration
        var target: Target
        var destination: IPAddress
        var destinationPort: UInt16
        var bindSources: Bool
        var liveTime: Bool
    }

    func validate() throws { _ = try makePlan() }

    func makePlan() throws -> Plan {
        guard (to == nil) != (out == nil) else {
            throw ValidationError("give one of --to udp://HOST:PORT or --out FILE.pcap")
        }
        try requireRange(records, 1...Int(Int64.max / 2), "--records")
        guard rate >= 0, rate.isFinite else { throw ValidationError("--rate \(rate): expected 0 (flat out) or more") }
        if let maxSeconds, !(maxSeconds > 0 && maxSeconds.isFinite) {
            throw ValidationError("--max-seconds \(maxSeconds): expected a positive number of seconds")
        }
        guard let startNanoseconds = EventTime.parseRFC3339(start) else {
            throw ValidationError("--start \(start): expected an RFC 3339 time such as 2026-11-02T00:00:00Z")
        }
        var base = IPAddress(ipv4: 0x7F00_000A)
        if let exporterBase {
            guard let address = parseAddress(exporterBase) else {
                throw ValidationError("--exporter-base \(exporterBase): expected an IPv4 or IPv6 address")
            }
            base = address
        }
        var configuration = FlowExportConfiguration(format: format.flowFormat, startNanoseconds: startNanoseconds)
        configuration.exporterCount = exporters
        configuration.recordsPerDatagram = recordsPerDatagram
        configuration.samplingRate = samplingRate
        configuration.templateRefreshDatagrams = templateRefresh
        configuration.seed = seed
        configuration.exporterBase = base
        configuration.templateCount = templatesPerExporter
        configuration.distinctFlows = distinctFlows
        if let problem = configuration.problem() {
            let flags = [
                ("exporters", "--exporters \(exporters)"),
                ("records per", "--records-per-datagram \(recordsPerDatagram)"),
                ("sampling", "--sampling-rate \(samplingRate)"),
                ("templates per", "--templates-per-exporter \(templatesPerExporter)"),
                ("distinct flows", "--distinct-flows \(distinctFlows ?? 0)"),
            ]
            let flag = flags.first { problem.hasPrefix($0.0) }?.1 ?? "--template-refresh \(templateRefresh)"
            throw ValidationError("\(flag): \(problem.drop { $0 != ":" }.dropFirst(2))")
        }
        if let to {
            let (address, port) = try parseUDPTarget(to)
            if exporterBase != nil && base.isIPv4 != address.isIPv4 {
                throw ValidationError(
                    "--exporter-base \(exporterBase!) and --to \(to): the exporters and the collector must both be "
                        + "IPv4 or both IPv6"
                )
            }
            let loopback = address.ipv4.map { $0 >> 24 == 127 } ?? false
            return Plan(
                configuration: configuration,
                target: .udp(address: address, port: port),
                destination: address,
                destinationPort: port,
                bindSources: exporterBase != nil || loopback,
                liveTime: liveTime ?? true
            )
        }
        let destination = base.isIPv4 ? IPAddress(ipv4: 0x7F00_0001) : IPAddress(high: 0, low: 1)
        return Plan(
            configuration: configuration,
            target: .pcap(path: out!),
            destination: destination,
            destinationPort: port ?? format.defaultPort,
            bindSources: false,
            liveTime: liveTime ?? false
        )
    }

    /// `udp://HOST:PORT`, HOST an IPv4 address, `[IPv6]` or a name (its first address).
    func parseUDPTarget(_ text: String) throws -> (IPAddress, UInt16) {
        let problem = ValidationError(
            "--to \(text): expected udp://HOST:PORT, e.g. udp://127.0.0.1:2055 or udp://[::1]:4739"
        )
        guard text.hasPrefix("udp://"), let colon = text.lastIndex(of: ":"),
            colon > text.index(text.startIndex, offsetBy: 6)
        else { throw problem }
        var host = String(text[text.index(text.startIndex, offsetBy: 6)..<colon])
        guard let port = UInt16(text[text.index(after: colon)...]), port > 0 else { throw problem }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if let address = parseAddress(host) { return (address, port) }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else {
            throw ValidationError("--to \(text): cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let entry = node {
            if let socketAddress = entry.pointee.ai_addr {
                if entry.pointee.ai_family == AF_INET {
                    let v4 = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
                    return (IPAddress(ipv4: UInt32(bigEndian: v4.sin_addr.s_addr)), port)
                }
                if entry.pointee.ai_family == AF_INET6 {
                    var v6 = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee }
                    let address = withUnsafeBytes(of: &v6.sin6_addr) {
                        IPAddress(bytes: $0.baseAddress!, byteCount: 16)!
                    }
                    return (address, port)
                }
            }
            node = entry.pointee.ai_next
        }
        throw ValidationError("--to \(text): \(host) has no IPv4 or IPv6 address")
    }

    func parseAddress(_ text: String) -> IPAddress? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return IPAddress(ipv4: UInt32(bigEndian: v4.s_addr)) }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { IPAddress(bytes: $0.baseAddress!, byteCount: 16) }
        }
        return nil
    }

    func run() throws {
        SignalCleanup.install()
        let plan = try makePlan()
        var configuration = plan.configuration
        let wallStart = Self.realtimeNanoseconds()
        if plan.liveTime { configuration.startNanoseconds = wallStart }
        let simulator = FlowExportSimulator(configuration: configuration)
        var output: FlowDatagramOutput
        switch plan.target {
        case .udp(let address, let port):
            let sender: UDPBatchSender
            do {
                sender = try UDPBatchSender(
                    destination: address,
                    port: port,
                    sources: plan.bindSources ? (0..<exporters).map { simulator.exporterAddress($0) } : nil
                )
            } catch {
                throw CommandFailure(description: "\(error)")
            }
            output = .udp(sender)
        case .pcap(let path):
            let writer: CompressedFileWriter
            do {
                writer = try CompressedFileWriter(path: path, compression: .none)
            } catch {
                throw CommandFailure(description: "cannot write \(path): \(error)")
            }
            output = .pcap(writer)
        }
        var recordsWriter: CompressedFileWriter?
        if let recordsOut {
            do {
                recordsWriter = try CompressedFileWriter(path: recordsOut, compression: .none)
            } catch {
                throw CommandFailure(description: "cannot write \(recordsOut): \(error)")
            }
        }
        var run = FlowSendLoop(
            simulator: simulator,
            plan: plan,
            recordsToSend: records,
            recordsPerSecond: rate,
            maxNanoseconds: maxSeconds.map { Int64($0 * 1e9) },
            pcapNanoseconds: pcapNanoseconds,
            recordsWriter: recordsWriter
        )
        try run.run(into: &output)
        let summary = run.summary
        do {
            if case .pcap(let writer) = output { try writer.close() }
            try recordsWriter?.close()
        } catch {
            throw CommandFailure(description: "cannot finish the output: \(error)")
        }
        var sendErrors = 0
        var retries = 0
        var lastError = "null"
        if case .udp(let sender) = output {
            sendErrors = sender.failedDatagrams
            retries = sender.retries
            if let error = sender.lastError { lastError = JSONText.string(error) }
        }
        let seconds = Double(summary.elapsedNanoseconds) / 1e9
        let target: String
        switch plan.target {
        case .udp(let address, let port):
            target = "\"to\":\"udp://\(address.isIPv4 ? "\(address)" : "[\(address)]"):\(port)\""
        case .pcap(let path):
            target = "\"out\":\(JSONText.string(path)),\"pcap_destination_port\":\(plan.destinationPort)"
        }
        let line =
            "{\"format\":\"\(format.rawValue)\",\(target),\"exporters\":\(exporters),"
            + "\"templates_per_exporter\":\(templatesPerExporter),\"distinct_flows\":\(distinctFlows.map(String.init) ?? "null"),"
            + "\"records\":\(summary.records),\"datagrams\":\(summary.datagrams),"
            + "\"bytes_total\":\(summary.octets),\"packets_total\":\(summary.packets),"
            + "\"template_records\":\(summary.templateRecords),\"options_records\":\(summary.optionsRecords),"
            + "\"counter_samples\":\(summary.counterSamples),\"payload_bytes\":\(summary.payloadBytes),"
            + "\"send_errors\":\(sendErrors),\"send_retries\":\(retries),\"last_send_error\":\(lastError),"
            + "\"live_time\":\(plan.liveTime),\"sources_bound\":\(plan.bindSources),"
            + "\"stopped_by\":\"\(summary.stoppedByTime ? "max_seconds" : "records")\","
            + "\"seconds\":\(String(format: "%.6f", seconds)),"
            + "\"records_per_second\":\(Int((Double(summary.records) / max(seconds, 1e-9)).rounded())),"
            + "\"datagrams_per_second\":\(Int((Double(summary.datagrams) / max(seconds, 1e-9)).rounded()))}"
        print(line)
        fflush(stdout)
    }

    static func realtimeNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}
