import Logging
import VigilCore
import VigilStore
import VigilWire

/// One flow input's decoding and translation (a UDP listener, or the captures of a `pcap:` input): the
/// datagram decoder with every exporter's templates, and per exporter a ``FlowExporterState`` whose
/// session judges and routes its readings. Single-threaded: owned by its producer's thread.
///
/// Each exporter (address and observation domain) is an event-time source of its own, with the export
/// times its datagrams carry as its clock: one exporter's clock cannot close another's windows.
final class FlowIngest {
    let context: ProducerContext
    let inputName: String
    private var decoder: FlowDatagramDecoder
    private var exporters: [FlowExporterKey: FlowExporterState] = [:]
    /// The exporter of the datagram being decoded (records come in runs of one exporter). Unmanaged:
    /// `exporters` holds every state for the life of the ingest (none is removed), and a strong reference
    /// here cost a retain and a release per record.
    private var current: Unmanaged<FlowExporterState>?
    private var currentKey: FlowExporterKey?
    /// 1 in N by exporter address, for records that do not say (`--sampling-rate ADDRESS=N`).
    let samplingRates: [IPAddress: UInt32]
    let readingIntervalNanoseconds: Int64
    let maximumExporters: Int
    /// Sketches for per-window flow analytics (nil: no `--rollups`, no analytics).
    let analytics: FlowAnalyticsPool?
    /// The monotonic time of the datagram being decoded (for flushing quiet exporters).
    private var nowNanoseconds: Int64 = 0
    private var errorLines = LogLineBudget(limit: 20)
    /// The error lines of all this input's exporter sessions (series refused past `--max-series`, …): one
    /// budget, so the log does not grow with the exporters.
    private let sessionErrorLines: SharedLogLineBudget
    /// Whether the analytics' pool ran out (logged once per input; every skipped record is counted).
    private var loggedAnalyticsFull = false
    // Counted here, added to the engine's counters once per batch of datagrams (``publishCounts()``).
    private var records = 0
    private var recordsDropped = 0
    /// sFlow counter samples dropped: exporter or interface past its bound.
    private var counterSamplesDropped = 0
    private var optionsRecords = 0
    private var templateRecords = 0
    private var sequenceMissing = 0
    private var datagrams = 0
    /// `--state`: where this input's templates are posted, and the decoder generation last posted.
    private let checkpointer: StateCheckpointer?
    private var postedStateGeneration: UInt64?
    private var nextStatePostNanoseconds: Int64 = 0

    /// The checkpoint section kind of a flow input's templates; its key is the input (`udp://…`).
    static let templateSectionKind = "flow-templates"

    /// Readings every 10 s of export time by default: six per default window.
    static let defaultReadingIntervalNanoseconds: Int64 = 10_000_000_000

    /// The reading interval for windows of `windowNanoseconds`: the largest whole number of seconds up to
    /// 10 s and a sixth of the window that divides the window, so an interval never straddles two windows.
    static func readingInterval(windowNanoseconds: Int64) -> Int64 {
        let second: Int64 = 1_000_000_000
        let limit = max(1, min(10, windowNanoseconds / 6 / second))
        var seconds = limit
        while seconds > 1 && windowNanoseconds % (seconds * second) != 0 { seconds -= 1 }
        return seconds * second
    }

    init(
        context: ProducerContext,
        inputName: String,
        limits: FlowDecoderLimits,
        samplingRates: [IPAddress: UInt32],
        readingIntervalNanoseconds: Int64,
        analytics: FlowAnalyticsPool? = nil,
        checkpointer: StateCheckpointer? = nil
    ) {
        self.analytics = analytics
        self.context = context
        self.inputName = inputName
        self.decoder = FlowDatagramDecoder(limits: limits)
        self.samplingRates = samplingRates
        self.readingIntervalNanoseconds = readingIntervalNanoseconds
        self.maximumExporters = limits.maximumExporters
        self.sessionErrorLines = SharedLogLineBudget(
            limit: IngestSession.maximumErrorsLoggedPerStream,
            scope: "\(inputName) exporters"
        )
        self.checkpointer = checkpointer
        if let section = checkpointer?.restoredSection(kind: Self.templateSectionKind, key: inputName) {
            restoreTemplates(from: section)
        }
    }

    /// Gives the decoder the templates, samplers and sampling state an earlier run of this input kept, so
    /// the first data after a restart is decoded instead of held for the router's next template refresh.
    private func restoreTemplates(from section: StateSection) {
        guard section.version == FlowTemplateState.version else {
            context.logger.warning(
                "\(inputName): saved flow templates not restored: layout version \(section.version), this build reads \(FlowTemplateState.version)"
            )
            return
        }
        do {
            let report = try section.payload.withUnsafeBytes { try decoder.templateFlows.restoreState(from: $0) }
            context.counters.flowTemplatesRestored.wrappingIncrement(by: report.templates, ordering: .relaxed)
            context.logger.notice(
                "\(inputName): restored \(report.templates) template(s) and \(report.samplers) sampler(s) of \(report.sessions) exporter session(s) from the state directory"
            )
            if report.refused > 0 {
                context.logger.warning(
                    "\(inputName): \(report.refused) saved template(s) or sampler(s) not restored: \(report.reasons.joined(separator: "; "))"
                )
            }
            postedStateGeneration = decoder.templateFlows.stateGeneration
        } catch {
            context.logger.warning("\(inputName): saved flow templates not restored: \(error)")
        }
    }

    /// Posts the decoder's template state for the next checkpoint when it changed since the last post; at
    /// most once a second (an exporter redefining templates in every datagram costs one snapshot a second),
    /// unless `force` (the end of the input).
    private func postTemplatesIfChanged(force: Bool) {
        guard let checkpointer else { return }
        let generation = decoder.templateFlows.stateGeneration
        guard generation != postedStateGeneration, force || nowNanoseconds >= nextStatePostNanoseconds else { return }
        checkpointer.post(
            StateSection(
                kind: Self.templateSectionKind,
                key: inputName,
                version: FlowTemplateState.version,
                payload: decoder.templateFlows.stateSnapshot()
            )
        )
        postedStateGeneration = generation
        nextStatePostNanoseconds = nowNanoseconds + 1_000_000_000
    }

    /// Decodes one datagram from `address` that arrived at `arrivalNanoseconds` (Unix epoch; the capture's
    /// timestamp for a `pcap:` input).
    func decode(
        _ datagram: UnsafeRawBufferPointer,
        from address: IPAddress,
        sourcePort: UInt16,
        arrivalNanoseconds: Int64
    ) {
        datagrams += 1
        var consumer = Consumer(ingest: self)
        decoder.decode(
            datagram,
            from: address,
            sourcePort: sourcePort,
            arrivalNanoseconds: arrivalNanoseconds,
            into: &consumer
        )
    }

    /// Sets the monotonic time that quiet exporters are measured against (once per batch of datagrams).
    func setNow(_ monotonicNanoseconds: Int64) { nowNanoseconds = monotonicNanoseconds }

    /// The exporter of `info`, made on first sight (bounded by ``maximumExporters``); nil past the bound.
    /// Unretained: `exporters` keeps it alive.
    @inline(__always)
    private func exporter(for info: FlowDatagramInfo) -> Unmanaged<FlowExporterState>? {
        if let current, currentKey == info.exporter { return current }
        return switchExporter(to: info.exporter)
    }

    /// The cold half of ``exporter(for:)``: a datagram of another exporter than the last one's.
    private func switchExporter(to key: FlowExporterKey) -> Unmanaged<FlowExporterState>? {
        let state = exporters[key] ?? makeExporter(key)
        current = state.map { Unmanaged.passUnretained($0) }
        currentKey = key
        return current
    }

    private func makeExporter(_ key: FlowExporterKey) -> FlowExporterState? {
        guard exporters.count < maximumExporters else {
            report("exporter \(key) ignored: \(maximumExporters) exporters already (its records are dropped)")
            return nil
        }
        let name = "\(inputName) exporter \(key)"
        let source = ProducerClock.Source(name: name)
        let session = context.makeSession(streamName: name, source: source, sharedErrorLines: sessionErrorLines)
        let state = FlowExporterState(
            key: key,
            session: session,
            fallbackSamplingInterval: samplingRates[key.address] ?? 1,
            intervalNanoseconds: readingIntervalNanoseconds,
            analytics: analytics.map { FlowExporterAnalytics(exporter: key.description, pool: $0) }
        )
        exporters[key] = state
        context.counters.flowExporters.wrappingIncrement(ordering: .relaxed)
        context.logger.info("\(name): first datagram")
        return state
    }

    /// Hands on the readings of exporters that sent nothing for a reading interval (wall clock): a live
    /// exporter's last interval is not held back until its next datagram.
    func flushQuietExporters() {
        for state in exporters.values
        where state.pendingIntervalStart != .min
            && nowNanoseconds - state.lastRecordNanoseconds >= readingIntervalNanoseconds
        {
            state.flush()
        }
        // A window of wall-clock silence: the exporter's window summary is queued and its sketches go back.
        if let analytics {
            for state in exporters.values {
                guard let exporter = state.analytics, exporter.holdsSketches,
                    nowNanoseconds - exporter.lastRecordNanoseconds >= analytics.windowNanoseconds
                else { continue }
                exporter.release()
            }
        }
    }

    /// At the end of the input (or the run): every pending reading handed on, every exporter's clock
    /// settled and its series released.
    func finish() {
        var consumer = Consumer(ingest: self)
        decoder.finish(into: &consumer)
        postTemplatesIfChanged(force: true)
        for state in exporters.values {
            state.flush()
            state.analytics?.release()
            state.session.finishClock(keepingSender: false)
            state.session.releaseClaims()
        }
        publishCounts()
        context.router.flush()
    }

    /// Adds what was counted since the last call to the engine's counters, and posts the templates for
    /// the next checkpoint when they changed.
    func publishCounts() {
        postTemplatesIfChanged(force: false)
        let counters = context.counters
        func add(_ value: inout Int, _ counter: ManagedAtomicInt) {
            if value != 0 { counter.wrappingIncrement(by: value, ordering: .relaxed) }
            value = 0
        }
        for (key, state) in exporters {
            let dropped = state.takeDropped()
            guard dropped != (0, 0) else { continue }
            recordsDropped += dropped.records
            counterSamplesDropped += dropped.counterSamples
            if !state.loggedInterfaceLimit {
                state.loggedInterfaceLimit = true
                report(
                    """
                    exporter \(key): more than \(FlowExporterState.maximumInterfaces) interfaces; records and counter \
                    samples of further interfaces are dropped (counted in flow_records_dropped and \
                    flow_counter_samples_dropped)
                    """
                )
            }
        }
        if let analytics {
            let skipped = analytics.takeSkipped()
            if skipped != 0 {
                counters.flowAnalyticsRecordsSkipped.wrappingIncrement(by: skipped, ordering: .relaxed)
                if !loggedAnalyticsFull {
                    loggedAnalyticsFull = true
                    context.logger.warning(
                        """
                        \(inputName): flow analytics full: \(analytics.maximumLive) exporters hold sketches; records \
                        of further exporters feed their series but not the analytics \
                        (counted in flow_analytics_records_skipped)
                        """
                    )
                }
            }
        }
        add(&records, counters.flowRecords)
        add(&recordsDropped, counters.flowRecordsDropped)
        add(&counterSamplesDropped, counters.flowCounterSamplesDropped)
        add(&optionsRecords, counters.flowOptionsRecords)
        add(&templateRecords, counters.flowTemplateRecords)
        add(&sequenceMissing, counters.flowSequenceMissing)
        add(&datagrams, counters.flowDatagrams)
    }

    /// Applied to every record before it is counted or sketched (`--anonymize-ips`).
    var anonymizer: IPAnonymizer?

    @inline(__always)
    fileprivate func record(_ record: FlowRecord, info: FlowDatagramInfo) {
        var record = record
        if let anonymizer { anonymizer.anonymize(&record) }
        count(record, info: info)
    }

    @inline(__always)
    private func count(_ record: FlowRecord, info: FlowDatagramInfo) {
        records &+= 1
        guard let state = exporter(for: info) else {
            recordsDropped &+= 1
            return
        }
        let now = nowNanoseconds
        state._withUnsafeGuaranteedRef {
            $0.add(record, exportNanoseconds: info.exportNanoseconds, nowNanoseconds: now)
        }
    }

    fileprivate func interfaceCounters(_ counters: InterfaceCounterRecord, info: FlowDatagramInfo) {
        guard let state = exporter(for: info)?.takeUnretainedValue() else {
            counterSamplesDropped &+= 1
            return
        }
        state.addInterfaceCounters(counters, exportNanoseconds: info.exportNanoseconds)
    }

    fileprivate func error(_ error: FlowDecodeError, info: FlowDatagramInfo?) {
        context.counters.countDecodeError(kind: error.reason.rawValue)
        report("\(info.map { "exporter \($0.exporter) (\($0.format))" } ?? "a datagram"): \(error)")
    }

    fileprivate func sequenceGap(missing: UInt64, info: FlowDatagramInfo) {
        sequenceMissing &+= Int(clamping: missing)
    }

    /// Logs the first flow errors of this input (the message built only then); all are counted.
    private func report(_ message: @autoclosure () -> String) {
        errorLines.log(
            context.logger,
            .warning,
            "\(inputName): \(message())",
            closing: "\(inputName): more flow errors; no longer logging them (see the run summary)"
        )
    }

    /// The decoders' view of this ingest: forwards to it, so the decoder (a property of the ingest) and
    /// the consumer are not the same variable.
    fileprivate struct Consumer: FlowConsumer {
        // Unmanaged, called through `_withUnsafeGuaranteedRef`: the consumer lives only inside one `decode`
        // call of the ingest it points at. A checked `unowned` cost a strong retain per record, and so did
        // `unowned(unsafe)` (a retain and a release around each call).
        let _ingest: Unmanaged<FlowIngest>

        init(ingest: FlowIngest) { _ingest = Unmanaged.passUnretained(ingest) }

        /// The ingest counts traffic by interface and sketches addresses, destination ports and protocols;
        /// it reads no source port, ToS, TCP flags, AS, VLAN, direction or flow times (the exporter's export
        /// time places a record), so the decoder need not read them. A feature that reads more says true.
        static var readsRecordDetail: Bool { false }

        var ingest: FlowIngest { _ingest.takeUnretainedValue() }

        @inline(__always)
        mutating func flowRecord(_ record: FlowRecord, info: FlowDatagramInfo) {
            _ingest._withUnsafeGuaranteedRef { $0.record(record, info: info) }
        }
        mutating func flowInterfaceCounters(_ counters: InterfaceCounterRecord, info: FlowDatagramInfo) {
            ingest.interfaceCounters(counters, info: info)
        }
        mutating func flowOptionsRecord(info: FlowDatagramInfo) { ingest.optionsRecords &+= 1 }
        mutating func flowTemplate(_ event: FlowTemplateEvent, info: FlowDatagramInfo) {
            ingest.templateRecords &+= 1
        }
        mutating func flowSequenceGap(missing: UInt64, info: FlowDatagramInfo) {
            ingest.sequenceGap(missing: missing, info: info)
        }
        mutating func flowError(_ error: FlowDecodeError, info: FlowDatagramInfo?) {
            ingest.error(error, info: info)
        }
    }
}
