/// What a run did, printed at the end of `vigil run` (text on standard error, or JSON with
/// `--summary-json`): everything that came in, everything dropped and why, and how fast.
public struct RunSummary: Sendable {
    /// Bytes read from the inputs as they are: compressed bytes of a compressed input.
    public var bytesRead: Int
    public var streams: Int
    /// Inputs that could not be opened or failed while being read (``EngineCounters/unreadableInputs``).
    public var unreadableInputs: Int
    public var tcpConnections: Int
    public var samplesDecoded: Int
    public var samplesAggregated: Int
    public var series: Int
    public var windowsClosed: Int
    public var alertsFired: Int
    public var alertsResolved: Int
    public var lateSamples: Int
    /// Rejected samples and other losses by reason, with stable snake_case names; zero entries included.
    public var rejects: [(reason: String, count: Int)]
    public var decodeErrorsByKind: [String: Int]
    public var counterWraps: Int
    public var counterResets: Int
    /// Counter readings further apart than `--max-future-skew`: no rate credited across the gap.
    public var counterGaps: Int
    /// Source clocks that jumped ahead past the skew, confirmed: gaps in the data.
    public var clockJumps: Int
    /// Numbered frames sent again after they were taken (retries): skipped, not counted twice.
    public var duplicateFrames: Int
    /// Acknowledgement frames sent to TCP senders.
    public var acknowledgementsSent: Int
    public var rollupSegments: Int
    public var rollupRows: Int
    public var rollupBytes: Int
    public var elapsedNanoseconds: Int64
    public var cpuNanoseconds: Int64
    public var peakResidentBytes: Int
    public var stoppedBySignal: Bool
    /// Native bytes the decoders saw: ``bytesRead`` after decompression (equal to it for uncompressed input).
    public var bytesDecompressed: Int
    /// Flow inputs: data records decoded (not options or templates), those dropped by Vigil, options and
    /// template records, datagrams, exporters, and what the exporters' sequence numbers say was lost on
    /// the way.
    public var flowRecords: Int
    public var flowRecordsDropped: Int
    public var flowCounterSamplesDropped: Int
    public var flowOptionsRecords: Int
    public var flowTemplateRecords: Int
    public var flowDatagrams: Int
    public var flowExporters: Int
    public var flowSequenceMissing: Int
    /// Flow window summaries written, and the `flows-*.vgf` files holding them.
    public var flowSummaries: Int
    public var flowSummaryFiles: Int
    /// UDP inputs: datagrams received, and dropped by the kernel (the socket buffer was full).
    public var udpDatagrams: Int
    public var udpKernelDrops: Int
    /// `--state`: checkpoints published, not written (errors), and skipped at start; flow templates
    /// restored from the checkpoint.
    public var stateCheckpoints: Int
    public var stateCheckpointErrors: Int
    public var stateCheckpointsSkipped: Int
    public var flowTemplatesRestored: Int
    public var stateSeriesRestored: Int
    public var stateWindowsRestored: Int
    public var stateAlertsRestored: Int

    init(
        counters: EngineCounters,
        series: Int,
        rejectedSeries: Int,
        elapsedNanoseconds: Int64,
        cpuNanoseconds: Int64,
        peakResidentBytes: Int,
        stoppedBySignal: Bool
    ) {
        func value(_ counter: ManagedAtomicInt) -> Int { counter.load(ordering: .acquiring) }
        bytesRead = value(counters.bytesRead)
        streams = value(counters.streamsOpened)
        unreadableInputs = value(counters.unreadableInputs)
        tcpConnections = value(counters.tcpConnections)
        samplesDecoded = value(counters.samplesDecoded)
        samplesAggregated = value(counters.samplesAggregated)
        self.series = series
        windowsClosed = value(counters.windowsClosed)
        alertsFired = value(counters.alertsFired)
        alertsResolved = value(counters.alertsResolved)
        lateSamples = value(counters.lateSamples)
        rejects = [
            ("unknown_series", value(counters.rejectedUnknownSeries)),
            ("cardinality_limit", value(counters.rejectedCardinality)),
            ("series_over_cardinality_limit", rejectedSeries),
            ("series_fed_elsewhere", value(counters.rejectedFedElsewhere)),
            ("non_finite_value", value(counters.rejectedNonFinite)),
            ("timestamp_out_of_range", value(counters.rejectedTimestampOutOfRange)),
            ("clock_outliers", value(counters.rejectedClockOutliers)),
            ("timestamp_in_future", value(counters.rejectedTimestampInFuture)),
            ("late", value(counters.lateSamples)),
            ("unplaceable_samples", value(counters.samplesUnplaceable)),
            ("windows_dropped", value(counters.windowsDropped)),
            ("decode_errors", value(counters.decodeErrors)),
            ("bytes_skipped", value(counters.bytesSkipped)),
            ("tcp_disconnects_mid_frame", value(counters.tcpDisconnectsMidFrame)),
            ("tcp_idle_timeouts", value(counters.tcpIdleTimeouts)),
            ("tcp_frame_timeouts", value(counters.tcpFrameTimeouts)),
            ("tcp_refused", value(counters.tcpRefused)),
            ("tcp_evictions", value(counters.tcpEvictions)),
            ("tcp_buffer_evictions", value(counters.tcpBufferEvictions)),
            ("partial_frames_at_stop", value(counters.partialFramesAtStop)),
            ("flow_records_dropped", value(counters.flowRecordsDropped)),
            ("flow_counter_samples_dropped", value(counters.flowCounterSamplesDropped)),
            ("udp_kernel_drops", value(counters.udpKernelDrops)),
            ("stale_frames", value(counters.staleFrames)),
            ("acknowledgements_dropped", value(counters.acknowledgementsDropped)),
            ("senders_forgotten", value(counters.sendersForgotten)),
            ("senders_refused", value(counters.sendersRefused)),
            ("schema_kind_conflicts", value(counters.schemaKindConflicts)),
            ("source_errors", value(counters.sourceErrors)),
            ("alert_events_dropped", value(counters.alertEventsDropped)),
            ("rollup_rows_dropped", value(counters.rollupRowsDropped)),
            ("rollup_write_errors", value(counters.rollupWriteErrors)),
            ("flow_summaries_dropped", value(counters.flowSummariesDropped)),
            ("flow_analytics_records_skipped", value(counters.flowAnalyticsRecordsSkipped)),
        ]
        decodeErrorsByKind = counters.decodeErrorsByKind
        counterWraps = value(counters.counterWraps)
        counterResets = value(counters.counterResets)
        counterGaps = value(counters.counterGaps)
        clockJumps = value(counters.clockJumps)
        duplicateFrames = value(counters.duplicateFrames)
        acknowledgementsSent = value(counters.acknowledgementsSent)
        rollupSegments = value(counters.rollupSegmentsWritten)
        rollupRows = value(counters.rollupRowsWritten)
        rollupBytes = value(counters.rollupBytesWritten)
        self.elapsedNanoseconds = elapsedNanoseconds
        self.cpuNanoseconds = cpuNanoseconds
        self.peakResidentBytes = peakResidentBytes
        self.stoppedBySignal = stoppedBySignal
        bytesDecompressed = value(counters.bytesDecompressed)
        flowRecords = value(counters.flowRecords)
        flowRecordsDropped = value(counters.flowRecordsDropped)
        flowCounterSamplesDropped = value(counters.flowCounterSamplesDropped)
        flowOptionsRecords = value(counters.flowOptionsRecords)
        flowTemplateRecords = value(counters.flowTemplateRecords)
        flowDatagrams = value(counters.flowDatagrams)
        flowExporters = value(counters.flowExporters)
        flowSequenceMissing = value(counters.flowSequenceMissing)
        flowSummaries = value(counters.flowSummariesWritten)
        flowSummaryFiles = value(counters.flowSummaryFilesWritten)
        udpDatagrams = value(counters.udpDatagrams)
        udpKernelDrops = value(counters.udpKernelDrops)
        stateCheckpoints = value(counters.stateCheckpoints)
        stateCheckpointErrors = value(counters.stateCheckpointErrors)
        stateCheckpointsSkipped = value(counters.stateCheckpointsSkipped)
        flowTemplatesRestored = value(counters.flowTemplatesRestored)
        stateSeriesRestored = value(counters.stateSeriesRestored)
        stateWindowsRestored = value(counters.stateWindowsRestored)
        stateAlertsRestored = value(counters.stateAlertsRestored)
    }

    public var samplesPerSecond: Double {
        elapsedNanoseconds > 0 ? Double(samplesDecoded) / (Double(elapsedNanoseconds) / 1e9) : 0
    }

    /// True when anything was rejected, dropped or damaged.
    public var hasLosses: Bool { rejects.contains { $0.count > 0 } }

    public var text: String {
        let seconds = Double(elapsedNanoseconds) / 1e9
        var lines: [String] = [
            "vigil run summary\(stoppedBySignal ? " (stopped by signal, drained)" : "")",
            "  input      \(bytesRead) bytes read, \(bytesDecompressed) decompressed, in \(streams) stream(s)\(tcpConnections > 0 ? ", \(tcpConnections) TCP connection(s)" : "")\(unreadableInputs > 0 ? "; \(unreadableInputs) input(s) could not be read" : "")",
            flowDatagrams > 0
                ? "  flows      \(flowRecords) records (\(flowRecordsDropped) dropped), \(flowOptionsRecords) options and \(flowTemplateRecords) template records in \(flowDatagrams) datagrams from \(flowExporters) exporter(s); \(flowSequenceMissing) missing by sequence numbers\(udpDatagrams > 0 ? "; UDP: \(udpDatagrams) datagrams, \(udpKernelDrops) dropped by the kernel" : "")"
                : nil,
            "  samples    \(samplesDecoded) decoded, \(samplesAggregated) aggregated, \(series) series",
            "  windows    \(windowsClosed) closed; counters: \(counterWraps) wraps, \(counterResets) resets, \(counterGaps) gaps",
            "  alerts     \(alertsFired) fired, \(alertsResolved) resolved",
            "  rollups    \(rollupRows) rows in \(rollupSegments) segment(s), \(rollupBytes) bytes",
            stateCheckpoints + stateCheckpointErrors + stateCheckpointsSkipped + flowTemplatesRestored
                + stateSeriesRestored > 0
                ? "  state      \(stateCheckpoints) checkpoint(s) written, \(stateCheckpointErrors) failed, \(stateCheckpointsSkipped) skipped at start; restored \(stateSeriesRestored) series, \(stateWindowsRestored) open window(s), \(stateAlertsRestored) firing alert(s), \(flowTemplatesRestored) flow template(s)"
                : nil,
            "  speed      \(formatRate(samplesPerSecond)) samples/s over \(String(format1: seconds)) s, CPU \(String(format1: Double(cpuNanoseconds) / 1e9)) s, peak RSS \(peakResidentBytes >> 20) MiB",
        ].compactMap { $0 }
        let losses = rejects.filter { $0.count > 0 }
        if losses.isEmpty {
            lines.append("  rejects    none")
        } else {
            lines.append("  rejects    " + losses.map { "\($0.reason) \($0.count)" }.joined(separator: ", "))
        }
        if !decodeErrorsByKind.isEmpty {
            lines.append(
                "  decode     "
                    + decodeErrorsByKind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                    .joined(separator: ", ")
            )
        }
        return lines.joined(separator: "\n")
    }

    /// One JSON object (snake_case keys), for scripts and tests.
    public var json: String {
        var fields: [(String, String)] = [
            ("bytes_read", "\(bytesRead)"), ("bytes_decompressed", "\(bytesDecompressed)"), ("streams", "\(streams)"),
            ("unreadable_inputs", "\(unreadableInputs)"),
            ("tcp_connections", "\(tcpConnections)"),
            ("samples", "\(samplesDecoded)"), ("samples_aggregated", "\(samplesAggregated)"),
            ("series", "\(series)"), ("windows", "\(windowsClosed)"), ("alerts_fired", "\(alertsFired)"),
            ("alerts_resolved", "\(alertsResolved)"), ("late_samples", "\(lateSamples)"),
            ("counter_wraps", "\(counterWraps)"), ("counter_resets", "\(counterResets)"),
            ("counter_gaps", "\(counterGaps)"), ("clock_jumps", "\(clockJumps)"),
            ("duplicate_frames", "\(duplicateFrames)"), ("acknowledgements_sent", "\(acknowledgementsSent)"),
            ("rollup_segments", "\(rollupSegments)"), ("rollup_rows", "\(rollupRows)"),
            ("rollup_bytes", "\(rollupBytes)"), ("elapsed_seconds", jsonNumber(Double(elapsedNanoseconds) / 1e9)),
            ("cpu_seconds", jsonNumber(Double(cpuNanoseconds) / 1e9)),
            ("samples_per_second", jsonNumber(samplesPerSecond.rounded())),
            ("peak_rss_bytes", "\(peakResidentBytes)"), ("stopped_by_signal", stoppedBySignal ? "true" : "false"),
            ("flow_records", "\(flowRecords)"), ("flow_records_dropped", "\(flowRecordsDropped)"),
            ("flow_counter_samples_dropped", "\(flowCounterSamplesDropped)"),
            ("flow_options_records", "\(flowOptionsRecords)"), ("flow_template_records", "\(flowTemplateRecords)"),
            ("flow_datagrams", "\(flowDatagrams)"), ("flow_exporters", "\(flowExporters)"),
            ("flow_sequence_missing", "\(flowSequenceMissing)"), ("udp_datagrams", "\(udpDatagrams)"),
            ("udp_kernel_drops", "\(udpKernelDrops)"), ("flow_summaries", "\(flowSummaries)"),
            ("flow_summary_files", "\(flowSummaryFiles)"), ("state_checkpoints", "\(stateCheckpoints)"),
            ("state_checkpoint_errors", "\(stateCheckpointErrors)"),
            ("state_checkpoints_skipped", "\(stateCheckpointsSkipped)"),
            ("flow_templates_restored", "\(flowTemplatesRestored)"),
            ("state_series_restored", "\(stateSeriesRestored)"),
            ("state_windows_restored", "\(stateWindowsRestored)"),
            ("state_alerts_restored", "\(stateAlertsRestored)"),
        ]
        fields.append(
            ("rejects", "{" + rejects.map { "\(jsonString($0.reason)):\($0.count)" }.joined(separator: ",") + "}")
        )
        fields.append(
            (
                "decode_errors",
                "{"
                    + decodeErrorsByKind.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\($0.value)" }
                    .joined(separator: ",") + "}"
            )
        )
        return "{" + fields.map { "\(jsonString($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }
}

extension String {
    /// One decimal place, without Foundation's `String(format:)`.
    init(format1 value: Double) {
        let scaled = (value * 10).rounded()
        let whole = Int(scaled / 10)
        let tenth = Int(abs(scaled).truncatingRemainder(dividingBy: 10))
        self = "\(whole).\(tenth)"
    }
}
