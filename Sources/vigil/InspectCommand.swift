import ArgumentParser
import Foundation
import VigilCore
import VigilEngine
import VigilWire

/// `vigil inspect`: what a capture of flow datagrams (or a native recording) holds, per exporter.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Decode a packet capture of NetFlow/IPFIX/sFlow (or a native recording) and count what it holds.",
        discussion: """
            Reads a pcap or pcapng file (or standard input), zstd-compressed or not, decodes every UDP datagram \
            in it with the decoders `vigil run` uses, and prints per exporter (address/observation domain): \
            datagrams, data records, options records, template records, sequence gaps, sampling intervals, \
            traffic, and errors by reason. For a native recording: frames, samples, series declared, errors.

            --json prints one object: packets, datagrams, data_records, option_records, template_records, \
            errors (a total), errors_by_reason, and exporters (one object each, the same keys plus \
            exporter, formats, templates (held at the end: defined, not withdrawn), sequence_gaps, \
            sequence_missing, sampling_intervals, octets, packets_in_records).

            --records-out writes every decoded flow data record as JSON Lines, in the order decoded, in the \
            schema `vigil generate flows --records-out` writes (docs/flows.md): format, exporter, \
            observation_domain, sequence_number, addresses, ports, protocol, interfaces, octets, packets, \
            sampling_interval, start_ms, end_ms... A path ending in .zst is zstd-compressed; '-' writes them to \
            standard output, and the counts then go to standard error.

            Examples:
              vigil inspect capture.pcap
              tcpdump -i eth0 -w - -c 1000 'udp port 2055' | vigil inspect - --json
              vigil inspect capture.pcap --records-out - | jq -c 'select(.protocol == 17)'
            """
    )

    @Argument(
        help: ArgumentHelp("A capture (pcap, pcapng) or native recording, or - for standard input.", valueName: "path")
    )
    var path: String

    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false

    @Option(
        name: .customLong("records-out"),
        help: ArgumentHelp(
            "Write every decoded flow data record as JSON Lines to this file ('-': standard output).",
            valueName: "path"
        )
    )
    var recordsOut: String?

    func run() throws {
        let stream: ByteStream =
            path == "-"
            ? FileDescriptorStream(fd: STDIN_FILENO, name: "stdin", ownsDescriptor: false)
            : try FileDescriptorStream.open(path: path)
        defer { stream.close() }
        var recordsWriter: CompressedFileWriter?
        if let recordsOut {
            do {
                recordsWriter = try CompressedFileWriter(
                    path: recordsOut,
                    compression: CompressedFileWriter.compression(forPath: recordsOut, level: 3)
                )
            } catch {
                throw CommandFailure(description: "cannot write \(recordsOut): \(error)")
            }
        }
        let inspection: FlowInspection
        do {
            inspection = try FlowInspection.inspect(
                stream,
                recordLines: recordsWriter.map { writer in { lines in try writer.write(Array(lines.utf8)) } }
            )
            try recordsWriter?.close()
        } catch let error as CompressedFileWriterError {
            throw CommandFailure(description: "cannot write \(recordsOut ?? "-"): \(error)")
        } catch {
            throw ValidationError("\(error)")
        }
        if inspection.container == "unknown" {
            FileHandle.standardError.write(
                Data("vigil inspect: \(path) is neither a pcap/pcapng capture nor a native Vigil recording\n".utf8)
            )
            throw ExitCode(1)
        }
        let report = json ? Self.json(inspection) : Self.text(inspection)
        if recordsOut == "-" {
            FileHandle.standardError.write(Data((report + "\n").utf8))
        } else {
            print(report)
        }
        try finishStandardOutput()
    }

    static func sortedExporters(_ inspection: FlowInspection) -> [FlowInspection.Exporter] {
        inspection.exporters.values.sorted {
            ($0.key.address, $0.key.observationDomain) < ($1.key.address, $1.key.observationDomain)
        }
    }

    static func errorsObject(_ errors: [String: Int]) -> String {
        "{" + errors.sorted { $0.key < $1.key }.map { "\(JSONText.string($0.key)):\($0.value)" }.joined(separator: ",")
            + "}"
    }

    static func json(_ inspection: FlowInspection) -> String {
        var fields: [(String, String)] = [
            ("container", JSONText.string(inspection.container)),
            ("packets", "\(inspection.packets)"),
            ("datagrams", "\(inspection.datagrams)"),
            ("data_records", "\(inspection.dataRecords)"),
            ("option_records", "\(inspection.optionRecords)"),
            ("template_records", "\(inspection.templateRecords)"),
            ("errors", "\(inspection.errorCount)"),
            ("errors_by_reason", errorsObject(inspection.errors)),
        ]
        if inspection.container == "native" {
            fields.append(("samples", "\(inspection.samples)"))
            fields.append(("series_declared", "\(inspection.seriesDeclared)"))
        }
        let exporters = sortedExporters(inspection).map { exporter in
            let sampling = exporter.samplingIntervals.sorted { $0.key < $1.key }
                .map { "\(JSONText.string(String($0.key))):\($0.value)" }.joined(separator: ",")
            let exporterFields: [(String, String)] = [
                ("exporter", JSONText.string(exporter.key.description)),
                ("address", JSONText.string(exporter.key.address.description)),
                ("observation_domain", "\(exporter.key.observationDomain)"),
                ("formats", "[" + exporter.formats.sorted().map { JSONText.string($0) }.joined(separator: ",") + "]"),
                ("packets", "\(exporter.packets)"),
                ("data_records", "\(exporter.dataRecords)"),
                ("option_records", "\(exporter.optionRecords)"),
                ("template_records", "\(exporter.templateRecords)"),
                ("templates", "\(exporter.templates.count)"),
                ("sequence_gaps", "\(exporter.sequenceGaps)"),
                ("sequence_missing", "\(exporter.sequenceMissing)"),
                ("sampling_intervals", "{\(sampling)}"),
                ("octets", "\(exporter.octets)"),
                ("packets_in_records", "\(exporter.packetsInRecords)"),
                ("errors", "\(exporter.errors.values.reduce(0, +))"),
                ("errors_by_reason", errorsObject(exporter.errors)),
            ]
            return "{" + exporterFields.map { "\(JSONText.string($0.0)):\($0.1)" }.joined(separator: ",") + "}"
        }
        fields.append(("exporters", "[" + exporters.joined(separator: ",") + "]"))
        return "{" + fields.map { "\(JSONText.string($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }

    static func text(_ inspection: FlowInspection) -> String {
        var lines: [String] = []
        if inspection.container == "native" {
            lines.append(
                "native recording: \(inspection.packets) frames, \(inspection.samples) samples, \(inspection.seriesDeclared) series declared, \(inspection.errorCount) errors"
            )
        } else {
            lines.append(
                "\(inspection.container): \(inspection.packets) packets, \(inspection.datagrams) flow datagrams, \(inspection.dataRecords) data records, \(inspection.optionRecords) options records, \(inspection.templateRecords) template records, \(inspection.errorCount) errors"
            )
        }
        for exporter in sortedExporters(inspection) {
            let sampling = exporter.samplingIntervals.sorted { $0.key < $1.key }
                .map { $0.key == 0 ? "unsaid ×\($0.value)" : "1:\($0.key) ×\($0.value)" }.joined(separator: ", ")
            lines.append("exporter \(exporter.key) (\(exporter.formats.sorted().joined(separator: ", ")))")
            lines.append(
                "  \(exporter.packets) datagrams, \(exporter.dataRecords) data, \(exporter.optionRecords) options, \(exporter.templateRecords) template records (\(exporter.templates.count) templates held); \(exporter.sequenceGaps) sequence gaps (\(exporter.sequenceMissing) missing)"
            )
            lines.append(
                "  traffic \(exporter.octets) bytes, \(exporter.packetsInRecords) packets (as exported, unsampled); sampling \(sampling.isEmpty ? "-" : sampling)"
            )
            if !exporter.errors.isEmpty {
                lines.append(
                    "  errors "
                        + exporter.errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
                            separator: ", "
                        )
                )
            }
        }
        if !inspection.errors.isEmpty {
            lines.append(
                "errors "
                    + inspection.errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
                        separator: ", "
                    )
            )
        }
        return lines.joined(separator: "\n")
    }
}
