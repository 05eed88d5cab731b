import ArgumentParser
import VigilCore
import VigilStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `vigil rollups cat|stats`: read the rollup segments a run wrote (docs/rollup-format.md).
struct RollupsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollups",
        abstract: "Read rollup segment files: print their rows, or summarise a directory.",
        discussion: """
            A rollup directory holds seg-<first window start>-<seq>.vgr files: closed windows, columnar, \
            zstd-compressed and checksummed. Damaged segments (bad magic, CRC mismatch, truncated) are named \
            on stderr and skipped; the good ones are still read.

            Examples:
              vigil rollups cat rollups/ --series 'edge-01/*/in_octets' \\
                --from 2026-11-03T06:00:00Z
              vigil rollups stats rollups/ --json
            """,
        subcommands: [Cat.self, Stats.self]
    )

    struct Cat: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print rollup rows as CSV (with a header row) or JSON Lines.",
            discussion: """
                Columns: window_start (RFC 3339), device, interface, metric, count, sum, min, max, mean, \
                stddev, first, last, rate. NaN (a gauge's rate) prints as an empty CSV field or JSON null. \
                Rows come segment by segment in time order; within a segment, by series then window start.

                Example:
                  vigil rollups cat rollups/ --series 'edge-0?/*/rx_power_dbm' --from 2026-11-02 \\
                    --to 2026-11-03 --format jsonl
                """
        )

        @Argument(help: "The rollup directory.")
        var directory: String

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Only series whose key matches this glob (* any run, ? one character).",
                discussion: "Keys read device/interface/metric, or device/metric without an interface, "
                    + "then {name=value,…} for extra labels; e.g. 'edge-01/*/in_octets'.",
                valueName: "pattern"
            )
        )
        var series: String?

        @Option(
            name: .long,
            help: ArgumentHelp("Only windows starting at or after this time (RFC 3339).", valueName: "time")
        )
        var from: String?

        @Option(
            name: .long,
            help: ArgumentHelp("Only windows starting before this time (RFC 3339).", valueName: "time")
        )
        var to: String?

        @Option(name: .long, help: "Output format: csv or jsonl.")
        var format: RollupTextFormat = .csv

        func validate() throws {
            if let from, EventTime.parseRFC3339(from) == nil {
                throw ValidationError(
                    "--from \(from) is not an RFC 3339 time between 1677-09-22 and 2262-04-11 (e.g. 2026-11-21T17:00:00Z)"
                )
            }
            if let to, EventTime.parseRFC3339(to) == nil {
                throw ValidationError(
                    "--to \(to) is not an RFC 3339 time between 1677-09-22 and 2262-04-11 (e.g. 2026-11-21T18:00:00Z)"
                )
            }
        }

        func run() throws {
            let fromNanoseconds = from.flatMap(EventTime.parseRFC3339) ?? .min
            let toNanoseconds = to.flatMap(EventTime.parseRFC3339) ?? .max
            let pattern = series.map(RollupSeriesPattern.init)
            // List first, so a missing directory is an error alone, not a header followed by one.
            let paths = try RollupDirectory.segmentPaths(directory)
            if format == .csv { print(RollupTextFormat.csvHeader) }
            for path in paths {
                let segment: RollupSegment
                do {
                    segment = try RollupSegmentReader.read(path)
                } catch let error as RollupSegmentError {
                    warnDamaged(path, error)
                    continue
                }
                guard segment.header.lastWindowStartNanoseconds >= fromNanoseconds,
                    segment.header.firstWindowStartNanoseconds < toNanoseconds
                else { continue }
                var rowIndex = 0
                for entry in segment.series {
                    defer { rowIndex += entry.rowCount }
                    if let pattern, !pattern.matches(entry.descriptor.key.description) { continue }
                    for row in segment.rows[rowIndex..<rowIndex + entry.rowCount]
                    where row.windowStartNanoseconds >= fromNanoseconds && row.windowStartNanoseconds < toNanoseconds {
                        print(format.line(row, descriptor: entry.descriptor))
                    }
                }
            }
            try finishStandardOutput()
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Summarise a rollup directory: segments, rows, series, bytes per value, time range.",
            discussion: """
                values = rows × 9 (count, sum, min, max, mean, stddev, first, last, rate: what `cat` prints); \
                bytes_per_value = segment file bytes / values. --json keys: segments, rows, series, values, \
                bytes, bytes_per_value, first_window_start, last_window_end, window_widths_ns, \
                damaged_segments, damaged.

                Example:
                  vigil rollups stats rollups/ --json
                """
        )

        @Argument(help: "The rollup directory.")
        var directory: String

        @Flag(name: .long, help: "Print one JSON object instead of aligned text.")
        var json = false

        func run() throws {
            let stats = try RollupDirectoryStats.collect(directory: directory)
            for damage in stats.damaged { warnDamaged(damage.path, damage.reason) }
            if json {
                print(stats.json())
                try finishStandardOutput()
                return
            }
            func time(_ nanoseconds: Int64?) -> String { nanoseconds.map { EventTime.rfc3339(nanoseconds: $0) } ?? "-" }
            let lines: [(String, String)] = [
                ("segments", "\(stats.segments)"),
                ("rows", "\(stats.rows)"),
                ("series", "\(stats.series)"),
                ("values", "\(stats.values)"),
                ("bytes", "\(stats.bytes)"),
                ("bytes_per_value", String(format3(stats.bytesPerValue))),
                ("time_range", "\(time(stats.firstWindowStartNanoseconds)) .. \(time(stats.lastWindowEndNanoseconds))"),
                (
                    "window",
                    stats.windowWidthsNanoseconds.map { EventTime.describeDuration(nanoseconds: $0) }.joined(
                        separator: ", "
                    )
                ),
                ("damaged_segments", "\(stats.damaged.count)"),
            ]
            for (name, value) in lines {
                print(name + String(repeating: " ", count: 18 - name.count) + value)
            }
            for damage in stats.damaged { print("  \(damage.path): \(damage.reason)") }
            try finishStandardOutput()
        }

        private func format3(_ value: Double) -> String {
            let thousandths = Int((value * 1000).rounded())
            let fraction = String(thousandths % 1000)
            return "\(thousandths / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
        }
    }
}

extension RollupTextFormat: ExpressibleByArgument {}

private func warnDamaged(_ path: String, _ reason: RollupSegmentError) {
    fputs("warning: skipping damaged segment \(path): \(reason)\n", stderr)
}
