import ArgumentParser
import VigilAnalytics
import VigilCore
import VigilStore
import VigilWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `vigil flows top`: the heaviest sources, destinations, pairs or destination ports of a rollup directory's
/// flow summaries, merged over windows and exporters.
struct FlowsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flows",
        abstract: "Read the flow analytics a run wrote next to its rollups (flows-*.vgf).",
        subcommands: [Top.self]
    )

    struct Top: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Top talkers by bytes: sources, destinations, address pairs or destination ports.",
            discussion: """
                `vigil run --input udp://…|pcap:… --rollups DIR` keeps, per exporter and window, the heaviest \
                keys of each kind (Space-Saving sketches) with an error bound, and for each top destination \
                a HyperLogLog of its distinct sources. This command merges the windows and exporters chosen \
                (mergeable summaries: counts add up, bounds too) and prints rank, key, bytes, share of all \
                bytes, the error bound (the true bytes lie between bytes - error and bytes; 0: exact), and \
                for --by dst the estimated distinct sources (±6.5 % standard error, counted in the windows where the \
                destination was among the top).

                --json prints one object: by, from, to, exporters, windows, total_bytes, entries \
                [{key, bytes, error_bytes, share, distinct_sources (dst only)}]. Damaged or foreign flows \
                files are named on stderr and skipped.

                Examples:
                  vigil flows top rollups/ --by src
                  vigil flows top rollups/ --by dst -n 20 --exporter 192.0.2.1
                  vigil flows top rollups/ --by dstport --from 2026-11-02T10:00:00Z \\
                    --to 2026-11-02T11:00:00Z --json
                """
        )

        enum By: String, ExpressibleByArgument, CaseIterable {
            case src, dst, pair, dstport
            var kind: FlowKeyKind { FlowKeyKind(name: rawValue)! }
        }

        @Argument(help: "The rollup directory (vigil run --rollups).")
        var directory: String

        @Option(help: "What to rank: src, dst, pair or dstport.")
        var by: By

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Only this exporter: ADDRESS (any observation domain) or ADDRESS/DOMAIN; repeatable.",
                valueName: "exporter"
            )
        )
        var exporter: [String] = []

        @Option(help: ArgumentHelp("Only windows starting at or after this time (RFC 3339).", valueName: "time"))
        var from: String?

        @Option(help: ArgumentHelp("Only windows starting before this time (RFC 3339).", valueName: "time"))
        var to: String?

        @Option(name: .shortAndLong, help: "How many entries to print (1-4096).")
        var n = 10

        @Flag(help: "Print one JSON object instead of a table.")
        var json = false

        func validate() throws {
            for (name, value) in [("--from", from), ("--to", to)] {
                if let value, EventTime.parseRFC3339(value) == nil {
                    throw ValidationError(
                        "\(name) \(value) is not an RFC 3339 time between 1677-09-22 and 2262-04-11 (e.g. 2026-11-21T17:00:00Z)"
                    )
                }
            }
            guard (1...4096).contains(n) else { throw ValidationError("-n \(n): expected 1...4096") }
        }

        func run() throws {
            let fromNanoseconds = from.flatMap(EventTime.parseRFC3339) ?? .min
            let toNanoseconds = to.flatMap(EventTime.parseRFC3339) ?? .max
            let kind = by.kind
            var lists: [FlowTopList] = []
            var registersByKey: [FlowKey: [UInt8]] = [:]
            var totalBytes: UInt64 = 0
            var exporters: Set<String> = []
            var windows = 0
            var firstStart = Int64.max
            var lastEnd = Int64.min
            for path in try FlowSummaryFile.paths(directory) {
                let summaries: [FlowWindowSummary]
                do {
                    let header = try FlowSummaryFile.readHeader(path)
                    guard header.lastWindowStartNanoseconds >= fromNanoseconds,
                        header.firstWindowStartNanoseconds < toNanoseconds
                    else { continue }
                    summaries = try FlowSummaryFile.read(path).summaries
                } catch let error as RollupSegmentError {
                    fputs("warning: skipping damaged flows file \(path): \(error)\n", stderr)
                    continue
                }
                for summary in summaries
                where summary.windowStartNanoseconds >= fromNanoseconds
                    && summary.windowStartNanoseconds < toNanoseconds && matches(summary.exporter)
                {
                    windows += 1
                    exporters.insert(summary.exporter)
                    totalBytes = FlowTopMerge.saturatingSum(totalBytes, summary.totalBytes)
                    firstStart = min(firstStart, summary.windowStartNanoseconds)
                    lastEnd = max(lastEnd, summary.windowStartNanoseconds &+ summary.windowNanoseconds)
                    let list = summary.list(kind)
                    lists.append(list)
                    guard kind == .destination else { continue }
                    for (entry, registers) in zip(list.entries, summary.destinationDistinct) {
                        guard let registers else { continue }
                        if var union = registersByKey[entry.key], union.count == registers.registers.count {
                            HyperLogLog.merge(registers.registers, into: &union)
                            registersByKey[entry.key] = union
                        } else if registersByKey[entry.key] == nil {
                            registersByKey[entry.key] = registers.registers
                        }
                    }
                }
            }
            let merged = FlowTopMerge.merge(lists, keep: n)
            let rangeFrom = from.flatMap(EventTime.parseRFC3339) ?? (windows > 0 ? firstStart : nil)
            let rangeTo = to.flatMap(EventTime.parseRFC3339) ?? (windows > 0 ? lastEnd : nil)
            func share(_ bytes: UInt64) -> Double { totalBytes == 0 ? 0 : Double(bytes) / Double(totalBytes) }
            func distinct(_ key: FlowKey) -> Int? {
                registersByKey[key].map { Int(HyperLogLog.estimate($0).rounded()) }
            }
            if json {
                func time(_ value: Int64?) -> String {
                    value.map { JSONText.string(EventTime.rfc3339(nanoseconds: $0)) } ?? "null"
                }
                var text = "{\"by\":\(JSONText.string(by.rawValue)),\"from\":\(time(rangeFrom)),\"to\":\(time(rangeTo))"
                text += ",\"exporters\":[" + exporters.sorted().map(JSONText.string).joined(separator: ",") + "]"
                text += ",\"windows\":\(windows),\"total_bytes\":\(totalBytes),\"entries\":["
                text += merged.entries.map { entry in
                    var object = "{\"key\":\(JSONText.string(Self.describe(entry.key, kind)))"
                    object += ",\"bytes\":\(entry.bytes),\"error_bytes\":\(entry.errorBytes)"
                    object += ",\"share\":\(share(entry.bytes))"
                    if kind == .destination {
                        object += ",\"distinct_sources\":" + (distinct(entry.key).map(String.init) ?? "null")
                    }
                    return object + "}"
                }.joined(separator: ",")
                print(text + "]}")
            } else {
                let range =
                    "\(rangeFrom.map { EventTime.rfc3339(nanoseconds: $0) } ?? "-") .. \(rangeTo.map { EventTime.rfc3339(nanoseconds: $0) } ?? "-")"
                print(
                    "top \(by.rawValue) by bytes, \(range), \(exporters.count) exporter(s), \(windows) window(s), "
                        + "\(totalBytes) bytes"
                )
                var rows = [["rank", "key", "bytes", "share", "error"] + (kind == .destination ? ["sources"] : [])]
                for (index, entry) in merged.entries.enumerated() {
                    var row = [
                        "\(index + 1)", Self.describe(entry.key, kind), "\(entry.bytes)",
                        Self.percent(share(entry.bytes)), entry.errorBytes == 0 ? "0" : "±\(entry.errorBytes)",
                    ]
                    if kind == .destination { row.append(distinct(entry.key).map { "~\($0)" } ?? "-") }
                    rows.append(row)
                }
                let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max()! }
                for row in rows {
                    let cells = row.enumerated().map { column, cell in
                        let pad = String(repeating: " ", count: widths[column] - cell.count)
                        return column == 1 ? cell + pad : pad + cell
                    }
                    print(cells.joined(separator: "  "))
                }
            }
            try finishStandardOutput()
        }

        /// Whether `exporter` (`ADDRESS/DOMAIN`) is one the user asked for (all when none was named).
        private func matches(_ exporter: String) -> Bool {
            guard !self.exporter.isEmpty else { return true }
            let address = exporter.split(separator: "/").first.map(String.init) ?? exporter
            return self.exporter.contains { $0 == exporter || $0 == address }
        }

        /// `192.0.2.1`, `2001:db8::1`, `10.0.0.1 -> 192.0.2.1`, `443/tcp`.
        static func describe(_ key: FlowKey, _ kind: FlowKeyKind) -> String {
            let first = IPAddress(high: key.addressHigh, low: key.addressLow)
            switch kind {
            case .source, .destination:
                return first.description
            case .pair:
                return "\(first) -> \(IPAddress(high: key.secondHigh, low: key.secondLow))"
            case .destinationPort:
                let port = key.port & 0xFFFF
                let protocolNumber = key.port >> 16
                let name: String
                switch protocolNumber {
                case 6: name = "tcp"
                case 17: name = "udp"
                case 1: name = "icmp"
                case 58: name = "icmpv6"
                case 132: name = "sctp"
                default: name = "proto\(protocolNumber)"
                }
                return "\(port)/\(name)"
            }
        }

        static func percent(_ share: Double) -> String {
            let tenths = Int((share * 1000).rounded())
            return "\(tenths / 10).\(tenths % 10)%"
        }
    }
}
