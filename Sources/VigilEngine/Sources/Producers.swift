import Atomics
import Logging
import VigilCore

#if canImport(Glibc)
import Glibc
#endif

/// What every producer needs: where to route, what to count, when to stop.
struct ProducerContext {
    let name: String
    let registry: SeriesRegistry
    /// Numbered frames taken per sender id, for the streams of this producer.
    let senderSequences: SenderSequences
    /// Which stream feeds each series, engine-wide.
    let claims: SeriesClaims
    /// The clocks of this producer's senders that disconnected (TCP), kept for their return.
    let disconnectedSenders = DisconnectedSenders()
    let router: ShardRouter
    let counters: EngineCounters
    let limits: IngestLimits
    let logger: Logger
    let maximumPayloadBytes: Int
    let readChunkBytes: Int
    /// Set by SIGINT/SIGTERM (or the idle timer): stop reading, hand on what was read, finish.
    let stopRequested: ManagedAtomic<Bool>
    /// Wall-clock time of the last byte read by any producer, for `--stop-after-idle`.
    let lastInputNanoseconds: ManagedAtomic<Int64>
    /// Producers handling bytes they read (decoding, registering, waiting for room in the pipeline): the
    /// input is not idle while the engine is busy with it, however long that takes.
    let busyProducers: ManagedAtomic<Int>

    /// A new stream, with its own event-time source.
    ///
    /// - Parameter holdsClockAtOnce: the source holds the engine's watermark from now on, before it has a
    ///   clock of its own (a file or standard input: the user's input, read at once, so that a second input
    ///   starting a moment later is not judged late against the first). A TCP sender holds it only once its
    ///   clock is known (its first sample), so a connection that sends nothing holds nobody back.
    /// - Throws: ``SourceError`` when no read buffer can be mapped (address space exhausted).
    func makeIngestor(
        streamName: String,
        holdsClockAtOnce: Bool,
        acknowledgesFrames: Bool = false
    ) throws
        -> StreamIngestor
    {
        let buffer = try StreamIngestor.mapReadBuffer(
            maximumPayloadBytes: maximumPayloadBytes,
            readChunkBytes: readChunkBytes
        )
        counters.streamsOpened.wrappingIncrement(ordering: .relaxed)
        let source = ProducerClock.Source(name: streamName)
        if holdsClockAtOnce {
            router.producerClock.join(source, nowNanoseconds: ResourceUsage.monotonicNanoseconds())
            router.publishWatermark()
        }
        let session = makeSession(streamName: streamName, source: source, acknowledgesFrames: acknowledgesFrames)
        return StreamIngestor(
            session: session,
            buffer: buffer,
            maximumPayloadBytes: maximumPayloadBytes,
            readChunkBytes: readChunkBytes,
            counters: counters
        )
    }

    /// The admission path of one event-time source: a native stream's, or one flow exporter's.
    func makeSession(
        streamName: String,
        source: ProducerClock.Source,
        acknowledgesFrames: Bool = false,
        sharedErrorLines: SharedLogLineBudget? = nil
    )
        -> IngestSession
    {
        IngestSession(
            streamName: streamName,
            registry: registry,
            router: router,
            counters: counters,
            limits: limits,
            logger: logger,
            source: source,
            senderSequences: senderSequences,
            disconnectedSenders: disconnectedSenders,
            claims: claims,
            acknowledgesFrames: acknowledgesFrames,
            sharedErrorLines: sharedErrorLines
        )
    }

    /// Counts and logs damage in one compressed stream (a decode error, like the native decoder's), at most
    /// ``IngestSession/maximumErrorsLoggedPerStream`` lines of it.
    func damageReporter(streamName: String) -> (ZstdStreamDecompressor.Damage) -> Void {
        var lines = LogLineBudget(limit: IngestSession.maximumErrorsLoggedPerStream)
        return { [counters, logger] damage in
            counters.countDecodeError(kind: damage.counterName)
            lines.log(
                logger,
                .warning,
                "\(streamName): \(damage)",
                closing: "\(streamName): more damaged zstd frames; no longer logging them"
            )
        }
    }

    func noteInput() { lastInputNanoseconds.store(ResourceUsage.monotonicNanoseconds(), ordering: .relaxed) }

    /// Ends a stream; when the run is stopping, a frame still arriving is dropped and counted in
    /// `partial_frames_at_stop`: the stop cut it, it is not damaged input.
    /// - Returns: whether the stream ended inside a frame.
    @discardableResult
    func finish(_ ingestor: StreamIngestor, stopped: Bool) -> Bool {
        let bufferedBytes = ingestor.bufferedBytes
        let endedMidFrame = ingestor.finish(discardingPartialFrame: stopped)
        if stopped && endedMidFrame {
            counters.partialFramesAtStop.wrappingIncrement(ordering: .relaxed)
            logger.notice(
                "\(ingestor.session.streamName): stopping with \(bufferedBytes) bytes of a frame not yet complete: dropped (partial_frames_at_stop)"
            )
        }
        return endedMidFrame
    }

    /// Lets go of the sources with no on-time sample for `--source-idle-timeout`, so they stop holding the
    /// engine's watermark back. Called from a producer's wait loop, at most every 100 ms or so.
    func expireIdleSources() {
        let nowNanoseconds = ResourceUsage.monotonicNanoseconds()
        let idle = router.producerClock.expireIdle(nowNanoseconds: nowNanoseconds)
        let timeout = EventTime.describeDuration(nanoseconds: router.producerClock.idleTimeoutNanoseconds)
        for source in idle {
            logger.info(
                "\(source.name): no on-time sample for \(timeout) (--source-idle-timeout): no longer holds back the engine's clock"
            )
        }
        let gone = disconnectedSenders.expire(producerClock: router.producerClock, nowNanoseconds: nowNanoseconds)
        release(gone)
        if !idle.isEmpty || !gone.isEmpty { router.publishWatermark() }
    }

    /// Lets go of disconnected senders that did not come back: their clocks, series and pending clock jumps
    /// (rejected as outliers: nothing confirmed them).
    func release(_ senders: [DisconnectedSenders.Entry]) {
        for entry in senders {
            // (An entry replaced by a newer one of the same sender leaves that one awaited.)
            if !disconnectedSenders.isKeeping(entry.sender) { senderSequences.noteAwaited(sender: entry.sender, false) }
            router.producerClock.leave(entry.source)
            claims.release(entry.claimedSeries, by: entry.source.id)
            if !entry.clockCandidate.isEmpty {
                counters.rejectedClockOutliers.wrappingIncrement(by: entry.clockCandidate.count, ordering: .relaxed)
                logger.warning(
                    "\(entry.source.name): \(entry.clockCandidate.count) sample(s) of a clock jump nothing confirmed before the sender went for good: rejected (clock_outliers)"
                )
            }
        }
    }

    /// Hands `count` bytes just read to `ingestor`, marked busy meanwhile (see ``busyProducers``).
    /// - Parameter countBytesRead: whether to count `count` as read from the input too; false for a stream
    ///   that counts its input bytes itself (a decompressed one, where they differ).
    func ingest(_ count: Int, into ingestor: StreamIngestor, countBytesRead: Bool = true) {
        if countBytesRead { counters.bytesRead.wrappingIncrement(by: count, ordering: .relaxed) }
        noteInput()
        busyProducers.wrappingIncrement(ordering: .sequentiallyConsistent)
        ingestor.didAppend(count)
        noteInput()
        busyProducers.wrappingDecrement(ordering: .sequentiallyConsistent)
    }
}

/// Reads blocking streams (standard input, then or instead files) one after the other, each as its own
/// stream with its own schema, on one thread. A full pipeline blocks `route`, so reading pauses:
/// backpressure reaches the writer of the pipe or simply slows the file read.
final class SequentialStreamProducer {
    let context: ProducerContext
    let openStreams: [() throws -> ByteStream]

    init(context: ProducerContext, openStreams: [() throws -> ByteStream]) {
        self.context = context
        self.openStreams = openStreams
    }

    func run() {
        for open in openStreams {
            if context.stopRequested.load(ordering: .relaxed) { break }
            let stream: AutoDecompressingStream
            let ingestor: StreamIngestor
            do {
                let input = try open()
                stream = AutoDecompressingStream(input, reportDamage: context.damageReporter(streamName: input.name))
                do {
                    ingestor = try context.makeIngestor(streamName: stream.name, holdsClockAtOnce: true)
                } catch {
                    stream.close()
                    throw error
                }
            } catch {
                context.counters.sourceErrors.wrappingIncrement(ordering: .relaxed)
                context.counters.unreadableInputs.wrappingIncrement(ordering: .relaxed)
                context.logger.error("\(error)")
                continue
            }
            defer { stream.close() }
            var stopped = false
            var bytesReadCounted = 0
            func countBytesRead() {
                context.counters.bytesRead.wrappingIncrement(
                    by: stream.inputBytesRead - bytesReadCounted,
                    ordering: .relaxed
                )
                bytesReadCounted = stream.inputBytesRead
            }
            do {
                while !context.stopRequested.load(ordering: .relaxed) {
                    let tail = ingestor.writableTail
                    let count = try stream.read(into: tail)
                    countBytesRead()
                    if count == 0 { break }
                    context.ingest(count, into: ingestor, countBytesRead: false)
                    // A short read means the input is slower than we are: do not let samples wait in
                    // partly filled batches.
                    if count < tail.count / 2 {
                        context.router.flush()
                        context.expireIdleSources()
                    }
                }
                stopped = context.stopRequested.load(ordering: .relaxed)
            } catch is StreamStopped {
                // Stopped while waiting for more: everything read so far is kept, and nothing failed.
                stopped = true
            } catch {
                context.counters.sourceErrors.wrappingIncrement(ordering: .relaxed)
                context.counters.unreadableInputs.wrappingIncrement(ordering: .relaxed)
                context.logger.error("\(error); keeping what was read before it")
            }
            countBytesRead()
            context.finish(ingestor, stopped: stopped)
        }
        context.router.finish()
    }
}

/// Thrown by a read that a stop request (SIGINT, SIGTERM, `--stop-after-idle`) cut short while waiting for
/// input. Not an input failure: a compressed stream is then usually inside a frame, which would otherwise
/// read as a truncated file.
struct StreamStopped: Error {}

/// Standard input as a stream that notices a stop request while waiting for a slow writer.
final class PollingFileDescriptorStream: ByteStream {
    private let inner: FileDescriptorStream
    private let fd: Int32
    private let stopRequested: ManagedAtomic<Bool>
    /// Called every 100 ms of waiting (the producer lets its idle sources go).
    private let whileWaiting: () -> Void

    init(fd: Int32, name: String, stopRequested: ManagedAtomic<Bool>, whileWaiting: @escaping () -> Void = {}) {
        self.inner = FileDescriptorStream(fd: fd, name: name, ownsDescriptor: false)
        self.fd = fd
        self.stopRequested = stopRequested
        self.whileWaiting = whileWaiting
    }

    var name: String { inner.name }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 100)
            if ready > 0 { return try inner.read(into: buffer) }
            if ready < 0 && errno != EINTR { throw SourceError(source: name, operation: "poll", errno: errno) }
            if stopRequested.load(ordering: .relaxed) { throw StreamStopped() }
            whileWaiting()
        }
    }

    func close() { inner.close() }
}
