import VigilCore
import VigilSim
import VigilWire

/// What `vigil inspect` finds in a capture (pcap or pcapng) of flow datagrams, or in a native recording:
/// per exporter, datagrams, data, options and template records, sequence gaps, sampling, and errors by
/// reason. Decodes with the same decoders as `vigil run`; keeps no records, only counts (and, when asked,
/// writes each data record as a JSON line, in the schema of `vigil generate flows --records-out`).
public struct FlowInspection: Sendable {
    public struct Exporter: Sendable {
        public var key: FlowExporterKey
        public var formats: Set<String> = []
        public var packets = 0
        public var dataRecords = 0
        public var optionRecords = 0
        public var templateRecords = 0
        /// Templates the exporter defined and has not withdrawn, by id (whether each is an options
        /// template): what a collector holds for it at the end.
        public var templates: [UInt16: Bool] = [:]
        /// Sequence gaps seen, and the units they skipped in all (datagrams or records, by format).
        public var sequenceGaps = 0
        public var sequenceMissing: UInt64 = 0
        /// Sampling intervals the data records carried (0: the exporter said nothing), with record counts.
        public var samplingIntervals: [UInt32: Int] = [:]
        public var octets: UInt64 = 0
        public var packetsInRecords: UInt64 = 0
        public var errors: [String: Int] = [:]
        public var firstExportNanoseconds: Int64 = .max
        public var lastExportNanoseconds: Int64 = .min
    }

    /// What the file held: "pcap", "pcapng", "native", or "unknown".
    public var container = "unknown"
    /// Packets in the capture (every record, flow datagram or not); for native input, valid frames.
    public var packets = 0
    /// UDP datagrams handed to the flow decoders.
    public var datagrams = 0
    public var dataRecords = 0
    public var optionRecords = 0
    public var templateRecords = 0
    /// Errors by reason: the capture's (not UDP, fragments, truncated packets) and the decoders'.
    public var errors: [String: Int] = [:]
    public var exporters: [FlowExporterKey: Exporter] = [:]
    /// Native recordings: samples and series declared.
    public var samples = 0
    public var seriesDeclared = 0

    public var errorCount: Int { errors.values.reduce(0, +) }

    public init() {}
}

extension FlowInspection {
    /// Reads `stream` to its end (zstd-compressed or not) and counts what it holds.
    /// - Parameters:
    ///   - stream: a pcap or pcapng capture, or a native recording.
    ///   - limits: the flow decoders' bounds.
    ///   - recordLines: when given, receives every decoded data record as JSON Lines
    ///     (``FlowRecordJSONLines``: the schema `vigil generate flows --records-out` writes), in decoding
    ///     order, in pieces of at most about 64 KiB, each ending with a newline. Its first error stops the
    ///     inspection and is rethrown.
    /// - Returns: the counts.
    public static func inspect(
        _ stream: ByteStream,
        limits: FlowDecoderLimits = .init(),
        recordLines: ((String) throws -> Void)? = nil
    ) throws -> FlowInspection {
        let input = AutoDecompressingStream(stream, reportDamage: { _ in })
        let chunk = 1 << 20
        let capacity =
            chunk
            + max(
                CaptureStreamDecoder.maximumRecordByteCount,
                NativeFormat.headerByteCount + NativeFormat.defaultMaxPayloadBytes
            )
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 64)
        defer { buffer.deallocate() }
        var filled = 0
        // Enough bytes to tell the format.
        while filled < 4 {
            let count = try input.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<capacity]))
            if count == 0 { break }
            filled += count
        }
        var inspector = Inspector(limits: limits)
        inspector.counter.recordLines = recordLines
        let head = Array(buffer[0..<min(4, filled)])
        if CaptureStreamDecoder.startsCapture(head) {
            var decoder = CaptureStreamDecoder()
            inspector.result.container = head == [0x0A, 0x0D, 0x0D, 0x0A] ? "pcapng" : "pcap"
            while true {
                let consumed = decoder.decode(UnsafeRawBufferPointer(rebasing: buffer[0..<filled]), into: &inspector)
                if consumed > 0 && consumed < filled {
                    buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + consumed, byteCount: filled - consumed)
                }
                filled -= consumed
                if let error = inspector.counter.recordLinesError { throw error }
                if decoder.hasFailed { break }
                let count = try input.read(
                    into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<min(capacity, filled + chunk)])
                )
                if count == 0 {
                    decoder.finish(remaining: UnsafeRawBufferPointer(rebasing: buffer[0..<filled]), into: &inspector)
                    inspector.decoder.finish(into: &inspector.counter)
                    break
                }
                filled += count
            }
        } else if head.count == 4
            && head.withUnsafeBytes({ $0.loadUnaligned(as: UInt32.self) }) == NativeFormat.magic.littleEndian
        {
            inspector.result.container = "native"
            var decoder = NativeStreamDecoder(maxPayloadBytes: NativeFormat.defaultMaxPayloadBytes)
            var delegate = NativeCounter()
            while true {
                let consumed = decoder.decode(UnsafeRawBufferPointer(rebasing: buffer[0..<filled]), delegate: &delegate)
                if consumed > 0 && consumed < filled {
                    buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + consumed, byteCount: filled - consumed)
                }
                filled -= consumed
                let count = try input.read(
                    into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<min(capacity, filled + chunk)])
                )
                if count == 0 {
                    decoder.finish(remaining: UnsafeRawBufferPointer(rebasing: buffer[0..<filled]), delegate: &delegate)
                    break
                }
                filled += count
            }
            inspector.result.packets = decoder.statistics.dataFrames + decoder.statistics.schemaFrames
            inspector.result.samples = decoder.statistics.samples
            inspector.result.seriesDeclared = delegate.declared
            inspector.result.errors = delegate.errors
        } else {
            inspector.result.errors["not_a_capture", default: 0] += 1
        }
        try inspector.counter.flushRecordLines()
        return inspector.result
    }

    private struct NativeCounter: NativeDecoderDelegate {
        var declared = 0
        var errors: [String: Int] = [:]
        mutating func nativeDecoder(didDeclare entry: SchemaEntry) { declared += 1 }
        mutating func nativeDecoder(didDecode frame: DataFrameView) {}
        mutating func nativeDecoder(didFail error: NativeDecodeError) { errors[error.counterName, default: 0] += 1 }
    }

    /// Counts captured datagrams through the flow decoders.
    private struct Inspector: CapturedDatagramConsumer {
        var decoder: FlowDatagramDecoder
        var counter = Counter(result: FlowInspection())
        var result: FlowInspection {
            get { counter.result }
            set { counter.result = newValue }
        }

        init(limits: FlowDecoderLimits) { decoder = FlowDatagramDecoder(limits: limits) }

        mutating func capturedPacket() { result.packets += 1 }

        mutating func capturedDatagram(
            _ payload: UnsafeRawBufferPointer,
            source: IPAddress,
            sourcePort: UInt16,
            destination: IPAddress,
            destinationPort: UInt16,
            timestampNanoseconds: Int64
        ) {
            counter.result.datagrams += 1
            decoder.decode(
                payload,
                from: source,
                sourcePort: sourcePort,
                arrivalNanoseconds: timestampNanoseconds,
                into: &counter
            )
        }

        mutating func captureError(_ error: FlowDecodeError) {
            result.errors[error.reason.rawValue, default: 0] += 1
        }
    }

    private struct Counter: FlowConsumer {
        /// Lines are handed on once they hold this many bytes (and at the end).
        static let recordLinesFlushBytes = 64 * 1_024

        var result: FlowInspection
        /// Where decoded records go as JSON Lines, if anywhere; the lines not yet handed on; the first error
        /// the receiver threw (after which no more lines are built).
        var recordLines: ((String) throws -> Void)?
        var pendingLines = ""
        var recordLinesError: Error?

        init(result: FlowInspection) { self.result = result }

        mutating func flushRecordLines() throws {
            if let recordLinesError { throw recordLinesError }
            guard let recordLines, !pendingLines.isEmpty else { return }
            defer { pendingLines.removeAll(keepingCapacity: true) }
            try recordLines(pendingLines)
        }

        /// Appends `record` to the pending lines, with the header fields the schema names: the exporter
        /// (the datagram's source, or sFlow's agent), its observation domain and the header's sequence number.
        private mutating func appendLine(_ record: FlowRecord, info: FlowDatagramInfo) {
            guard recordLines != nil, recordLinesError == nil else { return }
            let header = FlowExportHeader(
                exportNanoseconds: info.exportNanoseconds,
                bootMilliseconds: 0,
                sequenceNumber: info.sequenceNumber,
                observationDomain: info.exporter.observationDomain,
                agentAddress: info.exporter.address
            )
            FlowRecordJSONLines.append(
                record,
                format: info.format,
                header: header,
                exporter: info.exporter.address,
                to: &pendingLines
            )
            if pendingLines.utf8.count >= Self.recordLinesFlushBytes {
                do { try flushRecordLines() } catch { recordLinesError = error }
            }
        }

        private mutating func withExporter(_ info: FlowDatagramInfo, _ body: (inout Exporter) -> Void) {
            body(&result.exporters[info.exporter, default: Exporter(key: info.exporter)])
        }

        mutating func flowDatagram(_ info: FlowDatagramInfo) {
            withExporter(info) {
                $0.packets += 1
                $0.formats.insert(info.format.description)
                $0.firstExportNanoseconds = min($0.firstExportNanoseconds, info.exportNanoseconds)
                $0.lastExportNanoseconds = max($0.lastExportNanoseconds, info.exportNanoseconds)
            }
        }

        mutating func flowRecord(_ record: FlowRecord, info: FlowDatagramInfo) {
            appendLine(record, info: info)
            result.dataRecords += 1
            withExporter(info) {
                $0.dataRecords += 1
                $0.samplingIntervals[record.samplingInterval, default: 0] += 1
                $0.octets &+= record.octets
                $0.packetsInRecords &+= record.packets
            }
        }

        mutating func flowOptionsRecord(info: FlowDatagramInfo) {
            result.optionRecords += 1
            withExporter(info) { $0.optionRecords += 1 }
        }

        mutating func flowTemplate(_ event: FlowTemplateEvent, info: FlowDatagramInfo) {
            result.templateRecords += 1
            withExporter(info) { exporter in
                exporter.templateRecords += 1
                switch event {
                case .learned(let id, _, let isOptions), .redefined(let id, _, let isOptions):
                    exporter.templates[id] = isOptions
                case .withdrawn(let id) where id == 2 || id == 3:
                    // IPFIX: all templates (2) or all options templates (3) of the domain.
                    exporter.templates = exporter.templates.filter { $0.value != (id == 3) }
                case .withdrawn(let id): exporter.templates[id] = nil
                }
            }
        }

        mutating func flowSequenceGap(missing: UInt64, info: FlowDatagramInfo) {
            withExporter(info) {
                $0.sequenceGaps += 1
                $0.sequenceMissing &+= missing
            }
        }

        mutating func flowError(_ error: FlowDecodeError, info: FlowDatagramInfo?) {
            result.errors[error.reason.rawValue, default: 0] += 1
            if let info { withExporter(info) { $0.errors[error.reason.rawValue, default: 0] += 1 } }
        }
    }
}
